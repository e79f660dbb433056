// The board a screen shows, as a pure reducer (no DOM, no I/O).
// Mirrors display_client/state.py rule for rule; docs/protocol.md states the rules.

export const SUBPROTOCOL = "queue.v1";
export const RECENT_CALLS = 10;
const CALL_KINDS = new Set(["ticket_called", "ticket_recalled"]);

export function emptyBoard({ hall, area = null, window = null }) {
  return { hall, area, window, seq: null, snapshot: null, resyncAfter: null, lastKinds: {} };
}

const isSeq = (v) => Number.isInteger(v) && v >= 0;
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// Parse one text frame; returns null for anything that is not a valid server message.
export function decode(text) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(body)) return null;
  switch (body.type) {
    case "snapshot":
      return isSeq(body.seq) && isObject(body.snapshot) && body.snapshot.seq === body.seq &&
        Array.isArray(body.snapshot.windows) && Array.isArray(body.snapshot.services) &&
        Array.isArray(body.snapshot.recent_calls) ? body : null;
    case "event": {
      const e = body.event;
      if (!isSeq(body.seq) || !isObject(e) || e.seq !== body.seq || typeof e.kind !== "string") {
        return null;
      }
      if (e.window != null && !(isObject(e.window) && Number.isInteger(e.window.number))) return null;
      if (e.services != null && !(Array.isArray(e.services) && e.services.every(isObject))) return null;
      if (CALL_KINDS.has(e.kind) && !(isObject(e.ticket) && typeof e.ticket.number === "string" &&
        Number.isInteger(e.ticket.window) && Number.isInteger(e.ticket.calls))) return null;
      return body;
    }
    case "heartbeat":
      return isSeq(body.seq) ? body : null;
    case "error":
      return typeof body.code === "string" ? body : null;
    default:
      return null;
  }
}

// applyMessage(board, message) -> {board, actions}; actions are
// {type: "resync", after} and {type: "announce", seq, text}.
export function applyMessage(board, message) {
  switch (message.type) {
    case "snapshot":
      // A snapshot is the server's whole truth: it replaces everything, gaps included.
      return {
        board: { ...board, seq: message.seq, snapshot: message.snapshot, resyncAfter: null,
          lastKinds: {} },
        actions: [],
      };
    case "event":
      return applyEventMessage(board, message.seq, message.event);
    case "heartbeat":
      if (board.seq === null) return { board, actions: [] };
      if (message.seq > board.seq) {
        // Always (re)ask: this also retries a resync whose answer was lost.
        return { board: { ...board, resyncAfter: board.seq },
          actions: [{ type: "resync", after: board.seq }] };
      }
      return { board: { ...board, resyncAfter: null }, actions: [] };
    default:
      return { board, actions: [] };
  }
}

function applyEventMessage(board, seq, event) {
  if (board.seq === null || board.snapshot === null || seq <= board.seq) {
    return { board, actions: [] };
  }
  if (seq > board.seq + 1) {
    if (board.resyncAfter === board.seq) return { board, actions: [] };
    return { board: { ...board, resyncAfter: board.seq },
      actions: [{ type: "resync", after: board.seq }] };
  }
  const snapshot = applyEvent(board.snapshot, event);
  let lastKinds = board.lastKinds;
  if (isObject(event.window)) lastKinds = { ...lastKinds, [event.window.number]: event.kind };
  const next = { ...board, seq, snapshot, resyncAfter: null, lastKinds };
  const actions = [];
  const text = announcementForEvent(event);
  if (text !== null && concerns(next, event.ticket)) {
    actions.push({ type: "announce", seq, text, number: event.ticket.number });
  }
  return { board: next, actions };
}

// The snapshot after `event` (docs/protocol.md, "Applying an event to a snapshot").
export function applyEvent(snapshot, event) {
  const result = { ...snapshot, seq: event.seq };
  if ("at" in event) result.at = event.at;
  if (isObject(event.window)) {
    const windows = (snapshot.windows || []).filter((w) => w.number !== event.window.number);
    windows.push({ ...event.window });
    result.windows = windows.sort((a, b) => a.number - b.number);
  }
  const services = event.services || [];
  if (services.length) {
    const changed = new Map(services.map((s) => [s.code, s]));
    const known = (snapshot.services || []).map((s) => {
      const updated = changed.get(s.code);
      changed.delete(s.code);
      return updated === undefined ? s : updated;
    });
    result.services = [...known, ...changed.values()];
  }
  if (CALL_KINDS.has(event.kind)) {
    const t = event.ticket;
    const call = { number: t.number, service: t.service ?? null, window: t.window, calls: t.calls,
      at: event.at ?? null };
    const earlier = (snapshot.recent_calls || []).filter((c) => c.number !== call.number);
    result.recent_calls = [call, ...earlier].slice(0, RECENT_CALLS);
  } else if (event.kind === "notice_posted") {
    const notices = (event.payload || {}).notices;
    if (Array.isArray(notices)) result.notices = [...notices];
    const items = (event.payload || {}).notice_items;
    if (Array.isArray(items)) result.notice_items = items.map((n) => ({ ...n }));
  }
  return result;
}

// Whether a call belongs on this screen: voice follows the area / window filter.
function concerns(board, ticket) {
  if (board.window !== null && ticket.window !== board.window) return false;
  if (board.area === null || board.snapshot === null) return true;
  return windowArea(board.snapshot, ticket.window, ticket.service) === board.area;
}

export function windowArea(snapshot, window, service = null) {
  const w = (snapshot.windows || []).find((c) => c.number === window);
  if (w) return w.area ?? null;
  const s = (snapshot.services || []).find((c) => c.code === service);
  return s ? s.area ?? null : null;
}

// Which civility phrases fit a window now: greeting when a number is called, serving during
// service, finished after; null while paused or closed.
export function civilityMoment(board, windowNumber) {
  if (board.snapshot === null) return null;
  const w = (board.snapshot.windows || []).find((c) => c.number === windowNumber);
  if (!w || w.state !== "open") return null;
  const status = w.current ? w.current.status : null;
  if (status === "called") return "greeting";
  if (status === "serving") return "serving";
  return board.lastKinds[windowNumber] === "ticket_finished" ? "finished" : "greeting";
}

// "A023" -> "A 0 2 3": letters and digits read one by one.
export function spell(number) {
  return [...number.trim()].filter((ch) => ch.trim() !== "").join(" ");
}

export function callSentence(number, window, calls = 1) {
  let sentence = `请 ${spell(number)} 号 到 ${window} 号窗口 办理`;
  if (calls > 1) sentence += `，第 ${calls} 次呼叫`;
  return sentence;
}

// The whole announcement: the sentence said twice.
export function announcement(number, window, calls = 1) {
  const sentence = callSentence(number, window, calls) + "。";
  return sentence + sentence;
}

export function announcementForEvent(event) {
  if (!CALL_KINDS.has(event.kind) || !isObject(event.ticket)) return null;
  const { number, window, calls = 1 } = event.ticket;
  if (typeof number !== "string" || !Number.isInteger(window) || !Number.isInteger(calls)) {
    return null;
  }
  return announcement(number, window, calls);
}
