// The server: requests with the session's token, the paths, and the server's clock.

import { requestJson } from "/display/static/http.js";
import { currentDetails, elapsedText, renderActions } from "./render.js";
import { myWindow, sessionExpired } from "./session.js";
import { $, state } from "./state.js";

// ---- the server -------------------------------------------------------------------------

export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "staff-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function api(path, { method = "GET", body, key } = {}) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (key) headers["Idempotency-Key"] = key;
  const result = await requestJson(path, { method, body, headers });
  const pending = result.status === 403 && result.data && result.data.code === "auth.password_change_required";
  if ((result.status === 401 || pending) && state.token && !path.endsWith("/auth/login")) {
    sessionExpired();
  }
  return result;
}

export const hallPath = () => `/api/v1/halls/${encodeURIComponent(state.hall)}`;
export const windowPath = (action) => `${hallPath()}/windows/${state.window}/${action}`;


// ---- time -------------------------------------------------------------------------------

export function noteServerTime(at) {
  const t = Date.parse(at || "");
  if (!Number.isNaN(t)) state.offsetMs = t - Date.now();
}

export function serverNow() {
  return Date.now() + state.offsetMs;
}

export function tick() {
  if (state.view !== "console") return;
  const w = myWindow();
  if (!w) return;
  const current = currentDetails(w);
  const elapsed = $("current-elapsed");
  if (current && elapsed) elapsed.textContent = elapsedText(current);
  renderActions();
}
