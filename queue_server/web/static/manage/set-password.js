// 设置新密码: what someone signed in with a one-time password (a new account, a password reset
// by their manager, the first admin) sees before anything else. Shared by the console's sign-in
// (common.js loginForm) and the staff console's (static/staff/session.js): the form takes the
// sign-in card's place until the server has accepted a password of their own.

import { requestJson } from "/display/static/http.js";

const RULE = "至少 8 位，须同时含有字母和数字，不能包含工号";

function field(labelText, id) {
  const label = document.createElement("label");
  label.textContent = labelText;
  const input = document.createElement("input");
  input.id = id;
  input.type = "password";
  input.autocomplete = "new-password";
  input.maxLength = 128;
  input.required = true;
  label.append(input);
  return { label, input };
}

// A local check first, so an obvious mistake needs no round trip; the server has the last word.
function localProblem(staffId, password, again) {
  if (password.length < 8) return "新密码至少 8 个字符";
  if (!/[A-Za-z\u4e00-\u9fff]/.test(password) || !/[0-9]/.test(password)) return "新密码须同时含有字母和数字";
  if (staffId && password.toLowerCase().includes(staffId.toLowerCase())) return "新密码不能包含自己的工号";
  if (password !== again) return "两次输入的新密码不一致";
  return null;
}

// Resolves to the server's answer ({token, expires_at, staff}) once a new password is set, or
// null when the person goes back to the sign-in form instead.
export function askNewPassword(loginForm, { staffId, token, oldPassword }) {
  return new Promise((resolve) => {
    const form = document.createElement("form");
    form.id = "password-form";
    form.className = loginForm.className;
    form.autocomplete = "off";
    form.noValidate = true;
    const title = document.createElement("h1");
    title.textContent = "设置新密码";
    const note = document.createElement("p");
    note.className = "password-note";
    note.textContent = `您（${staffId}）正在使用一次性密码，请先设置自己的新密码：${RULE}。`;
    const first = field("新密码", "new-password");
    const second = field("再次输入新密码", "new-password-again");
    const error = document.createElement("p");
    error.id = "password-error";
    error.className = loginForm.querySelector(".login-error, .form-error")?.className || "login-error";
    error.setAttribute("role", "alert");
    const submit = document.createElement("button");
    submit.type = "submit";
    submit.id = "password-button";
    submit.className = loginForm.querySelector("button[type=submit]")?.className || "primary";
    submit.textContent = "设置新密码";
    const back = document.createElement("button");
    back.type = "button";
    back.className = "link";
    back.textContent = "返回登录";
    form.append(title, note, first.label, second.label, error, submit, back);
    loginForm.hidden = true;
    loginForm.after(form);
    first.input.focus();
    const key = `pw-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

    const finish = (value) => {
      form.remove();
      loginForm.hidden = false;
      resolve(value);
    };
    back.addEventListener("click", () => finish(null));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const problem = localProblem(staffId, first.input.value, second.input.value);
      if (problem) {
        error.textContent = problem;
        return;
      }
      error.textContent = "";
      submit.disabled = true;
      const result = await requestJson("/api/v1/auth/password", {
        method: "POST",
        body: { old_password: oldPassword, new_password: first.input.value },
        headers: { Authorization: `Bearer ${token}`, "Idempotency-Key": key },
      });
      submit.disabled = false;
      if (result.ok && result.data && result.data.token) {
        finish(result.data);
        return;
      }
      const detail = result.data && typeof result.data.detail === "string" ? result.data.detail : null;
      error.textContent = result.status === 0 ? "无法连接服务器，请检查网络后重试"
        : detail || `设置失败（${result.status}）`;
    });
  });
}
