// What both review pages share: the session (a bearer token in sessionStorage, like the staff
// console), the server, the error banner, dates of the quick periods, and how figures read.

import { requestJson } from "/display/static/http.js";
import { askNewPassword } from "./set-password.js";

export const SESSION_KEY = "hall-queue.manage";
export const $ = (id) => document.getElementById(id);

// ---- the console's navigation ------------------------------------------------------------
// Every manager's page shows these links in <nav id="console-nav"> (renderNav); a clerk sees
// only 我的绩效. `roles`: who the link is shown to (the server decides what each may do);
// `atWindow`: only for someone who serves at a window (not a street or district office).

export const CONSOLE_PAGES = [
  { path: "/manage/monitor", title: "大厅监控", roles: ["admin", "manager"] },
  { path: "/manage", title: "绩效报表", roles: ["admin", "manager"] },
  { path: "/manage/mine", title: "我的绩效", roles: ["manager", "staff"], atWindow: true },
  { path: "/manage/complaints", title: "投诉管理", roles: ["admin", "manager", "staff"] },
  { path: "/manage/surveys", title: "满意度调查", roles: ["admin", "manager"] },
  { path: "/manage/improvements", title: "整改", roles: ["admin", "manager", "staff"] },
  { path: "/manage/desk", title: "导服台", roles: ["admin", "manager", "staff"] },
  { path: "/manage/follow-ups", title: "差评回访", roles: ["admin", "manager"] },
  { path: "/manage/notices", title: "公告", roles: ["admin", "manager"] },
  { path: "/manage/people", title: "人员管理", roles: ["admin", "manager"] },
  { path: "/manage/devices", title: "设备管理", roles: ["admin", "manager"] },
];

// A fresh Idempotency-Key for one press of a button (kept across its retries).
export function newKey(prefix = "ui") {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${Date.now().toString(36)}-${random[0].toString(36)}${random[1].toString(36)}`;
}

// The state filter buttons of a worklist page (<div id="filters"> of <button data-filter>):
// `setFilter(f)` marks f pressed and records it in state.filter; a click sets it and refreshes.
export function filterButtons(state, refresh) {
  const setFilter = (filter) => {
    state.filter = filter;
    for (const b of $("filters").querySelectorAll("button")) {
      b.setAttribute("aria-pressed", String(b.dataset.filter === filter));
    }
  };
  $("filters").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    setFilter(button.dataset.filter);
    refresh();
  });
  return setFilter;
}

// `who`: the signed-in person ({role, region} as the server answers who-am-I), or a role.
export function renderNav(current, who = null) {
  const nav = $("console-nav");
  if (!nav) return;
  const { role = null, region = null } = typeof who === "string" ? { role: who } : (who || {});
  nav.replaceChildren();
  for (const page of CONSOLE_PAGES) {
    if (role && !page.roles.includes(role)) continue;
    if (page.atWindow && region) continue;
    const link = document.createElement("a");
    link.href = page.path;
    link.textContent = page.title;
    if (page.path === current) link.setAttribute("aria-current", "page");
    nav.append(link);
  }
}

// ---- session and server ---------------------------------------------------------------

export const session = {
  token: null, staffId: null, name: null,
  load() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
      if (saved && saved.token) Object.assign(this, saved);
    } catch {
      /* a damaged entry is no session */
    }
    return Boolean(this.token);
  },
  save() {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify({
      token: this.token, staffId: this.staffId, name: this.name,
    }));
  },
  clear() {
    sessionStorage.removeItem(SESSION_KEY);
    this.token = this.staffId = this.name = null;
  },
};

let onExpired = () => {};
export function whenExpired(handler) {
  onExpired = handler;
}

// `key`: an Idempotency-Key, so that a button pressed twice (or a retry) acts once.
export async function api(path, { method = "GET", body, key } = {}) {
  const headers = {};
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (key) headers["Idempotency-Key"] = key;
  const result = await requestJson(path, { method, body, headers });
  const pending = result.status === 403 && result.data && result.data.code === "auth.password_change_required";
  if ((result.status === 401 || pending) && session.token && !path.endsWith("/auth/login")) {
    session.clear(); // a one-time password's session: sign in again and set a password first
    onExpired();
  }
  return result;
}

// The problem's Chinese detail, or words of our own when there is none.
export function explain(result) {
  if (result.status === 0) return "无法连接服务器，请检查网络后重试";
  const data = result.data || {};
  if (typeof data.detail === "string" && /[\u4e00-\u9fff]/.test(data.detail)) return data.detail;
  if (result.status === 401) return "登录已过期，请重新登录";
  if (result.status === 403) return "无权查看该范围的数据";
  if (result.status === 404) return "未找到所请求的数据";
  if (result.status === 503) return "服务器暂时不可用，请稍后重试";
  return `请求失败（${result.status}）`;
}

export function showBanner(text, kind = "error") {
  const banner = $("banner");
  banner.textContent = text;
  banner.className = `banner ${kind}`;
  banner.hidden = !text;
}

export function clearBanner() {
  showBanner("");
}

export async function signIn(staffId, password) {
  const result = await api("/api/v1/auth/login", {
    method: "POST", body: { staff_id: staffId, password },
  });
  if (!result.ok) {
    return result.status === 401 || result.status === 404 ? "工号或密码错误" : explain(result);
  }
  const staff = result.data.staff || {};
  if (staff.must_change_password) {
    // A one-time password: nothing else is allowed until the person has set their own.
    const changed = await askNewPassword($("login-form"), {
      staffId, token: result.data.token, oldPassword: password,
    });
    if (!changed) return "请设置新密码后再使用";
    result.data = changed;
  }
  session.token = result.data.token;
  session.staffId = staffId;
  session.name = (result.data.staff && result.data.staff.name) || staffId;
  session.save();
  return null;
}

export async function signOut() {
  if (session.token) await api("/api/v1/auth/logout", { method: "POST" });
  session.clear();
}

// Wire the sign-in form: `entered` runs once signed in.
export function loginForm(entered) {
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const staffId = $("staff-id").value.trim();
    const password = $("password").value;
    const error = $("login-error");
    if (!staffId || !password) {
      error.textContent = "请输入工号和密码";
      return;
    }
    error.textContent = "";
    const button = $("login-button");
    button.disabled = true;
    button.textContent = "登录中…";
    const problem = await signIn(staffId, password);
    button.disabled = false;
    button.textContent = "登 录";
    if (problem) {
      error.textContent = problem;
      return;
    }
    $("password").value = "";
    await entered();
  });
}

// ---- periods ----------------------------------------------------------------------------
// Dates are YYYY-MM-DD strings of the hall's business day (the server's `today`), computed
// in UTC so that the browser's own zone and clock never shift them.

const parse = (text) => new Date(`${text}T00:00:00Z`);
const iso = (d) => d.toISOString().slice(0, 10);

export function period(kind, today) {
  const t = parse(today);
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth();
  switch (kind) {
    case "today": return { from: today, to: today };
    case "week": {
      const back = (t.getUTCDay() + 6) % 7; // Monday first
      return { from: iso(new Date(Date.UTC(y, m, t.getUTCDate() - back))), to: today };
    }
    case "month": return { from: iso(new Date(Date.UTC(y, m, 1))), to: today };
    case "last-month": return {
      from: iso(new Date(Date.UTC(y, m - 1, 1))), to: iso(new Date(Date.UTC(y, m, 0))),
    };
    case "year": return { from: iso(new Date(Date.UTC(y, 0, 1))), to: today };
    default: return null;
  }
}

export const PERIODS = [
  ["today", "今日"], ["week", "本周"], ["month", "本月"], ["last-month", "上月"], ["year", "本年"],
];

// Mark the quick button whose period is the one shown.
export function markPeriod(container, from, to, today) {
  let marked = false; // on a Monday 今日 and 本周 are the same days: the first one says it
  for (const button of container.querySelectorAll("button[data-period]")) {
    const p = period(button.dataset.period, today);
    const same = !marked && p.from === from && p.to === to;
    button.classList.toggle("active", same);
    marked = marked || same;
  }
}

// The period controls of both pages: quick buttons and the two dates set state.from / state.to
// (state.today: the server's business day) and call `refresh`; a reversed range is refused.
export function wirePeriod(state, refresh) {
  periodButtons($("periods"), (kind) => {
    const p = period(kind, state.today);
    state.from = p.from;
    state.to = p.to;
    refresh();
  });
  for (const id of ["from", "to"]) {
    $(id).addEventListener("change", () => {
      const from = $("from").value;
      const to = $("to").value;
      if (!from || !to) return;
      if (from > to) {
        showBanner("开始日期不能晚于结束日期");
        return;
      }
      state.from = from;
      state.to = to;
      refresh();
    });
  }
}

export function periodButtons(container, choose) {
  for (const [kind, label] of PERIODS) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.period = kind;
    button.textContent = label;
    button.addEventListener("click", () => choose(kind));
    container.append(button);
  }
}

// ---- figures ----------------------------------------------------------------------------

export const DASH = "—";
const pad = (n) => String(n).padStart(2, "0");

// 分:秒 — minutes may pass 60 (a long wait reads "75:10").
export function minSec(seconds) {
  if (seconds === null || seconds === undefined) return DASH;
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${pad(s % 60)}`;
}

// 时:分 — for hours on duty and paused.
export function hourMin(seconds) {
  if (seconds === null || seconds === undefined) return DASH;
  const m = Math.round(seconds / 60);
  return `${Math.floor(m / 60)}:${pad(m % 60)}`;
}

export function percent(rate) {
  if (rate === null || rate === undefined) return DASH;
  return `${(rate * 100).toFixed(1)}%`;
}

export function count(n) {
  if (n === null || n === undefined) return DASH;
  return Number(n).toLocaleString("zh-CN");
}

export function score(n) {
  if (n === null || n === undefined) return DASH;
  return Number(n).toFixed(1);
}

export const LEVELS = [
  ["very_satisfied", "非常满意", "#1b7f3b"],
  ["satisfied", "满意", "#4caf50"],
  ["basically_satisfied", "基本满意", "#9ccc65"],
  ["dissatisfied", "不满意", "#ff9800"],
  ["very_dissatisfied", "非常不满意", "#c62828"],
];

export function badRatings(figures) {
  const levels = (figures && figures.rating_levels) || {};
  return (levels.dissatisfied || 0) + (levels.very_dissatisfied || 0);
}

// ---- downloads --------------------------------------------------------------------------

function filenameOf(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      /* fall through */
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : fallback;
}

// The bearer token is a header, so a download is fetch → blob → a temporary <a download>.
export async function download(path, fallback) {
  const headers = {};
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(path, { headers, cache: "no-store" });
  } catch {
    return "无法连接服务器，请检查网络后重试";
  }
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (response.status === 404 && !(data && data.code)) return "服务器暂不支持该导出";
    return explain({ status: response.status, data });
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filenameOf(response, fallback);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return null;
}
