// 满意度调查: a hall's survey campaigns (start one, end it early) and the results of the chosen
// one per question, service and day, drawn with the vendored ECharts (window.echarts); exports
// as CSV and Excel; 发起整改 opens an improvement action with the campaign as its source.

import { $, api, clearBanner, download, explain, newKey, showBanner } from "./common.js";
import { boot, watchedHalls } from "./page.js";

const state = {
  me: null,
  hall: null,
  data: null, // GET survey-campaigns: {today, questionnaires, campaigns}
  campaign: null,
  report: null,
  newKey: null,
};
window.surveys = state;

const MANAGERS = ["manager", "admin"];
const FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, Microsoft YaHei, sans-serif";
const SCALE_COLOURS = ["#c62828", "#ff9800", "#bdbdbd", "#4caf50", "#1b7f3b"]; // 1 … 5

const hallPath = () => `/api/v1/halls/${encodeURIComponent(state.hall)}`;

boot("/manage/surveys", {
  roles: MANAGERS,
  notAllowed: "满意度调查由大厅管理人员发起和查看。",
  listHalls: watchedHalls,
  noHalls: "满意度调查按大厅进行；请选择一个大厅的管理账号登录。",
  entered: async ({ me, hall }) => {
    Object.assign(state, { me, hall });
    await loadCampaigns(new URLSearchParams(window.location.search).get("campaign"));
  },
  changed: ({ hall }) => {
    state.hall = hall;
    state.campaign = null;
    $("service").replaceChildren(new Option("全部事项", ""));
    loadCampaigns();
  },
});

async function loadCampaigns(wanted = null) {
  const result = await api(`${hallPath()}/survey-campaigns`);
  if (!result.ok) {
    if (result.status !== 401) showBanner(explain(result));
    return;
  }
  state.data = result.data;
  const campaigns = state.data.campaigns;
  $("f-questionnaire").replaceChildren(...state.data.questionnaires.map((q) => new Option(q.title, q.id)));
  $("campaign").replaceChildren(...campaigns.map((c) => new Option(`${c.title}（${c.starts} 至 ${c.ends}）`, c.id)));
  const keep = wanted || (state.campaign && state.campaign.id);
  state.campaign = campaigns.find((c) => c.id === keep) || campaigns[0] || null;
  if (state.campaign) $("campaign").value = state.campaign.id;
  renderCampaigns();
  await loadResults();
}

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text == null || text === "" ? "—" : String(text);
  if (className) td.className = className;
  return td;
}

function renderCampaigns() {
  const rows = $("campaign-rows");
  rows.replaceChildren();
  for (const c of state.data.campaigns) {
    const tr = document.createElement("tr");
    tr.dataset.id = c.id;
    if (state.campaign && c.id === state.campaign.id) tr.className = "chosen";
    tr.append(cell(c.title), cell(`${c.starts} 至 ${c.ends}`), cell(c.rule_zh));
    const st = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `status ${c.status}`;
    badge.textContent = c.status_zh;
    st.append(badge);
    tr.append(st, cell(c.finished_count), cell(c.sampled_count), cell(c.answered_count), cell(c.created_by));
    const ops = document.createElement("td");
    const view = document.createElement("button");
    view.type = "button";
    view.textContent = "查看结果";
    view.addEventListener("click", () => choose(c.id));
    ops.append(view);
    if (c.status === "running" || c.status === "scheduled") {
      const end = document.createElement("button");
      end.type = "button";
      end.className = "end";
      end.textContent = "提前结束";
      end.addEventListener("click", () => endCampaign(c));
      ops.append(end);
    }
    tr.append(ops);
    rows.append(tr);
  }
  $("no-campaigns").hidden = state.data.campaigns.length > 0;
}

async function choose(id) {
  state.campaign = state.data.campaigns.find((c) => c.id === id) || null;
  $("campaign").value = id;
  renderCampaigns();
  await loadResults();
}

async function endCampaign(c) {
  if (!window.confirm(`提前结束「${c.title}」？结束后不再抽样，已抽中的群众仍可提交。`)) return;
  const result = await api(`${hallPath()}/survey-campaigns/${encodeURIComponent(c.id)}/end`,
    { method: "POST", body: {}, key: newKey("sv-end") });
  if (!result.ok) {
    showBanner(explain(result));
    return;
  }
  await loadCampaigns(c.id);
}

function resultQuery() {
  const params = new URLSearchParams({ campaign: state.campaign.id });
  for (const name of ["service", "from", "to"]) if ($(name).value) params.set(name, $(name).value);
  return params;
}

async function loadResults() {
  const improve = $("improve");
  improve.hidden = !state.campaign;
  $("results").hidden = !state.campaign;
  if (!state.campaign) return;
  improve.href = `/manage/improvements?${new URLSearchParams({
    hall: state.hall, source_kind: "survey", source_id: state.campaign.id })}`;
  const result = await api(`${hallPath()}/survey-results?${resultQuery()}`);
  if (!result.ok) {
    if (result.status !== 401) showBanner(explain(result));
    return;
  }
  clearBanner();
  state.report = result.data;
  renderResults();
}

function renderResults() {
  const r = state.report;
  const services = $("service");
  if (services.options.length === 1) {
    for (const s of r.by_service) services.append(new Option(s.service_name, s.service));
  }
  $("n-sampled").textContent = r.sampled;
  $("n-answered").textContent = r.answered;
  $("n-rate").textContent = r.response_rate == null ? "—" : `${(r.response_rate * 100).toFixed(1)}%`;
  $("n-mean").textContent = r.mean_score == null ? "—" : r.mean_score.toFixed(2);
  drawScale(r);
  drawService(r);
  drawDay(r);
  renderChoices(r);
  renderTexts(r);
}

function chart(id) {
  const el = $(id);
  return window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "canvas", locale: "ZH" });
}

window.addEventListener("resize", () => {
  for (const id of ["chart-scale", "chart-service", "chart-day"]) {
    const instance = window.echarts.getInstanceByDom($(id));
    if (instance) instance.resize();
  }
});

const EMPTY = { title: { text: "暂无回答", left: "center", top: "middle",
  textStyle: { color: "#8a97a8", fontSize: 14, fontWeight: "normal", fontFamily: FONT } } };
const base = () => ({ textStyle: { fontFamily: FONT }, animation: false, tooltip: { trigger: "axis", confine: true } });

function drawScale(r) {
  const scale = r.questions.filter((q) => q.kind === "scale");
  if (!r.answered || !scale.length) {
    chart("chart-scale").setOption(EMPTY, { notMerge: true });
    return;
  }
  const short = (text) => (text.length > 8 ? `${text.slice(0, 8)}…` : text);
  chart("chart-scale").setOption({
    ...base(),
    legend: { top: 0, itemWidth: 10, itemHeight: 8, textStyle: { fontSize: 11 } },
    grid: { left: 96, right: 14, top: 26, bottom: 20 },
    xAxis: { type: "value", max: 1, axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
    yAxis: { type: "category", inverse: true, data: scale.map((q) => short(q.text)) },
    series: [0, 1, 2, 3, 4].map((i) => ({
      name: `${i + 1} 分`, type: "bar", stack: "all", color: SCALE_COLOURS[i], barMaxWidth: 22,
      data: scale.map((q) => (q.answered ? q.counts[i] / q.answered : 0)),
    })),
  }, { notMerge: true });
}

function drawService(r) {
  if (!r.by_service.length) {
    chart("chart-service").setOption(EMPTY, { notMerge: true });
    return;
  }
  chart("chart-service").setOption({
    ...base(),
    grid: { left: 36, right: 14, top: 16, bottom: 36 },
    xAxis: { type: "category", data: r.by_service.map((s) => s.service_name),
      axisLabel: { interval: 0, fontSize: 11, formatter: (v) => (v.length > 5 ? `${v.slice(0, 5)}…` : v) } },
    yAxis: { type: "value", min: 0, max: 5, interval: 1 },
    series: [{ name: "平均分", type: "bar", color: "#1e63b5", barMaxWidth: 40,
      data: r.by_service.map((s) => s.mean_score), label: { show: true, position: "top", fontSize: 11 } }],
  }, { notMerge: true });
}

function drawDay(r) {
  if (!r.by_day.length) {
    chart("chart-day").setOption(EMPTY, { notMerge: true });
    return;
  }
  chart("chart-day").setOption({
    ...base(),
    legend: { top: 0, itemWidth: 12, itemHeight: 8, textStyle: { fontSize: 11 } },
    grid: { left: 36, right: 36, top: 26, bottom: 22 },
    xAxis: { type: "category", data: r.by_day.map((d) => d.day.slice(5)) },
    yAxis: [{ type: "value", minInterval: 1 }, { type: "value", min: 0, max: 5, interval: 1, splitLine: { show: false } }],
    series: [
      { name: "回答数", type: "bar", color: "#9ec1ea", barMaxWidth: 28, data: r.by_day.map((d) => d.answered) },
      { name: "平均分", type: "line", yAxisIndex: 1, color: "#e07b00", data: r.by_day.map((d) => d.mean_score) },
    ],
  }, { notMerge: true });
}

function renderChoices(r) {
  const box = $("choices");
  box.replaceChildren();
  for (const q of r.questions.filter((x) => x.kind === "choice")) {
    const div = document.createElement("div");
    div.className = "choice";
    const title = document.createElement("p");
    title.textContent = `${q.text}（${q.answered} 人）`;
    div.append(title);
    const top = Math.max(1, ...q.counts);
    q.options.forEach((option, i) => {
      const line = document.createElement("div");
      line.className = "opt";
      const label = document.createElement("span");
      label.textContent = option;
      const bar = document.createElement("i");
      bar.style.width = `${Math.round((q.counts[i] / top) * 120)}px`;
      const n = document.createElement("span");
      n.textContent = String(q.counts[i]);
      line.append(label, bar, n);
      div.append(line);
    });
    box.append(div);
  }
  if (!box.children.length) box.textContent = "本问卷没有选择题。";
}

function renderTexts(r) {
  const list = $("texts");
  list.replaceChildren();
  for (const t of r.texts) {
    const li = document.createElement("li");
    const meta = document.createElement("small");
    meta.textContent = `${t.day} ${t.service_name}`;
    li.append(meta, document.createTextNode(t.text));
    list.append(li);
  }
  $("text-count").textContent = r.texts.length ? `（${r.texts.length} 条）` : "（暂无）";
}

function openNewForm() {
  state.newKey = newKey("sv-start");
  const today = state.data ? state.data.today : "";
  $("f-starts").value = today;
  $("f-ends").value = today;
  $("new-error").textContent = "";
  $("new-form").hidden = false;
}

async function submitNew(event) {
  event.preventDefault();
  const every = $("f-rule").value === "all" ? 1 : Number($("f-every").value);
  const body = { questionnaire: $("f-questionnaire").value, starts: $("f-starts").value, ends: $("f-ends").value, every };
  if (!body.questionnaire || !body.starts || !body.ends) {
    $("new-error").textContent = "请选择问卷并填写开始、结束日期";
    return;
  }
  const button = $("new-submit");
  button.disabled = true;
  const result = await api(`${hallPath()}/survey-campaigns`, { method: "POST", body, key: state.newKey });
  button.disabled = false;
  if (!result.ok) {
    $("new-error").textContent = explain(result);
    return;
  }
  $("new-form").hidden = true;
  await loadCampaigns(result.data.id);
}

async function exportAs(ext) {
  if (!state.campaign) return;
  const problem = await download(`${hallPath()}/survey-results.${ext}?${resultQuery()}`, `survey.${ext}`);
  if (problem) showBanner(problem);
}

$("campaign").addEventListener("change", () => choose($("campaign").value));
for (const id of ["service", "from", "to"]) $(id).addEventListener("change", loadResults);
$("f-rule").addEventListener("change", () => { $("f-every").hidden = $("f-rule").value === "all"; });
$("new").addEventListener("click", openNewForm);
$("new-cancel").addEventListener("click", () => { $("new-form").hidden = true; });
$("new-form").addEventListener("submit", submitNew);
$("export-csv").addEventListener("click", () => exportAs("csv"));
$("export-xlsx").addEventListener("click", () => exportAs("xlsx"));
