// 投诉管理: the hall's complaints, most urgent first. A manager records those taken by phone or in
// person, accepts or declines, assigns an investigator, records the answer and archives; the
// investigator records findings and measures; the staff member a complaint names sees it once
// accepted. The contact phone comes whole only for the complaint's owner (the server decides).

import { $, api, explain, filterButtons, newKey, showBanner } from "./common.js";
import { boot, watchedHalls } from "./page.js";

const state = {
  me: null, // {id, name, role, hall}
  hall: null,
  filter: "",
  items: [],
  readOnly: false, // a street or district office reads its halls' complaints
  step: null, // {item, action, key}
  newKey: null,
};
window.complaints = state;
const setFilter = filterButtons(state, () => refresh());

const MANAGERS = ["manager", "admin"];
const REPLY_HOW = [["phone", "电话"], ["sms", "短信"], ["in_person", "当面"], ["letter", "书面"]];
// action → the dialog: title, and its fields [name, label, kind, required]
const STEP = {
  accept: { title: "受理投诉", fields: [["note", "受理意见（可不填）", "text", false]] },
  decline: { title: "不予受理", fields: [["reason", "不予受理原因（必填，投诉人可见）", "text", true]] },
  assign: { title: "交办调查", fields: [["assignee", "调查人工号（必填）", "input", true]] },
  resolve: { title: "处理完毕", fields: [["findings", "调查结果（必填）", "text", true],
    ["measures", "处理措施（必填）", "text", true]] },
  reply: { title: "答复投诉人", fields: [["how", "答复方式", "how", true], ["replied_at", "答复时间（不填为现在）", "when", false],
    ["answer", "答复内容（投诉人可见）", "text", false]] },
  archive: { title: "归档", fields: [["note", "归档说明（可不填）", "text", false]] },
};
const BUTTONS = {
  received: [["accept", "受理"], ["decline", "不予受理"]],
  accepted: [["assign", "交办"]],
  investigating: [["resolve", "处理完毕"]],
  resolved: [["reply", "答复"]],
  replied: [["archive", "归档"]],
};

const timeFormat = new Intl.DateTimeFormat("zh-CN", {
  timeZone: window.HALL_TIME_ZONE, month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
  hourCycle: "h23",
});
const when = (iso) => (iso ? timeFormat.format(new Date(iso)) : "");

const isManager = () => MANAGERS.includes(state.me.role) && !state.readOnly;

// Managers: every hall they watch (a street or district office reads its halls' complaints);
// a clerk: their own hall, the complaints that name them.
async function complaintHalls(me) {
  if (MANAGERS.includes(me.role)) return watchedHalls(me);
  if (!me.hall) return [];
  const listed = await api("/api/v1/halls");
  const own = listed.ok && (listed.data.halls || []).find((h) => h.id === me.hall);
  return [own ? { id: own.id, name: own.name } : { id: me.hall, name: me.hall }];
}

boot("/manage/complaints", {
  listHalls: complaintHalls,
  noHalls: "没有可查看的大厅。",
  entered: async ({ me, hall }) => {
    Object.assign(state, { me, hall });
    const query = new URLSearchParams(window.location.search);
    $("new").hidden = !isManager();
    if (query.get("state")) setFilter(query.get("state"));
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
  const result = await api(`/api/v1/halls/${encodeURIComponent(state.hall)}/complaints?${params}`);
  if (!result.ok) {
    if (result.status !== 401) showBanner(explain(result));
    return;
  }
  state.items = result.data.complaints;
  state.readOnly = Boolean(result.data.read_only);
  $("new").hidden = !isManager();
  if (state.readOnly) showBanner("区、街道管理人员可查看辖区大厅的投诉及逾期情况，由大厅办理。", "info");
  render();
}

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text == null || text === "" ? "—" : text;
  if (className) td.className = className;
  return td;
}

function who(id, name) {
  if (!id) return "";
  return name ? `${name}（${id}）` : id;
}

function handling(item) {
  const lines = [];
  if (item.decline_reason) lines.push(`不予受理：${item.decline_reason}`);
  if (item.findings) lines.push(`调查：${item.findings}`);
  if (item.measures) lines.push(`措施：${item.measures}`);
  if (item.replied_at) lines.push(`${item.reply_how_zh}答复 ${when(item.replied_at)}${item.answer ? `：${item.answer}` : ""}`);
  if (item.rating_zh) lines.push(`投诉人评价：${item.rating_zh}`);
  return lines.join("\n");
}

function render() {
  const rows = $("rows");
  rows.replaceChildren();
  for (const item of state.items) {
    const tr = document.createElement("tr");
    tr.dataset.id = item.id;
    if (item.overdue) tr.className = "overdue";
    tr.append(cell(`${when(item.created_at)}\n${item.channel_zh}`, "lines"));
    tr.append(cell(`【${item.category_zh}】${item.content}`, "text content"));
    const about = [item.window ? `${item.window} 号窗口` : "", who(item.staff_id, item.staff_name)].filter(Boolean);
    tr.append(cell(about.join("\n"), "lines"));
    tr.append(cell(item.contact || (item.contact_erased ? "已清除" : item.has_contact ? "仅负责人可见" : ""), "nw contact"));
    const st = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `state ${item.overdue ? "late" : item.state}`;
    badge.textContent = item.overdue ? `${item.state_zh}·逾期` : item.state_zh;
    st.append(badge);
    if (item.due) {
      const due = document.createElement("span");
      due.className = "due";
      due.textContent = `${item.step_zh}期限 ${when(item.due)}`;
      st.append(due);
    }
    tr.append(st);
    const owners = [who(item.owner, item.owner_name), item.assignee ? `调查：${who(item.assignee, item.assignee_name)}` : ""];
    tr.append(cell(owners.filter(Boolean).join("\n"), "lines"));
    tr.append(cell(handling(item), "text"));
    const ops = document.createElement("td");
    ops.className = "ops";
    for (const [action, text] of BUTTONS[item.state] || []) {
      const mayResolve = action === "resolve" && item.assignee === state.me.id;
      if (isManager() || mayResolve) ops.append(stepButton(item, action, text));
    }
    if (isManager() && !["received", "declined"].includes(item.state)) {
      const link = document.createElement("a");
      link.className = "improve";
      link.textContent = "发起整改";
      link.href = `/manage/improvements?${new URLSearchParams({
        hall: state.hall, source_kind: "complaint", source_id: item.id })}`;
      ops.append(link);
    }
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
  button.className = `step-${action}`;
  button.textContent = text;
  button.addEventListener("click", () => openStep(item, action));
  return button;
}

function field([name, label, kind]) {
  const wrap = document.createElement("label");
  wrap.append(label);
  let input;
  if (kind === "text") {
    input = document.createElement("textarea");
    input.rows = 3;
    input.maxLength = name === "reason" ? 200 : 1000;
  } else if (kind === "how") {
    input = document.createElement("select");
    input.append(...REPLY_HOW.map(([code, zh]) => new Option(zh, code)));
  } else {
    input = document.createElement("input");
    if (kind === "when") input.type = "datetime-local";
    else input.maxLength = 32;
  }
  input.id = `s-${name}`;
  wrap.append(input);
  return wrap;
}

function openStep(item, action) {
  const how = STEP[action];
  state.step = { item, action, key: newKey(`cp-${action}`) };
  $("step-title").textContent = how.title;
  $("step-content").textContent = `【${item.category_zh}】${item.content}`;
  $("step-fields").replaceChildren(...how.fields.map(field));
  $("step-error").textContent = "";
  $("step-dialog").showModal();
  const first = $("step-fields").querySelector("textarea, input, select");
  if (first) first.focus();
}

async function submitStep(event) {
  event.preventDefault();
  const { item, action, key } = state.step;
  const body = {};
  for (const [name, label, , required] of STEP[action].fields) {
    const value = $(`s-${name}`).value.trim();
    if (required && !value) {
      $("step-error").textContent = `请填写${label.replace(/（.*）/, "")}`;
      return;
    }
    if (value) body[name] = value;
  }
  const button = $("step-submit");
  if (button.disabled) return;
  button.disabled = true;
  const result = await api(
    `/api/v1/halls/${encodeURIComponent(state.hall)}/complaints/${encodeURIComponent(item.id)}/${action}`,
    { method: "POST", body, key });
  button.disabled = false;
  if (!result.ok) {
    $("step-error").textContent = explain(result);
    return;
  }
  $("step-dialog").close();
  await refresh();
}

function openNewForm() {
  state.newKey = newKey("cp-take");
  $("new-error").textContent = "";
  $("new-form").hidden = false;
  $("f-content").focus();
}

async function submitNew(event) {
  event.preventDefault();
  const value = (id) => $(id).value.trim();
  const body = { channel: value("f-channel"), category: value("f-category"), content: value("f-content") };
  if (!body.content) {
    $("new-error").textContent = "请填写投诉内容";
    return;
  }
  if (value("f-window")) body.window = Number(value("f-window"));
  if (value("f-staff")) body.staff_id = value("f-staff");
  if (value("f-phone")) {
    body.contact_phone = value("f-phone");
    body.consent = $("f-consent").checked;
  }
  const button = $("new-submit");
  if (button.disabled) return;
  $("new-error").textContent = "";
  button.disabled = true;
  const result = await api(`/api/v1/halls/${encodeURIComponent(state.hall)}/complaints`,
    { method: "POST", body, key: state.newKey });
  button.disabled = false;
  if (!result.ok) {
    $("new-error").textContent = explain(result);
    return;
  }
  $("new-form").reset();
  $("new-form").hidden = true;
  showBanner(`已登记。投诉人查看进度的链接：${location.origin}${result.data.status_link}`, "info");
  await refresh();
}

$("new").addEventListener("click", openNewForm);
$("new-cancel").addEventListener("click", () => { $("new-form").hidden = true; });
$("new-form").addEventListener("submit", submitNew);
$("step-form").addEventListener("submit", submitStep);
$("step-cancel").addEventListener("click", () => $("step-dialog").close());
