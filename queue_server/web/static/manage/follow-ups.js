// 差评回访: every bad rating's follow-up with its deadlines (call back within 1 working day,
// rectify within 15), overdue ones marked; a manager records the call (method and result), then
// the rectification (measures), then closes it; 发起整改 opens an improvement action from it.

import { $, api, explain, filterButtons, newKey, showBanner } from "./common.js";
import { boot, cell, hallPath, shortTime } from "./page.js";

const state = { filter: "", items: [], step: null };
const setFilter = filterButtons(state, () => refresh());
window.followUps = state;

const STEP = {
  call_back: { title: "记录回访", call: true, measures: false },
  rectify: { title: "记录整改", call: false, measures: true },
  close: { title: "办结回访", call: false, measures: false },
};

const page = boot("/manage/follow-ups", { roles: ["manager", "admin"], entered, changed: refresh });

async function entered() {
  const wanted = new URLSearchParams(window.location.search).get("state");
  if (wanted !== null) setFilter(wanted);
  await refresh();
}

async function refresh() {
  const params = new URLSearchParams();
  if (state.filter === "overdue") params.set("overdue", "1");
  else if (state.filter) params.set("status", state.filter);
  const result = await api(hallPath(page.hall, `/follow-ups?${params}`));
  if (!result.ok) {
    if (result.status !== 401) showBanner(explain(result));
    return;
  }
  state.items = result.data.follow_ups;
  render();
}

function due(text, late) {
  const td = cell(shortTime(text), "nw due");
  if (late) {
    const mark = document.createElement("span");
    mark.className = "state late";
    mark.textContent = "逾期";
    td.append(" ", mark);
  }
  return td;
}

function render() {
  const rows = $("rows");
  rows.replaceChildren();
  for (const item of state.items) {
    const tr = document.createElement("tr");
    tr.dataset.id = item.id;
    if (item.overdue) tr.className = "overdue";
    const who = item.staff_id ? `${item.window} 号窗口 · ${item.staff_id}` : `${item.window ?? "—"} 号窗口`;
    tr.append(cell(`${item.number}\n${who}`, "text nw"));
    tr.append(cell(`${item.level_zh}：${item.labels.join("、")}\n${shortTime(item.rated_at)}`, "text"));
    tr.append(due(item.callback_due, item.callback_overdue));
    tr.append(due(item.rectify_due, item.rectify_overdue));
    const st = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `state ${item.status}`;
    badge.textContent = item.status_zh;
    st.append(badge);
    tr.append(st);
    const call = item.call;
    tr.append(cell(call ? `${call.method_zh}：${call.result}\n${call.by_name || call.by} ${shortTime(item.called_back_at)}` : "", "text call"));
    const fix = item.rectification;
    tr.append(cell(fix ? `${fix.measures}\n${fix.by_name || fix.by} ${shortTime(item.rectified_at)}` : "", "text measures"));
    tr.append(cell(item.citizen_level_zh || (item.status === "open" ? "" : "未追评"), "nw"));
    const ops = document.createElement("td");
    ops.className = "ops";
    if (item.status === "open") ops.append(stepButton(item, "call_back", "记录回访"));
    if (item.status === "called_back") ops.append(stepButton(item, "rectify", "记录整改"));
    if (item.status === "rectified") ops.append(stepButton(item, "close", "办结"));
    const link = document.createElement("a");
    link.className = "start-improvement";
    link.href = `/manage/improvements?${new URLSearchParams({
      hall: page.hall, source_kind: "follow_up", source_id: item.id })}`;
    link.textContent = "发起整改";
    ops.append(link);
    tr.append(ops);
    rows.append(tr);
  }
  $("empty").hidden = state.items.length > 0;
  const late = state.items.filter((i) => i.overdue).length;
  $("summary").textContent = `共 ${state.items.length} 件${late ? `，逾期 ${late} 件` : ""}`;
}

function stepButton(item, action, text) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `step-${action.replace("_", "-")}`;
  button.textContent = text;
  button.addEventListener("click", () => openStep(item, action));
  return button;
}

function openStep(item, action) {
  const how = STEP[action];
  state.step = { item, action, key: newKey(`fu-${action}`) };
  $("step-title").textContent = how.title;
  $("step-subject").textContent = `${item.number} · ${item.level_zh}：${item.labels.join("、")}`;
  $("call-fields").hidden = !how.call;
  $("measures-field").hidden = !how.measures;
  for (const id of ["f-method", "f-result", "f-measures", "f-note"]) $(id).value = "";
  $("step-error").textContent = "";
  $("step-dialog").showModal();
}

async function submitStep(event) {
  event.preventDefault();
  const { item, action, key } = state.step;
  const value = (id) => $(id).value.trim();
  const body = { action };
  const missing = [];
  if (STEP[action].call) {
    body.method = value("f-method");
    body.result = value("f-result");
    if (!body.method) missing.push("回访方式");
    if (!body.result) missing.push("回访结果");
  }
  if (STEP[action].measures) {
    body.measures = value("f-measures");
    if (!body.measures) missing.push("整改措施");
  }
  if (value("f-note")) body.note = value("f-note");
  if (missing.length) {
    $("step-error").textContent = `请填写${missing.join("、")}`;
    return;
  }
  const button = $("step-submit");
  if (button.disabled) return;
  button.disabled = true;
  const result = await api(hallPath(page.hall, `/follow-ups/${encodeURIComponent(item.id)}`),
    { method: "POST", body, key });
  button.disabled = false;
  if (!result.ok) {
    $("step-error").textContent = explain(result);
    return;
  }
  $("step-dialog").close();
  await refresh();
}

$("step-form").addEventListener("submit", submitStep);
$("step-cancel").addEventListener("click", () => $("step-dialog").close());
