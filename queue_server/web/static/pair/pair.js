// The pairing screen (设备配对): a device without a token asks for a 6-digit code, shows it,
// and waits (a long poll) until a manager enters it on /manage/devices; then it keeps the
// token it receives (localStorage) and opens its page. An expired code is replaced by a new
// one by itself; a lost connection is retried.

import { DEVICE_KEY } from "/display/static/device.js";

const KINDS = {
  kiosk: "取号机",
  hall_screen: "大厅屏",
  window_screen: "窗口屏",
  tablet: "评价器",
};
const WAIT_SECONDS = 25;
const RETRY_MS = 3000;

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const state = { kind: null, code: null, secret: null, expiresAt: 0, paired: null };
window.hallQueue = { state };

function show(id) {
  for (const section of ["choose", "code-card", "done-card"]) $(section).hidden = section !== id;
}

function status(text) {
  $("status").textContent = text;
}

async function getJson(url, options = {}) {
  const response = await fetch(url, { cache: "no-store", ...options });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { response, data };
}

async function newCode() {
  while (true) {
    try {
      const { response, data } = await getJson("/api/v1/pairing", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ kind: state.kind }),
      });
      if (response.status === 201) {
        state.code = data.code;
        state.secret = data.secret;
        state.expiresAt = Date.now() + data.expires_in * 1000;
        $("code").textContent = data.code;
        status("等待管理人员配对…");
        return;
      }
      const wait = Number(response.headers.get("Retry-After") || 10);
      status((data && data.detail) || `服务器暂时无法响应（${response.status}），稍后重试`);
      await sleep(Math.max(1, wait) * 1000);
    } catch {
      status("网络不通，正在重试…");
      await sleep(RETRY_MS);
    }
  }
}

function tick() {
  if (!state.code || state.paired) return;
  const left = Math.max(0, Math.round((state.expiresAt - Date.now()) / 1000));
  const minutes = Math.floor(left / 60);
  const seconds = String(left % 60).padStart(2, "0");
  $("expiry").textContent = `配对码 ${minutes}:${seconds} 后失效，失效后自动更换`;
}

async function waitForPairing() {
  while (true) {
    let result;
    try {
      const url = `/api/v1/pairing/wait?secret=${encodeURIComponent(state.secret)}&timeout=${WAIT_SECONDS}`;
      result = await getJson(url, { headers: { Accept: "application/json" } });
    } catch {
      status("网络不通，正在重试…");
      await sleep(RETRY_MS);
      continue;
    }
    const { response, data } = result;
    if (response.ok && data.state === "paired") {
      finish(data);
      return;
    }
    if (response.ok && data.state === "waiting") {
      status("等待管理人员配对…");
      continue;
    }
    if ((response.ok && (data.state === "expired" || data.state === "revoked")) || response.status === 404) {
      await newCode();
      continue;
    }
    const wait = Number(response.headers.get("Retry-After") || 5);
    status((data && data.detail) || `服务器暂时无法响应（${response.status}），稍后重试`);
    await sleep(Math.max(1, wait) * 1000);
  }
}

function finish(data) {
  state.paired = data.device;
  const device = { token: data.token, ...data.device };
  try {
    localStorage.setItem(DEVICE_KEY, JSON.stringify(device));
  } catch {
    // No storage: carry the token in the address instead.
  }
  show("done-card");
  const where = data.device.window ? `${data.device.window} 号窗口` : "";
  $("done-text").textContent = `本机已登记为 ${data.device.hall} 大厅的 ${data.device.name}${where ? "（" + where + "）" : ""}，正在打开工作页面…`;
  const page = data.device.page;
  if (!page) return;
  const stored = (() => {
    try {
      return localStorage.getItem(DEVICE_KEY) !== null;
    } catch {
      return false;
    }
  })();
  const target = stored ? page : `${page}?token=${encodeURIComponent(data.token)}`;
  setTimeout(() => location.replace(target), 800);
}

async function start(kind) {
  state.kind = kind;
  $("kind-name").textContent = `本机：${KINDS[kind] || kind}`;
  $("manage-url").textContent = `${location.origin}/manage/devices`;
  show("code-card");
  await newCode();
  await waitForPairing();
}

function main() {
  setInterval(tick, 1000);
  const kind = new URLSearchParams(location.search).get("kind");
  if (kind && KINDS[kind]) {
    start(kind);
    return;
  }
  show("choose");
  $("kinds").addEventListener("click", (event) => {
    const button = event.target.closest("[data-kind]");
    if (!button) return;
    history.replaceState(null, "", `/pair?kind=${button.dataset.kind}`);
    start(button.dataset.kind);
  });
}

main();
