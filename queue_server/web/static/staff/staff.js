// The window staff console (窗口工作台): sign in, take a window, work its queue with big
// buttons and number keys. The hall's queue.v1 socket (display.js Screen, reducer.js) keeps
// the window live; the window's own queue (GET …/windows/{n}/queue) is fetched again
// whenever an event may have changed it.
//
// A double click never acts twice: one action is in flight at a time, a second click of the
// same button within SAME_CLICK_MS is the same click (ignored), and every click sends its own
// Idempotency-Key — except a retry after an answer that never came, which re-sends the key
// of the attempt that may have acted.

import { Screen, fill, h, showConnection, startClock } from "/display/static/display.js";
import { requestJson } from "/display/static/http.js";
import { civilityMoment } from "/display/static/reducer.js";
import { explain, message as refusalText } from "./messages.js";

const SESSION_KEY = "hallQueue.staff";
const SAME_CLICK_MS = 700; // a second click this soon is the same click (a double click)
const RETRY_SAME_KEY_MS = 120000; // a retry this soon after a lost answer re-sends its key
const QUEUE_REFRESH_MS = 30000; // minutes waited go up without any event
const BUBBLE_MS = 6000;
// The common warning threshold of a district hall (DOMAIN: 15 min); the hall's own
// per-service thresholds are not published to pages.
const LONG_WAIT_MINUTES = 15;

const PAUSE_REASONS = ["咨询", "材料核验", "系统故障", "临时离开", "午休", "业务培训"];
const SUSPEND_REASONS = ["材料不齐，待补充", "需核实信息", "等待审批", "群众暂时离开"];
const TRANSFER_REASONS = ["需其他业务办理", "需其他窗口办理", "取号业务选错"];
const CALL_REASONS = ["预约到号", "导服台指引", "特殊情况优先办理", "补办上一环节"];


// The console's actions in button order; `key` is its keyboard shortcut.
const ACTIONS = [
  { id: "call-next", label: "叫号", key: "1" },
  { id: "recall", label: "重呼", key: "2" },
  { id: "start", label: "开始办理", key: "3" },
  { id: "finish", label: "办结", key: "4" },
  { id: "miss", label: "过号", key: "5" },
  { id: "transfer", label: "转移", key: "6", dialog: true },
  { id: "suspend", label: "挂起", key: "7", dialog: true },
  { id: "pause", label: "暂停", key: "8", dialog: true }, // 恢复 while paused
  { id: "call", label: "指定叫号", key: "9", dialog: true },
];

// ---- state ------------------------------------------------------------------------------

const state = {
  token: null,
  staff: null, // {id, name, role, hall}
  hall: null, // hall id
  halls: [], // GET /api/v1/halls
  snapshot: null, // GET /api/v1/halls/{hall}/queue, until the socket brings a board
  window: null, // the window signed in to
  queue: null, // GET …/windows/{n}/queue
  queueError: null,
  busy: null, // the action in flight: one at a time
  lastClick: { signature: null, at: 0 },
  unsettled: null, // {signature, key, at}: an attempt whose answer never came
  offsetMs: 0, // the server's clock minus ours (from event and snapshot times)
  recallReadyAt: null, // server time (ms) from which a recall is allowed
  recallPending: false, // a call was just made; its recall time is not known yet
  aside: "missed",
  dialog: null, // {kind, …}
  dialogClosedAt: 0,
  view: "login",
  actions: 0, // requests sent by action buttons (tests read it)
  actionsFresh: false, // the window view's `actions` is newer than this console's last action
  changedAt: 0, // when this console last sent an action
};

let screen = null;

window.hallQueue = {
  state,
  get board() { return screen ? screen.board : null; },
};

const $ = (id) => document.getElementById(id);

// ---- the server -------------------------------------------------------------------------

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "staff-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function api(path, { method = "GET", body, key } = {}) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (key) headers["Idempotency-Key"] = key;
  const result = await requestJson(path, { method, body, headers });
  if (result.status === 401 && state.token && !path.endsWith("/auth/login")) {
    sessionExpired();
  }
  return result;
}

const hallPath = () => `/api/v1/halls/${encodeURIComponent(state.hall)}`;
const windowPath = (action) => `${hallPath()}/windows/${state.window}/${action}`;

export { explain }; // the console's words for a refusal live in messages.js

// ---- session ----------------------------------------------------------------------------

function saveSession() {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({
    token: state.token, staff: state.staff, hall: state.hall, window: state.window,
  }));
}

function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
  state.token = null;
  state.staff = null;
  state.window = null;
  state.queue = null;
  state.snapshot = null;
  if (screen) screen.stop();
  screen = null;
}

function sessionExpired() {
  clearSession();
  show("login");
  $("login-error").textContent = "登录已过期，请重新登录";
}

async function resumeSession() {
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
  } catch {
    saved = null;
  }
  if (!saved || !saved.token) {
    show("login");
    return;
  }
  state.token = saved.token;
  state.staff = saved.staff;
  state.hall = saved.hall;
  const me = await api("/api/v1/auth/me");
  if (!me.ok) {
    if (me.status !== 401) {
      clearSession();
      show("login");
      $("login-error").textContent = explain(me);
    }
    return;
  }
  if (me.data.kind !== "staff") {
    clearSession();
    show("login");
    return;
  }
  await enterHall();
}

async function login(event) {
  event.preventDefault();
  if (state.busy) return;
  const staffId = $("staff-id").value.trim();
  const password = $("password").value;
  const error = $("login-error");
  if (!staffId || !password) {
    error.textContent = "请输入工号和密码";
    return;
  }
  state.busy = "login";
  error.textContent = "";
  $("login-button").disabled = true;
  $("login-button").textContent = "登录中…";
  const result = await api("/api/v1/auth/login", {
    method: "POST", body: { staff_id: staffId, password },
  });
  state.busy = null;
  $("login-button").disabled = false;
  $("login-button").textContent = "登 录";
  if (!result.ok) {
    error.textContent = result.status === 401 || result.status === 404 ? "工号或密码错误"
      : explain(result);
    return;
  }
  $("password").value = "";
  state.token = result.data.token;
  state.staff = result.data.staff;
  state.hall = result.data.staff.hall;
  saveSession();
  await enterHall();
}

async function logout() {
  if (state.token) await api("/api/v1/auth/logout", { method: "POST", key: newKey() });
  clearSession();
  $("staff-id").value = "";
  show("login");
}

// ---- hall and window choice -------------------------------------------------------------

async function enterHall() {
  const halls = await api("/api/v1/halls");
  if (!halls.ok) {
    show("login");
    $("login-error").textContent = explain(halls);
    return;
  }
  state.halls = halls.data.halls;
  if (!state.hall || !state.halls.some((x) => x.id === state.hall)) {
    state.hall = state.staff.hall || (state.halls[0] && state.halls[0].id);
  }
  saveSession();
  await loadSnapshot();
  startScreen();
  const mine = myOpenWindow();
  if (mine) {
    // Already on duty (a reload, a second tab): straight back to the window.
    state.window = mine.number;
    saveSession();
    showConsole();
  } else {
    state.window = null;
    saveSession();
    show("windows");
  }
}

async function loadSnapshot() {
  const result = await api(`${hallPath()}/queue`);
  if (result.ok) {
    state.snapshot = result.data;
    noteServerTime(result.data.at);
  }
}

function startScreen() {
  if (screen) screen.stop();
  screen = new ConsoleScreen({
    hall: state.hall,
    token: state.token,
    onChange: render,
    onStatus: (status) => {
      showConnection($("connection"), status);
      if (status === "online") refreshQueueSoon(0);
    },
  });
  screen.start();
}

class ConsoleScreen extends Screen {
  start() {
    this.stopped = false;
    this.connect();
    this.watchTimer = setInterval(() => this.watch(), 5000);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.watchTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000, "signed out");
  }

  connect() {
    if (!this.stopped) super.connect();
  }

  scheduleReconnect() {
    if (!this.stopped) super.scheduleReconnect();
  }

  receive(message) {
    super.receive(message);
    if (message.type === "snapshot") {
      noteServerTime(message.snapshot.at);
      refreshQueueSoon();
      const w = myWindow();
      if (w && w.state === "closed") confirmClosed();
    } else if (message.type === "event") {
      const event = message.event;
      noteServerTime(event.at);
      if (concernsMyWindow(event)) refreshQueueSoon();
      if (event.kind === "window_closed" && event.window && event.window.number === state.window) {
        confirmClosed();
      }
    }
  }
}

function currentSnapshot() {
  return screen && screen.board.snapshot ? screen.board.snapshot : state.snapshot;
}

function hallConfig() {
  return state.halls.find((x) => x.id === state.hall) || null;
}

function serviceName(code) {
  const hall = hallConfig();
  const service = hall && hall.services.find((s) => s.code === code);
  return service ? service.name : code;
}

function myWindow() {
  const snapshot = currentSnapshot();
  if (!snapshot || state.window === null) return null;
  return snapshot.windows.find((w) => w.number === state.window) || null;
}

function myOpenWindow() {
  const snapshot = currentSnapshot();
  if (!snapshot || !state.staff) return null;
  return snapshot.windows.find((w) => w.state !== "closed" && w.staff &&
    w.staff.id === state.staff.id) || null;
}

// This console changed the window: its `actions` are stale until the next view arrives.
// (What others change arrives as events, and the view is asked for again then.)
function noteChange() {
  state.changedAt = performance.now();
  state.actionsFresh = false;
}

function concernsMyWindow(event) {
  if (state.window === null) return false;
  if (event.window && event.window.number === state.window) return true;
  const w = myWindow();
  const services = new Set(w ? w.services : []);
  if (event.ticket && services.has(event.ticket.service)) return true;
  return (event.services || []).some((s) => services.has(s.code));
}

function renderWindowList() {
  const snapshot = currentSnapshot();
  const list = $("window-list");
  const hall = hallConfig();
  const pick = $("hall-pick");
  $("hall-pick-label").hidden = Boolean(state.staff && state.staff.hall) || state.halls.length < 2;
  if (!$("hall-pick-label").hidden && pick.options.length !== state.halls.length) {
    fill(pick, state.halls.map((x) => h("option", { value: x.id }, x.name)));
  }
  pick.value = state.hall || "";
  $("stand-in-for-label").hidden = !$("stand-in").checked;
  if (!snapshot || !hall) {
    fill(list, h("div", { class: "empty" }, "正在读取窗口…"));
    return;
  }
  fill(list, snapshot.windows.map((w) => {
    const mine = w.staff && state.staff && w.staff.id === state.staff.id && w.state !== "closed";
    const taken = w.state !== "closed" && !mine;
    let stateText = "未开启";
    if (w.state === "paused") stateText = `暂停（${w.pause_reason || "暂停"}）`;
    else if (w.state === "open") stateText = "在岗";
    const services = (w.services || []).map(serviceName).join("、");
    return h("div", { class: `window-card ${w.state}${mine ? " mine" : ""}`, dataset: { window: w.number } },
      h("div", { class: "window-card-number" }, `${w.number} 号窗口`),
      w.name && w.name !== `${w.number} 号窗口` ? h("div", { class: "window-card-name" }, w.name) : null,
      h("div", { class: "window-card-services" }, services),
      h("div", { class: "window-card-state" },
        stateText, w.staff && w.state !== "closed" ? `：${w.staff.name}${w.staff.stand_in ? "（顶岗）" : ""}` : ""),
      h("button", {
        class: mine ? "primary" : "secondary", type: "button", disabled: taken,
        dataset: { open: w.number },
      }, mine ? "回到本窗口" : taken ? "已有人员在岗" : "签到上岗"));
  }));
}

async function openWindow(number, button) {
  if (state.busy || repeatedClick(`open:${number}`)) return;
  const snapshot = currentSnapshot();
  const w = snapshot && snapshot.windows.find((x) => x.number === number);
  if (w && w.state !== "closed" && w.staff && w.staff.id === state.staff.id) {
    state.window = number;
    saveSession();
    showConsole();
    return;
  }
  const body = {};
  if ($("stand-in").checked) {
    const standInFor = $("stand-in-for").value.trim();
    if (!standInFor) {
      bubble($("stand-in-for"), "请填写被顶岗人员的工号");
      return;
    }
    if (standInFor === state.staff.id) {
      bubble($("stand-in-for"), "不能为自己顶岗");
      return;
    }
    body.stand_in_for = standInFor;
  }
  noteClick(`open:${number}`);
  const previous = state.window;
  state.window = number;
  const result = await send("open", body, button);
  if (result && result.ok) {
    saveSession();
    showConsole();
  } else {
    state.window = previous;
  }
}

// ---- actions ----------------------------------------------------------------------------

// Why `action` cannot be done now (plain Chinese), or null. The server decides: the window
// view lists each action allowed or refused (with its code), computed by the same guards the
// commands run. Between an action and the next view (`actionsFresh` false) the console does
// not guess: it sends, and the server's answer says why, if it refuses.
function refusal(action) {
  const w = myWindow();
  if (!w) return "窗口信息加载中，请稍候";
  if (action === "recall" && state.recallPending) return "请稍候";
  const listed = state.actionsFresh && state.queue && Array.isArray(state.queue.actions)
    ? state.queue.actions.find((a) => a.action === action) : null;
  if (!listed || listed.allowed) return null;
  if (listed.code === "ticket.recall_too_soon") {
    // The wait counts down here; once over, the server allows it.
    const wait = recallWait();
    return wait > 0 ? refusalText({ ...listed, retry_in_seconds: wait }, action) : null;
  }
  return refusalText(listed, action);
}

function maxCalls() {
  // Unknown until the window's queue arrives: then only the server decides.
  return state.queue && Number.isInteger(state.queue.max_calls) ? state.queue.max_calls : null;
}

function recallWait() {
  if (state.recallReadyAt === null) return 0;
  return Math.max(0, Math.ceil((state.recallReadyAt - serverNow()) / 1000));
}

function actionId(id) {
  const w = myWindow();
  return id === "pause" && w && w.state === "paused" ? "resume" : id;
}

// Whether this click repeats the last click that acted (a double click): it is ignored.
function repeatedClick(signature) {
  const last = state.lastClick;
  return last.signature === signature && Date.now() - last.at < SAME_CLICK_MS;
}

function noteClick(signature) {
  state.lastClick = { signature, at: Date.now() };
}

async function runAction(id, element, { pointer = true } = {}) {
  if (state.busy || state.dialog || repeatedClick(`action:${id}`)) return;
  // The second click of a double click on a dialog's button lands on what lay beneath it.
  if (pointer && Date.now() - state.dialogClosedAt < SAME_CLICK_MS) return;
  const action = actionId(id);
  const why = refusal(action);
  if (why) {
    bubble(element, why);
    return;
  }
  if (action === "transfer" || action === "suspend" || action === "pause" || action === "call") {
    openDialog(action); // while it is open, nothing else is clicked
    return;
  }
  noteClick(`action:${id}`);
  const result = await send(action, {}, element);
  if (result && result.ok && action === "call-next" && !result.data.ticket) {
    bubble(element, "当前没有等候的号码", "info");
  }
}

// A new key per click; but after an attempt whose answer was lost (network, 5xx) the same
// request again is the same intent, and its key lets the server answer it with the first
// attempt's result instead of acting again.
function keyFor(signature) {
  const lost = state.unsettled;
  if (lost && lost.signature === signature && Date.now() - lost.at < RETRY_SAME_KEY_MS) {
    return lost.key;
  }
  return newKey();
}

async function send(action, body, element, { path = null, quiet = false } = {}) {
  if (state.busy) return null;
  const url = path || windowPath(action);
  const signature = `${url}|${JSON.stringify(body)}`;
  const key = keyFor(signature);
  state.busy = action;
  noteChange();
  renderActions();
  state.actions += 1;
  const result = await api(url, { method: "POST", body, key });
  state.busy = null;
  state.unsettled = result.status === 0 || result.status >= 500
    ? { signature, key, at: Date.now() } : null;
  if (result.ok) {
    hideBubble();
    if (result.data && result.data.window) patchWindow(result.data.window);
    if (action === "call-next" || action === "call" || action === "recall") {
      state.recallPending = true; // until the queue answer brings the next allowed time
    }
    refreshQueueSoon(0);
  } else if (result.status !== 401 && !quiet) {
    if (result.data && Number.isInteger(result.data.retry_in_seconds)) {
      state.recallReadyAt = serverNow() + result.data.retry_in_seconds * 1000;
    }
    bubble(element, explain(result, action));
  }
  render();
  return result;
}

// The answer's window is newer than the board until its event arrives: show it now.
function patchWindow(view) {
  if (screen && screen.board.snapshot) {
    const board = screen.board;
    const windows = board.snapshot.windows.map((w) => (w.number === view.number ? view : w));
    screen.board = { ...board, snapshot: { ...board.snapshot, windows } };
  } else if (state.snapshot) {
    state.snapshot = {
      ...state.snapshot,
      windows: state.snapshot.windows.map((w) => (w.number === view.number ? view : w)),
    };
  }
}

async function restore(number, element) {
  if (state.busy || repeatedClick(`restore:${number}`)) return;
  noteClick(`restore:${number}`);
  const result = await send("restore", {}, element, {
    path: `${hallPath()}/tickets/${encodeURIComponent(number)}/restore`,
  });
  if (result && result.ok) {
    const ahead = result.data.ticket && result.data.ticket.ahead;
    bubble(element, Number.isInteger(ahead) ? `${number} 已恢复等候，前面 ${ahead} 人` : `${number} 已恢复等候`, "info");
  }
}

// ---- dialogs ----------------------------------------------------------------------------

function chips(name, options) {
  return h("div", { class: "chips", role: "radiogroup" },
    options.map((text) => h("label", { class: "chip-option" },
      h("input", { type: "radio", name, value: text }), h("span", {}, text))));
}

function openDialog(kind, extra = {}) {
  const w = myWindow();
  const current = w && w.current;
  const body = $("dialog-body");
  const ok = $("dialog-ok");
  $("dialog-error").textContent = "";
  ok.textContent = "确定";
  ok.className = "primary big";
  let title = "";
  if (kind === "pause") {
    title = "暂停服务";
    fill(body, h("p", { class: "dialog-note" }, "请选择暂停原因（窗口屏将显示“暂停服务”及原因）"),
      chips("reason", PAUSE_REASONS));
    ok.textContent = "暂停服务";
  } else if (kind === "suspend") {
    title = `挂起 ${current.number}`;
    fill(body, h("p", { class: "dialog-note" }, "挂起后，群众补齐材料当天可恢复办理"),
      chips("reason", SUSPEND_REASONS),
      h("label", { class: "field" }, "补充说明（可选）", h("input", { name: "note", maxlength: 100 })));
    ok.textContent = "挂起";
  } else if (kind === "transfer") {
    title = `转移 ${current.number}`;
    const hall = hallConfig();
    const here = state.window;
    fill(body,
      h("div", { class: "transfer-target" },
        h("label", { class: "check" }, h("input", { type: "radio", name: "target", value: "service", checked: true }), " 转到业务"),
        h("select", { name: "service", "aria-label": "转到业务" },
          hall.services.map((s) => h("option", { value: s.code, selected: s.code === current.service }, `${s.code} ${s.name}`))),
        h("label", { class: "check" }, h("input", { type: "radio", name: "target", value: "window" }), " 转到窗口"),
        h("select", { name: "window", "aria-label": "转到窗口" },
          hall.windows.filter((x) => x.number !== here).map((x) => h("option", { value: x.number },
            `${x.number} 号窗口${x.name && x.name !== `${x.number} 号窗口` ? ` ${x.name}` : ""}`)))),
      h("p", { class: "dialog-note" }, "转移后保留原取号时间，不需重新排队。转移原因："),
      chips("reason", TRANSFER_REASONS),
      h("label", { class: "field" }, "补充说明（可选）", h("input", { name: "note", maxlength: 100 })));
    ok.textContent = "转移";
  } else if (kind === "call") {
    title = "指定叫号";
    fill(body,
      h("label", { class: "field" }, "号码",
        h("input", { name: "number", value: extra.number || "", maxlength: 8, placeholder: "如 A012",
          autocomplete: "off", autocapitalize: "characters" })),
      h("p", { class: "dialog-note" }, "不按顺序叫号须说明原因，原因将记入日志："),
      chips("reason", CALL_REASONS),
      h("label", { class: "field" }, "补充说明（可选）", h("input", { name: "note", maxlength: 100 })));
    ok.textContent = "叫号";
  } else if (kind === "close") {
    title = `关闭 ${state.window} 号窗口`;
    fill(body, h("p", { class: "dialog-note" }, "关闭后窗口屏显示“暂停服务”，本窗口不再叫号。"));
    ok.textContent = "关闭窗口";
  } else if (kind === "sign-off") {
    title = "下班签退";
    fill(body, h("p", { class: "dialog-note" },
      state.window !== null ? `将关闭 ${state.window} 号窗口并退出登录。` : "将退出登录。"));
    ok.textContent = "签退";
  }
  $("dialog-title").textContent = title;
  state.dialog = { kind };
  $("dialog").showModal();
  const first = body.querySelector("input[name=number], input[type=radio]:not([name=target])");
  if (first) first.focus();
}

function closeDialog() {
  state.dialog = null;
  state.dialogClosedAt = Date.now();
  if ($("dialog").open) $("dialog").close();
}

function formValue(name) {
  const form = $("dialog-form");
  const checked = form.querySelector(`input[name="${name}"]:checked`);
  if (checked) return checked.value;
  const field = form.elements.namedItem(name);
  return field && "value" in field ? String(field.value).trim() : "";
}

function reasonOf() {
  return [formValue("reason"), formValue("note")].filter(Boolean).join("：");
}

async function submitDialog(event) {
  event.preventDefault();
  if (!state.dialog || state.busy) return;
  const kind = state.dialog.kind;
  const error = $("dialog-error");
  const ok = $("dialog-ok");
  let body = {};
  if (kind === "pause") {
    body = { reason: formValue("reason") };
    if (!body.reason) return void (error.textContent = "请选择暂停原因");
  } else if (kind === "suspend") {
    body = { reason: reasonOf() };
    if (!body.reason) return void (error.textContent = "请选择或填写挂起原因");
  } else if (kind === "transfer") {
    const reason = reasonOf();
    if (!reason) return void (error.textContent = "请选择或填写转移原因");
    body = formValue("target") === "window"
      ? { window: Number.parseInt(formValue("window"), 10), reason }
      : { service: formValue("service"), reason };
  } else if (kind === "call") {
    const number = formValue("number").toUpperCase().replace(/\s+/g, "");
    if (!/^[A-Z]{1,2}\d{1,4}$/.test(number)) return void (error.textContent = "请输入号码，如 A012");
    const reason = reasonOf();
    if (!reason) return void (error.textContent = "请选择或填写指定叫号的原因");
    body = { number, reason };
  }
  if (kind === "sign-off") {
    await signOff();
    return;
  }
  error.textContent = "";
  noteClick(`dialog:${kind}`);
  const result = await send(kind, body, ok, { quiet: true });
  if (!result) return;
  if (result.ok) {
    closeDialog();
    if (kind === "close") leaveWindow();
  } else if (result.status !== 401) {
    error.textContent = explain(result);
  }
}

async function signOff() {
  const w = myWindow();
  if (w && w.state !== "closed") {
    const result = await send("close", {}, $("dialog-ok"), { quiet: true });
    if (!result) return;
    if (!result.ok) {
      if (result.status !== 401) $("dialog-error").textContent = explain(result);
      return;
    }
  }
  closeDialog();
  await logout();
}

function leaveWindow() {
  state.window = null;
  state.queue = null;
  saveSession();
  show("windows");
}

// ---- rendering --------------------------------------------------------------------------

function show(view) {
  state.view = view;
  $("login-screen").hidden = view !== "login";
  $("window-screen").hidden = view !== "windows";
  $("console-screen").hidden = view !== "console";
  if (view === "login") {
    setTimeout(() => $("staff-id").focus(), 0);
  }
  render();
}

function showConsole() {
  state.queue = null;
  state.recallReadyAt = null;
  state.recallPending = false;
  show("console");
  refreshQueueSoon(0);
}

function render() {
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
async function confirmClosed() {
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

function renderConsole() {
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

function currentDetails(w) {
  const current = w.current;
  if (!current) return null;
  const q = state.queue && state.queue.current;
  return q && q.number === current.number ? { ...q, ...current } : current;
}

function renderCurrent(w) {
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

function waitedText(current) {
  const issued = Date.parse(current.issued_at || "");
  const called = Date.parse(current.called_at || "");
  if (Number.isNaN(issued) || Number.isNaN(called)) return "—";
  return `${Math.max(0, Math.round((called - issued) / 60000))} 分钟`;
}

function elapsedText(current) {
  const from = Date.parse((current.status === "serving" ? current.started_at
    : current.last_called_at || current.called_at) || "");
  if (Number.isNaN(from)) return "—";
  const seconds = Math.max(0, Math.floor((serverNow() - from) / 1000));
  const mm = String(Math.floor(seconds / 60)).padStart(2, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  return `${mm}:${ss}`;
}

function renderCivility(w) {
  const snapshot = currentSnapshot();
  const civility = (snapshot && snapshot.civility) || {};
  const moment = screen && screen.board.snapshot ? civilityMoment(screen.board, w.number) : null;
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

function renderActions() {
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

function renderQueue(w) {
  const q = state.queue;
  $("queue-services").textContent = (w.services || []).map(serviceName).join("、");
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
function classTag(t) {
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

function refreshQueueSoon(delay = 150) {
  if (state.window === null || state.view !== "console") return;
  clearTimeout(queueTimer);
  queueTimer = setTimeout(loadQueue, delay);
}

async function loadQueue() {
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

// ---- time -------------------------------------------------------------------------------

function noteServerTime(at) {
  const t = Date.parse(at || "");
  if (!Number.isNaN(t)) state.offsetMs = t - Date.now();
}

function serverNow() {
  return Date.now() + state.offsetMs;
}

function tick() {
  if (state.view !== "console") return;
  const w = myWindow();
  if (!w) return;
  const current = currentDetails(w);
  const elapsed = $("current-elapsed");
  if (current && elapsed) elapsed.textContent = elapsedText(current);
  renderActions();
}

// ---- the bubble: a message at the point of action ---------------------------------------

let bubbleTimer = null;

function bubble(element, text, kind = "error") {
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

function hideBubble() {
  $("bubble").hidden = true;
}

// ---- wiring -----------------------------------------------------------------------------

function isTyping(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName));
}

function wire() {
  document.body.append(h("div", { id: "bubble", class: "bubble", role: "alert", hidden: true }));
  $("login-form").addEventListener("submit", login);
  $("actions").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) runAction(button.dataset.action, button);
  });
  $("window-list").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-open]");
    if (button && !button.disabled) openWindow(Number.parseInt(button.dataset.open, 10), button);
  });
  $("waiting").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-call]");
    if (!button || state.busy || state.dialog) return;
    const why = refusal("call");
    if (why) bubble(button, why);
    else openDialog("call", { number: button.dataset.call });
  });
  $("aside-list").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-restore]");
    if (button) restore(button.dataset.restore, button);
  });
  $("tab-missed").addEventListener("click", () => { state.aside = "missed"; render(); });
  $("tab-suspended").addEventListener("click", () => { state.aside = "suspended"; render(); });
  $("stand-in").addEventListener("change", () => {
    $("stand-in-for-label").hidden = !$("stand-in").checked;
    if ($("stand-in").checked) $("stand-in-for").focus();
  });
  $("hall-pick").addEventListener("change", async () => {
    state.hall = $("hall-pick").value;
    saveSession();
    await loadSnapshot();
    startScreen();
    render();
  });
  $("logout-from-pick").addEventListener("click", () => logout());
  $("close-window").addEventListener("click", (event) => {
    if (state.busy || state.dialog) return;
    const why = refusal("close");
    if (why) bubble(event.currentTarget, why);
    else openDialog("close");
  });
  $("sign-off").addEventListener("click", (event) => {
    if (state.busy || state.dialog) return;
    const why = refusal("close");
    if (why) bubble(event.currentTarget, why);
    else openDialog("sign-off");
  });
  $("dialog-form").addEventListener("submit", submitDialog);
  $("dialog-cancel").addEventListener("click", closeDialog);
  $("dialog").addEventListener("close", () => {
    state.dialog = null;
    state.dialogClosedAt = Date.now();
  });
  document.addEventListener("keydown", (event) => {
    if (state.view !== "console" || state.dialog || event.repeat) return;
    if (event.ctrlKey || event.altKey || event.metaKey || isTyping(event.target)) return;
    const action = ACTIONS.find((a) => a.key === event.key);
    if (!action) return;
    event.preventDefault();
    runAction(action.id, actionButtons && actionButtons.get(action.id), { pointer: false });
  });
  document.addEventListener("pointerdown", (event) => {
    if (!event.target.closest || !event.target.closest("button")) hideBubble();
  });
}

wire();
startClock($("date"), $("time"));
setInterval(tick, 500);
resumeSession();
