// The window staff console (窗口工作台): sign in, take a window, work its queue with big
// buttons and number keys. The hall's queue.v1 socket (display.js Screen, reducer.js) keeps
// the window live; the window's own queue (GET …/windows/{n}/queue) is fetched again
// whenever an event may have changed it.
//
// A double click never acts twice: one action is in flight at a time, a second click of the
// same button within SAME_CLICK_MS is the same click (ignored), and every click sends its own
// Idempotency-Key — except a retry after an answer that never came, which re-sends the key
// of the attempt that may have acted.
//
// The page's modules: state.js (state), api.js (the server), messages.js (refusals by code),
// session.js (sign-in, hall, window), actions.js (actions and dialogs), render.js (the page).

import { h, startClock } from "/display/static/display.js";
import { closeDialog, openDialog, refusal, restore, runAction, submitDialog } from "./actions.js";
import { tick } from "./api.js";
import { explain } from "./messages.js";
import { actionButton, bubble, hideBubble, render } from "./render.js";
import { loadSnapshot, login, logout, openWindow, resumeSession, saveSession, startScreen } from "./session.js";
import { $, ACTIONS, state } from "./state.js";

export { explain }; // the console's words for a refusal live in messages.js

// ---- wiring -----------------------------------------------------------------------------

export function isTyping(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName));
}

export function wire() {
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
    runAction(action.id, actionButton(action.id), { pointer: false });
  });
  document.addEventListener("pointerdown", (event) => {
    if (!event.target.closest || !event.target.closest("button")) hideBubble();
  });
}

wire();
startClock($("date"), $("time"));
setInterval(tick, 500);
resumeSession();
