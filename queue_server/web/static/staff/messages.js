// What a refusal means to the clerk, in plain Chinese, chosen by the problem's `code`
// (queue_server/domain/errors.py lists them all) — never by reading the `detail` text.
// A code the console has no words of its own for shows the server's Chinese `detail`.

export const STATUS_TEXT = {
  waiting: "等候中", called: "已呼叫", serving: "办理中", finished: "已办结", missed: "已过号",
  suspended: "已挂起", cancelled: "已取消", void: "已作废", closed: "已闭厅",
};

const hasChinese = (text) => typeof text === "string" && /[\u4e00-\u9fff]/.test(text);

// code → (problem members, the console's action) → text; null falls through to `detail`.
const MESSAGES = {
  "window.not_open": () => "窗口未开启，请先签到上岗",
  "window.paused": () => "窗口暂停中，请先恢复",
  "window.busy": (p, action) => {
    if (action === "close") return `当前号码 ${p.ticket} 尚未办结，请先办结、挂起或转移`;
    if (action === "pause") return `当前号码 ${p.ticket} 尚未办结，办结后再暂停`;
    return p.ticket ? `当前号码 ${p.ticket} 尚未办结` : "当前号码尚未办结";
  },
  "window.no_current": () => "当前没有号码，请先叫号",
  "window.already_open": () => "该窗口已有工作人员在岗",
  "window.staff_elsewhere": (p) => `您已在 ${p.other} 号窗口在岗，请先关闭该窗口`,
  "window.already_paused": () => "窗口暂停中，请先恢复",
  "window.not_paused": () => "窗口未暂停",
  "window.already_closed": () => "窗口已关闭",
  "window.service_not_offered": () => "本窗口不办理该号码的业务",
  "window.unknown": () => "本大厅没有这个窗口",
  "ticket.not_waiting": (p) => `该号码${STATUS_TEXT[p.state] || "不在等候中"}，不能叫号`,
  "ticket.not_called": (p, action) => {
    if (action === "recall") return "正在办理中，无需重呼";
    if (action === "start") return "已在办理中";
    if (action === "miss") return "已开始办理，不能过号";
    return `该号码${STATUS_TEXT[p.state] || ""}`;
  },
  "ticket.not_serving": () => "请先开始办理，再办结",
  "ticket.recall_limit": (p) => `已呼叫 ${p.calls} 次，请按过号处理`,
  "ticket.recall_too_soon": (p) => (Number.isInteger(p.retry_in_seconds)
    ? `重呼间隔未到，请 ${p.retry_in_seconds} 秒后再试` : "重呼间隔未到"),
  "ticket.miss_too_early": (p) => `已呼叫 ${p.calls} 次，满 ${p.max_calls} 次后才能过号，请先重呼`,
  "ticket.not_transferable": () => "该号码不能转移",
  "ticket.same_window": () => "不能转移到本窗口",
  "ticket.not_restorable": () => "只有过号或挂起的号码可以恢复",
  "ticket.final": (p) => (STATUS_TEXT[p.state] ? `该号码${STATUS_TEXT[p.state]}` : null),
  "ticket.unknown": () => "未找到该号码（只能叫当日的号码）",
  "service.unknown": () => "本大厅没有这项业务",
  "auth.not_on_window": (p) => `您未在 ${p.window} 号窗口签到`,
  "auth.wrong_credentials": () => "工号或密码错误",
  "input.reason_required": () => "请填写原因",
  "input.missing_field": (p) => (p.field === "reason" ? "请填写原因" : null),
  "input.bad_ticket_number": () => "号码格式不正确，应为字母加数字，如 A012",
  "input.transfer_target": () => "请选择转到的业务或窗口",
  "input.idempotency_key_reused": () => "请求重复，请刷新页面后重试",
};

// The words for one refusal `p` (a problem, or an entry of the window view's `actions`).
export function message(p, action = null, fallback = "当前状态不允许此操作") {
  const say = MESSAGES[p.code];
  const text = say ? say(p, action) : null;
  if (text) return text;
  return hasChinese(p.detail) ? p.detail : hasChinese(p.reason) ? p.reason : fallback;
}

// What a failed request means, in plain Chinese; `action` is the console's action, if any.
export function explain(result, action = null) {
  const { status, data } = result;
  const p = data || {};
  if (status === 0) return "网络连接失败，请检查网络后重试";
  if (status === 401) return "登录已过期，请重新登录";
  if (status === 429) return "操作过于频繁，请稍后再试";
  if (status >= 500) return "服务器暂时无法处理，请稍后重试";
  const fallback = {
    400: "填写的内容有误", 403: "无权进行此操作，请联系大厅管理人员", 404: "未找到",
    409: "当前状态不允许此操作",
  }[status] || `操作未成功（${status}）`;
  return message(p, action, fallback);
}
