// 人员管理: the staff accounts in the manager's scope (GET /api/v1/staff decides which). Add,
// edit name / role / hall or region / photo, disable and enable, unlock after the sign-in lock,
// reset a password. A new account and a reset show the one-time password once, in a dialog.

import {
  $, api, clearBanner, explain, loginForm, newKey, renderNav, session, showBanner, signOut, whenExpired,
} from "./common.js";

const state = {
  me: null,
  staff: [],
  halls: [],
  regions: [],
  roles: [],
  filter: "",
  search: "",
  editing: null, // null: adding; else the account being edited
  editKey: null,
  confirm: null, // {person, action, key}
};
window.people = state;

const MANAGERS = ["manager", "admin"];
const PHOTO_MAX = 60 * 1024;
const ACTIONS = {
  disable: { title: "停用账号", text: (p) => `停用后 ${p.name}（${p.id}）将立即退出登录，且不能再登录。确定停用？` },
  enable: { title: "启用账号", text: (p) => `启用 ${p.name}（${p.id}）的账号？` },
  unlock: { title: "解除锁定", text: (p) => `${p.name}（${p.id}）因连续输错密码被锁定，确定现在解锁？` },
  "reset-password": {
    title: "重置密码",
    text: (p) => `将为 ${p.name}（${p.id}）生成一次性密码，其现有登录会立即失效。确定重置？`,
  },
};

function showScreen(name) {
  $("login-screen").hidden = name !== "login";
  $("work-screen").hidden = name !== "work";
  for (const id of ["who", "logout"]) $(id).hidden = name !== "work";
}

function toLogin(message) {
  showScreen("login");
  if (message) $("login-error").textContent = message;
  $("staff-id").focus();
}

whenExpired(() => toLogin("登录已过期，请重新登录"));

async function enter() {
  clearBanner();
  const me = await api("/api/v1/auth/me");
  if (!me.ok) {
    if (me.status !== 401) showBanner(explain(me));
    toLogin();
    return;
  }
  state.me = me.data;
  renderNav("/manage/people", state.me);
  $("who").textContent = state.me.name || state.me.id;
  showScreen("work");
  if (!MANAGERS.includes(state.me.role)) {
    showBanner("人员管理仅限管理人员使用。", "info");
    $("work-screen").hidden = true;
    return;
  }
  await refresh();
}

async function refresh() {
  const result = await api("/api/v1/staff");
  if (!result.ok) {
    if (result.status !== 401) showBanner(explain(result));
    return;
  }
  Object.assign(state, {
    staff: result.data.staff, halls: result.data.halls, regions: result.data.regions, roles: result.data.roles,
  });
  const scope = state.me.hall ? placeName(state.me.hall, null) : state.me.role === "admin" ? "全部大厅" : "";
  $("scope-title").textContent = scope;
  render();
}

function placeName(hall, region) {
  if (hall) return (state.halls.find((h) => h.id === hall) || { name: hall }).name;
  if (region) return (state.regions.find((r) => r.id === region) || { name: region }).name;
  return "全部大厅";
}

function statusOf(person) {
  if (!person.active) return "disabled";
  if (person.locked) return "locked";
  if (person.must_change_password) return "pending";
  return "active";
}

function shown() {
  const q = state.search.trim().toLowerCase();
  return state.staff.filter((p) => {
    if (q && !p.id.toLowerCase().includes(q) && !p.name.toLowerCase().includes(q)) return false;
    if (!state.filter) return true;
    if (state.filter === "active") return p.active;
    if (state.filter === "disabled") return !p.active;
    if (state.filter === "locked") return p.active && p.locked;
    return p.active && p.must_change_password;
  });
}

function cell(content, className = "") {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content);
  else td.textContent = content == null || content === "" ? "—" : content;
  if (className) td.className = className;
  return td;
}

function badge(kind, text) {
  const span = document.createElement("span");
  span.className = `badge ${kind}`;
  span.textContent = text;
  return span;
}

function render() {
  const rows = $("rows");
  rows.replaceChildren();
  const list = shown();
  for (const p of list) {
    const tr = document.createElement("tr");
    tr.dataset.id = p.id;
    if (!p.active) tr.className = "disabled";
    let photo;
    if (p.photo_url) {
      photo = document.createElement("img");
      photo.className = "photo";
      photo.src = p.photo_url;
      photo.alt = p.name;
    } else {
      photo = document.createElement("span");
      photo.className = "photo none";
      photo.textContent = "无";
    }
    tr.append(cell(photo), cell(p.id), cell(p.name), cell(p.role_zh));
    tr.append(cell(p.hall_name || p.region_name || (p.role === "admin" ? "全部大厅" : "")));
    const st = document.createElement("span");
    st.className = "status";
    if (!p.active) st.append(badge("disabled", "已停用"));
    else st.append(badge("active", "在用"));
    if (p.active && p.locked) st.append(badge("locked", "已锁定"));
    if (p.active && p.must_change_password) st.append(badge("pending", "待设密码"));
    tr.append(cell(st));
    const ops = document.createElement("td");
    ops.className = "ops";
    ops.append(button("编辑", "op-edit", () => openEdit(p)));
    if (p.locked && p.active) ops.append(button("解锁", "op-unlock", () => openConfirm(p, "unlock")));
    if (p.id !== state.me.id) {
      if (p.active) {
        ops.append(button("重置密码", "op-reset-password", () => openConfirm(p, "reset-password")));
        ops.append(button("停用", "op-disable danger", () => openConfirm(p, "disable")));
      } else {
        ops.append(button("启用", "op-enable", () => openConfirm(p, "enable")));
      }
    }
    tr.append(ops);
    rows.append(tr);
  }
  $("empty").hidden = list.length > 0;
  const off = state.staff.filter((p) => !p.active).length;
  const locked = state.staff.filter((p) => p.active && p.locked).length;
  $("summary").textContent = `共 ${state.staff.length} 人${off ? `，停用 ${off} 人` : ""}${locked ? `，锁定 ${locked} 人` : ""}`;
}

function button(text, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

// ---- add and edit ------------------------------------------------------------------------

function fillChoices(person) {
  $("f-role").replaceChildren(...state.roles.map((r) => new Option(r.role_zh, r.role)));
  const places = [
    ...state.halls.map((h) => new Option(h.name, `hall:${h.id}`)),
    ...state.regions.map((r) => new Option(`${r.name}（${r.level === "district" ? "区级" : "街道级"}管理）`, `region:${r.id}`)),
  ];
  if (state.me.role === "admin" && !state.me.hall && !state.me.region) places.unshift(new Option("全部大厅（系统管理员）", "all"));
  $("f-place").replaceChildren(...places);
  if (person) {
    $("f-role").value = person.role;
    $("f-place").value = person.hall ? `hall:${person.hall}` : person.region ? `region:${person.region}` : "all";
  } else {
    $("f-role").value = "staff";
    if (state.halls.length) $("f-place").value = `hall:${state.halls[0].id}`;
  }
}

function openEdit(person = null) {
  state.editing = person;
  state.editKey = newKey(person ? "st-edit" : "st-add");
  $("edit-title").textContent = person ? `编辑 ${person.name}（${person.id}）` : "新增人员";
  $("f-id-label").hidden = Boolean(person);
  $("f-id").value = "";
  $("f-name").value = person ? person.name : "";
  $("f-photo").value = "";
  $("f-photo-box").hidden = !person;
  const preview = $("f-photo-preview");
  preview.hidden = !(person && person.photo_url);
  if (person && person.photo_url) preview.src = person.photo_url;
  fillChoices(person);
  $("edit-error").textContent = "";
  $("edit-dialog").showModal();
  (person ? $("f-name") : $("f-id")).focus();
}

function placeBody() {
  const place = $("f-place").value;
  if (place.startsWith("hall:")) return { hall: place.slice(5), region: null };
  if (place.startsWith("region:")) return { hall: null, region: place.slice(7) };
  return { hall: null, region: null };
}

async function submitEdit(event) {
  event.preventDefault();
  const error = $("edit-error");
  const name = $("f-name").value.trim();
  const role = $("f-role").value;
  const place = placeBody();
  if (!state.editing && !$("f-id").value.trim()) {
    error.textContent = "请填写工号";
    return;
  }
  if (!name) {
    error.textContent = "请填写姓名";
    return;
  }
  const submit = $("edit-submit");
  submit.disabled = true;
  try {
    if (!state.editing) {
      const body = { id: $("f-id").value.trim(), name, role };
      if (place.hall) body.hall = place.hall;
      if (place.region) body.region = place.region;
      const result = await api("/api/v1/staff", { method: "POST", body, key: state.editKey });
      if (!result.ok) {
        error.textContent = explain(result);
        return;
      }
      $("edit-dialog").close();
      await refresh();
      showPassword(result.data);
      return;
    }
    const p = state.editing;
    const changes = {};
    if (name !== p.name) changes.name = name;
    if (role !== p.role) changes.role = role;
    if (place.hall !== p.hall || place.region !== p.region) Object.assign(changes, place);
    const file = $("f-photo").files[0];
    if (!Object.keys(changes).length && !file) {
      $("edit-dialog").close();
      return;
    }
    if (Object.keys(changes).length) {
      const result = await api(`/api/v1/staff/${encodeURIComponent(p.id)}/edit`,
        { method: "POST", body: changes, key: state.editKey });
      if (!result.ok) {
        error.textContent = explain(result);
        return;
      }
    }
    if (file) {
      const problem = await uploadPhoto(p.id, file);
      if (problem) {
        error.textContent = problem;
        await refresh();
        return;
      }
    }
    $("edit-dialog").close();
    await refresh();
  } finally {
    submit.disabled = false;
  }
}

// A picture from a phone or a camera is megabytes: scale it to a window screen's size (at most
// 300×400) and send it as JPEG, smaller quality until it fits the server's limit.
async function shrink(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return null;
  }
  const scale = Math.min(1, 300 / bitmap.width, 400 / bitmap.height);
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  for (const quality of [0.88, 0.75, 0.6, 0.45]) {
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
    if (blob && blob.size <= PHOTO_MAX) return blob;
  }
  return null;
}

async function uploadPhoto(staffId, file) {
  if (!["image/jpeg", "image/png"].includes(file.type)) return "照片须为 JPEG 或 PNG 图片";
  const blob = await shrink(file);
  if (!blob) return "无法读取这张图片，请换一张 JPEG 或 PNG 照片";
  let response;
  try {
    response = await fetch(`/api/v1/staff/${encodeURIComponent(staffId)}/photo`, {
      method: "PUT", body: blob, cache: "no-store",
      headers: { Authorization: `Bearer ${session.token}`, "Content-Type": "image/jpeg" },
    });
  } catch {
    return "无法连接服务器，请检查网络后重试";
  }
  if (response.ok) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return explain({ status: response.status, data });
}

function previewPhoto() {
  const file = $("f-photo").files[0];
  const preview = $("f-photo-preview");
  if (!file) return;
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
}

// ---- disable, enable, unlock, reset ----------------------------------------------------------

function openConfirm(person, action) {
  state.confirm = { person, action, key: newKey(`st-${action}`) };
  $("confirm-title").textContent = ACTIONS[action].title;
  $("confirm-text").textContent = ACTIONS[action].text(person);
  $("confirm-error").textContent = "";
  $("confirm-submit").classList.toggle("danger", action === "disable");
  $("confirm-dialog").showModal();
}

async function submitConfirm(event) {
  event.preventDefault();
  const { person, action, key } = state.confirm;
  const submit = $("confirm-submit");
  submit.disabled = true;
  const result = await api(`/api/v1/staff/${encodeURIComponent(person.id)}/${action}`,
    { method: "POST", body: {}, key });
  submit.disabled = false;
  if (!result.ok) {
    $("confirm-error").textContent = explain(result);
    return;
  }
  $("confirm-dialog").close();
  await refresh();
  if (action === "reset-password") showPassword(result.data);
}

function showPassword(answer) {
  const person = answer.staff;
  if (!answer.one_time_password) {
    showBanner(`${person.name}（${person.id}）的操作已完成；一次性密码只显示一次，如未记下请再次重置密码。`, "info");
    return;
  }
  $("otp-who").textContent = `${person.name}（工号 ${person.id}）的一次性密码：`;
  $("otp").textContent = answer.one_time_password;
  $("otp-dialog").showModal();
}

// ---- wiring ---------------------------------------------------------------------------------

$("filters").addEventListener("click", (event) => {
  const b = event.target.closest("button");
  if (!b) return;
  state.filter = b.dataset.filter;
  for (const x of $("filters").querySelectorAll("button")) x.setAttribute("aria-pressed", String(x === b));
  render();
});
$("search").addEventListener("input", () => {
  state.search = $("search").value;
  render();
});
$("add").addEventListener("click", () => openEdit());
$("edit-form").addEventListener("submit", submitEdit);
$("edit-cancel").addEventListener("click", () => $("edit-dialog").close());
$("f-photo").addEventListener("change", previewPhoto);
$("confirm-form").addEventListener("submit", submitConfirm);
$("confirm-cancel").addEventListener("click", () => $("confirm-dialog").close());
// Shown once: gone from the page as soon as the dialog closes (the button, or Esc).
$("otp-close").addEventListener("click", () => { $("otp").textContent = ""; });
$("otp-dialog").addEventListener("close", () => { $("otp").textContent = ""; });
$("logout").addEventListener("click", async () => {
  await signOut();
  toLogin();
});

loginForm(enter);
if (session.load()) enter();
else toLogin();
