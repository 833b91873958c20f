"""The named operations that service tasks in the diagram call.

Each operation runs inside the command that reached the service task, so what
it writes (breaches, notifications, wall entries, outbox messages, audit
events) lands in the same transaction as the workflow state, or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from .masking import mask_name, mask_phone
from .models import Breach, Case, Notification, OutboxMessage, User, WallEntry
from .spiff import ServiceCall

logger = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
SYSTEM_ACTOR = "system"


@dataclass(slots=True)
class PendingEvent:
    kind: str
    title: str
    detail: dict[str, Any]
    after_step: str | None


@dataclass(slots=True)
class CommandContext:
    """What one command knows while the engine runs: who, when, which case."""

    session: Session
    case: Case
    now: datetime
    actor: str
    actor_name: str
    events: list[PendingEvent] = field(default_factory=list)
    form_values: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def record(
        self, call: ServiceCall | None, kind: str, title: str, **detail: Any
    ) -> None:
        self.events.append(
            PendingEvent(kind, title, detail, call.spec_name if call else None)
        )

    def handle(self, call: ServiceCall) -> Mapping[str, Any]:
        operation = OPERATIONS.get(call.operation)
        if operation is None:
            raise LookupError(f"Unknown operation {call.operation!r}.")
        logger.debug(
            "Running operation",
            extra={"case_id": self.case.id, "operation": call.operation},
        )
        return operation(self, call)


Operation = Callable[[CommandContext, ServiceCall], Mapping[str, Any]]


def register_complaint(ctx: CommandContext, call: ServiceCall) -> Mapping[str, Any]:
    case = ctx.case
    local_day = case.received_at.astimezone(LOCAL_TZ).strftime("%Y%m%d")
    case.work_order_no = f"GD{local_day}{case.id:06d}"
    ctx.record(
        call,
        "registered",
        "登记工单 Registered",
        work_order_no=case.work_order_no,
        unit=case.unit,
    )
    _queue_customer_message(
        ctx,
        call,
        "acknowledgement",
        f"您的投诉已受理，工单号 {case.work_order_no}。我们会尽快核实并与您联系。",
    )
    return {"work_order_no": case.work_order_no}


def record_breach(ctx: CommandContext, call: ServiceCall) -> Mapping[str, Any]:
    rule = str(call.params.get("rule", "sla"))[:200]
    label = str(call.params.get("label") or rule)
    ctx.session.add(
        Breach(
            case_id=ctx.case.id,
            unit=ctx.case.unit,
            rule=rule,
            title=label,
            kind="sla_breach",
            at=ctx.now,
        )
    )
    ctx.record(
        call,
        "sla_breach",
        "记录超时 SLA breach",
        rule=rule,
        label=label,
        unit=ctx.case.unit,
    )
    return {"rule": rule}


def notify_manager(ctx: CommandContext, call: ServiceCall) -> Mapping[str, Any]:
    reason = str(call.params.get("reason", ""))
    text = f"工单{ctx.case.work_order_no}超时：{reason}，请督办。"
    _notify(ctx, call, "manager", ctx.case.unit, "breach", text)
    return {"notified": "manager"}


def refer_unverifiable(ctx: CommandContext, call: ServiceCall) -> Mapping[str, Any]:
    authority = str(call.data.get("authority") or "").strip() or "当地邮政管理部门"
    note = str(call.data.get("verify_note") or "").strip()
    reason = f"（{note}）" if note else ""
    _queue_customer_message(
        ctx,
        call,
        "referral",
        f"您的投诉（工单号 {ctx.case.work_order_no}）因无法核实身份或内容{reason}"
        f"暂无法受理。您可向{authority}反映。",
    )
    return {"authority": authority}


def post_to_wall(ctx: CommandContext, call: ServiceCall) -> Mapping[str, Any]:
    case = ctx.case
    entry = ctx.session.get(WallEntry, case.id)
    if entry is None:
        entry = WallEntry(
            case_id=case.id,
            work_order_no=case.work_order_no or str(case.id),
            category=case.category,
            unit=case.unit,
            complainant_masked=mask_name(case.complainant_name),
            phone_masked=mask_phone(case.complainant_phone),
            received_at=case.received_at,
            posted_at=ctx.now,
            status="handling",
        )
        ctx.session.add(entry)
    entry.status = "handling"
    entry.handler = ctx.actor_name
    ctx.record(
        call, "wall_posted", "上墙公示 Posted to the wall", handler=ctx.actor_name
    )
    return {"posted": True}


def record_criticism(ctx: CommandContext, call: ServiceCall) -> Mapping[str, Any]:
    rule = str(call.params.get("rule", "handle_24h"))[:200]
    case = ctx.case
    ctx.session.add(
        Breach(
            case_id=case.id,
            unit=case.unit,
            rule=rule,
            title=str(call.params.get("label") or rule),
            kind="criticism",
            at=ctx.now,
        )
    )
    entry = ctx.session.get(WallEntry, case.id)
    if entry is not None:
        entry.status = "escalated"
    ctx.record(
        call,
        "criticism",
        "通报批评和整改 Criticism and rectification",
        rule=rule,
        unit=case.unit,
    )
    _notify(
        ctx,
        call,
        "manager",
        case.unit,
        "escalation",
        f"工单{case.work_order_no}超过处理时限，已转部门经理处理，"
        f"并对{case.unit}通报批评、限期整改。",
    )
    return {"rule": rule}


def send_reply(ctx: CommandContext, call: ServiceCall) -> Mapping[str, Any]:
    data = call.data
    channel = str(data.get("reply_channel") or "sms")
    text = str(data.get("reply_text") or "")
    if channel == "phone":
        ctx.record(
            call,
            "phone_callback",
            "电话回访 Phone call-back",
            outcome=str(data.get("callback_outcome") or ""),
            by=ctx.actor_name,
        )
    else:
        _queue_customer_message(ctx, call, "reply", text, channel=channel)
    if data.get("suggestion_adopted"):
        ctx.record(call, "suggestion_adopted", "合理建议已采纳 Suggestion adopted")
    return {"channel": channel}


def publish_result(ctx: CommandContext, call: ServiceCall) -> Mapping[str, Any]:
    data = call.data
    entry = ctx.session.get(WallEntry, ctx.case.id)
    signature = str(call.params.get("signature") or data.get("confirm_user_name") or "")
    rating = call.params.get("rating", data.get("rating"))
    summary = str(call.params.get("summary") or data.get("result") or "")
    if entry is not None:
        entry.status = "published"
        entry.signature = signature
        entry.rating = int(rating) if isinstance(rating, int) else None
        entry.result_summary = summary[:500]
        entry.published_at = ctx.now
    ctx.record(
        call,
        "published",
        "结果上墙 Result published",
        signature=signature,
        rating=rating,
    )
    return {"published": entry is not None}


def report_to_operations(ctx: CommandContext, call: ServiceCall) -> Mapping[str, Any]:
    """The 3-day check: report the case if its result is not yet published."""
    case = ctx.case
    entry = ctx.session.get(WallEntry, case.id)
    resolved = case.status != "open" or (
        entry is not None and entry.status in ("published", "closed")
    )
    if resolved:
        ctx.record(call, "report_3d_skipped", "三日检查：已解决 3-day check: resolved")
        return {"unresolved": False}

    text = f"工单{case.work_order_no}受理已满三日仍未解决，请经营管理部决定。"
    _notify(ctx, call, "operations", None, "report_3d", text)
    ctx.record(call, "report_3d", "三日上报 Reported to operations management")
    return {"unresolved": True}


def close_case(ctx: CommandContext, call: ServiceCall) -> Mapping[str, Any]:
    reason = str(call.params.get("reason", "resolved"))[:200]
    case = ctx.case
    case.status = "closed"
    case.close_reason = reason
    case.closed_at = ctx.now
    entry = ctx.session.get(WallEntry, case.id)
    if entry is not None:
        entry.status = "closed"
    ctx.record(call, "closed", "结案 Closed", reason=reason)
    return {"reason": reason}


OPERATIONS: dict[str, Operation] = {
    "register_complaint": register_complaint,
    "record_breach": record_breach,
    "notify_manager": notify_manager,
    "refer_unverifiable": refer_unverifiable,
    "post_to_wall": post_to_wall,
    "record_criticism": record_criticism,
    "send_reply": send_reply,
    "publish_result": publish_result,
    "report_to_operations": report_to_operations,
    "close_case": close_case,
}


def _notify(
    ctx: CommandContext,
    call: ServiceCall,
    role: str,
    unit: str | None,
    kind: str,
    text: str,
) -> None:
    ctx.session.add(
        Notification(
            case_id=ctx.case.id,
            role=role,
            unit=unit,
            kind=kind,
            text=text,
            created_at=ctx.now,
        )
    )
    recipients = [
        u.display_name
        for u in ctx.session.scalars(select(User)).all()
        if role in u.role_codes and (unit is None or u.unit == unit)
    ]
    ctx.record(
        call,
        "notification",
        "通知 Notification",
        role=role,
        unit=unit,
        recipients=recipients,
        text=text,
    )


def _queue_customer_message(
    ctx: CommandContext,
    call: ServiceCall,
    kind: str,
    body: str,
    channel: str | None = None,
) -> None:
    case = ctx.case
    channel = channel or ("email" if case.channel == "email" else "sms")
    recipient = case.complainant_phone
    if channel == "email":
        if case.complainant_email:
            recipient = case.complainant_email
        else:
            channel = "sms"
    ctx.session.add(
        OutboxMessage(
            case_id=case.id,
            channel=channel,
            recipient=recipient,
            kind=kind,
            body=body,
            created_at=ctx.now,
        )
    )
    ctx.record(
        call,
        "outbox",
        "发送客户消息 Message to the customer",
        channel=channel,
        message_kind=kind,
    )
