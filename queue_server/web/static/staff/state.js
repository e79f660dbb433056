// The console's constants and its one mutable state (tests read window.hallQueue.state).



export const SESSION_KEY = "hallQueue.staff";
export const SAME_CLICK_MS = 700; // a second click this soon is the same click (a double click)
export const RETRY_SAME_KEY_MS = 120000; // a retry this soon after a lost answer re-sends its key
export const QUEUE_REFRESH_MS = 30000; // minutes waited go up without any event
export const BUBBLE_MS = 6000;
// The common warning threshold of a district hall (DOMAIN: 15 min); the hall's own
// per-service thresholds are not published to pages.
export const LONG_WAIT_MINUTES = 15;

export const PAUSE_REASONS = ["咨询", "材料核验", "系统故障", "临时离开", "午休", "业务培训"];
export const SUSPEND_REASONS = ["材料不齐，待补充", "需核实信息", "等待审批", "群众暂时离开"];
export const TRANSFER_REASONS = ["需其他业务办理", "需其他窗口办理", "取号业务选错"];
export const CALL_REASONS = ["预约到号", "导服台指引", "特殊情况优先办理", "补办上一环节"];


// The console's actions in button order; `key` is its keyboard shortcut.
export const ACTIONS = [
  { id: "call-next", label: "叫号", key: "1" },
  { id: "recall", label: "重呼", key: "2" },
  { id: "start", label: "开始办理", key: "3" },
  { id: "finish", label: "办结", key: "4" },
  { id: "miss", label: "过号", key: "5" },
  { id: "transfer", label: "转移", key: "6", dialog: true },
  { id: "suspend", label: "挂起", key: "7", dialog: true },
  { id: "pause", label: "暂停", key: "8", dialog: true }, // 恢复 while paused
  { id: "call", label: "指定叫号", key: "9", dialog: true },
];

// ---- state ------------------------------------------------------------------------------

export const state = {
  token: null,
  staff: null, // {id, name, role, hall}
  hall: null, // hall id
  halls: [], // GET /api/v1/halls
  snapshot: null, // GET /api/v1/halls/{hall}/queue, until the socket brings a board
  window: null, // the window signed in to
  queue: null, // GET …/windows/{n}/queue
  queueError: null,
  busy: null, // the action in flight: one at a time
  lastClick: { signature: null, at: 0 },
  unsettled: null, // {signature, key, at}: an attempt whose answer never came
  offsetMs: 0, // the server's clock minus ours (from event and snapshot times)
  recallReadyAt: null, // server time (ms) from which a recall is allowed
  recallPending: false, // a call was just made; its recall time is not known yet
  aside: "missed",
  dialog: null, // {kind, …}
  dialogClosedAt: 0,
  view: "login",
  actions: 0, // requests sent by action buttons (tests read it)
  actionsFresh: false, // the window view's `actions` is newer than this console's last action
  changedAt: 0, // when this console last sent an action
};


export const $ = (id) => document.getElementById(id);
