// The window screen (窗口屏): the window, its staff on duty, the number being served, its
// state and a civility phrase for the moment. Silent: the hall screen does the voice.

import { Screen, fill, flash, h, pageParams, safeImageUrl, showConnection, startClock } from "./display.js";
import { civilityMoment } from "./reducer.js";

const PHRASE_SECONDS = 8;

const params = pageParams();
const $ = (id) => document.getElementById(id);

let lastCurrentKey = null;
let phraseIndex = 0;
let phrases = [];

const screen = new Screen({
  hall: params.hall,
  token: params.token,
  window: params.window,
  onChange: render,
  onStatus: (status) => showConnection($("offline"), status, screen),
  device: "window_screen",
});

window.hallQueue = {
  get board() { return screen.board; },
  get status() { return screen.status; },
  announcements: [],
};

function render(board) {
  const snapshot = board.snapshot;
  if (!snapshot) return;
  $("training-mark").hidden = !snapshot.training; // served with --ignore-hours
  const win = (snapshot.windows || []).find((w) => w.number === params.window);
  document.title = `${params.window} 号窗口 · ${snapshot.name || snapshot.hall}`;
  $("window-number").textContent = `${params.window} 号窗口`;
  if (!win) {
    $("window-services").textContent = "";
    setState("closed", "窗口未配置");
    fill($("staff"), h("div", { class: "staff-none" }, "—"));
    fill($("serving"), h("div", { class: "serving-idle" }, `本厅没有 ${params.window} 号窗口`));
    setPhrases([]);
    return;
  }
  const names = new Map((snapshot.services || []).map((s) => [s.code, s.name]));
  const services = (win.services || []).map((code) => names.get(code) || code).join("、");
  const title = win.name && win.name !== `${win.number} 号窗口` ? `${win.name} · ` : "";
  $("window-services").textContent = title + services;

  const staff = win.staff || null;
  if (win.state === "paused") {
    setState("paused", win.pause_reason ? `暂停服务（${win.pause_reason}）` : "暂停服务");
  } else if (win.state !== "open") {
    setState("closed", "暂停服务");
  } else if (staff && staff.stand_in) {
    setState("stand-in", `顶岗：${staff.name}`);
  } else {
    setState("open", "在岗");
  }

  renderStaff(staff, win.state);
  renderServing(win);
  const moment = civilityMoment(board, params.window);
  // The clerk's own message (checked against the taboo list by the server) comes first.
  const civility = moment ? ((snapshot.civility || {})[moment] || []) : [];
  setPhrases(win.message && win.state !== "closed" ? [win.message, ...civility] : civility);
}

function setState(kind, text) {
  const element = $("window-state");
  element.className = `window-state ${kind}`;
  element.textContent = text;
}

function renderStaff(staff, state) {
  if (!staff || state === "closed") {
    fill($("staff"), h("div", { class: "staff-none" }, "暂无工作人员在岗"));
    return;
  }
  const photo = safeImageUrl(staff.photo_url);
  const picture = photo
    ? h("img", { class: "staff-photo", src: photo, alt: staff.name })
    : h("div", { class: "staff-placeholder", "aria-hidden": "true" }, [...(staff.name || "?")][0]);
  fill($("staff"),
    picture,
    h("div", { class: "staff-name" }, staff.name),
    h("div", { class: "staff-id" }, `工号 ${staff.id}`),
    staff.stand_in ? h("div", { class: "staff-role" }, "顶岗人员") : null);
}

function renderServing(win) {
  const current = win.current || null;
  const key = current ? `${current.number}|${current.status}|${current.calls}` : null;
  const serving = $("serving");
  if (win.state === "paused") {
    fill(serving,
      h("div", { class: "serving-label" }, "暂停服务"),
      win.pause_reason ? h("div", { class: "pause-reason" }, win.pause_reason) : null,
      h("div", { class: "serving-status" }, "请到其他窗口办理或稍候"));
  } else if (win.state !== "open") {
    fill(serving, h("div", { class: "serving-idle" }, "暂停服务"));
  } else if (!current) {
    fill(serving, h("div", { class: "serving-idle" }, "等待叫号"));
  } else {
    const called = current.status === "called";
    fill(serving,
      h("div", { class: called ? "serving-status" : "serving-label" }, called ? "请" : "正在办理"),
      h("div", { class: "serving-number", id: "serving-number" }, current.number),
      h("div", { class: "serving-status" },
        called ? (current.calls > 1 ? `号到本窗口办理（第 ${current.calls} 次呼叫）` : "号到本窗口办理")
          : ""));
    if (called && key !== lastCurrentKey) flash(serving);
  }
  lastCurrentKey = key;
}

function setPhrases(list) {
  if (list.join("|") === phrases.join("|")) return;
  phrases = list;
  phraseIndex = 0;
  showPhrase();
}

function showPhrase() {
  $("civility").textContent = phrases.length ? phrases[phraseIndex % phrases.length] : "";
}

setInterval(() => {
  phraseIndex += 1;
  showPhrase();
}, PHRASE_SECONDS * 1000);

startClock($("date"), $("time"));
showConnection($("offline"), "connecting");
if (params.window === null) {
  fill($("serving"), h("div", { class: "serving-idle" }, "地址中缺少窗口号"));
} else {
  screen.start();
}
