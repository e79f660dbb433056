// 我的绩效: a clerk's own figures for a period (the server holds a clerk to their own figures
// whatever is asked); KPI cards, the daily trend and the rating mix.

import { drawDay, drawRatings } from "./charts.js";
import {
  renderNav,
  $, api, badRatings, clearBanner, count, explain, loginForm, markPeriod, minSec, percent,
  period, score, session, showBanner, signOut, whenExpired, wirePeriod,
} from "./common.js";

const CARDS = [
  ["办件量", (t) => count(t.served)],
  ["平均办理", (t) => minSec(t.handle_avg_s)],
  ["平均等候", (t) => minSec(t.wait_avg_s)],
  ["评价数", (t) => count(t.ratings)],
  ["满意率", (t) => percent(t.satisfied_rate)],
  ["好评率", (t) => percent(t.good_rate)],
  ["差评数", (t) => count(badRatings(t)), (t) => badRatings(t) > 0],
  ["满意度得分", (t) => score(t.score)],
  ["过号率", (t) => percent(t.no_show_rate)],
  ["利用率", (t) => percent(t.utilisation)],
];

const state = { scope: null, today: null, from: null, to: null, staff: null, seq: 0, report: null, requests: [] };
window.manage = { state };

function showScreen(name) {
  $("login-screen").hidden = name !== "login";
  $("report-screen").hidden = name !== "report";
  $("who").hidden = name !== "report";
  $("logout").hidden = name !== "report";
}

function toLogin(message) {
  showScreen("login");
  $("login-error").textContent = message || "";
  $("staff-id").focus();
}

whenExpired(() => toLogin("登录已过期，请重新登录"));

async function enter() {
  clearBanner();
  const result = await api("/api/v1/stats/scopes");
  if (!result.ok) {
    if (result.status === 401) return;
    showScreen("login");
    showBanner(explain(result));
    return;
  }
  const info = result.data;
  const hall = info.scopes.find((s) => s.level === "hall" && s.halls.length === 1);
  if (!hall) {
    // An admin or a region manager has no counter of their own.
    window.location.replace("/manage");
    return;
  }
  state.scope = hall.scope;
  state.today = info.today;
  state.staff = info.staff_id;
  $("who").textContent = info.name || info.staff_id;
  $("scope-title").textContent = hall.name;
  $("to-manage").hidden = info.role === "staff";
  renderNav("/manage/mine", info);
  const q = new URLSearchParams(window.location.search);
  const month = period("month", state.today);
  state.from = q.get("from") || month.from;
  state.to = q.get("to") || (q.get("from") ? state.from : month.to);
  showScreen("report");
  await refresh();
}

async function refresh() {
  const seq = ++state.seq;
  $("from").value = state.from;
  $("to").value = state.to;
  markPeriod($("periods"), state.from, state.to, state.today);
  history.replaceState(null, "", `/manage/mine?${new URLSearchParams({ from: state.from, to: state.to })}`);
  clearBanner();
  // staff= is the server's own rule for a clerk; a manager's "mine" asks for it explicitly.
  const q = new URLSearchParams({ scope: state.scope, from: state.from, to: state.to, by: "day", staff: state.staff });
  const url = `/api/v1/stats?${q}`;
  state.requests.push(url);
  const result = await api(url);
  if (seq !== state.seq) return;
  if (!result.ok) {
    if (result.status === 401) return;
    showBanner(explain(result));
  }
  state.report = result.ok ? result.data : null;
  render(state.report);
}

function render(report) {
  const name = report && report.staff_name ? report.staff_name : (session.name || state.staff);
  $("summary").innerHTML = "";
  $("summary").append(`${name}　·　${state.from} 至 ${state.to}`);
  const cards = $("cards");
  cards.replaceChildren();
  for (const [label, value, bad] of CARDS) {
    const card = document.createElement("div");
    card.className = "card";
    card.dataset.name = label;
    const n = document.createElement("div");
    n.className = "name";
    n.textContent = label;
    const v = document.createElement("div");
    v.className = "value";
    v.textContent = report ? value(report.total) : "—";
    if (report && bad && bad(report.total)) card.classList.add("bad");
    card.append(n, v);
    cards.append(card);
  }
  if (!window.echarts) {
    showBanner("图表组件未能加载（/vendor/echarts/echarts.min.js），指标仍可查看");
    return;
  }
  drawDay(report, { field: "handle_avg_s", name: "平均办理" });
  drawRatings(report);
  document.body.dataset.ready = String(state.seq);
}

function wire() {
  loginForm(enter);
  $("logout").addEventListener("click", async () => {
    await signOut();
    toLogin("");
  });
  wirePeriod(state, refresh);
}

wire();
if (session.load()) {
  enter();
} else {
  toLogin("");
}
