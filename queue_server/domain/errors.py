"""One error tree for the whole server, and the one list of its error codes.

Every refusal and invalid input names a stable `code` from CODES (dotted: `window.not_open`,
`ticket.recall_too_soon`, `input.missing_field` …) that programs switch on, and its keyword
parameters; the Chinese `detail` people read is formatted from the code's template. A code that
is not in CODES cannot be raised (the constructor looks it up). The parameters also travel as
members of the problem answer (e.g. `state`, `retry_in_seconds`). HTTP status codes are the web
layer's business (web/problem.py maps each class to one); the domain knows none.
"""

from __future__ import annotations

from typing import Any

#: code → Chinese detail template (str.format over the raising site's parameters and `field`).
CODES: dict[str, str] = {
    # ---- invalid input ------------------------------------------------------------------
    "input.missing_field": "缺少 {field}",
    "input.not_string": "{field} 须为文字，收到的是 {got}",
    "input.bad_type": "{field} 须为{expected}",
    "input.control_character": "{field} 含有不允许的控制字符 {char}",
    "input.too_long": "{field} 共 {length} 个字，最多 {limit} 个字",
    "input.too_deep": "请求内容嵌套超过 {depth} 层",
    "input.not_json": "请求体不是有效的 JSON：{reason}",
    "input.not_object": "请求体须为 JSON 对象，收到的是 {got}",
    "input.unsupported_media_type": "请求体须为 JSON（application/json），收到的是 {got!r}",
    "input.bad_idempotency_key": "Idempotency-Key 须为 1–200 个可见 ASCII 字符",
    "input.idempotency_key_reused": "这个 Idempotency-Key 已用于另一个请求",
    "input.bad_number": "{field} 须为 {low} 到 {high} 的整数，收到的是 {got!r}",
    "input.bad_choice": "{field} 须为以下之一：{known}；收到的是 {got!r}",
    "input.bad_ticket_number": "号码 {got!r} 不是字母加数字的形式（如 A023）",
    "input.bad_time": "{field} 须为带时区的 ISO 8601 时间（如 2026-11-30T10:00:00+08:00），年份 2000–2099",
    "input.nul_in_path": "请求路径含有 NUL 字符",
    "input.reason_required": "{action}须填写原因",
    "input.transfer_target": "转移须指定业务或窗口，二者选一",
    "input.priority_unknown": "没有优先类别 {priority!r}（可选：{known}）",
    "input.priority_reason_required": "{name}须填写优先理由",
    "input.taboo_on_screen": "内容含有服务忌语「{taboo}」，不能显示在屏幕上",
    "input.taboo_in_notice": "公告含有服务忌语「{taboo}」，不能发布",
    "input.notices_list": "公告须为最多 {limit} 条的列表",
    "input.notice_item": "{field} 须为公告文字，或含 text、starts_at、ends_at 的对象",
    "input.notice_time": "{field} 须为时间（如 2026-12-06T09:00 或 2026-12-06T09:00:00+08:00），年份 2000–2099",
    "input.notice_order": "{field} 的结束时间须晚于开始时间",
    "input.notices_version": "version 须为读取公告时得到的版本号（非负整数）",
    "input.device_token_logout": "设备令牌须用 queue-server device revoke 吊销，不能登出",
    "input.paper_width": "纸宽须为 58 或 80",
    "input.unknown_role": "未知角色 {role!r}（可选：{known}）",
    "input.region_manager_only": "只有不属于大厅的管理人员（manager，不给 --hall）可以指定 --region",
    "input.bad_date": "{field} 须为 YYYY-MM-DD 形式的日期，收到的是 {got!r}",
    "input.bad_month": "{field} 须为 YYYY-MM 形式的月份，收到的是 {got!r}",
    "input.period_order": "起始日期 {start} 晚于结束日期 {end}",
    "input.period_too_long": "一次最多统计 {limit} 天，所选为 {days} 天",
    "input.bad_scope": "scope 须为 hall:<大厅>、street:<街道> 或 district:<区>，收到的是 {got!r}",
    "input.hall_required": "{role} 须属于一个大厅：请给出 --hall",
    "input.password_too_short": "密码至少 {minimum} 个字符",
    "input.staff_exists": "工号 {staff_id} 已存在",
    # staff accounts (the manager's console, issue 11)
    "input.password_weak": "新密码须同时含有字母和数字",
    "input.password_characters": "新密码不能含有控制字符，首尾不能是空格",
    "input.password_has_staff_id": "新密码不能包含自己的工号",
    "input.password_unchanged": "新密码不能与原密码相同",
    "input.old_password_wrong": "原密码不正确",
    "input.bad_staff_id": "工号须为 1–32 位字母、数字、“-”或“_”，收到的是 {got!r}",
    "input.staff_hall_unknown": "没有大厅 {hall!r}（大厅：{known}）",
    "input.staff_region_unknown": "没有区域 {region!r}（区域：{known}）",
    "input.staff_no_change": "没有要修改的内容（可改：姓名、角色、大厅、区域）",
    "input.photo_type": "照片须为 JPEG 或 PNG 图片（按文件内容识别）",
    "input.photo_too_large": "照片 {size} 字节，最大 {limit} 字节，请缩小后再上传",
    "input.photo_empty": "没有收到照片内容",
    "input.window_required": "评价器须绑定一个窗口：请给出 --window",
    "input.kiosk_required": "打印机须绑定一台取号机：请给出 --kiosk",
    "input.device_exists": "大厅 {hall} 已有名为 {name} 的设备",
    "pairing.role_for_kind": "{kind_zh}不能设为 {role} 角色（可选：{roles}）",
    "pairing.window_required": "{role_zh}须绑定一个窗口：请选择窗口",
    "pairing.kiosk_required": "小票打印机须绑定一台取号机：请选择取号机",
    "pairing.no_window": "本大厅没有 {window} 号窗口（窗口：{known}）",
    "pairing.no_kiosk": "本大厅没有在用的取号机 {kiosk}（取号机：{known}）",
    "pairing.window_not_for_role": "{role_zh}不绑定窗口",
    "pairing.kiosk_not_for_role": "{role_zh}不绑定取号机",
    "pairing.bad_code": "配对码须为 6 位数字",
    "pairing.bad_secret": "设备密钥格式不对",
    "device.taboo_name": "设备名称含有服务忌语「{taboo}」，不能使用",
    "device.revoked": "设备 {name} 已停用，不能再修改",
    "input.rating_needs_label": "不满意或非常不满意的评价须至少选一个原因",
    "input.slot_order": "预约结束时间须晚于开始时间",
    "input.slot_over": "该预约时段已经结束",
    "input.appointment_code": "预约码为 {digits} 位数字",
    "input.refused_by_database": "数据库拒绝了请求中的内容（{reason}）",
    "input.improvement_source": "{source_zh}须指明来源编号（{field}）",
    "input.improvement_source_unknown": "{hall} 大厅没有{source_zh} {source_id}",
    "input.improvement_owner_unknown": "{hall} 大厅没有在用的工作人员账号 {owner}",
    "input.improvement_due_past": "整改期限 {due} 早于今天 {today}",
    "input.complaint_phone": "联系电话须为手机号（如 13800138000）或座机号（如 0571-87654321），收到的是 {got!r}",
    "input.complaint_consent": "留下联系电话须同意我们用它联系您（consent 为 true）",
    "input.complaint_staff_unknown": "{hall} 大厅没有在用的工作人员账号 {staff}",
    "input.complaint_window_unknown": "{hall} 大厅没有 {window} 号窗口",
    "input.complaint_reply_time": "答复时间 {at} 须在处理完毕（{resolved}）之后、现在（{now}）之前",
    "input.survey_unknown": "没有问卷 {questionnaire}（可选：{known}）",
    "input.survey_dates": "调查结束日 {ends} 早于开始日 {starts}",
    "input.survey_ends_past": "调查结束日 {ends} 早于今天 {today}",
    "input.survey_answers": "answers 须为对象：题目编号 → 答案",
    "input.survey_unknown_question": "问卷没有题目 {question}（题目：{known}）",
    "input.survey_scale": "{field} 须为 1 到 5 的整数，收到的是 {got!r}",
    "input.survey_required": "请回答必答题「{question}」",
    "input.survey_empty": "请至少回答一题",
    "input.subprotocol_required": "此接口须使用子协议 {subprotocol}",
    "input.bad_query": "查询参数有误：{reason}",
    # ---- who may do it --------------------------------------------------------------------
    "auth.required": "需要登录：请求须带令牌（Authorization: Bearer …）",
    "auth.token_invalid": "令牌无效、已过期或已吊销，请重新登录",
    "auth.wrong_credentials": "工号或密码错误；连续失败 {failures} 次的账号将锁定 {minutes} 分钟",
    "auth.login_throttled": "此地址登录失败次数过多，请 {seconds} 秒后再试",
    "auth.other_hall": "{who} 属于 {own} 大厅，不能操作 {hall} 大厅",
    "auth.role": "{who} 的角色是 {role}，此操作需要：{roles}",
    "auth.monitor": "{who} 不能查看 {hall} 大厅的现场监控",
    "auth.scope": "{who} 只能查看 {own} 的绩效，不能查看 {scope}",
    "auth.device_not_staff": "设备 {who}（{role}）不能操作窗口，请以工作人员身份登录",
    "auth.channel": "{role} 设备只能发放本渠道的号，不能发放 {channel!r}",
    "auth.priority_staff_only": "{name}须由导服台工作人员办理",
    "auth.priority_reason_staff_only": "优先理由须由导服台登记",
    "auth.not_on_window": "您（{staff}）未在 {window} 号窗口签到",
    "auth.citizen_only": "{who} 不能评价，只有办事群众本人可以评价",
    "auth.citizen_complaint": "{who} 不能以办事群众身份{what}；电话或当面投诉请在「投诉管理」中登记",
    "auth.not_tablet": "{who} 不是评价器，工作人员不能提交评价",
    "auth.tablet_window": "评价器 {who} 属于 {own} 号窗口，不是 {window} 号窗口",
    "auth.rating_other_window": "号码 {number} 在 {served} 号窗口办理，不是本评价器的 {window} 号窗口",
    "auth.print_job_other_kiosk": "{who} 不能读取取号机 {kiosk} 的打印任务",
    "auth.not_printer": "{who} 不是绑定取号机的打印机设备",
    "auth.origin_not_allowed": "来源 {origin!r} 既不是本站，也不在允许的来源之列",
    "auth.display_token_required": "需要 {hall} 大厅有效的显示屏令牌（?token= 或 Authorization: Bearer）",
    "auth.not_this_screen": "此令牌不能打开 {hall} 大厅的屏幕或语音播报",
    "auth.password_change_required": "您正在使用一次性密码，请先设置自己的新密码",
    "auth.staff_scope": "{who} 只能管理 {own} 范围内的人员，不能管理 {target}",
    "auth.role_above": "{who} 的角色是{role_zh}，不能授予或管理{granted_zh}",
    # ---- not found ------------------------------------------------------------------------
    "hall.unknown": "没有大厅 {hall!r}",
    "region.unknown": "没有{level_zh} {region!r}（可选：{known}）",
    "announcement.unknown": "{hall} 大厅的事件 {seq} 不是叫号或重呼",
    "window.unknown": "{hall} 大厅没有 {window} 号窗口（窗口：{known}）",
    "window.unknown_action": "没有窗口操作 {action!r}（可用：{known}）",
    "service.unknown": "{hall} 大厅没有业务 {service!r}（业务：{known}）",
    "ticket.unknown": "今日 {hall} 大厅没有发出号码 {number}",
    "ticket.no_such": "没有这张号票",
    "print_job.unknown": "没有打印任务 {job}",
    "printer.unknown": "{hall} 大厅的取号机 {kiosk} 没有登记打印机",
    "device.unknown": "{hall} 大厅没有名为 {name} 的在用设备",
    "device.no_such": "{hall} 大厅没有编号为 {device} 的设备",
    "pairing.unknown": "配对码 {given} 不存在、已使用或已过期（配对码 10 分钟内有效），请核对设备屏幕上的配对码",
    "pairing.no_secret": "没有这次配对（设备密钥无效）；请重新获取配对码",
    "appointment.unknown": "预约码 {appointment} 无效或已签到",
    "follow_up.unknown": "{hall} 大厅没有回访 {follow_up}",
    "alert.unknown": "{hall} 大厅没有告警 {alert}",
    "improvement.unknown": "{hall} 大厅没有整改事项 {improvement}",
    "complaint.unknown": "{hall} 大厅没有投诉 {complaint}",
    "complaint.no_such": "没有这件投诉，请核对链接",
    "staff.unknown": "没有工号为 {staff} 的人员（或不在您的管辖范围内）",
    "staff.no_photo": "工号 {staff} 没有照片",
    "survey.unknown_campaign": "{hall} 大厅没有满意度调查 {campaign}",
    "survey.none": "此次办事没有被抽中参加满意度调查",
    "follow_up.none": "此号码没有可追评的回访",
    "http.not_found": "没有这个地址",
    # ---- refused in the current state -----------------------------------------------------
    "window.not_open": "{window} 号窗口未开启，请先签到上岗",
    "window.paused": "{window} 号窗口暂停中（{reason}），请先恢复",
    "window.busy": "{window} 号窗口当前号码{state_zh} {ticket}，请先办结、过号、挂起或转移",
    "window.no_current": "{window} 号窗口当前没有号码，请先叫号",
    "window.already_open": "{window} 号窗口已开启，{staff} 在岗",
    "window.staff_elsewhere": "工号 {staff} 已在 {other} 号窗口在岗，请先关闭该窗口",
    "window.already_paused": "{window} 号窗口已在暂停中",
    "window.not_paused": "{window} 号窗口未暂停",
    "window.already_closed": "{window} 号窗口已关闭",
    "window.service_not_offered": "{window} 号窗口不办理业务 {service}（{service_name}）",
    "ticket.not_waiting": "号码 {ticket} {state_zh}，只有等候中的号码可以叫号",
    "ticket.not_called": "号码 {ticket} {state_zh}，只有已呼叫的号码可以{action}",
    "ticket.not_serving": "号码 {ticket} {state_zh}，请先开始办理，再办结",
    "ticket.recall_limit": "号码 {ticket} 已呼叫 {calls} 次（上限 {max_calls} 次），请按过号处理",
    "ticket.recall_too_soon": "号码 {ticket} 距上次呼叫 {elapsed} 秒，重呼间隔至少 {minimum} 秒，请 {retry_in_seconds} 秒后再试",
    "ticket.miss_too_early": "号码 {ticket} 已呼叫 {calls}/{max_calls} 次，请先重呼，再按过号处理",
    "ticket.not_transferable": "号码 {ticket} {state_zh}，只有已呼叫或办理中的号码可以转移",
    "ticket.same_window": "号码 {ticket} 已在 {window} 号窗口",
    "ticket.not_restorable": "号码 {ticket} {state_zh}，只有过号或挂起的号码可以恢复",
    "ticket.not_cancellable": "号码 {ticket} {state_zh}，只有等候、挂起或过号的号码可以取消",
    "ticket.final": "号码 {ticket} {state_zh}，不能再操作",
    "ticket.no_longer_cancellable": "这张号票已不能取消",
    "ticket.not_waiting_to_print": "号码 {ticket} {state_zh}，不在等候中，无需补打",
    "service.quota_full": "该业务今日号源已满（{quota} 个）",
    "hours.closed_today": "今日不办公，办公时间：{hours}",
    "hours.outside": "当前不在取号时间，办公时间：{hours}",
    "hours.lunch": "午休时间暂停取号，办公时间：{hours}",
    "rating.not_finished": "号码 {ticket} {state_zh}，办结后才能评价",
    "rating.expired": "已超过评价时限（办结后 {minutes} 分钟内）",
    "rating.already_rated": "号码 {ticket} 已评价，一次一评",
    "follow_up.not_called_back": "回访后可追评",
    "follow_up.already_rated": "追评仅一次",
    "follow_up.already": "回访 {follow_up} 已是「{state_zh}」，不能重复办理",
    "follow_up.step_skipped": "回访 {follow_up} 当前为「{state_zh}」，须按 回访 → 整改 → 办结 的顺序办理，不能直接{action}",
    "notices.stale": "公告已被他人修改（您读取的是第 {version} 版，现为第 {current} 版），请刷新后再改",
    "alert.cleared": "告警 {alert} 已于 {at} 解除，无需确认",
    "complaint.bad_step": "投诉 {complaint} 当前为「{state_zh}」，不能{action}（须为「{needs}」）",
    "complaint.not_investigator": "投诉 {complaint} 交由 {assignee} 调查，只有调查人或大厅管理人员可以处理完毕",
    "complaint.not_answered": "投诉尚未答复，答复后才能评价处理结果",
    "complaint.already_rated": "您已评价过此次投诉的处理（{rating_zh}），每件投诉只能评价一次",
    "survey.overlap": "{hall} 大厅 {starts} 至 {ends} 已有满意度调查 {campaign}（{campaign_title}），同一时间只能进行一项",
    "survey.already_ended": "满意度调查 {campaign} {state_zh}，无需结束",
    "survey.already_answered": "此次办事的满意度调查已经提交，感谢您的参与",
    "survey.expired": "满意度调查须在办结后 {hours} 小时内填写，已过期",
    "improvement.bad_step": "整改事项 {improvement} 当前为「{state_zh}」，不能{action}",
    "improvement.self_verify": "整改责任人 {owner} 不能验证自己的整改，请由其他管理人员验证",
    "improvement.not_owner": "只有整改责任人 {owner} 或大厅管理人员可以报告完成",
    "staff.self_disable": "不能停用自己的账号",
    "staff.self_reset": "不能在人员管理中重置自己的密码，请用“修改密码”设置新密码",
    "staff.last_admin": "{staff} 是最后一个在用的系统管理员，不能停用或改为其他角色",
    "staff.already": "工号 {staff} 已{state_zh}",
    "staff.not_locked": "工号 {staff} 未被锁定，无需解锁",
    "appointment.no_free_code": "暂时无法生成预约码，请重试",
    "appointment.used": "预约 {appointment} 已{state_zh}",
    "appointment.too_early": "预约签到时间未到，{opens_at} 起可签到",
    "appointment.expired": "预约已过期，请按普通方式取号",
    # ---- the server and the HTTP exchange ---------------------------------------------------
    "http.method_not_allowed": "此地址不支持 {method} 请求",
    "http.too_large": "请求内容过大",
    "http.timeout": "请求内容接收超时（{seconds} 秒内未收完）",
    "http.error": "请求未能处理（{reason}）",
    "rate.limited": "{group}请求过于频繁，请 {seconds} 秒后再试",
    "pairing.too_many_attempts": "配对码输错次数过多（{minutes} 分钟内 {failures} 次），请 {minutes} 分钟后再试",
    "unavailable.database": "数据库暂不可用（{reason}），请稍后重试",
    "unavailable.timeout": "数据库未在 {seconds} 秒内应答，请稍后重试",
    "unavailable.hall_row": "{hall} 大厅在数据库中没有记录，请重启服务器以创建",
    "unavailable.not_committed": "数据库未接受此次修改（{reason}），请重试",
    "unavailable.stopping": "服务器正在停止，请稍后重试",
    "unavailable.not_ready": "服务暂不可用：{reason}",
    "unavailable.auth": "暂时无法核验 {hall} 大厅的显示屏令牌",
    "unavailable.speech": "语音播报暂不可用：{reason}",
    "internal.error": "服务器内部错误，详情见服务器日志",
}

#: Members of the problem answer a parameter may not overwrite.
RESERVED = frozenset({"type", "title", "status", "detail", "code", "field", "retry_after"})


class QueueError(Exception):
    """Base: a request the server understood and answers with a clear message."""

    title = "内部错误"
    type_slug = "internal"

    retry_after: int | None = None  # seconds a client should wait before trying again

    def __init__(self, code: str, *, field: str | None = None, retry_after: int | None = None,
                 **params: Any) -> None:
        template = CODES[code]  # an unknown code is a bug at the raising site
        clash = RESERVED.intersection(params)
        if clash:
            raise ValueError(f"error parameters may not be named {sorted(clash)}")
        detail = template.format(field=field, **params)
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.extra = params
        if retry_after is not None:
            self.retry_after = retry_after


class InvalidInput(QueueError):
    title = "请求内容有误"
    type_slug = "invalid-input"


class Unauthenticated(QueueError):
    title = "需要登录"
    type_slug = "unauthenticated"


class Forbidden(QueueError):
    title = "无权操作"
    type_slug = "forbidden"


class NotFound(QueueError):
    title = "未找到"
    type_slug = "not-found"


class Refused(QueueError):
    """A command the rules refuse in the current state."""

    title = "当前状态不允许此操作"
    type_slug = "refused"


class UnsupportedMediaType(QueueError):
    title = "请求格式不支持"
    type_slug = "unsupported-media-type"


class RateLimited(QueueError):
    title = "操作过于频繁"
    type_slug = "rate-limited"


class Unavailable(QueueError):
    title = "服务暂不可用"
    type_slug = "unavailable"
    retry_after = 1
