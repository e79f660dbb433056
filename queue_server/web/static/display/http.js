// JSON over HTTP for the pages: one answer shape, { ok, status, data }, whatever happens.
// A network failure is status 0; a body that is not JSON is data null.

export async function requestJson(path, { method = "GET", body, headers = {} } = {}) {
  const all = { Accept: "application/json, application/problem+json", ...headers };
  if (body !== undefined) all["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method, headers: all, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, data: null };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  return { ok: response.ok, status: response.status, data };
}
