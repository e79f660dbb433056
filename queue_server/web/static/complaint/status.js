// The complainant's private page (/complaint/status/{secret}): the complaint's state and steps,
// the answer, and the one rating of the handling (满意 / 不满意) once it has been answered.

import { requestJson } from "/display/static/http.js";
import { CATEGORIES, explain } from "/complaint/static/form.js";

const secret = decodeURIComponent(location.pathname.split("/").filter(Boolean)[2] || "");
const path = `/api/v1/complaints/${encodeURIComponent(secret)}`;
const $ = (id) => document.getElementById(id);
const state = { complaint: null, key: null };
window.complaintPage = state;

const timeFormat = new Intl.DateTimeFormat("zh-CN", {
  timeZone: window.HALL_TIME_ZONE, year: "numeric", month: "numeric", day: "numeric", hour: "2-digit",
  minute: "2-digit", hourCycle: "h23",
});
const when = (iso) => (iso ? timeFormat.format(new Date(iso)) : "");

function show(field, label, value) {
  $(field).hidden = !value;
  $(label).hidden = !value;
  $(field).textContent = value || "";
}

function render() {
  const c = state.complaint;
  $("loading").hidden = true;
  $("missing").hidden = Boolean(c);
  $("complaint").hidden = !c;
  if (!c) return;
  $("hall-name").textContent = c.hall_name;
  $("state").textContent = c.state_zh;
  $("category").textContent = c.category_zh || Object.fromEntries(CATEGORIES)[c.category] || c.category;
  $("content").textContent = c.content;
  $("contact").textContent = c.contact || "未留";
  show("reason", "reason-label", c.decline_reason);
  const answer = c.replied_at ? `${c.reply_how_zh || ""}答复（${when(c.replied_at)}）${c.answer ? `：${c.answer}` : ""}` : "";
  show("answer", "answer-label", answer);
  $("steps").replaceChildren(...c.steps.map((s) => {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = s.action_zh;
    const at = document.createElement("time");
    at.dateTime = s.at;
    at.textContent = when(s.at);
    li.append(name, at);
    return li;
  }));
  $("rating").hidden = !c.rateable;
  $("rated").hidden = !c.rating;
  $("rated-text").textContent = c.rating ? `您已评价：${c.rating_zh}。感谢您的监督！` : "";
}

async function load() {
  const result = await requestJson(path);
  state.complaint = result.ok ? result.data : null;
  if (!result.ok && result.status !== 404) {
    $("loading").textContent = explain(result);
    return;
  }
  render();
}

$("rating").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-rating]");
  if (!button || button.disabled) return;
  state.key = state.key || `cr-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const buttons = $("rating").querySelectorAll("button");
  for (const b of buttons) b.disabled = true;
  const result = await requestJson(`${path}/rating`, {
    method: "POST", body: { rating: button.dataset.rating }, headers: { "Idempotency-Key": state.key } });
  for (const b of buttons) b.disabled = false;
  if (result.ok) {
    state.complaint = result.data;
    render();
  } else {
    $("rate-error").textContent = explain(result);
    if (result.status === 409) load();
  }
});

load();
