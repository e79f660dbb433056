// The ticket kiosk (自助取号机): pick an area, then a service; one tap issues one ticket, shown
// with its print status (and its QR code when the paper does not come). 预约签到 takes a booked
// citizen's 6-digit code on an on-screen keypad and shows the ticket it issues the same way.
// The kiosk endpoint is the source of truth; the hall's queue.v1 socket keeps the counts and
// the printer live.

import { CLOSE_REVOKED, deviceToken, offlineText, pairAgain, refused } from "/display/static/device.js";

const SUBPROTOCOL = "queue.v1";
// The hall's time zone ([time] timezone) and the server's clock: set by /display/time-zone.js,
// which the page loads first.
const TIME_ZONE = window.HALL_TIME_ZONE;
const serverNow = () => new Date(Date.now() + (window.HALL_CLOCK_OFFSET_MS || 0));
const REFRESH_MS = 60000; // hours and quotas: the socket does not carry the opening state
const REFRESH_OFFLINE_MS = 10000; // the fallback while the socket is down
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const PRINT_POLL_MS = 700;
const PRINT_LATE_MS = 12000; // no paper by then: show the QR code
const PRINT_WATCH_MS = 120000;
const IDLE_MS = 60000; // back to the first screen when nobody touches the kiosk
const TICKET_MS = 20000; // the ticket stays on screen this long once printed
const TICKET_QR_MS = 60000; // … and this long when it must be scanned from the screen
const ISSUE_RETRIES = 2;
const CODE_DIGITS = 6; // an appointment code

const PRINTER_PROBLEMS = {
  paper_out: "打印机缺纸",
  cover_open: "打印机上盖未关好",
  offline: "打印机离线",
  unknown: "打印机未连接",
};

// ---- state ------------------------------------------------------------------------------

const query = new URLSearchParams(location.search);
const state = {
  hall: decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || ""),
  token: deviceToken(), // ?token=, else the token this kiosk was paired with
  view: null, // GET /api/v1/halls/{hall}/kiosk
  seq: null,
  screen: "areas", // areas | services
  area: null,
  busy: null, // the service code being issued
  appointment: null, // {code, error, wrongCode, busy} while the check-in keypad is on screen
  ticket: null,
  print: null, // {state: printing|printed|problem|late|expired|none, error}
  live: "connecting",
  lastContact: null, // when the socket last brought a frame (ms)
  openedAt: Date.now(),
  setup: { title: "正在连接服务器…", detail: "" },
  notice: null,
  lastTouch: Date.now(),
  ticketUntil: 0,
  issued: 0, // tickets issued by this page (tests read it)
};
window.hallQueue = { state };

// ---- small DOM helpers ------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// An idempotency key per tap. crypto.randomUUID needs a secure context, which a kiosk on
// plain http://10.x.x.x is not; getRandomValues works everywhere.
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "kiosk-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- the server -------------------------------------------------------------------------

async function api(path, { method = "GET", body, headers = {} } = {}) {
  const response = await fetch(path, {
    method,
    cache: "no-store",
    headers: {
      Authorization: `Bearer ${state.token}`,
      Accept: "application/json, application/problem+json",
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { ok: response.ok, status: response.status, data };
}

let refreshTimer = null;

async function refresh() {
  clearTimeout(refreshTimer);
  try {
    const result = await api(`/api/v1/halls/${encodeURIComponent(state.hall)}/kiosk`);
    if (result.ok) {
      state.view = result.data;
      state.seq = result.data.seq;
      state.setup = null;
      if (state.area && !state.view.areas.some((a) => a.code === state.area)) state.area = null;
    } else if (result.status === 401 || result.status === 403) {
      // Never paired, revoked, or a kiosk of another hall: the pairing screen (or its own
      // hall's page) says what to do.
      refused(result.status, "kiosk");
      return;
    } else if (result.status === 404) {
      location.reload(); // the hall is gone: the server's page says so, and retries
      return;
    } else if (!state.view) {
      state.setup = { title: "正在连接服务器…", detail: `服务器暂时无法响应（${result.status}）` };
    }
  } catch {
    if (!state.view) state.setup = { title: "正在连接服务器…", detail: "网络不通，正在重试" };
  }
  render();
  refreshTimer = setTimeout(refresh, state.live === "online" ? REFRESH_MS : REFRESH_OFFLINE_MS);
}

// ---- live counts over queue.v1 ----------------------------------------------------------

class Live {
  constructor() {
    this.attempt = 0;
    this.socket = null;
  }

  connect() {
    const url = new URL(`/ws/v1/halls/${encodeURIComponent(state.hall)}`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", state.token);
    let socket;
    try {
      socket = new WebSocket(url.toString(), [SUBPROTOCOL]);
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onmessage = (frame) => {
      let message;
      try {
        message = JSON.parse(frame.data);
      } catch {
        return;
      }
      state.lastContact = Date.now();
      if (state.live !== "online") {
        this.attempt = 0;
        setLive("online");
      }
      receive(message);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (event.code === CLOSE_REVOKED) {
        pairAgain("kiosk");
        return;
      }
      setLive("offline");
      this.retry();
    };
  }

  retry() {
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    this.attempt += 1;
    setTimeout(() => this.connect(), delay * (0.8 + Math.random() * 0.4));
  }
}

function setLive(live) {
  const was = state.live;
  state.live = live;
  if (live === "offline" && was === "online") {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, REFRESH_OFFLINE_MS);
  }
  render();
}

function receive(message) {
  if (!state.view) return;
  if (message.type === "snapshot" && message.snapshot) {
    state.seq = message.seq;
    state.view.services = message.snapshot.services || state.view.services;
    const mine = state.view.printer && (message.snapshot.printers || [])
      .find((p) => p.name === state.view.printer.name);
    if (mine) state.view.printer.status = mine.status;
    render();
  } else if (message.type === "event" && message.event) {
    if (state.seq !== null && message.seq <= state.seq) return;
    if (state.seq !== null && message.seq > state.seq + 1) {
      refresh(); // a gap: the kiosk view is the fresh snapshot
      return;
    }
    state.seq = message.seq;
    applyEvent(message.event);
    render();
  } else if (message.type === "heartbeat" && state.seq !== null && message.seq > state.seq) {
    refresh();
  }
}

function applyEvent(event) {
  for (const changed of event.services || []) {
    const index = state.view.services.findIndex((s) => s.code === changed.code);
    if (index >= 0) state.view.services[index] = changed;
  }
  const payload = event.payload || {};
  if (event.kind === "printer_status_changed" && state.view.printer &&
    payload.printer === state.view.printer.name) {
    state.view.printer.status = payload.status;
  }
  // The server gave up on this ticket's paper (not printed in time): say so at once.
  if (event.kind === "print_job_expired" && payload.kiosk === state.view.kiosk && state.ticket &&
    state.ticket.print_job && event.ticket && event.ticket.number === state.ticket.number) {
    setPrint({ state: "expired" });
  }
}

// ---- the printer ------------------------------------------------------------------------

// Why this kiosk cannot print now, or null; a kiosk without a printer has no problem.
function printerProblem() {
  const printer = state.view && state.view.printer;
  if (!printer) return null;
  const status = printer.status;
  if (!status) return PRINTER_PROBLEMS.unknown;
  if (status.paper_out) return PRINTER_PROBLEMS.paper_out;
  if (status.cover_open) return PRINTER_PROBLEMS.cover_open;
  if (!status.online) return PRINTER_PROBLEMS.offline;
  return null;
}

// ---- taking a ticket --------------------------------------------------------------------

// One POST under one idempotency key, retried with the same key when the answer is lost (so a
// lost answer cannot make a second ticket); null when no answer ever came.
async function postOnce(path, body) {
  const key = newKey();
  let result = null;
  for (let attempt = 0; attempt <= ISSUE_RETRIES && result === null; attempt += 1) {
    if (attempt > 0) await sleep(800 * attempt);
    try {
      result = await api(path, { method: "POST", body, headers: { "Idempotency-Key": key } });
    } catch {
      result = null;
    }
  }
  return result;
}

// Nothing on its way, no ticket on screen, the hall open: a tap may issue.
const canIssue = () => !state.busy && !(state.appointment && state.appointment.busy) && !state.ticket &&
  state.view && state.view.open;

async function take(service) {
  // One tap, one ticket: a second tap while the first is on its way does nothing, and the
  // first is retried with the same key.
  if (!canIssue()) return;
  state.busy = service.code;
  render();
  let result = null;
  try {
    result = await postOnce(`/api/v1/halls/${encodeURIComponent(state.hall)}/tickets`,
      { service: service.code });
  } finally {
    state.busy = null;
  }
  if (result === null) {
    showNotice("网络异常，暂时无法取号。请稍后再试，或到导服台取号。");
  } else if (result.ok) {
    showTicket(result.data);
  } else {
    const data = result.data || {};
    const detail = data.detail || `取号失败（${result.status}）`;
    if (data.code === "service.quota_full") {
      service.quota_left = 0;
      showNotice(`“${service.name}”今日号源已满，请改日再来，或咨询导服台。`);
    } else if (String(data.code || "").startsWith("hours.")) {
      refresh(); // outside business hours: the view locks the kiosk
    } else {
      showNotice(detail);
    }
  }
  render();
}

// ---- 预约签到: check in by code ----------------------------------------------------------

function openAppointment() {
  if (!canIssue()) return;
  touch();
  state.appointment = { code: "", error: null, wrongCode: false, busy: false };
  render();
}

function closeAppointment() {
  state.appointment = null;
  render();
}

// A key of the on-screen keypad (or of a USB code scanner that types): a digit, clear, delete.
function press(key) {
  const appointment = state.appointment;
  if (!appointment || appointment.busy) return;
  touch();
  if (key === "clear") {
    appointment.code = "";
  } else if (key === "delete") {
    appointment.code = appointment.code.slice(0, -1);
  } else if (/^[0-9]$/.test(key)) {
    // After a refused full code the next digit starts a new one; otherwise six is the most.
    if (appointment.code.length >= CODE_DIGITS && appointment.error) appointment.code = "";
    if (appointment.code.length >= CODE_DIGITS) return;
    appointment.code += key;
  } else {
    return;
  }
  appointment.error = null;
  appointment.wrongCode = false;
  render();
}

async function checkIn() {
  // One submit, one ticket: 确认 does nothing while a check-in is on its way, and that one is
  // retried under its own key; a new submit after an answer is a new key.
  const appointment = state.appointment;
  if (!appointment || !canIssue()) return;
  touch();
  if (!new RegExp(`^[0-9]{${CODE_DIGITS}}$`).test(appointment.code)) {
    appointment.error = `预约码应为 ${CODE_DIGITS} 位数字`;
    appointment.wrongCode = true;
    render();
    return;
  }
  appointment.busy = true;
  appointment.error = null;
  appointment.wrongCode = false;
  render();
  let result = null;
  try {
    result = await postOnce(`/api/v1/halls/${encodeURIComponent(state.hall)}/appointments/` +
      `${encodeURIComponent(appointment.code)}/check-in`);
  } finally {
    appointment.busy = false;
  }
  if (result && result.ok) {
    // Shown even if the citizen left the keypad meanwhile: the ticket exists.
    if (state.appointment === appointment) state.appointment = null;
    showTicket({ ...result.data, checkedIn: true });
  } else if (result && result.status === 409 && result.data && result.data.hours) {
    if (state.appointment === appointment) state.appointment = null;
    refresh(); // outside business hours: the view locks the kiosk
  } else {
    [appointment.error, appointment.wrongCode] = checkInError(result);
  }
  render();
}

// What the citizen reads, and whether the code itself is at fault (it turns red) rather than
// its time, the hall or the network.
function checkInError(result) {
  const WRONG_CODE = ["预约码无效或已签到", true];
  if (result === null) return ["网络异常，暂时无法签到。请稍后再试，或到导服台签到。", false];
  const data = result.data || {};
  if (result.status === 400) return [`预约码应为 ${CODE_DIGITS} 位数字`, true];
  if (result.status === 404) return WRONG_CODE;
  switch (data.code) {
    case "appointment.too_early": {
      const opens = opensAt(data);
      return [opens ? `预约签到时间未到，请于 ${opens} 后签到` : "签到时间未到", false];
    }
    case "appointment.expired": return ["预约已过期，请取普通号", false];
    case "service.quota_full": return ["该业务今日号源已满，请咨询导服台。", false];
    case "appointment.used": return WRONG_CODE; // checked in already, by another tap (another key)
    default: break;
  }
  if (result.status === 401 || result.status === 403) return ["本机暂时无法签到，请到导服台签到。", false];
  return [`签到失败（${result.status}），请到导服台签到。`, false];
}

// When check-in opens, as HH:MM in the hall's time (with the day if not today), or null. The
// problem carries it as `opens_at` (an ISO 8601 time).
function opensAt(data) {
  const text = typeof data.opens_at === "string" ? data.opens_at : "";
  const match = text.match(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/);
  const opens = match ? new Date(match[0]) : null;
  if (!opens || Number.isNaN(opens.getTime())) return null;
  const day = (d) => new Intl.DateTimeFormat("zh-CN", { timeZone: TIME_ZONE, month: "long", day: "numeric" }).format(d);
  const time = new Intl.DateTimeFormat("zh-CN", {
    timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).format(opens);
  return day(opens) === day(new Date()) ? time : `${day(opens)} ${time}`;
}

function showTicket(ticket) {
  state.issued += 1;
  state.ticket = ticket;
  const problem = printerProblem();
  if (!ticket.print_job) state.print = { state: "none" };
  else state.print = problem ? { state: "problem", error: problem } : { state: "printing" };
  state.ticketUntil = Date.now() + (state.print.state === "printing" ? TICKET_MS : TICKET_QR_MS);
  render();
  if (ticket.print_job) watchPrint(ticket);
}

async function watchPrint(ticket) {
  const started = Date.now();
  while (state.ticket === ticket && Date.now() - started < PRINT_WATCH_MS) {
    await sleep(PRINT_POLL_MS);
    let result = null;
    try {
      result = await api(`/api/v1/print-jobs/${encodeURIComponent(ticket.print_job.id)}`);
    } catch {
      result = null;
    }
    if (state.ticket !== ticket) return;
    if (result && result.ok && result.data.status === "expired") {
      setPrint({ state: "expired" });
      return;
    }
    if (result && result.ok && result.data.status === "cancelled") return; // called meanwhile
    if (result && result.ok && result.data.status === "printed") {
      state.print = { state: "printed" };
      state.ticketUntil = Math.min(state.ticketUntil, Date.now() + TICKET_MS);
      render();
      return;
    }
    if (result && result.ok && result.data.error) {
      setPrint({ state: "problem", error: result.data.error });
    } else if (state.print.state === "printing" && printerProblem()) {
      setPrint({ state: "problem", error: printerProblem() });
    } else if (state.print.state === "printing" && Date.now() - started > PRINT_LATE_MS) {
      setPrint({ state: "late" });
    }
  }
}

function setPrint(print) {
  if (state.print.state === print.state && state.print.error === print.error) return;
  state.print = print;
  state.ticketUntil = Math.max(state.ticketUntil, Date.now() + TICKET_QR_MS);
  render();
}

function closeTicket() {
  state.ticket = null;
  state.print = null;
  state.screen = "areas";
  state.area = null;
  state.appointment = null;
  render();
}

function showNotice(text) {
  state.notice = text;
  render();
}

// ---- rendering --------------------------------------------------------------------------

function areasOf(view) {
  // Areas without services are not worth a tap.
  return view.areas.filter((area) => view.services.some((s) => s.area === area.code));
}

function render() {
  const view = state.view;
  $("setup-screen").hidden = !state.setup;
  $("setup-title").textContent = state.setup ? state.setup.title : "";
  $("setup-detail").textContent = state.setup ? state.setup.detail : "";
  if (!view) return;
  $("hall-name").textContent = view.name;
  document.title = `${view.name} 自助取号`;
  renderBanner();
  renderConnection();

  $("closed-screen").hidden = view.open;
  if (!view.open && state.appointment && !state.appointment.busy) state.appointment = null;
  if (!view.open) {
    const reason = view.closed_reason || "当前不在取号时间";
    $("closed-title").textContent = "暂停取号";
    $("closed-reason").textContent = reason.split("，办公时间")[0];
    $("closed-hours").textContent = view.hours;
  }

  const areas = areasOf(view);
  // A hall with one area goes straight to its services.
  const single = areas.length === 1;
  const area = single ? areas[0].code : state.area;
  const screen = state.appointment ? "appointment" : area ? "services" : "areas";
  $("areas-screen").hidden = screen !== "areas";
  $("services-screen").hidden = screen !== "services";
  $("appointment-screen").hidden = screen !== "appointment";
  $("back").hidden = single;
  $("appointment-single").hidden = !single;
  if (screen === "areas") renderAreas(areas);
  else if (screen === "services") renderServices(view.areas.find((a) => a.code === area));
  else renderAppointment();

  renderTicket();
  $("notice-screen").hidden = !state.notice;
  $("notice-text").textContent = state.notice || "";
}

function renderBanner() {
  const banner = $("printer-banner");
  const problem = printerProblem();
  banner.hidden = !problem;
  if (problem) {
    banner.replaceChildren(
      h("b", {}, `${problem}，暂时无法打印票据。`),
      h("span", {}, "仍可取号，号码和二维码将显示在屏幕上。"),
    );
  }
}

// Cards are kept and updated in place: a card replaced under a finger loses its tap, and
// live counts change while people are touching the screen.
function syncCards(container, items, keyOf, create, update) {
  const old = container.cards || new Map();
  const cards = new Map();
  const nodes = items.map((item) => {
    const key = keyOf(item);
    const card = old.get(key) || create(key);
    update(card, item);
    cards.set(key, card);
    return card.node;
  });
  container.cards = cards;
  const children = container.children;
  if (nodes.length !== children.length || nodes.some((node, i) => children[i] !== node)) {
    container.replaceChildren(...nodes);
  }
}

function renderAreas(areas) {
  syncCards($("areas"), areas, (area) => area.code, (code) => {
    const card = {
      name: h("span", { class: "card-name" }),
      services: h("span", { class: "card-services" }),
      waiting: h("b", { class: "waiting" }),
    };
    card.node = h("button", {
      class: "card area-card", type: "button", dataset: { area: code },
      onclick: () => {
        touch();
        state.area = code;
        render();
      },
    }, card.name, card.services,
    h("span", { class: "card-meta" }, h("span", {}, "等候 ", card.waiting, " 人")));
    return card;
  }, (card, area) => {
    const services = state.view.services.filter((s) => s.area === area.code);
    card.name.textContent = area.name;
    card.services.textContent = services.map((s) => s.name).join(" · ");
    card.waiting.textContent = String(services.reduce((sum, s) => sum + (s.waiting || 0), 0));
  });
}

function renderServices(area) {
  $("services-area").textContent = area ? area.name : "";
  const services = state.view.services.filter((s) => !area || s.area === area.code);
  syncCards($("services"), services, (service) => service.code, (code) => {
    const card = {
      name: h("span", { class: "card-name" }),
      waiting: h("b", { class: "waiting" }),
      minutes: h("b", { class: "minutes" }),
      full: h("span", { class: "card-full" }, "今日号源已满"),
      busy: h("span", { class: "card-busy" }, "正在取号…"),
    };
    card.meta = h("span", { class: "card-meta" },
      h("span", {}, "等候 ", card.waiting, " 人"),
      h("span", {}, "约 ", card.minutes, " 分钟"));
    card.node = h("button", {
      class: "card service-card", type: "button", dataset: { service: code },
      onclick: () => {
        touch();
        const service = state.view.services.find((s) => s.code === code);
        if (service) take(service);
      },
    }, card.name, card.meta, card.full, card.busy);
    return card;
  }, (card, service) => {
    const full = typeof service.quota_left === "number" && service.quota_left <= 0;
    const busy = state.busy === service.code;
    card.name.textContent = service.name;
    card.waiting.textContent = String(service.waiting ?? 0);
    card.minutes.textContent = String(service.estimated_wait_minutes ?? 0);
    card.meta.hidden = full;
    card.full.hidden = !full;
    card.busy.hidden = !busy;
    card.node.classList.toggle("full", full);
    card.node.classList.toggle("busy", busy);
    card.node.disabled = full || Boolean(state.busy);
    card.node.setAttribute("aria-disabled", String(full || Boolean(state.busy)));
  });
}

function renderAppointment() {
  const { code, error, wrongCode, busy } = state.appointment;
  const digits = $("code").children;
  for (let i = 0; i < digits.length; i += 1) {
    digits[i].textContent = code[i] || "";
    digits[i].classList.toggle("filled", i < code.length);
    digits[i].classList.toggle("next", i === code.length && !busy);
  }
  $("code").classList.toggle("refused", Boolean(error) && wrongCode);
  $("code").setAttribute("aria-label", code ? `已输入的预约码 ${code.split("").join(" ")}` : "预约码未输入");
  $("code-error").hidden = !error;
  $("code-error").textContent = error || "";
  $("code-hint").hidden = Boolean(error);
  const submit = $("code-submit");
  submit.textContent = busy ? "正在签到…" : "确认";
  submit.classList.toggle("busy", busy);
  submit.setAttribute("aria-disabled", String(busy));
  for (const key of $("keypad").children) key.disabled = busy;
  $("code-clear").disabled = busy || !code;
  $("code-delete").disabled = busy || !code;
}

const PRINT_TEXT = {
  printing: "正在打印票据，请稍候…",
  printed: "票据已打印，请取走票据",
  late: "票据暂未打印出来。请用手机扫描二维码查看排队进度，或记下您的号码。",
  expired: "打印超时，请到导服台补打。也可用手机扫描二维码查看排队进度，或记下您的号码。",
  none: "本机不打印票据。请用手机扫描二维码查看排队进度，或记下您的号码。",
};

function renderTicket() {
  const ticket = state.ticket;
  $("ticket-screen").hidden = !ticket;
  if (!ticket) return;
  const appointment = Boolean(ticket.checkedIn) || ticket.priority === "appointment";
  $("ticket-title").textContent = appointment ? "签到成功" : "取号成功";
  $("ticket-badge").hidden = !appointment;
  $("ticket-number").textContent = ticket.number;
  $("ticket-service").textContent = ticket.service_name;
  $("ticket-ahead").textContent = String(ticket.ahead ?? 0);
  $("ticket-wait").textContent = String(ticket.estimated_wait_minutes ?? 0);
  const print = state.print;
  const status = $("print-status");
  status.dataset.state = print.state;
  status.textContent = print.state === "problem"
    ? `${print.error}，票据未能打印。请用手机扫描二维码查看排队进度，或记下您的号码。`
    : PRINT_TEXT[print.state];
  const showQr = print.state !== "printing" && print.state !== "printed";
  $("ticket-qr").hidden = !showQr;
  $("ticket-card").classList.toggle("with-qr", showQr);
  const image = $("ticket-qr-image");
  // The QR code is the holder's link: keyed by the holder's secret, not the ticket's id.
  const source = `/api/v1/tickets/${encodeURIComponent(ticket.holder_secret)}/qr.svg`;
  if (showQr && image.getAttribute("src") !== source) image.setAttribute("src", source);
  renderCountdown();
}

function renderCountdown() {
  if (!state.ticket) return;
  const seconds = Math.max(0, Math.ceil((state.ticketUntil - Date.now()) / 1000));
  $("countdown").textContent = `${seconds} 秒后返回首页`;
}

function touch() {
  state.lastTouch = Date.now();
}

// ---- clock, idle, start -----------------------------------------------------------------

// The reconnecting mark, with the time since the kiosk last heard from the server.
function renderConnection() {
  $("connection").hidden = state.live !== "offline";
  if (state.live === "offline") {
    $("connection").textContent = offlineText("offline", state.lastContact, state.openedAt);
  }
}

function tick() {
  renderConnection();
  const now = serverNow();
  $("date").textContent = new Intl.DateTimeFormat("zh-CN", {
    timeZone: TIME_ZONE, month: "long", day: "numeric", weekday: "long",
  }).format(now);
  $("time").textContent = new Intl.DateTimeFormat("zh-CN", {
    timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).format(now);
  if (state.ticket) {
    if (Date.now() >= state.ticketUntil) closeTicket();
    else renderCountdown();
  } else if ((state.area || (state.appointment && !state.appointment.busy)) &&
    Date.now() - state.lastTouch > IDLE_MS) {
    state.area = null;
    state.appointment = null; // a half-typed code is not left for the next person
    state.notice = null;
    render();
  }
}

function start() {
  $("back").addEventListener("click", () => {
    state.area = null;
    render();
  });
  $("done").addEventListener("click", closeTicket);
  $("appointment").addEventListener("click", openAppointment);
  $("appointment-single").addEventListener("click", openAppointment);
  $("appointment-back").addEventListener("click", closeAppointment);
  $("keypad").addEventListener("click", (event) => {
    const key = event.target.closest("[data-key]");
    if (key && !key.disabled) press(key.dataset.key);
  });
  $("code-submit").addEventListener("click", checkIn);
  document.addEventListener("keydown", (event) => {
    if (!state.appointment || state.ticket || state.notice) return;
    if (/^[0-9]$/.test(event.key)) press(event.key);
    else if (event.key === "Backspace") press("delete");
    else if (event.key === "Enter") checkIn();
    else if (event.key === "Escape") closeAppointment();
    else return;
    event.preventDefault();
  });
  $("notice-ok").addEventListener("click", () => {
    state.notice = null;
    render();
  });
  document.addEventListener("pointerdown", touch, { passive: true });
  // No long-press menus or text selection on a public touch screen.
  document.addEventListener("contextmenu", (event) => event.preventDefault());
  tick();
  setInterval(tick, 1000);
  if (!state.token) {
    // Not paired yet: the pairing screen shows a code for a manager to enter, then comes back.
    pairAgain("kiosk");
    return;
  }
  refresh().then(() => new Live().connect());
}

start();
