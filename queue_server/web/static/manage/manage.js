// 绩效报表: a manager's review of the scopes they may see (GET /api/v1/stats/scopes), by
// period and cut, with drill-down hall → window → staff, charts and exports.

import { clearCharts, drawDay, drawHour, drawRatings, drawWindow } from "./charts.js";
import {
  renderNav,
  $, api, clearBanner, count, DASH, download, explain, hourMin, loginForm, markPeriod, minSec,
  percent, period, score, session, showBanner, signOut, whenExpired, wirePeriod,
} from "./common.js";

export const CUTS = [
  ["hall", "按大厅", "大厅"], ["area", "按区域", "服务区"], ["service", "按业务", "业务"],
  ["window", "按窗口", "窗口"], ["staff", "按人员", "人员"], ["day", "按日期", "日期"],
  ["hour", "按时段", "时段"],
];
const cutName = (by) => (CUTS.find((c) => c[0] === by) || [by, by])[1];
const cutHeader = (by) => (CUTS.find((c) => c[0] === by) || [by, by, by])[2];

// The table's columns: [field, header, format]
export const COLUMNS = [
  ["issued", "取号量", count],
  ["served", "办件量", count],
  ["wait_avg_s", "平均等候<br>(分:秒)", minSec],
  ["wait_p90_s", "P90 等候<br>(分:秒)", minSec],
  ["wait_max_s", "最长等候<br>(分:秒)", minSec],
  ["over_threshold_rate", "超时率", percent],
  ["handle_avg_s", "平均办理<br>(分:秒)", minSec],
  ["handle_outliers", "办理异常", count],
  ["no_show_rate", "过号率", percent],
  ["abandon_rate", "弃号率", percent],
  ["open_s", "在岗时长<br>(时:分)", hourMin],
  ["pause_s", "暂停时长<br>(时:分)", hourMin],
  ["pause_count", "暂停次数", count],
  ["utilisation", "利用率", percent],
  ["ratings", "评价数", count],
  ["rating_participation", "参评率", percent],
  ["satisfied_rate", "满意率", percent],
  ["good_rate", "好评率", percent],
  ["bad_rate", "差评率", percent],
  ["score", "满意度得分", score],
  ["follow_ups", "差评工单", count],
  ["callback_on_time_rate", "回访及时率", percent],
  ["rectify_on_time_rate", "整改及时率", percent],
];

// 投诉、调查与整改 (GET /api/v1/stats/quality): [field, header, format]
export const QUALITY_COLUMNS = [
  ["served", "办件量", count],
  ["complaints", "投诉件数", count],
  ["complaints_per_1000", "千件投诉率", (v) => (v === null || v === undefined ? DASH : v.toFixed(2))],
  ["accepted_on_time_rate", "按时受理率", percent],
  ["replied_on_time_rate", "按时答复率", percent],
  ["complainant_satisfied_rate", "投诉人满意率", percent],
  ["survey_responses", "调查答卷", count],
  ["survey_score", "调查得分", (v) => (v === null || v === undefined ? DASH : v.toFixed(1))],
  ["improvements", "整改立项", count],
  ["improvements_open", "整改未完成", count],
  ["improvements_overdue", "整改逾期", count],
];

const CHARTS = ["chart-hour", "chart-day", "chart-window", "chart-rating"];

const state = {
  scopes: [], today: null, role: null,
  view: null, // { scope, by, window, staff }
  crumbs: [], // earlier views, each { view, label }
  from: null, to: null,
  seq: 0,
  reports: {}, // the last answers: table, hour, day, window
  requests: [], // the last stats URLs asked (for tests and support)
};
window.manage = { state };

// ---- start ------------------------------------------------------------------------------

function showScreen(name) {
  $("login-screen").hidden = name !== "login";
  $("report-screen").hidden = name !== "report";
  const signedIn = name === "report";
  $("who").hidden = !signedIn;
  $("logout").hidden = !signedIn;
}

function toLogin(message) {
  showScreen("login");
  if (message) $("login-error").textContent = message;
  $("staff-id").focus();
}

whenExpired(() => toLogin("登录已过期，请重新登录"));

async function enter() {
  clearBanner();
  const result = await api("/api/v1/stats/scopes");
  if (!result.ok) {
    if (result.status === 401) return; // whenExpired showed the form
    showScreen("login");
    showBanner(explain(result));
    return;
  }
  const info = result.data;
  if (info.role === "staff") {
    // A clerk reviews only their own figures.
    window.location.replace(`/manage/mine${window.location.search}`);
    return;
  }
  state.scopes = info.scopes;
  state.today = info.today;
  state.role = info.role;
  renderNav("/manage", info);
  $("who").textContent = `${info.name || info.staff_id}（${roleName(info.role)}）`;
  if (!state.scopes.length) {
    showScreen("report");
    showBanner("您的账号没有可查看的统计范围，请联系系统管理员");
    return;
  }
  fillScopes();
  readUrl();
  showScreen("report");
  await refresh();
}

function roleName(role) {
  return { manager: "管理人员", admin: "系统管理员", staff: "窗口人员" }[role] || role;
}

function fillScopes() {
  const select = $("scope");
  select.replaceChildren();
  const prefix = { district: "区", street: "街道", hall: "大厅" };
  for (const s of state.scopes) {
    const option = document.createElement("option");
    option.value = s.scope;
    option.textContent = `${s.level === "hall" ? "　" : ""}${s.name}（${prefix[s.level] || s.level}）`;
    select.append(option);
  }
}

const scopeInfo = (scope) => state.scopes.find((s) => s.scope === scope) || null;
const defaultCut = (scope) => {
  const info = scopeInfo(scope);
  return info && info.halls.length === 1 ? "window" : "hall";
};

function readUrl() {
  const q = new URLSearchParams(window.location.search);
  const scope = q.get("scope") || state.scopes[0].scope;
  const month = period("month", state.today);
  state.from = q.get("from") || month.from;
  state.to = q.get("to") || (q.get("from") ? state.from : month.to);
  const by = CUTS.some((c) => c[0] === q.get("by")) ? q.get("by") : defaultCut(scope);
  const win = /^\d{1,4}$/.test(q.get("window") || "") ? Number(q.get("window")) : null;
  state.view = { scope, by, window: win, staff: q.get("staff") || null };
  state.crumbs = [];
}

function writeUrl() {
  const q = new URLSearchParams();
  q.set("scope", state.view.scope);
  q.set("from", state.from);
  q.set("to", state.to);
  q.set("by", state.view.by);
  if (state.view.window !== null) q.set("window", String(state.view.window));
  if (state.view.staff) q.set("staff", state.view.staff);
  history.replaceState(null, "", `/manage?${q}`);
}

// ---- the query ----------------------------------------------------------------------------

function params(by, view = state.view) {
  const q = new URLSearchParams({ scope: view.scope, from: state.from, to: state.to, by });
  if (view.window !== null) q.set("window", String(view.window));
  if (view.staff) q.set("staff", view.staff);
  return q;
}

async function stats(by) {
  const url = `/api/v1/stats?${params(by)}`;
  state.requests.push(url);
  return api(url);
}

export async function refresh() {
  const seq = ++state.seq;
  syncControls();
  writeUrl();
  clearBanner();
  document.body.classList.add("loading");
  const quality = api(`/api/v1/stats/quality?${new URLSearchParams({
    scope: state.view.scope, from: state.from, to: state.to })}`);
  const [table, hour, day, win] = await Promise.all(
    [state.view.by, "hour", "day", "window"].map((by) => stats(by)));
  if (seq !== state.seq) return; // a newer query is on its way
  document.body.classList.remove("loading");
  const failed = [table, hour, day, win].find((r) => !r.ok);
  if (failed && failed.status === 401) return;
  if (failed) showBanner(explain(failed));
  state.reports = {
    table: table.ok ? table.data : null, hour: hour.ok ? hour.data : null,
    day: day.ok ? day.data : null, window: win.ok ? win.data : null,
  };
  renderSummary(state.reports.table);
  renderTable(state.reports.table);
  const qualityResult = await quality;
  if (seq !== state.seq) return;
  state.reports.quality = qualityResult.ok ? qualityResult.data : null;
  renderQuality(state.reports.quality);
  renderCrumbs();
  if (!window.echarts) {
    showBanner("图表组件未能加载（/vendor/echarts/echarts.min.js），表格数据仍可查看");
    return;
  }
  drawHour(state.reports.hour);
  drawDay(state.reports.day);
  drawWindow(state.reports.window);
  drawRatings(state.reports.table);
  document.body.dataset.ready = String(seq);
}

function syncControls() {
  const select = $("scope");
  select.querySelector("option.foreign")?.remove();
  if (!scopeInfo(state.view.scope)) {
    // asked for by the address, not one of theirs: say so instead of showing a blank choice
    const option = document.createElement("option");
    option.className = "foreign";
    option.value = state.view.scope;
    option.disabled = true;
    option.textContent = `（无权查看：${state.view.scope}）`;
    select.prepend(option);
  }
  select.value = state.view.scope;
  $("from").value = state.from;
  $("to").value = state.to;
  $("month").value = state.to.slice(0, 7);
  markPeriod($("periods"), state.from, state.to, state.today);
  for (const button of $("cuts").querySelectorAll("button")) {
    button.classList.toggle("active", button.dataset.by === state.view.by);
  }
}

// ---- rendering ----------------------------------------------------------------------------

function viewLabel(view, report) {
  const info = scopeInfo(view.scope);
  let name = (report && report.scope === view.scope && report.scope_name) || (info ? info.name : view.scope);
  if (view.window !== null) name += ` · ${view.window} 号窗口`;
  if (view.staff) name += ` · ${(report && report.staff_name) || view.staff}`;
  return `${name} · ${cutName(view.by)}`;
}

function renderSummary(report) {
  const info = scopeInfo(state.view.scope);
  const name = report ? report.scope_name : (info ? info.name : state.view.scope);
  $("scope-title").textContent = name;
  const parts = [`<b>${escapeHtml(name)}</b>`, `${state.from} 至 ${state.to}`, cutName(state.view.by)];
  if (report && report.halls && report.halls.length > 1) parts.push(`共 ${report.halls.length} 个大厅`);
  if (report) {
    parts.push(`办件 <b>${count(report.total.served)}</b> 件`);
    parts.push(`满意率 <b>${percent(report.total.satisfied_rate)}</b>`);
  }
  $("summary").innerHTML = parts.join("　·　");
}

function renderCrumbs() {
  const nav = $("crumbs");
  nav.replaceChildren();
  if (!state.crumbs.length) {
    nav.hidden = true;
    return;
  }
  nav.hidden = false;
  state.crumbs.forEach((crumb, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = crumb.label;
    button.addEventListener("click", () => {
      state.view = crumb.view;
      state.crumbs = state.crumbs.slice(0, index);
      refresh();
    });
    nav.append(button);
    const sep = document.createElement("span");
    sep.className = "sep";
    sep.textContent = "›";
    nav.append(sep);
  });
  const here = document.createElement("span");
  here.className = "here";
  here.textContent = viewLabel(state.view, state.reports.table);
  nav.append(here);
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

function drillOf(row) {
  if (row.key === null) return null;
  const by = state.view.by;
  if (by === "hall") {
    return { scope: `hall:${row.key}`, by: "window", window: null, staff: null };
  }
  if (by === "window") {
    const [hall, number] = String(row.key).split("/");
    return { scope: `hall:${hall}`, by: "staff", window: Number(number), staff: null };
  }
  return null;
}

function cell(tag, text, className) {
  const el = document.createElement(tag);
  el.textContent = text;
  if (className) el.className = className;
  return el;
}

function renderTable(report) {
  const table = $("kpi");
  const head = document.createElement("tr");
  head.append(cell("th", cutHeader(state.view.by), "label"));
  for (const [field, header] of COLUMNS) {
    const th = document.createElement("th");
    th.dataset.field = field;
    th.innerHTML = header; // our own constant text
    head.append(th);
  }
  table.tHead.replaceChildren(head);
  const body = table.tBodies[0];
  body.replaceChildren();
  table.tFoot.replaceChildren();
  $("table-title").textContent = `指标明细（${cutName(state.view.by)}）`;
  const drillable = state.view.by === "hall" || state.view.by === "window";
  $("table-hint").textContent = drillable && report && report.rows.length
    ? (state.view.by === "hall" ? "点击大厅查看各窗口" : "点击窗口查看该窗口人员") : "";
  if (!report) {
    const tr = document.createElement("tr");
    const td = cell("td", "暂无数据", "empty");
    td.colSpan = COLUMNS.length + 1;
    tr.append(td);
    body.append(tr);
    $("generated").textContent = "";
    return;
  }
  for (const row of report.rows) {
    const tr = document.createElement("tr");
    tr.dataset.key = row.key === null ? "" : String(row.key);
    tr.append(cell("td", row.label || (row.key === null ? "未叫号" : String(row.key)), "label"));
    for (const [field, , format] of COLUMNS) {
      const td = cell("td", format(row[field]));
      td.dataset.field = field;
      tr.append(td);
    }
    const next = drillOf(row);
    if (next) {
      tr.classList.add("drill");
      tr.title = "点击查看明细";
      tr.addEventListener("click", () => drill(next));
    }
    body.append(tr);
  }
  if (!report.rows.length) {
    const tr = document.createElement("tr");
    const td = cell("td", "所选期间没有数据", "empty");
    td.colSpan = COLUMNS.length + 1;
    tr.append(td);
    body.append(tr);
  }
  const total = document.createElement("tr");
  total.append(cell("td", "合计", "label"));
  for (const [field, , format] of COLUMNS) {
    const td = cell("td", format(report.total[field]));
    td.dataset.field = field;
    total.append(td);
  }
  table.tFoot.append(total);
  const extra = report.outliers_total ? `；办理时长异常 ${report.outliers_total} 件` : "";
  $("generated").textContent = `统计时间：${formatTime(report.generated_at)}${extra}`;
  renderOutliers(report);
}

// 投诉、调查与整改 of the scope: a row per hall, a subtotal per street of a district, the total.
function renderQuality(report) {
  const table = $("quality");
  const head = document.createElement("tr");
  head.append(cell("th", "大厅", "label"));
  for (const [field, header] of QUALITY_COLUMNS) {
    const th = cell("th", header);
    th.dataset.field = field;
    head.append(th);
  }
  table.tHead.replaceChildren(head);
  const body = table.tBodies[0];
  body.replaceChildren();
  table.tFoot.replaceChildren();
  const line = (label, row, className) => {
    const tr = document.createElement("tr");
    if (className) tr.className = className;
    tr.dataset.key = row.key || "";
    tr.append(cell("td", label, "label"));
    for (const [field, , format] of QUALITY_COLUMNS) {
      const td = cell("td", format(row[field]));
      td.dataset.field = field;
      tr.append(td);
    }
    return tr;
  };
  if (!report) {
    const tr = document.createElement("tr");
    const td = cell("td", "暂无数据", "empty");
    td.colSpan = QUALITY_COLUMNS.length + 1;
    tr.append(td);
    body.append(tr);
    return;
  }
  for (const row of report.rows) body.append(line(row.label, row));
  for (const row of report.regions) body.append(line(`${row.label}（小计）`, row, "subtotal"));
  table.tFoot.append(line("合计", report.total));
}

// The handling outliers the report lists (at most 200; the count above is all of them).
function renderOutliers(report) {
  const list = (report && report.outliers) || [];
  $("outliers").hidden = !list.length;
  const shown = report && report.outliers_total > list.length ? `（列出前 ${list.length} 件）` : "";
  $("outliers-title").textContent = `办理时长异常明细 ${report ? report.outliers_total : 0} 件${shown}`;
  const rows = list.map((o) => {
    const tr = document.createElement("tr");
    for (const text of [o.business_day, o.number, o.hall, o.service, o.window == null ? DASH : `${o.window} 号`,
                        o.staff_id || DASH, minSec(o.handle_s), minSec(o.median_s)]) {
      tr.append(cell("td", String(text)));
    }
    return tr;
  });
  $("outlier-table").tBodies[0].replaceChildren(...rows);
}

function formatTime(at) {
  const t = Date.parse(at || "");
  if (Number.isNaN(t)) return DASH;
  return new Intl.DateTimeFormat("zh-CN", {
    timeZone: window.HALL_TIME_ZONE || undefined, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(new Date(t));
}

function drill(next) {
  state.crumbs.push({ view: state.view, label: viewLabel(state.view, state.reports.table) });
  state.view = next;
  refresh();
}

// ---- controls -----------------------------------------------------------------------------

function wire() {
  loginForm(enter);
  $("logout").addEventListener("click", async () => {
    await signOut();
    clearCharts(CHARTS);
    toLogin("");
  });
  $("scope").addEventListener("change", () => {
    const scope = $("scope").value;
    state.view = { scope, by: defaultCut(scope), window: null, staff: null };
    state.crumbs = [];
    refresh();
  });
  wirePeriod(state, refresh);
  const cuts = $("cuts");
  for (const [by, label] of CUTS) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.by = by;
    button.textContent = label;
    button.addEventListener("click", () => {
      if (state.view.by === by) return;
      state.crumbs = [];
      state.view = { ...state.view, by };
      refresh();
    });
    cuts.append(button);
  }
  $("export-csv").addEventListener("click", (e) => exportFile(e.currentTarget,
    `/api/v1/stats.csv?${params(state.view.by)}`, `绩效报表_${state.from}_${state.to}.csv`));
  // Excel: one sheet per cut, the table's own first, then by day and by hour
  $("export-xlsx").addEventListener("click", (e) => {
    const cuts = [...new Set([state.view.by, "day", "hour"])].join(",");
    exportFile(e.currentTarget, `/api/v1/stats.xlsx?${params(cuts)}`, `绩效报表_${state.from}_${state.to}.xlsx`);
  });
  $("export-pdf").addEventListener("click", (e) => {
    const month = $("month").value;
    if (!/^\d{4}-\d\d$/.test(month)) {
      showBanner("请选择月报的月份");
      return;
    }
    const q = new URLSearchParams({ scope: state.view.scope, month });
    exportFile(e.currentTarget, `/api/v1/reports/monthly.pdf?${q}`, `月报_${month}.pdf`);
  });
}

async function exportFile(button, url, fallback) {
  button.disabled = true;
  const original = button.textContent;
  button.textContent = "导出中…";
  const problem = await download(url, fallback);
  button.disabled = false;
  button.textContent = original;
  if (problem) showBanner(problem);
  else clearBanner();
}

wire();
if (session.load()) {
  enter();
} else {
  toLogin("");
}
