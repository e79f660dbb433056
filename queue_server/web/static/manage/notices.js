// 公告: the hall's ticker notices, each shown on the hall screens between its start and end.
// The list is saved whole, as of the version read: someone else's save in between is refused
// (409) with the server's Chinese message, and nothing is overwritten.

import { $, api, clearBanner, explain, newKey, showBanner } from "./common.js";
import { boot, hallPath } from "./page.js";

const PHASES = { scheduled: "未开始", showing: "显示中", ended: "已结束", new: "未保存" };
const state = { version: null, items: [], saveKey: null };
window.notices = state;

const page = boot("/manage/notices", { roles: ["manager", "admin"], entered: load, changed: load });

// "2026-11-30T11:00:00+08:00" → "2026-11-30T11:00" for <input type="datetime-local">; the
// server answers in the hall's own time and takes a time without an offset as the hall's.
const local = (iso) => (iso ? iso.slice(0, 16) : "");

async function load() {
  const result = await api(hallPath(page.hall, "/notices"));
  if (!result.ok) {
    if (result.status !== 401) showBanner(explain(result));
    return;
  }
  state.version = result.data.version;
  state.items = result.data.notices.map((n) => ({
    text: n.text, starts: local(n.starts_at), ends: local(n.ends_at), phase: n.phase,
  }));
  state.saveKey = null;
  $("save-error").textContent = "";
  render(result.data.shown);
}

function input(type, value, onInput, label) {
  const el = document.createElement("input");
  el.type = type;
  el.value = value;
  el.setAttribute("aria-label", label);
  if (type === "text") el.maxLength = 200;
  el.addEventListener("input", () => {
    onInput(el.value);
    el.closest("tr").classList.add("changed");
    state.saveKey = null; // changed content is a new save, with a new key
  });
  return el;
}

function render(shown) {
  const rows = $("rows");
  rows.replaceChildren();
  state.items.forEach((item, i) => {
    const tr = document.createElement("tr");
    const td = (...children) => {
      const cell = document.createElement("td");
      cell.append(...children);
      return cell;
    };
    tr.append(td(String(i + 1)));
    tr.append(td(input("text", item.text, (v) => { item.text = v; }, `第 ${i + 1} 条公告内容`)));
    tr.append(td(input("datetime-local", item.starts, (v) => { item.starts = v; }, `第 ${i + 1} 条开始时间`)));
    tr.append(td(input("datetime-local", item.ends, (v) => { item.ends = v; }, `第 ${i + 1} 条结束时间`)));
    const badge = document.createElement("span");
    badge.className = `state ${item.phase}`;
    badge.textContent = PHASES[item.phase] || item.phase;
    tr.append(td(badge));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "删除";
    remove.addEventListener("click", () => {
      state.items.splice(i, 1);
      state.saveKey = null;
      render(null);
    });
    tr.append(td(remove));
    rows.append(tr);
  });
  $("empty").hidden = state.items.length > 0;
  $("summary").textContent = `共 ${state.items.length} 条 · 版本 ${state.version}`;
  if (shown !== null) $("shown").textContent = shown.length ? shown.join("　◆　") : "（此刻没有公告显示）";
}

$("add").addEventListener("click", () => {
  state.items.push({ text: "", starts: "", ends: "", phase: "new" });
  state.saveKey = null;
  render(null);
  const inputs = $("rows").querySelectorAll("input[type='text']");
  inputs[inputs.length - 1].focus();
});

$("save").addEventListener("click", async () => {
  const error = $("save-error");
  error.textContent = "";
  clearBanner();
  const late = state.items.findIndex((n) => n.starts && n.ends && n.ends <= n.starts);
  if (late >= 0) {
    error.textContent = `第 ${late + 1} 条的结束时间须晚于开始时间`;
    return;
  }
  const button = $("save");
  if (button.disabled) return;
  button.disabled = true;
  state.saveKey = state.saveKey || newKey("notices");
  const body = {
    version: state.version,
    notices: state.items.filter((n) => n.text.trim()).map((n) => ({
      text: n.text.trim(), starts_at: n.starts || null, ends_at: n.ends || null,
    })),
  };
  const result = await api(hallPath(page.hall, "/notices"), { method: "POST", body, key: state.saveKey });
  button.disabled = false;
  if (!result.ok) {
    error.textContent = explain(result);
    if (result.status === 409) {
      const reload = document.createElement("button");
      reload.type = "button";
      reload.className = "link";
      reload.textContent = "载入最新公告（放弃本页修改）";
      reload.addEventListener("click", load);
      error.append(" ", reload);
    }
    return;
  }
  await load();
  showBanner(`公告已发布（第 ${state.version} 版）`, "info");
});
