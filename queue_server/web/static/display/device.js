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

// Whether the page's token is the one this browser was paired with (not one in its address).
export function tokenIsStored() {
  return !new URLSearchParams(location.search).get("token") && storedDevice() !== null;
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
