// What both screens share: reading the page URL, the websocket connection to queue.v1 with
// reconnection and resync, the board kept by the pure reducer, the offline mark and the clock.

import { SUBPROTOCOL, applyMessage, decode, emptyBoard } from "./reducer.js";
import {
  CLOSE_REVOKED, deviceToken, diagnose, offlineText, pageKind, pairAgain,
} from "/display/static/device.js";

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const SILENCE_LIMIT_MS = 25000; // 2.5 heartbeats: the connection is dead, reconnect
// The hall's time zone ([time] timezone) and the server's clock: set by /display/time-zone.js,
// which the page loads first.
const TIME_ZONE = window.HALL_TIME_ZONE;
const serverNow = () => new Date(Date.now() + (window.HALL_CLOCK_OFFSET_MS || 0));

export function pageParams() {
  const query = new URLSearchParams(location.search);
  const parts = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  // /display/hall/{hall} or /display/window/{hall}/{window}
  const hall = parts[2] || "";
  const windowNumber = parts[1] === "window" ? Number.parseInt(parts[3], 10) : null;
  return {
    hall,
    window: Number.isInteger(windowNumber) ? windowNumber : null,
    token: pairedToken(),
    area: query.get("area") || null,
    silent: query.get("silent") === "1",
    serverVoice: query.get("voice") === "server",
  };
}

// ?token=, else the token this screen was paired with; without either, the pairing screen.
function pairedToken() {
  const token = deviceToken();
  if (!token) pairAgain(pageKind());
  return token;
}

// Keeps one websocket open, feeds the reducer, performs its actions.
export class Screen {
  // `device`: the kind of device page this is ("hall_screen", "window_screen", "tablet"), whose
  // refused handshakes are diagnosed (device.js); null for a person's page (the staff console).
  constructor({ hall, token, area = null, window: windowNumber = null, onChange, onAnnounce,
    onStatus, device = null }) {
    this.device = device;
    this.hall = hall;
    this.token = token;
    this.area = area;
    this.windowNumber = windowNumber;
    this.board = emptyBoard({ hall, area, window: windowNumber });
    this.onChange = onChange;
    this.onAnnounce = onAnnounce || (() => {});
    this.onStatus = onStatus || (() => {});
    this.status = "connecting";
    this.attempt = 0;
    this.socket = null;
    this.lastHeard = Date.now();
    this.lastContact = null; // when a frame last came (ms), for "最后联系 …"
    this.openedAt = Date.now();
    this.cause = "unreachable"; // or "unavailable": the server answers but cannot serve
    this.renderPending = false;
  }

  start() {
    this.connect();
    setInterval(() => this.watch(), 5000);
    this.tickTimer = setInterval(() => this.tick(), 1000);
  }

  // The reconnecting mark counts the time since the last contact.
  tick() {
    if (this.status !== "online") this.setStatus(this.status);
  }

  url() {
    const url = new URL(`/ws/v1/halls/${encodeURIComponent(this.hall)}`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("token", this.token);
    if (this.area) url.searchParams.set("area", this.area);
    if (this.windowNumber !== null) url.searchParams.set("window", String(this.windowNumber));
    // Reconnecting with a board: this is the resync, answered with what we missed.
    if (this.board.seq !== null) url.searchParams.set("after", String(this.board.seq));
    return url.toString();
  }

  connect() {
    let socket;
    try {
      socket = new WebSocket(this.url(), [SUBPROTOCOL]);
    } catch (err) {
      console.error(err);
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.lastHeard = Date.now();
    };
    socket.onmessage = (frame) => {
      this.lastHeard = Date.now();
      this.lastContact = this.lastHeard;
      this.cause = "unreachable";
      const message = decode(frame.data);
      if (message === null) {
        console.warn("ignoring an invalid frame", String(frame.data).slice(0, 80));
        return;
      }
      if (this.status !== "online") {
        this.attempt = 0;
        this.setStatus("online");
      }
      if (message.type === "error") console.warn("server:", message.code, message.detail);
      this.receive(message);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (event.code === CLOSE_REVOKED) {
        pairAgain(pageKind()); // the device was revoked: back to the pairing screen
        return;
      }
      if (opened || !this.device) {
        this.setStatus("offline", event.code);
        this.scheduleReconnect();
        return;
      }
      // Refused before it opened: a network fault, or a token, hall or window the server
      // refuses — the handshake cannot say which, so ask.
      diagnose(this.device, { hall: this.hall, window: this.windowNumber, token: this.token })
        .then((found) => {
          if (found === "moved") return; // pairing, its own page, or the not-found page
          if (found !== "reachable") this.cause = found;
          this.setStatus("offline", event.code);
          this.scheduleReconnect();
        });
    };
  }

  receive(message) {
    const { board, actions } = applyMessage(this.board, message);
    const changed = board !== this.board;
    this.board = board;
    for (const action of actions) {
      if (action.type === "resync") this.send({ type: "resync", after: action.after });
      else if (action.type === "announce") this.onAnnounce(action, board);
    }
    if (changed) this.scheduleRender();
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  scheduleRender() {
    if (this.renderPending) return;
    this.renderPending = true;
    requestAnimationFrame(() => {
      this.renderPending = false;
      this.onChange(this.board);
    });
  }

  scheduleReconnect() {
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    this.attempt += 1;
    setTimeout(() => this.connect(), delay * (0.8 + Math.random() * 0.4));
  }

  watch() {
    const socket = this.socket;
    if (socket && socket.readyState === WebSocket.OPEN &&
      Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
      console.warn("no frame for 25 s; reconnecting");
      socket.close(4001, "silent server");
      this.socket = null;
      this.setStatus("offline");
      this.scheduleReconnect();
    }
  }

  setStatus(status, code = null) {
    this.status = status;
    this.onStatus(status, code, this.attempt);
  }
}

// The 连接中断 mark: shown whenever the screen is not receiving, with the time since it last
// heard from the server (`screen`: a Screen, or anything with lastContact, openedAt, cause).
export function showConnection(element, status, screen = null) {
  element.hidden = status === "online";
  if (status === "online") return;
  element.textContent = offlineText(status, screen ? screen.lastContact : null,
    screen ? screen.openedAt : Date.now(), screen ? screen.cause : "unreachable");
}

export function startClock(dateElement, timeElement) {
  const dateFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone: TIME_ZONE, year: "numeric", month: "long", day: "numeric", weekday: "long",
  });
  const timeFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  const tick = () => {
    const now = serverNow();
    dateElement.textContent = dateFormat.format(now);
    timeElement.textContent = timeFormat.format(now);
  };
  tick();
  setInterval(tick, 1000);
}

// Build DOM from data with textContent only: nothing from the server is parsed as HTML.
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Replace an element's children, skipping the null/false a conditional child leaves
// (replaceChildren would show them as the text "null").
export function fill(element, ...children) {
  element.replaceChildren(...children.flat().filter(
    (child) => child !== null && child !== undefined && child !== false));
}

// Restart a CSS animation on `element` (the highlight of a new call).
export function flash(element, className = "flash") {
  element.classList.remove(className);
  void element.offsetWidth; // reflow, so re-adding the class restarts the animation
  element.classList.add(className);
}

export function safeImageUrl(url) {
  if (typeof url !== "string" || url === "") return null;
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.toString() : null;
  } catch {
    return null;
  }
}
