// The citizen's phone ticket page (/t/{secret}, the paper ticket's QR code): no sign-in, the
// holder's secret in the link is the key (never the ticket's id, which staff see). It shows
// the number, the service, the state, the people ahead and the estimated wait, live from
// /t/{secret}/live (server-sent events; polling when that is unavailable); a large
// "请到 N 号窗口" banner with vibration when the number is called; the rating form once the
// service is finished; and lets the citizen cancel a waiting ticket.

import { fill, h } from "/display/static/display.js";
import { requestJson } from "/display/static/http.js";
import { ratingForm, ratingProblem } from "/evaluate/static/rating.js";
import { complaintForm } from "/complaint/static/form.js";
import { surveyForm } from "/evaluate/static/survey.js";

const POLL_MS = 15000; // only without the live channel
const OFFLINE_AFTER_MS = 8000; // a live channel down this long is shown
const VIBRATION = [400, 200, 400, 200, 400];
// The hall's time zone ([time] timezone) and the server's clock: set by /display/time-zone.js,
// which the page loads first.
const TIME_ZONE = window.HALL_TIME_ZONE;

const STATUS = {
  waiting: "等候中", called: "已叫号", serving: "办理中", finished: "已办结", missed: "已过号",
  suspended: "已挂起", cancelled: "已取消", void: "已作废", closed: "已失效",
};
const FINAL = new Set(["finished", "cancelled", "void", "closed"]);

// The holder's secret, from the page's own link.
const ticketKey = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");

const state = {
  status: null, // GET /api/v1/tickets/{secret}
  missing: false,
  form: null, // GET /api/v1/ratings/form
  formFor: null, // the ticket whose rating form is on the page
  vibrations: [], // the calls this page has alerted (tests read it)
  lastAlert: null,
  live: "connecting", // connecting | live | polling
  thanks: null,
  survey: undefined, // GET /api/v1/tickets/{secret}/survey, asked once the rating is behind
  surveyDone: null, // the thanks once answered
  touched: false, // the person has touched the page: vibration is allowed
};
window.hallQueue = { state };

const $ = (id) => document.getElementById(id);

function api(path, { method = "GET", body, key } = {}) {
  return requestJson(path, { method, body, headers: key ? { "Idempotency-Key": key } : {} });
}

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "phone-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const ticketPath = (suffix = "") => `/api/v1/tickets/${encodeURIComponent(ticketKey)}${suffix}`;

// ---- status -----------------------------------------------------------------------------

async function load() {
  const result = await api(ticketPath());
  if (result.ok) {
    apply(result.data);
  } else if (result.status === 404) {
    state.missing = true;
    render();
  }
  return result;
}

function apply(status) {
  state.status = status;
  state.missing = false;
  if (status.status === "called") {
    const alert = `${status.window}|${status.calls}`;
    if (alert !== state.lastAlert) {
      state.lastAlert = alert;
      alertCall(status);
    }
  }
  render();
  if (finished(status)) stopLive();
}

// Nothing more can change: the ticket is final and has nothing left to rate.
function finished(status) {
  const rating = status.rating || {};
  return FINAL.has(status.status) && !rating.rateable && !rating.follow_up_rateable;
}

function alertCall(status) {
  let vibrated = false;
  try {
    // Phones that allow it buzz; others (and iPhones) ignore it.
    vibrated = typeof navigator.vibrate === "function" && navigator.vibrate(VIBRATION);
  } catch {
    vibrated = false;
  }
  state.vibrations.push({ window: status.window, calls: status.calls, vibrated });
  const banner = $("called");
  banner.classList.remove("flash");
  void banner.offsetWidth;
  banner.classList.add("flash");
}

function canVibrate() {
  return typeof navigator.vibrate === "function";
}

function touched() {
  return state.touched;
}

// ---- the live channel -------------------------------------------------------------------

let source = null;
let pollTimer = null;
let offlineTimer = null;

function startLive() {
  if (typeof EventSource !== "function") {
    startPolling();
    return;
  }
  source = new EventSource(`/t/${encodeURIComponent(ticketKey)}/live`);
  source.addEventListener("status", (event) => {
    try {
      apply(JSON.parse(event.data));
    } catch (err) {
      console.warn("ignoring a bad status", err);
    }
  });
  source.onopen = () => {
    state.live = "live";
    clearTimeout(offlineTimer);
    offlineTimer = null;
    $("offline").hidden = true;
  };
  source.onerror = () => {
    if (source && source.readyState === EventSource.CLOSED) {
      // Refused (not reconnecting by itself): fall back to asking now and then.
      source = null;
      startPolling();
      return;
    }
    if (!offlineTimer) {
      offlineTimer = setTimeout(() => {
        if (state.live !== "live" || (source && source.readyState !== EventSource.OPEN)) {
          $("offline").hidden = false;
        }
      }, OFFLINE_AFTER_MS);
    }
  };
}

function startPolling() {
  state.live = "polling";
  clearInterval(pollTimer);
  pollTimer = setInterval(async () => {
    const result = await load();
    $("offline").hidden = result.status !== 0;
  }, POLL_MS);
}

function stopLive() {
  if (source) source.close();
  source = null;
  clearInterval(pollTimer);
  clearTimeout(offlineTimer);
  $("offline").hidden = true;
}

// ---- actions ----------------------------------------------------------------------------

let cancelKey = null;

function askCancel() {
  const status = state.status;
  if (!status || status.status !== "waiting") return;
  $("confirm-text").textContent = `确定取消 ${status.number} 号的排队吗？取消后如需办理，须重新取号。`;
  $("confirm-error").textContent = "";
  cancelKey = newKey(); // one key per decision: a double tap cancels once
  $("confirm").showModal();
}

async function confirmCancel() {
  const yes = $("confirm-yes");
  if (yes.disabled) return;
  yes.disabled = true;
  yes.textContent = "正在取消…";
  const result = await api(ticketPath("/cancel"), { method: "POST", key: cancelKey });
  yes.disabled = false;
  yes.textContent = "确定取消";
  if (result.ok) {
    $("confirm").close();
    await load();
  } else if (result.status === 409) {
    $("confirm-error").textContent = "该号码已被叫号或已办理，不能取消";
    load();
  } else {
    $("confirm-error").textContent = result.status === 0 ? "网络连接失败，请稍后重试" : "暂时无法取消，请稍后重试";
  }
}

async function rate(rating) {
  const result = await api(ticketPath("/rating"), { method: "POST", body: rating });
  if (result.ok) {
    state.thanks = "感谢您的评价！";
    await load();
    return null;
  }
  if (result.status === 409 && result.data && ["rated", "expired"].includes(result.data.state)) {
    state.thanks = ratingProblem(result);
    await load();
    return null;
  }
  return ratingProblem(result);
}

async function followUp(level, button) {
  const error = $("follow-up-error");
  if (button.disabled) return;
  for (const b of $("follow-up-levels").querySelectorAll("button")) b.disabled = true;
  const result = await api(ticketPath("/follow-up-rating"), { method: "POST", body: { level } });
  for (const b of $("follow-up-levels").querySelectorAll("button")) b.disabled = false;
  if (result.ok || result.status === 409) {
    error.textContent = "";
    state.thanks = "感谢您的追加评价！";
    await load();
  } else {
    error.textContent = result.status === 0 ? "网络连接失败，请稍后重试" : "暂时无法提交，请稍后重试";
  }
}

async function ratingFormData() {
  if (state.form) return state.form;
  const result = await api("/api/v1/ratings/form");
  if (result.ok) state.form = result.data;
  return state.form;
}

// ---- rendering --------------------------------------------------------------------------

const timeFormat = new Intl.DateTimeFormat("zh-CN", {
  timeZone: TIME_ZONE, month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

function render() {
  $("loading").hidden = true;
  $("missing").hidden = !state.missing;
  const status = state.status;
  const show = Boolean(status) && !state.missing;
  $("ticket").hidden = !show;
  if (!show) {
    for (const id of ["called", "rating", "rated", "follow-up", "cancel", "complain", "complaint", "survey",
      "survey-done"]) $(id).hidden = true;
    return;
  }
  $("hall-name").textContent = status.hall_name || "政务服务中心";
  $("number").textContent = status.number;
  $("service").textContent = status.service_name || status.service;
  const pill = $("status");
  pill.textContent = STATUS[status.status] || status.status;
  pill.className = `status ${status.status}`;

  const waiting = status.status === "waiting";
  $("facts").hidden = !waiting;
  if (waiting) {
    $("ahead").textContent = Number.isInteger(status.ahead) ? String(status.ahead) : "—";
    const minutes = status.estimated_wait_minutes;
    $("wait").textContent = Number.isInteger(minutes) ? String(minutes) : "—";
    // "约 0 分钟" reads oddly: say it is about to come.
    $("wait-fact").hidden = minutes === 0;
    $("soon-fact").hidden = minutes !== 0;
  }

  const called = status.status === "called";
  $("called").hidden = !called;
  if (called) {
    $("called-window").textContent = String(status.window);
    $("called-note").textContent = `${status.number} 号，请您尽快前往办理` +
      (status.calls > 1 ? `（第 ${status.calls} 次呼叫）` : "");
    document.title = `请到 ${status.window} 号窗口 · ${status.number}`;
  } else {
    document.title = `${status.number} · ${STATUS[status.status] || "排队进度"}`;
  }

  $("hint").textContent = hintOf(status);
  const issued = Date.parse(status.issued_at || "");
  $("issued").textContent = Number.isNaN(issued) ? "" : `取号时间 ${timeFormat.format(new Date(issued))}`;
  $("cancel").hidden = !waiting;
  // 投诉与建议: about this visit, from any state; the form stays once opened.
  $("complain").hidden = !$("complaint").hidden;
  // Browsers let a page vibrate only after the person has touched it once.
  $("vibrate").hidden = !(waiting && canVibrate() && !touched());
  renderRating(status);
  renderSurvey(status);
}

// ---- the satisfaction survey (满意度调查) -------------------------------------------------
// A sampled visit's citizen is asked after the rating (or when there is nothing to rate).

async function renderSurvey(status) {
  const rating = status.rating || {};
  const ratingBehind = status.status === "finished" && (rating.rated || state.thanks || !rating.rateable);
  $("survey-done").hidden = !state.surveyDone;
  if (state.surveyDone) {
    $("survey-done-text").textContent = state.surveyDone;
    $("survey").hidden = true;
    return;
  }
  if (!ratingBehind) {
    $("survey").hidden = true;
    return;
  }
  if (state.survey === undefined) {
    state.survey = null; // asked once
    const result = await api(ticketPath("/survey"));
    state.survey = result.ok ? result.data.survey : null;
    if (state.survey) {
      const key = newKey();
      $("survey-title").textContent = state.survey.title;
      $("survey-intro").textContent = state.survey.intro || "";
      surveyForm($("survey-form"), state.survey, { onSubmit: (answers) => answerSurvey(answers, key) });
    }
  }
  $("survey").hidden = !state.survey;
}

async function answerSurvey(answers, key) {
  const result = await api(ticketPath("/survey"), { method: "POST", body: { answers }, key });
  if (result.ok || (result.status === 409 && result.data && result.data.code === "survey.already_answered")) {
    state.surveyDone = result.ok ? "感谢您参与满意度调查！" : result.data.detail;
    render();
    return null;
  }
  if (result.status === 0) return "网络连接失败，请稍后重试";
  return (result.data && result.data.detail) || "暂时无法提交，请稍后重试";
}

function hintOf(status) {
  switch (status.status) {
    case "waiting":
      return status.ahead === 0 ? "马上就到您了，请留意叫号" : "请留意叫号，轮到您时本页会提醒";
    case "called":
      return "请携带材料到窗口办理";
    case "serving":
      return status.window ? `正在 ${status.window} 号窗口为您办理` : "正在为您办理";
    case "finished":
      return "您的业务已办结";
    case "missed":
      return "您已过号，请到导服台咨询恢复";
    case "suspended":
      return "您的号码已挂起，补齐材料后请到导服台或原窗口恢复办理";
    case "cancelled":
      return "您已取消排队，如需办理请重新取号";
    case "void":
      return "号码已作废，如需办理请重新取号";
    case "closed":
      return "大厅已停止办理，号码已失效，请另行取号";
    default:
      return "";
  }
}

async function renderRating(status) {
  const rating = status.rating || {};
  const rateable = status.status === "finished" && rating.rateable && !rating.rated;
  $("rating").hidden = !rateable;
  $("rated").hidden = !(rating.rated || state.thanks);
  if (rating.rated || state.thanks) {
    $("rated-text").textContent = state.thanks || "您已评价，感谢您的参与！";
    $("rated-note").textContent = "";
  }
  // The follow-up rating is for later (after the hall has called back), not for the moment
  // this page has just sent the rating.
  $("follow-up").hidden = !rating.follow_up_rateable || state.thanks !== null;
  if (!$("follow-up").hidden && !$("follow-up-levels").childElementCount) {
    const form = await ratingFormData();
    if (form) {
      fill($("follow-up-levels"), form.levels.map((level) => h("button", {
        type: "button", class: "rate-level", dataset: { level: level.code },
      }, level.name)));
    }
  }
  if (rateable && state.formFor !== status.id) {
    const form = await ratingFormData();
    if (!form || state.formFor === status.id) return;
    state.formFor = status.id;
    $("rating-title").textContent = form.prompt || "请您对本次服务进行评价";
    ratingForm($("rating-form"), form, { onSubmit: rate });
  }
}

// ---- start ------------------------------------------------------------------------------

$("cancel").addEventListener("click", askCancel);
$("complain").addEventListener("click", () => {
  $("complain").hidden = true;
  $("complaint").hidden = false;
  complaintForm($("complaint-form"), ticketPath("/complaint"));
  $("complaint").scrollIntoView({ behavior: "smooth", block: "start" });
});
// Any touch of the page lets it vibrate later: the offer to "touch here" goes with the next
// update (not at once: the page must not move under the finger between press and click).
document.addEventListener("pointerdown", () => {
  state.touched = true;
});
$("vibrate").addEventListener("click", () => {
  state.touched = true;
  try {
    navigator.vibrate(60); // a short buzz: it works
  } catch {
    // not allowed after all: the banner still shows
  }
  $("vibrate").hidden = true;
});
$("confirm-no").addEventListener("click", () => $("confirm").close());
$("confirm-yes").addEventListener("click", confirmCancel);
$("follow-up-levels").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-level]");
  if (button) followUp(button.dataset.level, button);
});
document.addEventListener("visibilitychange", () => {
  // A phone waking up: its live channel may have slept through the call.
  if (document.visibilityState === "visible" && state.status && !finished(state.status)) load();
});

if (!ticketKey) {
  state.missing = true;
  render();
} else {
  load().then((result) => {
    if (result.ok && !finished(result.data)) startLive();
    else if (!result.ok && result.status !== 404) startPolling();
  });
}
