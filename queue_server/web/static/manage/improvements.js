// 整改: the hall's improvement actions, most urgent first. A manager opens one (also from a
// follow-up, a complaint or a survey: /manage/improvements?source_kind=follow_up&source_id=…),
// verifies or sends back what its owner reported done; a clerk sees and reports their own.

import { $, api, explain, filterButtons, newKey, showBanner } from "./common.js";
import { boot, watchedHalls } from "./page.js";

const state = {
  me: null, // {id, name, role, hall}
  hall: null,
  filter: "",
  items: [],
  step: null, // {item, action, key}
  newKey: null,
};
const setFilter = filterButtons(state, () => refresh());
window.improvements = state;

const MANAGERS = ["manager", "admin"];
const STEP = {
  done: { title: "报告整改完成", label: "完成情况及佐证（必填）", field: "evidence", required: true },
  verify: { title: "验证通过", label: "验证意见（可不填）", field: "note", required: false },
  reopen: { title: "退回重改", label: "退回原因（必填）", field: "reason", required: true },
};

boot("/manage/improvements", {
  listHalls: watchedHalls,
  noHalls: "整改事项按大厅办理；区、街道管理人员请在「绩效报表」查看各大厅的整改汇总。",
  entered: async ({ me, hall }) => {
    Object.assign(state, { me, hall });
    const query = new URLSearchParams(window.location.search);
    $("new").hidden = !MANAGERS.includes(me.role);
    if (query.get("state")) setFilter(query.get("state"));
    if (query.get("source_kind") && MANAGERS.includes(me.role)) {
      openNewForm(query.get("source_kind"), query.get("source_id") || "");
    }
    await refresh();
  },
  changed: ({ hall }) => {
    state.hall = hall;
    refresh();
  },
});
async function refresh() {
  const params = new URLSearchParams();
  if (state.filter === "overdue") params.set("overdue", "1");
  else if (state.filter) params.set("state", state.filter);
  const result = await api(`/api/v1/halls/${encodeURIComponent(state.hall)}/improvements?${params}`);
  if (!result.ok) {
    if (result.status !== 401) showBanner(explain(result));
    return;
  }
  state.items = result.data.improvements;
  render();
}

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text == null || text === "" ? "—" : text;
  if (className) td.className = className;
  return td;
}

function render() {
  const rows = $("rows");
  rows.replaceChildren();
  const manager = MANAGERS.includes(state.me.role);
  for (const item of state.items) {
    const tr = document.createElement("tr");
    tr.dataset.id = item.id;
    if (item.overdue) tr.className = "overdue";
    const source = item.source_id ? `${item.source_zh}\n${item.source_id}` : item.source_zh;
    tr.append(cell(source, "text source"));
    tr.append(cell(item.cause ? `${item.problem}\n原因：${item.cause}` : item.problem, "text problem"));
    tr.append(cell(item.measure, "text"));
    tr.append(cell(item.owner_name ? `${item.owner_name}（${item.owner}）` : item.owner, "nw"));
    tr.append(cell(item.due, "nw due"));
    const st = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `state ${item.overdue ? "late" : item.state}`;
    badge.textContent = item.overdue ? `${item.state_zh}·逾期` : item.state_zh;
    st.append(badge);
    tr.append(st);
    const verified = item.verified_at ? `\n验证：${item.verified_by} ${item.verified_at.slice(5, 16).replace("T", " ")}` : "";
    tr.append(cell(item.evidence ? `${item.evidence}${verified}` : "", "text evidence"));
    const ops = document.createElement("td");
    ops.className = "ops";
    const mine = item.owner === state.me.id;
    if (item.state === "open" && (mine || manager)) ops.append(stepButton(item, "done", "报告完成"));
    if (item.state === "done" && manager && !mine) {
      ops.append(stepButton(item, "verify", "验证通过"), stepButton(item, "reopen", "退回重改"));
    }
    tr.append(ops);
    rows.append(tr);
  }
  $("empty").hidden = state.items.length > 0;
  const late = state.items.filter((i) => i.overdue).length;
  $("summary").textContent = `共 ${state.items.length} 项${late ? `，逾期 ${late} 项` : ""}`;
}

function stepButton(item, action, text) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `step-${action}`;
  button.textContent = text;
  button.addEventListener("click", () => openStep(item, action));
  return button;
}

function openStep(item, action) {
  const how = STEP[action];
  state.step = { item, action, key: newKey(`im-${action}`) };
  $("step-title").textContent = how.title;
  $("step-problem").textContent = item.problem;
  $("step-label").firstChild.textContent = how.label;
  $("step-text").value = "";
  $("step-error").textContent = "";
  $("step-dialog").showModal();
  $("step-text").focus();
}

async function submitStep(event) {
  event.preventDefault();
  const { item, action, key } = state.step;
  const how = STEP[action];
  const text = $("step-text").value.trim();
  if (how.required && !text) {
    $("step-error").textContent = `请填写${how.label.replace(/（.*）/, "")}`;
    return;
  }
  const button = $("step-submit");
  button.disabled = true;
  const result = await api(
    `/api/v1/halls/${encodeURIComponent(state.hall)}/improvements/${encodeURIComponent(item.id)}/${action}`,
    { method: "POST", body: text ? { [how.field]: text } : {}, key });
  button.disabled = false;
  if (!result.ok) {
    $("step-error").textContent = explain(result);
    return;
  }
  $("step-dialog").close();
  await refresh();
}

function openNewForm(kind = "inspection", sourceId = "") {
  state.newKey = newKey("im-open");
  $("f-source-kind").value = ["inspection", "follow_up", "complaint", "survey"].includes(kind) ? kind : "inspection";
  $("f-source-id").value = sourceId;
  sourceChanged();
  $("new-error").textContent = "";
  $("new-form").hidden = false;
  $("f-problem").focus();
}

function sourceChanged() {
  $("f-source-id-label").hidden = $("f-source-kind").value === "inspection";
}

async function submitNew(event) {
  event.preventDefault();
  const value = (id) => $(id).value.trim();
  const body = {
    source_kind: value("f-source-kind"), problem: value("f-problem"), measure: value("f-measure"),
    owner: value("f-owner"), due: value("f-due"),
  };
  if (value("f-cause")) body.cause = value("f-cause");
  if (body.source_kind !== "inspection" && value("f-source-id")) body.source_id = value("f-source-id");
  const missing = [["problem", "问题"], ["measure", "整改措施"], ["owner", "责任人工号"], ["due", "整改期限"]]
    .filter(([k]) => !body[k]).map(([, name]) => name);
  if (missing.length) {
    $("new-error").textContent = `请填写${missing.join("、")}`;
    return;
  }
  const button = $("new-submit");
  button.disabled = true;
  const result = await api(`/api/v1/halls/${encodeURIComponent(state.hall)}/improvements`,
    { method: "POST", body, key: state.newKey });
  button.disabled = false;
  if (!result.ok) {
    $("new-error").textContent = explain(result);
    return;
  }
  $("new-form").reset();
  $("new-form").hidden = true;
  await refresh();
}

$("new").addEventListener("click", () => openNewForm());
$("new-cancel").addEventListener("click", () => { $("new-form").hidden = true; });
$("f-source-kind").addEventListener("change", sourceChanged);
$("new-form").addEventListener("submit", submitNew);
$("step-form").addEventListener("submit", submitStep);
$("step-cancel").addEventListener("click", () => $("step-dialog").close());
