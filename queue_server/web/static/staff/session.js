// Signing in and out, the hall and the window chosen, the live board.

import { fill, h, Screen, showConnection } from "/display/static/display.js";
import { noteClick, repeatedClick, send } from "./actions.js";
import { api, hallPath, newKey, noteServerTime } from "./api.js";
import { explain } from "./messages.js";
import { bubble, confirmClosed, refreshQueueSoon, render, show, showConsole } from "./render.js";
import { $, SESSION_KEY, state } from "./state.js";
import { askNewPassword } from "/manage/static/set-password.js";

let screen = null;

export function currentScreen() {
  return screen;
}

window.hallQueue = {
  state,
  get board() { return screen ? screen.board : null; },
};

// ---- session ----------------------------------------------------------------------------

export function saveSession() {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({
    token: state.token, staff: state.staff, hall: state.hall, window: state.window,
  }));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
  state.token = null;
  state.staff = null;
  state.window = null;
  state.queue = null;
  state.snapshot = null;
  if (screen) screen.stop();
  screen = null;
}

export function sessionExpired() {
  clearSession();
  show("login");
  $("login-error").textContent = "登录已过期，请重新登录";
}

export async function resumeSession() {
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

export async function login(event) {
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
  if (result.data.staff && result.data.staff.must_change_password) {
    // A one-time password (new account or reset): set one's own before anything else.
    state.busy = "password";
    const changed = await askNewPassword($("login-form"), { staffId, token: result.data.token, oldPassword: password });
    state.busy = null;
    if (!changed) {
      error.textContent = "请设置新密码后再使用";
      return;
    }
    result.data.token = changed.token;
    result.data.staff = { ...result.data.staff, ...changed.staff };
  }
  state.token = result.data.token;
  state.staff = result.data.staff;
  state.hall = result.data.staff.hall;
  saveSession();
  await enterHall();
}

export async function logout() {
  if (state.token) await api("/api/v1/auth/logout", { method: "POST", key: newKey() });
  clearSession();
  $("staff-id").value = "";
  show("login");
}

// ---- hall and window choice -------------------------------------------------------------

export async function enterHall() {
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

export async function loadSnapshot() {
  const result = await api(`${hallPath()}/queue`);
  if (result.ok) {
    state.snapshot = result.data;
    noteServerTime(result.data.at);
  }
}

export function startScreen() {
  if (screen) screen.stop();
  screen = new ConsoleScreen({
    hall: state.hall,
    token: state.token,
    onChange: render,
    onStatus: (status) => {
      showConnection($("connection"), status, screen);
      if (status === "online") refreshQueueSoon(0);
    },
  });
  screen.start();
}

export class ConsoleScreen extends Screen {
  start() {
    this.stopped = false;
    this.connect();
    this.watchTimer = setInterval(() => this.watch(), 5000);
    this.tickTimer = setInterval(() => this.tick(), 1000);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.watchTimer);
    clearInterval(this.tickTimer);
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

export function currentSnapshot() {
  return screen && screen.board.snapshot ? screen.board.snapshot : state.snapshot;
}

export function hallConfig() {
  return state.halls.find((x) => x.id === state.hall) || null;
}

export function serviceName(code) {
  const hall = hallConfig();
  const service = hall && hall.services.find((s) => s.code === code);
  return service ? service.name : code;
}

export function myWindow() {
  const snapshot = currentSnapshot();
  if (!snapshot || state.window === null) return null;
  return snapshot.windows.find((w) => w.number === state.window) || null;
}

export function myOpenWindow() {
  const snapshot = currentSnapshot();
  if (!snapshot || !state.staff) return null;
  return snapshot.windows.find((w) => w.state !== "closed" && w.staff &&
    w.staff.id === state.staff.id) || null;
}

// This console changed the window: its `actions` are stale until the next view arrives.
// (What others change arrives as events, and the view is asked for again then.)
export function noteChange() {
  state.changedAt = performance.now();
  state.actionsFresh = false;
}

export function concernsMyWindow(event) {
  if (state.window === null) return false;
  if (event.window && event.window.number === state.window) return true;
  const w = myWindow();
  const services = new Set(w ? w.services : []);
  if (event.ticket && services.has(event.ticket.service)) return true;
  return (event.services || []).some((s) => services.has(s.code));
}

export function renderWindowList() {
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

export async function openWindow(number, button) {
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
