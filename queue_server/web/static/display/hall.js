// The hall screen (大屏): the latest call, recent calls, waiting per service, a ticker.

import { Announcer } from "./voice.js";
import { Screen, fill, flash, h, pageParams, showConnection, startClock } from "./display.js";
import { windowArea } from "./reducer.js";

const SERVICES_PER_PAGE = 8;
const PAGE_SECONDS = 8;
const RECENT_SHOWN = 8;

const params = pageParams();
const $ = (id) => document.getElementById(id);

const announcer = new Announcer({ hall: params.hall, token: params.token,
  preferServerVoice: params.serverVoice });
announcer.setSilent(params.silent);

let lastCallKey = null;
let servicePage = 0;
let tickerText = null;

const screen = new Screen({
  hall: params.hall,
  token: params.token,
  area: params.area,
  onChange: render,
  // Silence is decided from the board the call arrived with, not from the last render: a
  // snapshot and a call can arrive within one animation frame.
  onAnnounce: (action, board) => {
    announcer.setSilent(isSilent(board.snapshot));
    announcer.enqueue(action.seq, action.text, action.number);
  },
  onStatus: (status) => showConnection($("offline"), status, screen),
  device: "hall_screen",
});

// For tests and the curious: the board and the announcement queue.
window.hallQueue = {
  get board() { return screen.board; },
  get status() { return screen.status; },
  announcements: announcer.entries,
  get soundOn() { return announcer.enabled; },
  enableSound: () => announcer.enable(),
};

function isSilent(snapshot) {
  return params.silent || (snapshot !== null && snapshot !== undefined && snapshot.voice === false);
}

function inArea(snapshot, window, service) {
  return params.area === null || windowArea(snapshot, window, service) === params.area;
}

function render(board) {
  const snapshot = board.snapshot;
  if (!snapshot) return;
  $("training-mark").hidden = !snapshot.training; // served with --ignore-hours
  const silent = isSilent(snapshot);
  announcer.setSilent(silent);
  $("silent-mark").hidden = !silent;
  if (silent || announcer.enabled) $("sound").hidden = true;

  $("hall-name").textContent = snapshot.name || snapshot.hall;
  const area = (snapshot.areas || []).find((a) => a.code === params.area);
  $("area-name").textContent = area ? area.name : "";
  document.title = `${snapshot.name || snapshot.hall} · 叫号大屏`;

  const calls = (snapshot.recent_calls || []).filter((c) => inArea(snapshot, c.window, c.service));
  // 正在呼叫 shows a call only while its ticket is still being called at that window: once
  // it is being served, finished, missed or moved on, it is history (最近呼叫)
  const calling = calls.find((c) => stillCalled(snapshot, c)) || null;
  renderLatest(calling, snapshot.idle_line || "欢迎光临，请取号等候");
  renderRecent(calls.filter((c) => c !== calling).slice(0, RECENT_SHOWN));
  renderServices(snapshot);
  renderTicker(snapshot);
}

function stillCalled(snapshot, call) {
  const win = (snapshot.windows || []).find((w) => w.number === call.window);
  const current = win && win.current;
  return Boolean(current && current.number === call.number && current.status === "called");
}

function renderLatest(call, idle) {
  const body = $("latest-body");
  const key = call ? `${call.number}|${call.window}|${call.calls}` : `idle|${idle}`;
  if (key === lastCallKey) return;
  const isNew = call !== null;
  lastCallKey = key;
  if (!call) {
    fill(body, h("div", { class: "latest-idle", id: "latest-idle" }, idle));
    return;
  }
  fill(body,
    h("div", { class: "latest-line" },
      h("span", { class: "latest-please" }, "请"),
      h("span", { class: "latest-number", id: "latest-number" }, call.number),
      h("span", { class: "latest-please" }, "号")),
    h("div", { class: "latest-line latest-to" },
      h("span", {}, "到"),
      h("span", { class: "latest-window", id: "latest-window" }, String(call.window)),
      h("span", {}, "号窗口办理")),
    call.calls > 1 ? h("div", { class: "latest-recall", id: "latest-recall" },
      `第 ${call.calls} 次呼叫`) : null);
  if (isNew) flash($("latest"));
}

function renderRecent(calls) {
  if (!calls.length) {
    fill($("recent"), h("li", { class: "recent-none" }, "暂无更早的呼叫"));
    return;
  }
  fill($("recent"), ...calls.map((c) =>
    h("li", { class: "recent-row" },
      h("span", { class: "recent-number" }, c.number),
      h("span", { class: "recent-arrow" }, "→"),
      h("span", { class: "recent-window" }, `${c.window} 号窗口`),
      h("span", { class: "recent-count" }, c.calls > 1 ? `第 ${c.calls} 次` : ""))));
}

function renderServices(snapshot) {
  const services = (snapshot.services || []).filter(
    (s) => params.area === null || s.area === params.area);
  const pages = Math.max(1, Math.ceil(services.length / SERVICES_PER_PAGE));
  servicePage %= pages;
  const shown = services.slice(servicePage * SERVICES_PER_PAGE, (servicePage + 1) * SERVICES_PER_PAGE);
  $("waiting-page").textContent = pages > 1 ? `${servicePage + 1} / ${pages}` : "";
  fill($("services"), ...shown.map((s) =>
    h("div", { class: "service-card" + (s.waiting > 0 ? "" : " service-empty") },
      h("div", { class: "service-head" },
        h("span", { class: "service-code" }, s.code),
        h("span", { class: "service-name" }, s.name)),
      h("div", { class: "service-figures" },
        h("span", { class: "service-waiting" }, "等候 ", h("b", {}, String(s.waiting ?? 0)), " 人"),
        h("span", { class: "service-estimate" }, estimate(s))))));
}

function estimate(service) {
  if (!service.waiting) return "无需等候";
  const minutes = service.estimated_wait_minutes;
  return Number.isFinite(minutes) ? `约 ${Math.max(1, Math.round(minutes))} 分钟` : "";
}

// The notices shown now: each item between its start and end (absolute instants, so the
// screen's own zone does not matter); a server without times sends plain `notices`.
export function shownNotices(snapshot, now = Date.now()) {
  if (!Array.isArray(snapshot.notice_items)) return snapshot.notices || [];
  return snapshot.notice_items.filter((n) =>
    (!n.starts_at || Date.parse(n.starts_at) <= now) && (!n.ends_at || now < Date.parse(n.ends_at)),
  ).map((n) => n.text);
}

function renderTicker(snapshot) {
  const items = [...shownNotices(snapshot), ...((snapshot.civility || {}).hall || [])];
  const text = items.join("　　◆　　");
  if (text === tickerText) return; // re-setting would restart the scroll
  tickerText = text;
  const ticker = $("ticker");
  ticker.textContent = text;
  // ~120 px per second whatever the length.
  ticker.style.animationDuration = `${Math.max(15, (ticker.scrollWidth + 1920) / 120)}s`;
}

// Where the browser holds sound back until a gesture, any click or key (a remote, a mouse
// plugged in once) turns it on; the prompt sits in the header bar, never over the calls.
async function enableSound() {
  if (announcer.enabled) return;
  await announcer.enable();
  $("sound").hidden = true;
}
$("sound").addEventListener("click", enableSound);
document.addEventListener("pointerdown", enableSound);
document.addEventListener("keydown", enableSound);

// A notice starts or ends with no event: look again every 15 s.
setInterval(() => {
  if (screen.board.snapshot) renderTicker(screen.board.snapshot);
}, 15000);

setInterval(() => {
  servicePage += 1;
  if (screen.board.snapshot) renderServices(screen.board.snapshot);
}, PAGE_SECONDS * 1000);

startClock($("date"), $("time"));
$("sound").hidden = true; // shown only if sound cannot start by itself
$("silent-mark").hidden = !params.silent;
if (!params.silent) {
  announcer.tryAutoplay().then((on) => {
    $("sound").hidden = on || announcer.enabled || isSilent(screen.board.snapshot);
  });
}
showConnection($("offline"), "connecting");
screen.start();
