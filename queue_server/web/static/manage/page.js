// What a hall's worklist page of the console shares: sign-in screen, who is signed in, the
// navigation, and the hall picker (?hall= in the query).
//
// boot(path, { roles, notAllowed, listHalls, noHalls, entered, changed }) signs in, then calls
// `entered(page)` with page = { me, hall } and `changed(page)` when the hall is changed.
// roles: who may use the page (null: anyone signed in; others see `notAllowed`); listHalls(me):
// the halls to pick from (default: the halls one may act in); noHalls: said when there are none.

import {
  $, api, clearBanner, explain, loginForm, renderNav, session, showBanner, signOut, whenExpired,
} from "./common.js";

function showScreen(name) {
  $("login-screen").hidden = name !== "login";
  $("work-screen").hidden = name !== "work";
  for (const id of ["who", "logout"]) $(id).hidden = name !== "work";
}

function toLogin(message) {
  showScreen("login");
  if (message) $("login-error").textContent = message;
  $("staff-id").focus();
}

// The halls a manager or admin may act in (a district manager watches more than they may change);
// a clerk's own hall.
export async function actingHalls(me) {
  let halls = me.hall ? [{ id: me.hall, name: me.hall }] : [];
  if (["manager", "admin"].includes(me.role)) {
    const listed = await api("/api/v1/monitor/halls");
    if (listed.ok) halls = listed.data.halls.filter((h) => listed.data.may_acknowledge.includes(h.id));
  }
  return halls;
}

// Every hall a manager or admin watches (a street or district manager: their region's), a
// clerk's own hall: for pages where the server itself says what each may do there.
export async function watchedHalls(me) {
  let halls = me.hall ? [{ id: me.hall, name: me.hall }] : [];
  if (["manager", "admin"].includes(me.role)) {
    const listed = await api("/api/v1/monitor/halls");
    if (listed.ok) halls = listed.data.halls;
  }
  return halls;
}

export function boot(path, {
  roles = null, notAllowed = "此页面仅供大厅管理人员使用", listHalls = actingHalls,
  noHalls = "此页面按大厅办理；区、街道管理人员请选择所辖大厅后使用。", entered, changed,
}) {
  const page = { me: null, hall: null };

  async function enter() {
    clearBanner();
    const me = await api("/api/v1/auth/me");
    if (!me.ok) {
      if (me.status !== 401) showBanner(explain(me));
      toLogin();
      return;
    }
    page.me = me.data;
    renderNav(path, page.me);
    $("who").textContent = page.me.name || page.me.id;
    showScreen("work");
    if (roles && !roles.includes(page.me.role)) {
      showBanner(notAllowed, "info");
      $("work-screen").hidden = true;
      return;
    }
    const halls = await listHalls(page.me);
    if (!halls.length) {
      showBanner(noHalls, "info");
      return;
    }
    const select = $("hall");
    select.replaceChildren(...halls.map((h) => new Option(h.name, h.id)));
    const wanted = new URLSearchParams(window.location.search).get("hall");
    page.hall = halls.some((h) => h.id === wanted) ? wanted : halls[0].id;
    select.value = page.hall;
    $("hall-pick").hidden = halls.length < 2;
    $("scope-title").textContent = halls.find((h) => h.id === page.hall).name;
    await entered(page);
  }

  $("hall").addEventListener("change", () => {
    page.hall = $("hall").value;
    $("scope-title").textContent = $("hall").selectedOptions[0].textContent;
    changed(page);
  });
  $("logout").addEventListener("click", async () => {
    await signOut();
    toLogin();
  });
  whenExpired(() => toLogin("登录已过期，请重新登录"));
  loginForm(enter);
  if (session.load()) enter();
  else toLogin();
  return page;
}

export function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text == null || text === "" ? "—" : text;
  if (className) td.className = className;
  return td;
}

// "2026-11-30T11:00:00+08:00" → "11-30 11:00" (the hall's own time, as the server writes it).
export function shortTime(iso) {
  return iso ? iso.slice(5, 16).replace("T", " ") : "—";
}

export const hallPath = (hall, rest) => `/api/v1/halls/${encodeURIComponent(hall)}${rest}`;
