// The complaint form (投诉与建议) of the citizens' pages: the poster page of a hall
// (/complaint/{hall}) and the phone page of a visit (/t/…). Category, text, and a contact phone
// only with consent; one Idempotency-Key per complaint, so a double tap sends it once. After it
// is sent, the private link to follow it (/complaint/status/{secret}) replaces the form.

import { requestJson } from "/display/static/http.js";

export const CATEGORIES = [
  ["attitude", "服务态度"], ["efficiency", "办事效率"], ["policy", "政策规定"],
  ["environment", "环境设施"], ["other", "其他"],
];
const MAX_TEXT = 1000;
const PHONE = /^(?:\+86)?(?:1[3-9]\d{9}|0[1-9]\d{1,2}-?\d{7,8})$/;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value == null) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children);
  return node;
}

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "cp-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The server's Chinese explanation, or a plain one when there is none.
export function explain(result) {
  if (result.status === 0) return "网络连接失败，请稍后重试";
  if (result.data && result.data.detail) return result.data.detail;
  return "暂时无法提交，请稍后重试";
}

// Build the form in `container`; `path` is where it is POSTed.
export function complaintForm(container, path) {
  let key = newKey();
  const categories = el("div", { class: "cp-categories", role: "radiogroup", "aria-label": "投诉类别" });
  for (const [code, name] of CATEGORIES) {
    categories.append(el("label", { class: "cp-category" },
      el("input", { type: "radio", name: "category", value: code }), el("span", { text: name })));
  }
  const text = el("textarea", { id: "cp-content", rows: "5", maxlength: String(MAX_TEXT),
    placeholder: "请写明时间、窗口和经过，便于我们核实处理" });
  const count = el("div", { class: "cp-count", text: `0/${MAX_TEXT}` });
  const phone = el("input", { id: "cp-phone", type: "tel", inputmode: "tel", maxlength: "20", autocomplete: "tel",
    placeholder: "选填，如 13800138000" });
  const consent = el("input", { id: "cp-consent", type: "checkbox" });
  const error = el("div", { class: "cp-error", role: "alert" });
  const send = el("button", { id: "cp-send", type: "submit", class: "cp-send", text: "提交" });
  const form = el("form", { class: "cp-form", novalidate: true, autocomplete: "off" },
    el("div", { class: "cp-label", text: "类别" }), categories,
    el("label", { class: "cp-label", for: "cp-content", text: "内容" }), text, count,
    el("label", { class: "cp-label", for: "cp-phone", text: "联系电话" }), phone,
    el("label", { class: "cp-consent" }, consent,
      el("span", { text: "我同意工作人员用此电话与我联系（仅用于处理本次投诉，办结后按规定删除）" })),
    error, send);
  const done = el("div", { class: "cp-done", hidden: true, role: "status" });
  container.replaceChildren(form, done);

  text.addEventListener("input", () => { count.textContent = `${text.value.length}/${MAX_TEXT}`; });
  form.addEventListener("input", () => { key = key || newKey(); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (send.disabled) return;
    const checked = categories.querySelector("input:checked");
    const content = text.value.trim();
    const number = phone.value.replace(/[\s-]/g, "") ? phone.value.trim() : "";
    if (!checked) { error.textContent = "请选择投诉类别"; return; }
    if (!content) { error.textContent = "请填写投诉内容"; return; }
    if (number && !PHONE.test(number.replace(/\s/g, ""))) { error.textContent = "联系电话格式不正确"; return; }
    if (number && !consent.checked) { error.textContent = "留下电话须勾选同意联系"; return; }
    error.textContent = "";
    const body = { category: checked.value, content };
    if (number) Object.assign(body, { contact_phone: number, consent: true });
    send.disabled = true;
    send.textContent = "正在提交…";
    const result = await requestJson(path, { method: "POST", body, headers: { "Idempotency-Key": key } });
    send.disabled = false;
    send.textContent = "提交";
    if (!result.ok) {
      error.textContent = explain(result);
      return;
    }
    const link = `${location.origin}${result.data.status_link}`;
    form.hidden = true;
    done.hidden = false;
    done.replaceChildren(
      el("div", { class: "cp-done-title", text: "已收到您的投诉，我们将在规定时限内处理" }),
      el("p", { class: "cp-note", text: "请保存下面的链接，凭它查看处理进度并评价处理结果（链接仅您本人持有，请勿转发）：" }),
      el("a", { id: "cp-link", class: "cp-link", href: result.data.status_link, text: link }));
  });
}
