// Rendering the console, the window's queue, and the bubble at the point of action.

import { fill, h } from "/display/static/display.js";
import { civilityMoment } from "/display/static/reducer.js";
import { actionId, leaveWindow, patchWindow, recallWait, refusal, restore } from "./actions.js";
import { api, serverNow, windowPath } from "./api.js";
import { explain } from "./messages.js";
import { currentScreen, currentSnapshot, hallConfig, loadSnapshot, myWindow, renderWindowList, serviceName } from "./session.js";
import { $, ACTIONS, BUBBLE_MS, LONG_WAIT_MINUTES, QUEUE_REFRESH_MS, state } from "./state.js";

// ---- rendering --------------------------------------------------------------------------

export function show(view) {
  state.view = view;
  $("login-screen").hidden = view !== "login";
  $("window-screen").hidden = view !== "windows";
  $("console-screen").hidden = view !== "console";
  if (view === "login") {
    setTimeout(() => $("staff-id").focus(), 0);
  }
  render();
}

export function showConsole() {
  state.queue = null;
  state.recallReadyAt = null;
  state.recallPending = false;
  show("console");
  refreshQueueSoon(0);
}

export function render() {
  const snapshot = currentSnapshot();
  $("hall-name").textContent = snapshot ? snapshot.name : (hallConfig() || {}).name || "";
  const who = $("who");
  who.hidden = !state.staff;
  if (state.staff) who.textContent = `${state.staff.name} · 工号 ${state.staff.id}`;
  $("bar-window").hidden = state.view !== "console";
  if (state.view === "windows") renderWindowList();
  if (state.view === "console") renderConsole();
}

// The window was closed elsewhere (the manager, the end of the day), or a snapshot read just
// before this clerk opened it says so: ask the server, and go back to the window list only
// when it is really closed.
export async function confirmClosed() {
  if (state.view !== "console" || state.busy) return;
  const number = state.window;
  await loadSnapshot();
  const w = state.snapshot && state.snapshot.windows.find((x) => x.number === number);
  if (state.view === "console" && state.window === number && w && w.state === "closed") {
    leaveWindow();
  } else if (w) {
    patchWindow(w);
    render();
  }
}

export function renderConsole() {
  const w = myWindow();
  if (!w) return;
  document.title = `${w.number} 号窗口 · 窗口工作台`;
  $("window-title").textContent = w.name || `${w.number} 号窗口`;
  const chip = $("window-state");
  if (w.state === "paused") {
    chip.className = "chip paused";
    chip.textContent = `暂停：${w.pause_reason || ""}`;
  } else if (w.staff && w.staff.stand_in) {
    chip.className = "chip stand-in";
    chip.textContent = `顶岗${w.staff.stand_in_for ? `（代 ${w.staff.stand_in_for}）` : ""}`;
  } else {
    chip.className = "chip open";
    chip.textContent = "在岗";
  }
  renderCurrent(w);
  renderCivility(w);
  renderActions();
  renderQueue(w);
}

export function currentDetails(w) {
  const current = w.current;
  if (!current) return null;
  const q = state.queue && state.queue.current;
  return q && q.number === current.number ? { ...q, ...current } : current;
}

export function renderCurrent(w) {
  const box = $("current");
  const current = currentDetails(w);
  if (w.state === "paused") {
    fill(box, h("div", { class: "current-label" }, "暂停服务"),
      h("div", { class: "current-paused" }, w.pause_reason || ""),
      h("div", { class: "current-hint" }, "按 8 或点击“恢复”继续服务"));
    return;
  }
  if (!current) {
    const waiting = state.queue ? state.queue.waiting.length : null;
    fill(box, h("div", { class: "current-label" }, "当前无号码"),
      h("div", { class: "current-idle" }, waiting === null ? "—" : `等候 ${waiting} 人`),
      h("div", { class: "current-hint" }, waiting ? "按 1 或点击“叫号”呼叫下一位" : "暂无等候的群众"));
    return;
  }
  const called = current.status === "called";
  const status = called ? `已呼叫${current.calls > 1 ? ` · 第 ${current.calls} 次` : ""}` : "办理中";
  fill(box,
    h("div", { class: "current-label" }, "当前号码"),
    h("div", { class: "current-main" },
      h("span", { class: "current-number", id: "current-number" }, current.number),
      h("span", { class: `chip ${current.status}`, id: "current-status" }, status)),
    h("div", { class: "current-service" }, serviceName(current.service),
      current.priority_name ? h("span", { class: "tag priority" }, current.priority_name) : null),
    h("div", { class: "current-times" },
      h("span", {}, "等候 ", h("b", { id: "current-waited" }, waitedText(current))),
      h("span", {}, called ? "已呼叫 " : "已办理 ",
        h("b", { id: "current-elapsed", class: "tabular" }, elapsedText(current)))));
}

export function waitedText(current) {
  const issued = Date.parse(current.issued_at || "");
  const called = Date.parse(current.called_at || "");
  if (Number.isNaN(issued) || Number.isNaN(called)) return "—";
  return `${Math.max(0, Math.round((called - issued) / 60000))} 分钟`;
}

export function elapsedText(current) {
  const from = Date.parse((current.status === "serving" ? current.started_at
    : current.last_called_at || current.called_at) || "");
  if (Number.isNaN(from)) return "—";
  const seconds = Math.max(0, Math.floor((serverNow() - from) / 1000));
  const mm = String(Math.floor(seconds / 60)).padStart(2, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  return `${mm}:${ss}`;
}

export function renderCivility(w) {
  const snapshot = currentSnapshot();
  const civility = (snapshot && snapshot.civility) || {};
  const moment = currentScreen() && currentScreen().board.snapshot ? civilityMoment(currentScreen().board, w.number) : null;
  let phrases = moment ? [...(civility[moment] || [])] : [];
  const current = currentDetails(w);
  if (moment === "greeting" && current) {
    const issued = Date.parse(current.issued_at || "");
    const called = Date.parse(current.called_at || "");
    if (!Number.isNaN(issued) && !Number.isNaN(called) &&
      (called - issued) / 60000 >= LONG_WAIT_MINUTES) {
      phrases = [...(civility.waited_long || []), ...phrases];
    }
  }
  if (moment === "finished") phrases = [...phrases, ...(civility.farewell || [])];
  $("civility").hidden = phrases.length === 0;
  $("civility-text").textContent = phrases.join("  ");
}

let actionButtons = null;

export function actionButton(id) {
  return actionButtons ? actionButtons.get(id) : undefined;
}

export function renderActions() {
  const box = $("actions");
  if (!actionButtons) {
    actionButtons = new Map();
    fill(box, ACTIONS.map((a) => {
      const button = h("button", { type: "button", class: `action action-${a.id}`, dataset: { action: a.id } },
        h("span", { class: "action-label" }, a.label), h("kbd", {}, a.key));
      actionButtons.set(a.id, button);
      return button;
    }));
  }
  const w = myWindow();
  for (const a of ACTIONS) {
    const button = actionButtons.get(a.id);
    const action = actionId(a.id);
    let label = a.label;
    if (action === "resume") label = "恢复";
    if (action === "recall") {
      const wait = recallWait();
      const current = w && w.current;
      if (wait > 0 && current && current.status === "called") label = `重呼（${wait} 秒）`;
    }
    const why = w ? refusal(action) : "…";
    button.querySelector(".action-label").textContent = label;
    button.setAttribute("aria-disabled", why ? "true" : "false");
    button.classList.toggle("busy", state.busy === action);
    button.dataset.current = action;
    if (why) button.title = why;
    else button.removeAttribute("title");
  }
}

export function renderQueue(w) {
  const q = state.queue;
  const services = (w.services || []).map(serviceName).join("、");
  $("queue-services").textContent = services;
  $("queue-services").title = services; // the whole list where the line ends in …
  const tbody = $("waiting");
  if (!q) {
    fill(tbody);
    $("waiting-count").textContent = "";
    $("waiting-empty").hidden = false;
    $("waiting-empty").textContent = state.queueError || "正在读取…";
  } else {
    $("waiting-count").textContent = `${q.waiting.length} 人`;
    $("waiting-empty").hidden = q.waiting.length > 0;
    $("waiting-empty").textContent = "暂无等候";
    fill(tbody, q.waiting.map((t) => h("tr", { dataset: { number: t.number } },
      h("td", { class: "number" }, t.number),
      h("td", {}, serviceName(t.service)),
      h("td", { class: "tabular" + (t.waited_minutes >= LONG_WAIT_MINUTES ? " long" : "") },
        `${t.waited_minutes} 分钟`),
      h("td", { class: "class" }, classTag(t)),
      h("td", {}, h("button", { type: "button", class: "row-action", dataset: { call: t.number } }, "叫此号")))));
  }
  $("missed-count").textContent = q ? String(q.missed.length) : "";
  $("suspended-count").textContent = q ? String(q.suspended.length) : "";
  $("tab-missed").setAttribute("aria-selected", String(state.aside === "missed"));
  $("tab-suspended").setAttribute("aria-selected", String(state.aside === "suspended"));
  const list = q ? q[state.aside] : [];
  const aside = $("aside-list");
  if (!list.length) {
    fill(aside, h("div", { class: "empty" }, state.aside === "missed" ? "暂无过号" : "暂无挂起"));
  } else {
    fill(aside, list.map((t) => h("div", { class: "aside-row", dataset: { number: t.number } },
      h("span", { class: "number" }, t.number),
      h("span", { class: "aside-service" }, serviceName(t.service)),
      h("span", { class: "muted" }, state.aside === "missed"
        ? `已过号 ${t.misses || 1} 次` : t.note || ""),
      h("button", { type: "button", class: "secondary", dataset: { restore: t.number } }, "恢复"))));
  }
}

// The ticket's priority class, short (the full name on hover): "老年人（70 周岁以上）" → 老年人.
export function classTag(t) {
  if (t.appointment) return h("span", { class: "tag appointment", title: t.priority_name || "预约" }, "预约");
  if (!t.priority) return h("span", { class: "muted" }, "普通");
  const name = t.priority_name || t.priority;
  return h("span", { class: "tag priority", title: name }, name.replace(/[（(].*$/, ""));
}

// ---- the window's queue -----------------------------------------------------------------

let queueTimer = null;
let queueRefresh = null;
let queueLoading = false;
let queueAgain = false;

export function refreshQueueSoon(delay = 150) {
  if (state.window === null || state.view !== "console") return;
  clearTimeout(queueTimer);
  queueTimer = setTimeout(loadQueue, delay);
}

export async function loadQueue() {
  if (state.window === null) return;
  if (queueLoading) {
    queueAgain = true;
    return;
  }
  queueLoading = true;
  const windowNumber = state.window;
  const asked = performance.now();
  const result = await api(windowPath("queue"));
  queueLoading = false;
  if (windowNumber === state.window) {
    if (result.ok) {
      state.queue = result.data;
      state.actionsFresh = asked > state.changedAt;
      state.queueError = null;
      const at = Date.parse(result.data.recall_available_at || "");
      state.recallReadyAt = Number.isNaN(at) ? null : at;
      state.recallPending = false;
    } else if (result.status !== 401) {
      state.queueError = result.status === 404 ? "队列暂不可用" : explain(result);
      state.recallPending = false; // the server decides
    }
    render();
  }
  clearTimeout(queueRefresh);
  queueRefresh = setTimeout(() => refreshQueueSoon(0), QUEUE_REFRESH_MS);
  if (queueAgain) {
    queueAgain = false;
    loadQueue();
  }
}

// ---- the bubble: a message at the point of action ---------------------------------------

let bubbleTimer = null;

export function bubble(element, text, kind = "error") {
  const box = $("bubble");
  box.textContent = text;
  box.className = `bubble ${kind}`;
  box.hidden = false;
  const anchor = element && element.getBoundingClientRect ? element.getBoundingClientRect() : null;
  box.style.maxWidth = `${Math.min(420, window.innerWidth - 16)}px`;
  if (anchor) {
    const width = box.offsetWidth; // as laid out with this text
    const left = Math.min(Math.max(8, anchor.left + anchor.width / 2 - width / 2), window.innerWidth - width - 8);
    let top = anchor.bottom + 8;
    if (top + 80 > window.innerHeight) top = Math.max(8, anchor.top - 8 - 64);
    box.style.left = `${left + window.scrollX}px`;
    box.style.top = `${top + window.scrollY}px`;
  }
  if (element && element.classList) {
    element.classList.remove("refused");
    void element.offsetWidth;
    if (kind === "error") element.classList.add("refused");
  }
  clearTimeout(bubbleTimer);
  bubbleTimer = setTimeout(hideBubble, BUBBLE_MS);
}

export function hideBubble() {
  $("bubble").hidden = true;
}
