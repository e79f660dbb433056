// The counter rating tablet (评价器), bound to one window by its evaluator token. Idle, it
// shows who serves at the window; when the window finishes a ticket (a `ticket_finished`
// event of this window on the hall's queue.v1 socket) it asks the server for the rating
// prompt and shows the form until the ticket is rated — here or on the citizen's phone —
// or its time to rate runs out.

import { Screen, fill, h, safeImageUrl, showConnection, startClock } from "/display/static/display.js";
import { ratingForm, ratingProblem } from "./rating.js";
import { surveyForm } from "./survey.js";
import { requestJson } from "/display/static/http.js";
import { deviceToken, pairAgain, refused } from "/display/static/device.js";

const THANKS_MS = 6000;
const RETRY_MS = 5000;
const SURVEY_MS = 180000; // a survey left unanswered this long: back to idle
const REFRESH_KINDS = new Set(["ticket_finished", "ticket_rated"]);

const query = new URLSearchParams(location.search);
const parts = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
const params = {
  hall: parts[1] || "",
  window: Number.parseInt(parts[2], 10),
  token: deviceToken(), // ?token=, else the token this tablet was paired with
};

const state = {
  view: "setup", // setup | idle | prompt | survey | thanks
  ticket: null, // the prompt's ticket: {number, service_name, finished_at, rate_until}
  offsetMs: 0, // the server's clock minus ours
  ratings: 0, // ratings sent by this page (tests read it)
  thanksTimer: null,
  expiryTimer: null,
};

const $ = (id) => document.getElementById(id);

class TabletScreen extends Screen {
  receive(message) {
    super.receive(message);
    if (message.type === "snapshot") {
      noteServerTime(message.snapshot.at);
      loadPrompt();
    } else if (message.type === "event") {
      noteServerTime(message.event.at);
      const event = message.event;
      const here = (event.window && event.window.number === params.window) ||
        (event.ticket && event.ticket.window === params.window);
      if (here && REFRESH_KINDS.has(event.kind)) loadPrompt();
    }
  }
}

const screen = new TabletScreen({
  hall: params.hall,
  token: params.token,
  window: params.window,
  onChange: renderIdle,
  onStatus: (status) => showConnection($("offline"), status, screen),
  device: "tablet",
});

window.hallQueue = {
  state,
  get board() { return screen.board; },
};

function noteServerTime(at) {
  const t = Date.parse(at || "");
  if (!Number.isNaN(t)) state.offsetMs = t - Date.now();
}

const serverNow = () => Date.now() + state.offsetMs;

function api(path, { method = "GET", body } = {}) {
  return requestJson(path, { method, body, headers: { Authorization: `Bearer ${params.token}` } });
}

const windowPath = () =>
  `/api/v1/halls/${encodeURIComponent(params.hall)}/windows/${params.window}`;

// ---- the prompt -------------------------------------------------------------------------

let loading = null;
let loadAgain = false;
let retryTimer = null;

async function loadPrompt() {
  if (loading) {
    loadAgain = true;
    return;
  }
  loading = api(`${windowPath()}/rating-prompt`);
  const result = await loading;
  loading = null;
  clearTimeout(retryTimer);
  if (result.ok) {
    showPrompt(result.data);
  } else if (result.status === 401 || result.status === 403) {
    // Never paired, revoked, or a tablet of another window: the pairing screen (or its own
    // window's page) says what to do; this page does not linger saying 未授权.
    refused(result.status, "tablet");
    return;
  } else if (result.status === 404) {
    location.reload(); // the window is gone: the server's page says so, and retries
    return;
  } else {
    retryTimer = setTimeout(loadPrompt, RETRY_MS);
  }
  if (loadAgain) {
    loadAgain = false;
    loadPrompt();
  }
}

function showPrompt(prompt) {
  const ticket = prompt.ticket;
  clearTimeout(state.expiryTimer);
  if (!ticket) {
    state.ticket = null;
    if (state.view !== "thanks" && state.view !== "survey") show("idle");
    return;
  }
  if (state.view === "thanks" || state.view === "survey") {
    // A new finished ticket while thanking the last citizen: ask the new one at once.
    clearTimeout(state.thanksTimer);
  }
  const same = state.ticket && state.ticket.number === ticket.number &&
    state.ticket.finished_at === ticket.finished_at && state.view === "prompt";
  state.ticket = ticket;
  const left = Date.parse(ticket.rate_until) - serverNow();
  if (!Number.isNaN(left)) state.expiryTimer = setTimeout(loadPrompt, Math.max(0, left) + 1000);
  if (same) return; // keep what the citizen has already picked
  $("prompt-title").textContent = prompt.prompt || "请您对本次服务进行评价";
  $("prompt-number").textContent = `${ticket.number} 号`;
  $("prompt-service").textContent = ticket.service_name || "";
  ratingForm($("form"), prompt, {
    onSubmit: (rating) => submit(ticket, rating), dimensionsOpen: true,
  });
  show("prompt");
}

async function submit(ticket, rating) {
  state.ratings += 1;
  const result = await api(`${windowPath()}/rating`, {
    method: "POST", body: { number: ticket.number, ...rating },
  });
  if (result.ok) {
    if (!(await offerSurvey(ticket))) thank("感谢您的评价！");
    return null;
  }
  if (result.status === 409 && result.data && ["rated", "expired"].includes(result.data.state)) {
    thank(ratingProblem(result));
    return null;
  }
  return ratingProblem(result);
}

// ---- the satisfaction survey (满意度调查) of a sampled visit, after its rating -----------------

async function offerSurvey(ticket) {
  const result = await api(`${windowPath()}/survey?number=${encodeURIComponent(ticket.number)}`);
  const survey = result.ok ? result.data.survey : null;
  if (!survey) return false;
  state.ticket = null;
  $("survey-title").textContent = survey.title;
  $("survey-intro").textContent = survey.intro || "";
  const key = `tablet-${params.window}-${ticket.number}-${Date.now().toString(36)}`;
  surveyForm($("survey-form"), survey, { onSubmit: (answers) => answerSurvey(ticket, answers, key) });
  show("survey");
  clearTimeout(state.thanksTimer);
  state.thanksTimer = setTimeout(() => {
    show("idle");
    loadPrompt();
  }, SURVEY_MS);
  return true;
}

async function answerSurvey(ticket, answers, key) {
  const result = await requestJson(`${windowPath()}/survey`, {
    method: "POST", body: { number: ticket.number, answers },
    headers: { Authorization: `Bearer ${params.token}`, "Idempotency-Key": key },
  });
  if (result.ok || (result.status === 409 && result.data && result.data.code === "survey.already_answered")) {
    thank("感谢您参与满意度调查！");
    return null;
  }
  if (result.status === 0) return "网络连接失败，请稍后重试";
  return (result.data && result.data.detail) || "暂时无法提交，请稍后重试";
}

function thank(text) {
  state.ticket = null;
  $("thanks-text").textContent = text;
  show("thanks");
  clearTimeout(state.thanksTimer);
  state.thanksTimer = setTimeout(() => {
    show("idle");
    loadPrompt(); // another ticket may have finished meanwhile
  }, THANKS_MS);
}

// ---- views ------------------------------------------------------------------------------

function setup(title, detail) {
  $("setup-title").textContent = title;
  $("setup-detail").textContent = detail;
  show("setup");
}

function show(view) {
  state.view = view;
  for (const id of ["idle", "prompt", "survey", "thanks", "setup"]) $(id).hidden = id !== view;
  if (view === "idle") renderIdle(screen.board);
}

function renderIdle(board) {
  const snapshot = board && board.snapshot;
  if (!snapshot) return;
  $("hall-name").textContent = snapshot.name || snapshot.hall;
  const w = (snapshot.windows || []).find((x) => x.number === params.window);
  $("window-name").textContent = w ? (w.name || `${w.number} 号窗口`) : `${params.window} 号窗口`;
  document.title = `服务评价 · ${params.window} 号窗口`;
  if (state.view === "setup" && w) show("idle");
  if (state.view !== "idle") return;
  const staff = w && w.state !== "closed" ? w.staff : null;
  if (!staff) {
    fill($("staff"));
  } else {
    const photo = safeImageUrl(staff.photo_url);
    fill($("staff"),
      photo ? h("img", { class: "staff-photo", src: photo, alt: "" })
        : h("div", { class: "staff-placeholder", "aria-hidden": "true" }, [...(staff.name || "?")][0]),
      h("div", { class: "staff-text" },
        h("div", { class: "staff-name" }, staff.name),
        h("div", { class: "staff-id" }, `工号 ${staff.id}${staff.stand_in ? " · 顶岗" : ""}`)));
  }
  let text = "您好，欢迎办理业务";
  if (!w || w.state === "closed") text = "本窗口暂未开放";
  else if (w.state === "paused") text = "暂停服务，请稍候";
  else if (w.current && w.current.status === "serving") text = `正在为 ${w.current.number} 号办理`;
  else if (w.current) text = `请 ${w.current.number} 号到本窗口办理`;
  $("idle-text").textContent = text;
}

// ---- start ------------------------------------------------------------------------------

startClock($("date"), $("time"));
if (!params.token) {
  pairAgain("tablet"); // not paired yet: show a pairing code
} else if (!Number.isInteger(params.window)) {
  setup("地址有误", "地址中缺少窗口号。");
} else {
  showConnection($("offline"), "connecting");
  setup("正在连接服务器…", "");
  screen.start();
  loadPrompt();
}
