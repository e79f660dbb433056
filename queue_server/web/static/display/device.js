// A device page's token: ?token= in its address (a token from the command line), else the one
// this browser received when it was paired (localStorage). Without either, or once the token
// is revoked, the page hands over to the pairing screen (/pair), which comes back when paired.

export const DEVICE_KEY = "hallQueue.device";
export const CLOSE_REVOKED = 4003; // queue_server.protocol.CLOSE_REVOKED

export function storedDevice() {
  try {
    const device = JSON.parse(localStorage.getItem(DEVICE_KEY) || "null");
    return device && typeof device.token === "string" ? device : null;
  } catch {
    return null;
  }
}

export function deviceToken() {
  const fromAddress = new URLSearchParams(location.search).get("token");
  if (fromAddress) return fromAddress;
  const device = storedDevice();
  return device ? device.token : "";
}

// Forget this browser's token and show the pairing screen for a device of `kind`.
export function pairAgain(kind) {
  try {
    localStorage.removeItem(DEVICE_KEY);
  } catch {
    // storage refused (private mode): nothing was kept
  }
  location.replace(`/pair?kind=${encodeURIComponent(kind)}`);
}

// The page has no token: pair unless the address carried one.
export function requireToken(kind) {
  const token = deviceToken();
  if (!token) pairAgain(kind);
  return token;
}

// The kind of device this page is, from its address.
export function pageKind() {
  const path = location.pathname;
  if (path.startsWith("/kiosk/")) return "kiosk";
  if (path.startsWith("/display/window/")) return "window_screen";
  if (path.startsWith("/evaluate/")) return "tablet";
  return "hall_screen";
}

// The server refused this page's stored token: 401 (revoked or unknown) pairs again; 403 (a
// page of another hall or window than the device's) goes back to the device's own page.
export function refused(status, kind) {
  const device = storedDevice();
  if (status === 403 && device && device.page && device.page !== location.pathname) {
    location.replace(device.page);
    return;
  }
  pairAgain(kind);
}

// Why this page's connection fails, asked when its socket will not open (a refused handshake
// looks like a network fault to the page). The server answers: 401 → the token is no one's
// (never paired, or revoked): pair again; 403 → a token of another hall or window: its own
// page, else pair; 404 → no such hall or window (any more): reload, and the server shows its
// Chinese page for that; 200 → the server is there (the next attempt should work). A failed
// request or a 5xx: "unreachable" — the page keeps retrying and shows since when.
export async function diagnose(kind, { hall, window = null, token }) {
  const path = `/api/v1/halls/${encodeURIComponent(hall)}/device-check` +
    (Number.isInteger(window) ? `?window=${window}` : "");
  let response;
  try {
    response = await fetch(path, {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" }, cache: "no-store",
    });
  } catch {
    return "unreachable";
  }
  if (response.status === 401) pairAgain(kind);
  else if (response.status === 403) refused(403, kind);
  else if (response.status === 404) location.reload();
  else if (response.ok) return "reachable";
  else return response.status >= 500 ? "unavailable" : "unreachable";
  return "moved";
}

// "最后联系 14:02:11（3 分钟前）", or since when the page has tried, for the reconnecting mark.
export function sinceText(lastContact, openedAt, now = Date.now()) {
  const ago = (ms) => {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s} 秒`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} 分钟`;
    return `${Math.floor(m / 60)} 小时 ${m % 60} 分钟`;
  };
  if (lastContact === null) return `已尝试 ${ago(now - openedAt)}`;
  // On the server's clock, like the page's own (display/time-zone.js).
  const clock = new Date(lastContact + (window.HALL_CLOCK_OFFSET_MS || 0)).toLocaleTimeString("zh-CN", {
    timeZone: window.HALL_TIME_ZONE, hour12: false,
  });
  return `最后联系 ${clock}（${ago(now - lastContact)}前）`;
}

// The reconnecting mark's text for a page that is not receiving.
export function offlineText(status, lastContact, openedAt, cause = "unreachable") {
  if (status === "connecting" && lastContact === null) return "正在连接服务器…";
  const what = cause === "unavailable" ? "服务器暂时无法服务，正在重连…" : "与服务器的连接中断，正在重连…";
  return `${what} ${sinceText(lastContact, openedAt)}`;
}
