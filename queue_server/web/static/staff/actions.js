// The console's actions and dialogs: what the server allows (the window view's `actions`),
// one request per click, and the dialogs that ask for a reason.

import { fill, h } from "/display/static/display.js";
import { api, hallPath, newKey, serverNow, windowPath } from "./api.js";
import { explain, message as refusalText } from "./messages.js";
import { bubble, hideBubble, refreshQueueSoon, render, renderActions, show } from "./render.js";
import { currentScreen, hallConfig, logout, myWindow, noteChange, saveSession } from "./session.js";
import { $, CALL_REASONS, PAUSE_REASONS, RETRY_SAME_KEY_MS, SAME_CLICK_MS, state, SUSPEND_REASONS, TRANSFER_REASONS } from "./state.js";

// ---- actions ----------------------------------------------------------------------------

// Why `action` cannot be done now (plain Chinese), or null. The server decides: the window
// view lists each action allowed or refused (with its code), computed by the same guards the
// commands run. Between an action and the next view (`actionsFresh` false) the console does
// not guess: it sends, and the server's answer says why, if it refuses.
export function refusal(action) {
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

export function maxCalls() {
  // Unknown until the window's queue arrives: then only the server decides.
  return state.queue && Number.isInteger(state.queue.max_calls) ? state.queue.max_calls : null;
}

export function recallWait() {
  if (state.recallReadyAt === null) return 0;
  return Math.max(0, Math.ceil((state.recallReadyAt - serverNow()) / 1000));
}

export function actionId(id) {
  const w = myWindow();
  return id === "pause" && w && w.state === "paused" ? "resume" : id;
}

// Whether this click repeats the last click that acted (a double click): it is ignored.
export function repeatedClick(signature) {
  const last = state.lastClick;
  return last.signature === signature && Date.now() - last.at < SAME_CLICK_MS;
}

export function noteClick(signature) {
  state.lastClick = { signature, at: Date.now() };
}

export async function runAction(id, element, { pointer = true } = {}) {
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
export function keyFor(signature) {
  const lost = state.unsettled;
  if (lost && lost.signature === signature && Date.now() - lost.at < RETRY_SAME_KEY_MS) {
    return lost.key;
  }
  return newKey();
}

export async function send(action, body, element, { path = null, quiet = false } = {}) {
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
export function patchWindow(view) {
  if (currentScreen() && currentScreen().board.snapshot) {
    const board = currentScreen().board;
    const windows = board.snapshot.windows.map((w) => (w.number === view.number ? view : w));
    currentScreen().board = { ...board, snapshot: { ...board.snapshot, windows } };
  } else if (state.snapshot) {
    state.snapshot = {
      ...state.snapshot,
      windows: state.snapshot.windows.map((w) => (w.number === view.number ? view : w)),
    };
  }
}

export async function restore(number, element) {
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

export function chips(name, options) {
  return h("div", { class: "chips", role: "radiogroup" },
    options.map((text) => h("label", { class: "chip-option" },
      h("input", { type: "radio", name, value: text }), h("span", {}, text))));
}

export function openDialog(kind, extra = {}) {
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

export function closeDialog() {
  state.dialog = null;
  state.dialogClosedAt = Date.now();
  if ($("dialog").open) $("dialog").close();
}

export function formValue(name) {
  const form = $("dialog-form");
  const checked = form.querySelector(`input[name="${name}"]:checked`);
  if (checked) return checked.value;
  const field = form.elements.namedItem(name);
  return field && "value" in field ? String(field.value).trim() : "";
}

export function reasonOf() {
  return [formValue("reason"), formValue("note")].filter(Boolean).join("：");
}

export async function submitDialog(event) {
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

export async function signOff() {
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

export function leaveWindow() {
  state.window = null;
  state.queue = null;
  saveSession();
  show("windows");
}
