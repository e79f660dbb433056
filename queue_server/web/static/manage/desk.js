// 导服台: the guide desk issues a ticket for someone (with a priority class and its logged
// reason), looks up any of today's tickets by number, restores a missed one, cancels, and
// reprints on a chosen kiosk printer. Every press carries an Idempotency-Key: pressed twice, it
// acts once.

import { $, api, explain, newKey, showBanner } from "./common.js";
import { boot, hallPath, shortTime } from "./page.js";

const state = { hall: null, ticket: null, issued: null, keys: {} };
window.desk = state;

const page = boot("/manage/desk", { roles: ["manager", "admin", "staff"], entered: load, changed: load });

// One key per intended action: kept while the same thing is retried, new when it changes.
function keyFor(what) {
  state.keys[what] = state.keys[what] || newKey(`desk-${what.split(":")[0]}`);
  return state.keys[what];
}

async function load() {
  const [halls, snapshot] = await Promise.all([
    api("/api/v1/halls"), api(hallPath(page.hall, "/queue")),
  ]);
  if (!halls.ok || !snapshot.ok) {
    showBanner(explain(halls.ok ? snapshot : halls));
    return;
  }
  const hall = halls.data.halls.find((h) => h.id === page.hall);
  $("i-service").replaceChildren(...hall.services.map((s) => new Option(`${s.code} ${s.name}`, s.code)));
  $("i-priority").replaceChildren(new Option("无（普通号）", ""),
    ...hall.priority_classes.map((p) => new Option(p.name, p.code)));
  state.priorities = Object.fromEntries(hall.priority_classes.map((p) => [p.code, p]));
  const printers = snapshot.data.printers || [];
  // The printers that have reported to this server (a kiosk's printer once connected).
  $("printer").replaceChildren(...printers.map((p) => new Option(`${p.name}（取号机 ${p.kiosk}）`, p.kiosk)));
  $("printer-state").textContent = printers.length ? "" : "本大厅暂无已连接的打印机，不能补打";
  $("scope-title").textContent = hall.name;
  priorityChanged();
}

function priorityChanged() {
  const p = state.priorities[$("i-priority").value];
  $("i-reason-label").firstChild.textContent = p && p.reason_required ? "优先理由（必填）" : "优先理由";
  state.keys.issue = null;
}

$("i-priority").addEventListener("change", priorityChanged);
for (const id of ["i-service", "i-reason"]) $(id).addEventListener("input", () => { state.keys.issue = null; });

$("issue-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("issue-error");
  error.textContent = "";
  const body = { service: $("i-service").value, channel: "guide" };
  const priority = $("i-priority").value;
  const reason = $("i-reason").value.trim();
  if (priority) body.priority = priority;
  if (reason) body.priority_reason = reason;
  if (priority && state.priorities[priority].reason_required && !reason) {
    error.textContent = `${state.priorities[priority].name}须填写优先理由`;
    return;
  }
  const button = $("issue-submit");
  if (button.disabled) return;
  button.disabled = true;
  const result = await api(hallPath(page.hall, "/tickets"), { method: "POST", body, key: keyFor("issue") });
  button.disabled = false;
  if (!result.ok) {
    error.textContent = explain(result);
    return;
  }
  state.keys.issue = null; // the next press is the next person
  state.issued = result.data;
  $("issued").hidden = false;
  $("issued-note").textContent = "";
  $("issued-number").textContent = result.data.number;
  const ahead = result.data.ahead ?? 0;
  $("issued-detail").textContent = `${result.data.service_name} · 前面还有 ${ahead} 人${
    result.data.priority ? ` · ${state.priorities[result.data.priority].name}` : ""}`;
  $("i-reason").value = "";
});

$("issued-print").addEventListener("click", () => reprint(state.issued.number, $("issue-error"), $("issued-note")));

$("lookup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  await lookUp($("l-number").value.trim().toUpperCase());
});

async function lookUp(number) {
  $("lookup-error").textContent = "";
  $("ticket-note").textContent = "";
  if (!number) {
    $("lookup-error").textContent = "请输入号码，如 A023";
    return;
  }
  const result = await api(hallPath(page.hall, `/tickets/${encodeURIComponent(number)}`));
  if (!result.ok) {
    $("ticket").hidden = true;
    $("lookup-error").textContent = explain(result);
    return;
  }
  state.ticket = result.data;
  renderTicket();
}

function renderTicket() {
  const t = state.ticket;
  $("ticket").hidden = false;
  $("t-number").textContent = t.number;
  $("t-status").textContent = t.status_zh;
  $("t-status").className = `state ${t.status}`;
  $("t-service").textContent = t.service_name;
  $("t-issued").textContent = shortTime(t.issued_at);
  const p = t.priority ? (state.priorities[t.priority] || { name: t.priority }).name : "无";
  $("t-priority").textContent = t.priority_reason ? `${p}（${t.priority_reason}）` : p;
  $("t-ahead").textContent = t.ahead == null ? "—" : `${t.ahead} 人`;
  $("t-window").textContent = t.window ? `${t.window} 号窗口` : (t.last_window ? `上次 ${t.last_window} 号窗口` : "—");
  $("t-misses").textContent = String(t.misses);
  $("t-restore").disabled = !t.may.restore;
  $("t-cancel").disabled = !t.may.cancel;
  $("t-reprint").disabled = !t.may.reprint || !$("printer").value;
}

async function ticketAction(action) {
  const t = state.ticket;
  const reason = $("t-reason").value.trim();
  const note = $("ticket-note");
  note.textContent = "";
  if (action === "cancel" && !reason) {
    $("lookup-error").textContent = "取消须填写原因";
    return;
  }
  $("lookup-error").textContent = "";
  const button = $(`t-${action}`);
  button.disabled = true;
  const body = reason ? { reason } : {};
  const result = await api(hallPath(page.hall, `/tickets/${encodeURIComponent(t.number)}/${action}`),
    { method: "POST", body, key: keyFor(`${action}:${t.number}:${t.status}`) });
  if (!result.ok) {
    $("lookup-error").textContent = explain(result);
    renderTicket();
    return;
  }
  $("t-reason").value = "";
  await lookUp(t.number);
  note.textContent = action === "restore" ? `${t.number} 已恢复，重新排队` : `${t.number} 已取消`;
}

async function reprint(number, errorLine, okLine) {
  const kiosk = $("printer").value;
  if (!kiosk) {
    errorLine.textContent = "本大厅暂无已连接的打印机，不能补打";
    return;
  }
  const result = await api(hallPath(page.hall, `/tickets/${encodeURIComponent(number)}/reprint`),
    { method: "POST", body: { kiosk }, key: keyFor(`reprint:${number}:${kiosk}`) });
  if (!result.ok) {
    errorLine.textContent = explain(result);
    return;
  }
  state.keys[`reprint:${number}:${kiosk}`] = null; // printed: another press is another copy
  errorLine.textContent = "";
  okLine.textContent = `${number} 已发送到取号机 ${kiosk} 的打印机`;
}

$("t-restore").addEventListener("click", () => ticketAction("restore"));
$("t-cancel").addEventListener("click", () => ticketAction("cancel"));
$("t-reprint").addEventListener("click", () => reprint(state.ticket.number, $("lookup-error"), $("ticket-note")));
