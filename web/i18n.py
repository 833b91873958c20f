"""The interface's words in Chinese (the default) and English.

``t(key)`` gives a UI string and ``label(kind, code)`` the name of a code
(category, status, role, ...) in the language of the current request. The
language is chosen with ``?lang=en`` or ``?lang=zh`` and kept in the session.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import engine
from flask import Flask, g, has_request_context, request, session, url_for

logger = logging.getLogger(__name__)

LANGUAGES: Final = ("zh", "en")
DEFAULT_LANGUAGE: Final = "zh"

# key -> (Chinese, English)
STRINGS: Final[dict[str, tuple[str, str]]] = {
    "app.name": ("快递投诉处理系统", "Complaint handling"),
    "app.timezone": ("时间均为北京时间", "Times are Beijing time"),
    "nav.inbox": ("待办任务", "Inbox"),
    "nav.intake": ("受理投诉", "New complaint"),
    "nav.cases": ("工单查询", "Cases"),
    "nav.wall": ("上墙公示", "Public wall"),
    "nav.login": ("登录", "Sign in"),
    "nav.logout": ("退出", "Sign out"),
    "nav.language": ("English", "中文"),
    # auth
    "auth.title": ("员工登录", "Staff sign-in"),
    "auth.username": ("用户名", "Username"),
    "auth.password": ("密码", "Password"),
    "auth.submit": ("登录", "Sign in"),
    "auth.failed": (
        "用户名或密码不正确，请重新输入。",
        "The username or password is not correct; try again.",
    ),
    "auth.bad_input": (
        "请输入不超过60个字符、不含控制字符的用户名和密码。",
        "Enter a username and password of at most 60 characters, "
        "without control characters.",
    ),
    "auth.welcome": ("欢迎，{name}。", "Welcome, {name}."),
    "auth.logged_out": ("您已退出登录。", "You are signed out."),
    "auth.required": ("请先登录。", "Sign in first."),
    "auth.forbidden": (
        "此页面只对以下角色开放：{roles}。",
        "This page is open to these roles only: {roles}.",
    ),
    "auth.demo_title": (
        "演示账号（密码均为 {password}）",
        "Demo accounts (password {password})",
    ),
    "auth.display_name": ("姓名", "Name"),
    "auth.roles": ("角色", "Roles"),
    "auth.unit": ("所属单位", "Unit"),
    "auth.company": ("公司", "Company-wide"),
    "csrf.failed": (
        "表单已失效或来源不明（缺少或错误的安全令牌），请刷新页面后重新提交。",
        "The form has expired or did not come from this site (its security token "
        "is missing or wrong); reload the page and submit it again.",
    ),
    "csrf.api": (
        "API 的 POST 请求须使用 JSON（Content-Type: application/json）"
        "或带有请求头 X-Requested-With: fetch。",
        "POST requests to the API must send JSON (Content-Type: application/json) "
        "or the header X-Requested-With: fetch.",
    ),
    # inbox
    "inbox.title": ("我的待办", "My inbox"),
    "inbox.empty": ("目前没有待办任务。", "There are no open tasks for you."),
    "inbox.work_order": ("工单号", "Work order"),
    "inbox.task": ("任务", "Task"),
    "inbox.category": ("类别", "Category"),
    "inbox.unit": ("责任单位", "Unit"),
    "inbox.ready_since": ("待办起始", "Ready since"),
    "inbox.due_at": ("截止时间", "Due at"),
    "inbox.assignee": ("认领人", "Assignee"),
    "inbox.actions": ("操作", "Actions"),
    "inbox.mine": ("我已认领", "Mine"),
    "inbox.overdue": ("已超时", "Overdue"),
    "inbox.claim": ("认领", "Claim"),
    "inbox.release": ("放弃", "Release"),
    "inbox.open": ("办理", "Open"),
    "inbox.notifications": ("通知", "Notifications"),
    "inbox.no_notifications": ("没有通知。", "No notifications."),
    "inbox.claimed": ("已认领任务：{title}。", "Claimed: {title}."),
    "inbox.released": ("已放弃认领：{title}。", "Released: {title}."),
    "inbox.completed": ("已完成任务：{title}。", "Completed: {title}."),
    "task.not_yours": (
        "此任务不属于您的角色或单位，无法查看。",
        "This task belongs to another role or unit; you cannot open it.",
    ),
    "task.case": ("工单概要", "Case summary"),
    "task.form": ("办理表单", "Form"),
    "task.no_form": (
        "此任务没有需要填写的内容，确认后即可完成。",
        "This task has nothing to fill in; confirm to complete it.",
    ),
    "task.complete": ("提交并完成", "Submit and complete"),
    "task.fix_errors": ("请更正标出的字段。", "Correct the marked fields."),
    "task.claimed_by": ("认领人：{user}", "Claimed by {user}"),
    "task.unclaimed": ("尚未认领", "Not claimed"),
    "task.full_contact_note": (
        "投诉人完整联系方式暂不可见（见系统说明）。",
        "The complainant's full contact details are not available here.",
    ),
    "form.required": ("必填", "required"),
    "form.choose": ("请选择", "Choose"),
    "form.yes": ("是", "Yes"),
    "form.no": ("否", "No"),
    # case fields
    "case.waybill": ("运单号", "Waybill"),
    "case.channel": ("渠道", "Channel"),
    "case.severity": ("严重程度", "Severity"),
    "case.complainant": ("投诉人", "Complainant"),
    "case.phone": ("电话", "Phone"),
    "case.email": ("邮箱", "E-mail"),
    "case.description": ("投诉内容", "Description"),
    "case.received_at": ("受理时间", "Received at"),
    "case.status": ("状态", "Status"),
    "case.close_reason": ("结案原因", "Close reason"),
    "case.closed_at": ("结案时间", "Closed at"),
    "case.current_step": ("当前环节", "Current step"),
    "case.next_due_at": ("下一个时限", "Next timer"),
    "case.version": ("流程版本", "Definition version"),
    "case.deadlines": ("时限", "Deadlines"),
    "case.error": ("引擎错误", "Engine error"),
    # intake
    "intake.title": ("受理投诉", "Record a complaint"),
    "intake.unit_auto": ("按运单号自动分派", "Routed by waybill"),
    "intake.submit": ("登记工单", "Register the complaint"),
    "intake.created": ("已登记工单 {number}。", "Work order {number} registered."),
    "intake.fix_errors": (
        "投诉信息有误，请更正标出的字段。",
        "Correct the marked fields.",
    ),
    # wall
    "wall.title": ("投诉受理上墙公示", "Complaints on the wall"),
    "wall.tv": ("大屏模式", "TV mode"),
    "wall.empty": ("暂无已签收的工单。", "No work order has been signed for yet."),
    "wall.note": (
        "所有已签收工单在此公示；投诉人信息已作脱敏处理。",
        "Every signed-for work order is posted here; personal data is masked.",
    ),
    "wall.verify_by": ("核实时限", "Verify by"),
    "wall.handle_by": ("处理时限", "Handle by"),
    "wall.result": ("处理结果", "Result"),
    "wall.handler": ("签收人", "Signed for by"),
    "wall.signature": ("处理人签字", "Handler's signature"),
    "wall.rating": ("领导评价", "Leader's rating"),
    "wall.updated": ("更新于 {time}", "Updated {time}"),
    "deadline.overdue": ("已超时", "overdue"),
    # audit
    "audit.title": ("工单查询", "Cases"),
    "audit.search": ("工单号", "Work-order number"),
    "audit.filter": ("筛选", "Filter"),
    "audit.all": ("全部", "All"),
    "audit.empty": ("没有符合条件的工单。", "No case matches."),
    "audit.not_found": ("没有找到工单“{key}”。", "No case “{key}” was found."),
    "audit.bad_search": (
        "请输入不超过40个字符、不含控制字符的工单号。",
        "Enter a work-order number of at most 40 characters without control "
        "characters.",
    ),
    "audit.bad_status": (
        "状态“{status}”无效，已显示全部工单。",
        "The status “{status}” is not known; all cases are shown.",
    ),
    "audit.case": ("工单 {number}", "Case {number}"),
    "audit.open_tasks": ("待办任务", "Open tasks"),
    "audit.no_tasks": ("没有待办任务。", "No open tasks."),
    "audit.outbox": ("客户消息", "Messages to the customer"),
    "audit.no_outbox": ("没有客户消息。", "No messages."),
    "audit.breaches": ("超时与通报", "Breaches"),
    "audit.no_breaches": ("没有记录。", "None recorded."),
    "audit.trail": ("审计记录", "Audit trail"),
    "audit.seq": ("序号", "Seq"),
    "audit.time": ("时间", "Time"),
    "audit.actor": ("操作人", "Actor"),
    "audit.kind": ("类型", "Kind"),
    "audit.event": ("事件", "Event"),
    "audit.detail": ("详情", "Detail"),
    "audit.chain_ok": (
        "哈希链完整：{events} 条记录均未被改动或删除。",
        "Hash chain intact: none of the {events} events was altered or removed.",
    ),
    "audit.chain_broken": ("哈希链已损坏：{reason}", "Hash chain broken: {reason}"),
    "audit.channel": ("渠道", "Channel"),
    "audit.recipient": ("收件人", "Recipient"),
    "audit.message": ("内容", "Message"),
    "audit.message_status": ("状态", "Status"),
    "audit.rule": ("规则", "Rule"),
    # errors
    "error.title": ("出错了", "Something went wrong"),
    "error.400": ("请求无效", "Bad request"),
    "error.401": ("需要登录", "Sign-in required"),
    "error.403": ("无权访问", "Not allowed"),
    "error.404": ("未找到", "Not found"),
    "error.404.message": (
        "没有这个页面或对象；请检查地址，或从导航重新进入。",
        "There is no such page or record; check the address or start again from "
        "the navigation.",
    ),
    "error.405": ("方法不允许", "Method not allowed"),
    "error.405.message": (
        "此地址不接受 {method} 请求；请使用页面上的按钮或链接。",
        "This address does not accept {method} requests; use the buttons and links "
        "on the pages.",
    ),
    "error.409": ("冲突", "Conflict"),
    "error.413": ("内容太大", "Too large"),
    "error.422": ("内容有误", "Invalid input"),
    "error.500": ("服务器错误", "Server error"),
    "error.500.message": (
        "服务器处理请求时出错，已记录日志；请稍后重试，若仍失败请联系管理员。",
        "The server failed while handling the request and logged it; try again "
        "later, and tell an administrator if it keeps failing.",
    ),
    "error.back": ("返回首页", "Back to the start page"),
    "api.body_object": (
        "请求体应为 JSON 对象（Content-Type: application/json）。",
        "The request body must be a JSON object (Content-Type: application/json).",
    ),
    "health.down": (
        "数据库无法访问：{reason}",
        "The database cannot be reached: {reason}",
    ),
}

# kind -> code -> (Chinese, English)
LABELS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "event": {
        "received": ("受理", "Received"),
        "event": ("流程节点", "Process event"),
        "service": ("系统操作", "System step"),
        "decision": ("决策", "Decision"),
        "script": ("脚本", "Script"),
        "task_completed": ("办理完成", "Task completed"),
        "timer_fired": ("计时到期", "Timer fired"),
        "claimed": ("认领", "Claimed"),
        "released": ("放弃认领", "Released"),
        "registered": ("登记", "Registered"),
        "outbox": ("客户消息", "Customer message"),
        "notification": ("内部通知", "Staff notice"),
        "sla_breach": ("超时记录", "SLA breach"),
        "criticism": ("通报批评", "Criticism"),
        "wall_posted": ("上墙", "Posted"),
        "published": ("结果公示", "Published"),
        "phone_callback": ("电话回访", "Call-back"),
        "suggestion_adopted": ("建议采纳", "Suggestion adopted"),
        "report_3d": ("三日上报", "3-day report"),
        "report_3d_skipped": ("三日检查", "3-day check"),
        "closed": ("结案", "Closed"),
        "error": ("流程错误", "Engine error"),
    },
    "category": {
        "delay": ("延误", "Delay"),
        "loss": ("丢失", "Loss"),
        "damage": ("破损", "Damage"),
        "attitude": ("服务态度", "Service attitude"),
        "false_signature": ("虚假签收", "False signature"),
        "fee_dispute": ("费用争议", "Fee dispute"),
        "not_delivered_to_door": ("未送货上门", "Not delivered to the door"),
        "other": ("其他", "Other"),
    },
    "severity": {
        "low": ("轻微", "Low"),
        "medium": ("一般", "Medium"),
        "high": ("严重", "High"),
        "critical": ("特别严重", "Critical"),
    },
    "channel": {
        "web": ("网页", "Web"),
        "hotline": ("热线电话", "Hotline"),
        "email": ("电子邮件", "E-mail"),
        "sms": ("短信", "SMS"),
        "phone": ("电话回访", "Phone call-back"),
    },
    "status": {
        "open": ("处理中", "Open"),
        "closed": ("已结案", "Closed"),
        "error": ("异常", "Error"),
        "handling": ("处理中", "Handling"),
        "escalated": ("已升级", "Escalated"),
        "published": ("已公示", "Published"),
    },
    "role": {
        "customer_service": ("客服", "Customer service"),
        "work_order_centre": ("工单中心", "Work-order centre"),
        "handler": ("投诉处理员", "Complaint handler"),
        "manager": ("部门经理", "Department manager"),
        "operations": ("经营管理部", "Operations management"),
        "auditor": ("审计", "Auditor"),
        "analyst": ("业务分析", "Business analyst"),
    },
    "close_reason": {
        "unverifiable": ("无法核实", "Unverifiable"),
        "resolved": ("已解决", "Resolved"),
        "no_dispute": ("无异议", "No dispute"),
    },
    "deadline": {
        "verify_by": ("核实时限", "Verify by"),
        "handle_by": ("处理时限", "Handle by"),
        "report_by": ("三日上报", "Report by"),
        "dispute_until": ("异议期限", "Dispute until"),
    },
    "deadline_state": {
        "waiting": ("计时中", "running"),
        "met": ("已按时完成", "met"),
        "missed": ("已超时", "missed"),
    },
    "outbox_status": {
        "pending": ("待发送", "Pending"),
        "sent": ("已发送", "Sent"),
        "failed": ("发送失败", "Failed"),
    },
    "breach": {
        "sla_breach": ("超时", "SLA breach"),
        "criticism": ("通报批评", "Criticism"),
    },
}


def current_language() -> str:
    """The language of the current request, or the default outside one."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    return str(g.get("lang", DEFAULT_LANGUAGE))


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def t(key: str, /, **params: object) -> str:
    """The UI string ``key``; unknown keys come back as themselves."""
    pair = STRINGS.get(key)
    if pair is None:
        logger.warning("Missing UI string", extra={"key": key})
        return key
    text = _pick(pair, current_language())
    return text.format(**params) if params else text


def label(kind: str, code: str | None) -> str:
    """The name of a code; an unknown code is shown as it is."""
    if code is None:
        return ""
    pair = LABELS.get(kind, {}).get(code)
    return _pick(pair, current_language()) if pair else code


def in_language(text: str | None, lang: str | None = None) -> str:
    """One language of a bilingual text such as ``"核实 Verify"``."""
    if not text:
        return ""
    chinese, english = engine.split_bilingual(text)
    return english if (lang or current_language()) == "en" else chinese


def lang_url(lang: str) -> str:
    """This page in another language; a page made by a POST falls back to the inbox."""
    if request.method != "GET" or request.endpoint is None:
        return url_for("inbox.index", lang=lang)
    # Keys starting with "_" mean something to url_for itself (_method,
    # _external); a visitor's query string must not steer it.
    args: dict[str, Any] = {
        k: v for k, v in request.args.to_dict().items() if not k.startswith("_")
    }
    args.update(request.view_args or {})
    args["lang"] = lang
    return url_for(request.endpoint, **args)


def choose_language() -> None:
    """Take ``?lang=`` when it names a language we have, else the session's."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
    lang = session.get("lang")
    g.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    app.before_request(choose_language)
    app.jinja_env.filters["pick"] = in_language
    app.jinja_env.globals.update(
        t=t,
        label=label,
        in_language=in_language,
        current_language=current_language,
        lang_url=lang_url,
    )
