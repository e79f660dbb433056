// The review charts, drawn with the vendored Apache ECharts (window.echarts, loaded by a
// classic <script> from /vendor/echarts/). Each chart's series hold the API's own figures
// (seconds, fractions), formatted only on the axes and in the tooltips.

import { DASH, LEVELS, minSec, percent } from "./common.js";

const BLUE = "#1e63b5";
const ORANGE = "#e07b00";
const GREEN = "#2e8b57";
const FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, Microsoft YaHei, sans-serif";

const charts = new Map();

function chart(id) {
  const el = document.getElementById(id);
  let instance = window.echarts.getInstanceByDom(el);
  if (!instance) {
    instance = window.echarts.init(el, null, { renderer: "canvas", locale: "ZH" });
    charts.set(id, instance);
  }
  return instance;
}

window.addEventListener("resize", () => {
  for (const instance of charts.values()) instance.resize();
});

const EMPTY = {
  title: {
    text: "暂无数据", left: "center", top: "middle",
    textStyle: { color: "#8a97a8", fontSize: 14, fontWeight: "normal", fontFamily: FONT },
  },
};

const base = () => ({
  textStyle: { fontFamily: FONT },
  grid: { left: 46, right: 50, top: 34, bottom: 28 },
  legend: { top: 0, itemWidth: 14, itemHeight: 10, textStyle: { fontSize: 12 } },
  tooltip: { trigger: "axis", confine: true },
  animation: false,
});

// Seconds on a 分:秒 axis, ticked at whole minutes (1, 2, 5, 10, … minutes apart).
const STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200];
const minutesAxis = (name, values) => {
  const top = Math.max(0, ...values.filter((v) => typeof v === "number"));
  const step = STEPS.find((s) => top / s <= 5) || 14400;
  return {
    type: "value", name, position: "right", splitLine: { show: false }, min: 0,
    max: Math.max(step, Math.ceil(top / step) * step), interval: step,
    axisLabel: { formatter: (v) => minSec(v) },
  };
};
const BAR = { barMaxWidth: 56 };

const countAxis = (name) => ({ type: "value", name, minInterval: 1 });

// rows without a key (tickets never called) have no place on an axis
const placed = (rows) => rows.filter((r) => r.key !== null);

function draw(id, option) {
  const instance = chart(id);
  instance.setOption(option, { notMerge: true });
}

function tooltipOf(kinds) {
  return (params) => {
    const list = Array.isArray(params) ? params : [params];
    if (!list.length) return "";
    const lines = [list[0].axisValueLabel || list[0].name];
    for (const p of list) {
      const value = p.value === null || p.value === undefined ? DASH : kinds[p.seriesIndex](p.value);
      lines.push(`${p.marker}${p.seriesName}：${value}`);
    }
    return lines.join("<br>");
  };
}

// by=hour: bars of tickets issued, a line of the average wait.
export function drawHour(report) {
  const rows = report ? placed(report.rows) : [];
  if (!rows.length) return draw("chart-hour", EMPTY);
  draw("chart-hour", {
    ...base(),
    tooltip: { trigger: "axis", confine: true, formatter: tooltipOf([String, minSec]) },
    xAxis: { type: "category", data: rows.map((r) => r.label) },
    yAxis: [countAxis("取号量"), minutesAxis("分:秒", rows.map((r) => r.wait_avg_s))],
    series: [
      { name: "取号量", type: "bar", ...BAR, data: rows.map((r) => r.issued), itemStyle: { color: BLUE } },
      { name: "平均等候", type: "line", yAxisIndex: 1, data: rows.map((r) => r.wait_avg_s),
        itemStyle: { color: ORANGE }, connectNulls: false },
    ],
  });
}

// by=day: bars of tickets served, a line of the average wait (or of handling, `line`).
export function drawDay(report, line = { field: "wait_avg_s", name: "平均等候" }, id = "chart-day") {
  const rows = report ? placed(report.rows) : [];
  if (!rows.length) return draw(id, EMPTY);
  draw(id, {
    ...base(),
    tooltip: { trigger: "axis", confine: true, formatter: tooltipOf([String, minSec]) },
    xAxis: { type: "category", data: rows.map((r) => r.label),
      axisLabel: { formatter: (v) => (/^\d{4}-\d\d-\d\d$/.test(v) ? v.slice(5) : v) } },
    yAxis: [countAxis("办件量"), minutesAxis("分:秒", rows.map((r) => r[line.field]))],
    series: [
      { name: "办件量", type: "bar", ...BAR, data: rows.map((r) => r.served), itemStyle: { color: BLUE } },
      { name: line.name, type: "line", yAxisIndex: 1, data: rows.map((r) => r[line.field]),
        itemStyle: { color: ORANGE } },
    ],
  });
}

// by=window: bars of tickets served, a line of utilisation.
export function drawWindow(report) {
  const rows = report ? placed(report.rows) : [];
  if (!rows.length) return draw("chart-window", EMPTY);
  draw("chart-window", {
    ...base(),
    tooltip: { trigger: "axis", confine: true, formatter: tooltipOf([String, percent]) },
    xAxis: { type: "category", data: rows.map((r) => r.label), axisLabel: { interval: 0, hideOverlap: true } },
    yAxis: [countAxis("办件量"), {
      type: "value", name: "利用率", position: "right", min: 0, max: 1, splitLine: { show: false },
      axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` },
    }],
    series: [
      { name: "办件量", type: "bar", ...BAR, data: rows.map((r) => r.served), itemStyle: { color: BLUE } },
      { name: "利用率", type: "line", yAxisIndex: 1, data: rows.map((r) => r.utilisation),
        itemStyle: { color: GREEN } },
    ],
  });
}

// the rating mix of the whole report: total.rating_levels
export function drawRatings(report, id = "chart-rating") {
  const levels = (report && report.total && report.total.rating_levels) || {};
  // every level stays in the data (the legend lists all five); an empty one gets no label
  const data = LEVELS.map(([key, name, color]) => {
    const value = levels[key] || 0;
    const item = { name, value, itemStyle: { color } };
    if (!value) Object.assign(item, { label: { show: false }, labelLine: { show: false } });
    return item;
  });
  if (!data.some((d) => d.value > 0)) return draw(id, EMPTY);
  draw(id, {
    textStyle: { fontFamily: FONT },
    animation: false,
    tooltip: { trigger: "item", confine: true, formatter: "{b}：{c} 件（{d}%）" },
    legend: { orient: "vertical", right: 4, top: "middle", itemWidth: 12, itemHeight: 10,
      textStyle: { fontSize: 12 } },
    series: [{
      name: "评价构成", type: "pie", radius: ["38%", "70%"], center: ["38%", "52%"],
      label: { formatter: "{c}", fontSize: 12 }, data,
    }],
  });
}

export function clearCharts(ids) {
  for (const id of ids) draw(id, EMPTY);
}
