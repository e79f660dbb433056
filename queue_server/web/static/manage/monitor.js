// 大厅监控: every window, the waiting per service against its warning and alarm minutes,
// devices, today's running figures and the alerts of the halls this manager watches, pushed over
// /ws/v1/monitor (never polled). Durations are counted up here from the instants in the view,
// on the server's clock (the view's `at`).

import {
  $, api, clearBanner, explain, loginForm, renderNav, session, showBanner, signOut, whenExpired,
} from "./common.js";

const state = {
  halls: [], // [{id, name}]
  mayAcknowledge: new Set(),
  selected: null,
  views: {}, // hall -> the latest view
  offsets: {}, // hall -> server clock minus this browser's, when the view came
  seenAlerts: {}, // hall -> Set of alert ids already known (a new one sounds)
  socket: null,
  retry: 0,
  sounds: [], // every alert the page sounded for (tests read it: headless Chromium plays nothing)
  received: [], // [hall, seq, performance.now()] of each view (the latency benchmark reads it)
};
window.monitor = state;

let audio = null;

// ---- start --------------------------------------------------------------------------------

function showScreen(name) {
  $("login-screen").hidden = name !== "login";
  $("monitor-screen").hidden = name !== "monitor";
  for (const id of ["who", "logout", "live"]) $(id).hidden = name !== "monitor";
  if (name !== "monitor") $("sound").hidden = true;
}

function toLogin(message) {
  if (state.socket) state.socket.close();
  showScreen("login");
  if (message) $("login-error").textContent = message;
  $("staff-id").focus();
}

whenExpired(() => toLogin("登录已过期，请重新登录"));

async function enter() {
  clearBanner();
  const result = await api("/api/v1/monitor/halls");
  if (!result.ok) {
    if (result.status === 401) return;
    if (result.status === 403) {
      window.location.replace("/manage/mine");
      return;
    }
    showScreen("login");
    showBanner(explain(result));
    return;
  }
  const info = result.data;
  state.halls = info.halls;
  state.mayAcknowledge = new Set(info.may_acknowledge);
  const wanted = new URLSearchParams(window.location.search).get("hall");
  state.selected = state.halls.some((h) => h.id === wanted) ? wanted : state.halls[0].id;
  $("who").textContent = info.name || info.staff_id;
  renderNav("/manage/monitor", info);
  showScreen("monitor");
  offerSound();
  renderTabs();
  connect();
}

// Browsers play sound only after a click on the page: until then, offer the button.
function offerSound() {
  try {
    audio = audio || new AudioContext();
    $("sound").hidden = audio.state !== "suspended";
  } catch {
    $("sound").hidden = true; // no audio at all: the list still shows every alert
  }
}

function connect() {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws/v1/monitor`);
  state.socket = socket;
  setLive("连接中…", "pending");
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ token: session.token, halls: state.halls.map((h) => h.id) }));
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "error") {
      socket.refused = true;
      if (message.status === 401) {
        session.clear();
        toLogin("登录已过期，请重新登录");
      } else {
        showBanner(message.detail || "无权查看现场监控");
      }
      return;
    }
    if (message.type === "view") received(message.hall, message.view);
  });
  socket.addEventListener("close", () => {
    if (state.socket !== socket || socket.refused || !session.token) return;
    setLive("连接中断，正在重连…", "down");
    const wait = Math.min(10000, 1000 * 2 ** state.retry);
    state.retry += 1;
    setTimeout(connect, wait);
  });
}

function setLive(text, kind) {
  const live = $("live");
  live.textContent = text;
  live.className = `live ${kind}`;
}

function received(hall, view) {
  state.retry = 0;
  setLive("实时", "up");
  state.received.push([hall, view.seq, performance.now()]);
  if (state.received.length > 1000) state.received.splice(0, 500);
  state.offsets[hall] = Date.parse(view.at) - Date.now();
  const known = state.seenAlerts[hall];
  const open = view.alerts.filter((a) => !a.cleared_at && !a.acked_at);
  if (known) {
    for (const a of open) if (!known.has(a.id)) sound(hall, a);
  }
  state.seenAlerts[hall] = new Set([...(known || []), ...view.alerts.map((a) => a.id)]);
  state.views[hall] = view;
  renderTabs();
  if (hall === state.selected) render();
}

// ---- sound ----------------------------------------------------------------------------------

function sound(hall, alert) {
  state.sounds.push({ hall, id: alert.id, kind: alert.kind, severity: alert.severity });
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") {
      $("sound").hidden = false;
      return;
    }
    const beeps = alert.severity === "alarm" ? 3 : 1;
    for (let i = 0; i < beeps; i += 1) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = alert.severity === "alarm" ? 880 : 660;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      const at = audio.currentTime + i * 0.35;
      osc.start(at);
      osc.stop(at + 0.2);
    }
  } catch {
    /* no audio device: the list still shows it */
  }
}

$("sound").addEventListener("click", async () => {
  audio = audio || new AudioContext();
  await audio.resume();
  $("sound").hidden = true;
});

// ---- rendering ------------------------------------------------------------------------------

const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
};

function since(hall, iso) {
  if (!iso) return null;
  const now = Date.now() + (state.offsets[hall] || 0);
  return Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h) return `${h}小时${m}分`;
  return m ? `${m}分${String(s).padStart(2, "0")}秒` : `${s}秒`;
}

function renderTabs() {
  const tabs = $("halls");
  tabs.hidden = state.halls.length < 2;
  tabs.replaceChildren();
  for (const h of state.halls) {
    const view = state.views[h.id];
    const tab = el("button", "hall-tab");
    tab.type = "button";
    if (h.id === state.selected) tab.setAttribute("aria-current", "true");
    tab.append(el("span", "hall-tab-name", h.name));
    if (view) {
      tab.append(el("span", "hall-tab-figure", `等候 ${view.waiting}`));
      const open = view.alerts.filter((a) => !a.cleared_at).length;
      if (open) tab.append(el("span", "badge", String(open)));
    }
    tab.addEventListener("click", () => {
      state.selected = h.id;
      const url = new URL(window.location.href);
      url.searchParams.set("hall", h.id);
      history.replaceState(null, "", url);
      renderTabs();
      render();
    });
    tabs.append(tab);
  }
  const current = state.halls.find((h) => h.id === state.selected);
  $("scope-title").textContent = current ? current.name : "";
}

const WINDOW_STATE = { closed: "未开窗", open: "空闲", paused: "暂停" };
const TICKET_STATE = { called: "叫号中", serving: "办理中" };

function render() {
  const hall = state.selected;
  const view = state.views[hall];
  if (!view) return;
  renderToday(hall, view);
  renderWindows(hall, view);
  renderAlerts(hall, view);
  renderServices(hall, view);
  renderDevices(view);
}

function renderToday(hall, view) {
  const t = view.today;
  const longest = view.longest_wait;
  const figures = [
    ["今日取号", t.issued], ["已办结", t.served],
    ["平均等候", t.wait_mean_s === null ? "—" : duration(t.wait_mean_s)],
    ["差评", t.bad_ratings], ["当前等候", `${view.waiting} 人`],
    ["最长等候", longest ? `${longest.number} · ${duration(since(hall, longest.since))}` : "—"],
  ];
  const box = $("today");
  box.replaceChildren();
  for (const [label, value] of figures) {
    const card = el("div", "figure");
    card.append(el("span", "figure-label", label), el("span", "figure-value", String(value)));
    if (label === "差评" && t.bad_ratings > 0) card.classList.add("bad");
    box.append(card);
  }
}

function renderWindows(hall, view) {
  const grid = $("windows");
  grid.replaceChildren();
  let open = 0;
  for (const w of view.windows) {
    const busy = w.current ? w.current.status : null;
    const kind = w.state === "open" ? (busy || "idle") : w.state;
    if (w.state !== "closed") open += 1;
    const card = el("div", `window-card ${kind}`);
    card.dataset.window = w.number;
    const head = el("div", "window-head");
    head.append(el("span", "window-number", `${w.number}号`), el("span", "window-name", w.name));
    card.append(head);
    card.append(el("div", "window-staff", w.staff ? w.staff.name : "—"));
    const status = el("div", "window-status");
    if (w.current) {
      status.append(el("strong", "ticket", w.current.number),
        el("span", null, ` ${TICKET_STATE[w.current.status] || w.current.status} ${duration(since(hall, w.current.since))}`));
    } else if (w.state === "paused") {
      status.textContent = `暂停 ${duration(since(hall, w.since))}${w.pause_reason ? `（${w.pause_reason}）` : ""}`;
    } else if (w.state === "open") {
      status.textContent = `空闲 ${duration(since(hall, w.since))}`;
    } else {
      status.textContent = WINDOW_STATE.closed;
    }
    card.append(status);
    grid.append(card);
  }
  $("windows-summary").textContent = `开窗 ${open} / ${view.windows.length}`;
}

function renderAlerts(hall, view) {
  const list = $("alerts");
  list.replaceChildren();
  const open = view.alerts.filter((a) => !a.cleared_at);
  const cleared = view.alerts.filter((a) => a.cleared_at).slice(0, 5);
  $("alerts-summary").textContent = open.length ? `${open.length} 条未解除` : "无";
  if (!view.alerts.length) list.append(el("li", "empty", "今日暂无告警"));
  for (const a of [...open, ...cleared]) {
    const item = el("li", `alert ${a.severity}${a.cleared_at ? " cleared" : ""}${a.acked_at ? " acked" : ""}`);
    item.dataset.alert = a.id;
    const title = el("div", "alert-title");
    title.append(el("strong", null, a.title), el("span", "muted", ` ${a.raised_at.slice(11, 16)}`));
    item.append(title, el("div", "alert-text", describe(a)));
    const foot = el("div", "alert-foot");
    if (a.cleared_at) foot.append(el("span", "muted", `已解除 ${a.cleared_at.slice(11, 16)}`));
    if (a.acked_at) foot.append(el("span", "muted", ` ${a.acked_by_name || a.acked_by} 已确认 ${a.acked_at.slice(11, 16)}`));
    if (!a.acked_at && !a.cleared_at && state.mayAcknowledge.has(hall)) {
      const ack = el("button", "ack", "确认");
      ack.type = "button";
      ack.addEventListener("click", () => acknowledge(hall, a.id, ack));
      foot.append(ack);
    }
    item.append(foot);
    list.append(item);
  }
}

function describe(a) {
  const d = a.detail || {};
  switch (a.kind) {
    case "wait":
      return `${d.service_name || a.service} 最长已等候 ${d.minutes} 分钟（预警 ${d.warn_minutes}、告警 ${d.alarm_minutes} 分钟）`;
    case "window_paused":
      return `${a.window}号窗口${d.staff ? `（${d.staff}）` : ""}已暂停 ${d.minutes} 分钟${d.reason ? `：${d.reason}` : ""}`;
    case "window_idle":
      return `${a.window}号窗口${d.staff ? `（${d.staff}）` : ""}空闲 ${d.minutes} 分钟，其业务有人等候`;
    case "bad_rating":
      return `${a.subject} 在 ${a.window}号窗口的评价为差评${(d.labels || []).length ? `：${d.labels.join("、")}` : ""}`;
    case "printer_offline":
      return `取号机 ${d.kiosk || ""} 的打印机 ${a.subject} 离线`;
    case "printer_paper":
      return `取号机 ${d.kiosk || ""} 的打印机 ${a.subject} ${d.paper_out ? "已缺纸" : "纸将用尽"}`;
    case "screen_offline":
      return `显示屏 ${a.subject} 已断开`;
    case "complaint_overdue":
      return `投诉 ${a.subject} 「${d.state_zh}」超过${d.step_zh}期限（${(d.due || "").slice(5, 16).replace("T", " ")}）` +
        `${d.region_name ? `，已报${d.region_name}` : ""}`;
    default:
      return a.kind;
  }
}

async function acknowledge(hall, id, button) {
  button.disabled = true;
  const result = await api(`/api/v1/halls/${encodeURIComponent(hall)}/alerts/${encodeURIComponent(id)}/acknowledge`,
    { method: "POST" });
  if (!result.ok) {
    button.disabled = false;
    showBanner(explain(result));
  }
}

function renderServices(hall, view) {
  const body = $("services");
  body.replaceChildren();
  for (const s of view.services) {
    const row = el("tr", `level-${s.level}`);
    row.dataset.service = s.code;
    row.append(el("td", null, s.name), el("td", "num", String(s.waiting)),
      el("td", "num", s.oldest ? `${s.oldest} · ${duration(since(hall, s.oldest_since))}` : "—"),
      el("td", "num muted", `${s.warn_minutes}/${s.alarm_minutes} 分`));
    body.append(row);
  }
}

function renderDevices(view) {
  const list = $("devices");
  list.replaceChildren();
  for (const p of view.printers) {
    const ok = p.online && !p.paper_out;
    const text = !p.online ? "离线" : p.paper_out ? "缺纸" : p.paper_near_end ? "纸将用尽" : "正常";
    list.append(el("li", ok && !p.paper_near_end ? "ok" : "bad", `打印机 ${p.name}（取号机 ${p.kiosk}）：${text}`));
  }
  for (const s of view.screens) {
    list.append(el("li", s.connected ? "ok" : "bad", `显示屏 ${s.name}：${s.connected ? "在线" : "断开"}`));
  }
  if (!view.printers.length && !view.screens.length) list.append(el("li", "empty", "尚无设备上报状态"));
}

setInterval(() => {
  if (!$("monitor-screen").hidden) render();
}, 1000);

$("logout").addEventListener("click", async () => {
  const socket = state.socket;
  state.socket = null;
  if (socket) socket.close();
  await signOut();
  toLogin("");
});

loginForm(enter);
if (session.load()) enter();
else toLogin("");
