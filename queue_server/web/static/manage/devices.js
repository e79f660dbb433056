// 设备管理: a manager pairs a device by the 6-digit code it shows (hall, role, window or
// kiosk), and sees the hall's devices: when each was registered and last seen; renames,
// moves (another window or kiosk) and revokes them. Every change is ledgered by the server.

import { $, api, explain, newKey, showBanner } from "./common.js";
import { boot } from "./page.js";

const state = {
  me: null,
  hall: null,
  halls: [], // GET /api/v1/halls: windows of each hall
  devices: [],
  pairKey: null,
  edit: null, // {device, action, key}
};
window.devicesPage = state;

const TIME_ZONE = window.HALL_TIME_ZONE;

function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("zh-CN", {
    timeZone: TIME_ZONE, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  });
}

function windowsOf(hallId) {
  const hall = state.halls.find((h) => h.id === hallId);
  return hall ? hall.windows : [];
}

function kiosks() {
  return state.devices.filter((d) => d.role === "kiosk" && d.active).map((d) => d.name);
}

function fillSelect(select, options, blank) {
  select.replaceChildren(new Option(blank, ""), ...options.map(([value, label]) => new Option(label, value)));
}

function fillPickers() {
  const windows = windowsOf(state.hall).map((w) => [String(w.number), `${w.number} 号窗口${w.name ? "（" + w.name + "）" : ""}`]);
  fillSelect($("f-window"), windows, "不绑定");
  fillSelect($("f-kiosk"), kiosks().map((k) => [k, k]), "不绑定");
}

// The halls whose devices one may see, and every hall's windows (for binding a device to one).
async function deviceHalls() {
  const [listed, halls] = await Promise.all([api("/api/v1/monitor/halls"), api("/api/v1/halls")]);
  state.halls = halls.ok ? halls.data.halls : [];
  return listed.ok ? listed.data.halls : [];
}

$("pair-url").textContent = `${location.origin}/pair`;
boot("/manage/devices", {
  roles: ["manager", "admin"],
  notAllowed: "设备管理仅限大厅管理人员。",
  listHalls: deviceHalls,
  noHalls: "设备按大厅登记；区、街道管理人员请由各大厅管理人员配对设备。",
  entered: async ({ me, hall }) => {
    Object.assign(state, { me, hall });
    await refresh();
  },
  changed: ({ hall }) => {
    state.hall = hall;
    refresh();
  },
});

async function refresh() {
  const result = await api(`/api/v1/halls/${encodeURIComponent(state.hall)}/devices`);
  if (!result.ok) {
    showBanner(explain(result));
    return;
  }
  state.devices = result.data.devices;
  fillPickers();
  render();
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function render() {
  const rows = state.devices.map((d) => {
    const tr = document.createElement("tr");
    tr.dataset.device = String(d.id);
    if (!d.active) tr.className = "revoked";
    const binding = d.window ? `${d.window} 号窗口` : d.kiosk ? `取号机 ${d.kiosk}` : "—";
    const stateCell = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `state ${d.active ? "active" : "revoked"}`;
    badge.textContent = d.active ? "在用" : `已停用 ${when(d.revoked_at)}`;
    stateCell.append(badge);
    const actions = document.createElement("td");
    actions.className = "nw";
    if (d.active) {
      actions.append(button("改名", () => openEdit(d, "rename")));
      if (["tablet", "window_screen", "printer"].includes(d.kind)) actions.append(button("改绑", () => openEdit(d, "move")));
      actions.append(button("停用", () => openEdit(d, "revoke"), "danger"));
    }
    tr.append(cell(d.name), cell(d.kind_zh), cell(binding, "nw"), cell(when(d.created), "nw"),
      cell(when(d.last_seen_at), "nw"), stateCell, actions);
    return tr;
  });
  $("rows").replaceChildren(...rows);
  $("empty").hidden = rows.length > 0;
  const active = state.devices.filter((d) => d.active).length;
  $("summary").textContent = `在用设备 ${active} 台`;
}

function button(text, onClick, extra = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  if (extra) b.className = extra;
  b.addEventListener("click", onClick);
  return b;
}

async function submitPair(event) {
  event.preventDefault();
  $("pair-error").textContent = "";
  const code = $("f-code").value.replace(/\s/g, "");
  const name = $("f-name").value.trim();
  if (!/^[0-9]{6}$/.test(code)) {
    $("pair-error").textContent = "配对码须为 6 位数字";
    return;
  }
  if (!name) {
    $("pair-error").textContent = "请填写设备名称";
    return;
  }
  const body = { code, name };
  if ($("f-role").value) body.role = $("f-role").value;
  if ($("f-window").value) body.window = Number($("f-window").value);
  if ($("f-kiosk").value) body.kiosk = $("f-kiosk").value;
  state.pairKey = state.pairKey || newKey("pair");
  $("pair-submit").disabled = true;
  const result = await api(`/api/v1/halls/${encodeURIComponent(state.hall)}/devices`, {
    method: "POST", body, key: state.pairKey,
  });
  $("pair-submit").disabled = false;
  if (!result.ok) {
    $("pair-error").textContent = explain(result);
    if (result.status !== 0 && result.status !== 503) state.pairKey = null;
    return;
  }
  state.pairKey = null;
  $("pair-form").reset();
  showBanner(`已配对：${result.data.name}（${result.data.kind_zh}），设备将自动开始工作`, "info");
  await refresh();
}

function openEdit(device, action) {
  state.edit = { device, action, key: newKey(`device-${action}`) };
  const titles = { rename: `改名：${device.name}`, move: `改绑：${device.name}`, revoke: `停用：${device.name}` };
  $("edit-title").textContent = titles[action];
  $("edit-name-label").hidden = action !== "rename";
  $("edit-window-label").hidden = !(action === "move" && device.kind !== "printer");
  $("edit-kiosk-label").hidden = !(action === "move" && device.kind === "printer");
  $("edit-name").value = device.name;
  const windows = windowsOf(state.hall).map((w) => [String(w.number), `${w.number} 号窗口`]);
  fillSelect($("edit-window"), windows, "请选择");
  $("edit-window").value = device.window ? String(device.window) : "";
  fillSelect($("edit-kiosk"), kiosks().map((k) => [k, k]), "请选择");
  $("edit-kiosk").value = device.kiosk || "";
  $("edit-text").textContent = action === "revoke" ? "停用后该设备立即断开，屏幕回到配对页面，需重新配对才能使用。" : "";
  $("edit-error").textContent = "";
  $("edit-dialog").showModal();
}

async function submitEdit(event) {
  event.preventDefault();
  const { device, action, key } = state.edit;
  const body = {};
  if (action === "rename") body.name = $("edit-name").value.trim();
  if (action === "move") {
    if (device.kind === "printer") body.kiosk = $("edit-kiosk").value || null;
    else body.window = $("edit-window").value ? Number($("edit-window").value) : null;
  }
  const result = await api(`/api/v1/halls/${encodeURIComponent(state.hall)}/devices/${device.id}/${action}`, {
    method: "POST", body, key,
  });
  if (!result.ok) {
    $("edit-error").textContent = explain(result);
    return;
  }
  $("edit-dialog").close();
  await refresh();
}

$("pair-form").addEventListener("submit", submitPair);
$("edit-form").addEventListener("submit", submitEdit);
$("edit-cancel").addEventListener("click", () => $("edit-dialog").close());
