"""Whole lifecycles, one scenario per branch, on a fake clock.

Each test reads like the complaint it drives: who does what, what time passes,
what the system must have recorded.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import queries
from engine.models import Breach, Notification, OutboxMessage, WallEntry


def _breaches(world, case_id):
    with world.system.db.reading() as session:
        return [
            (b.rule, b.kind, b.unit)
            for b in session.scalars(select(Breach).where(Breach.case_id == case_id))
        ]


def _notifications(world, case_id):
    with world.system.db.reading() as session:
        return [
            (n.role, n.kind)
            for n in session.scalars(
                select(Notification).where(Notification.case_id == case_id)
            )
        ]


def _outbox(world, case_id):
    with world.system.db.reading() as session:
        return [
            (m.kind, m.channel, m.body)
            for m in session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.case_id == case_id)
                .order_by(OutboxMessage.id)
            )
        ]


def _wall(world, case_id):
    with world.system.db.reading() as session:
        return session.get(WallEntry, case_id)


def test_intake_registers_acknowledges_and_waits_for_verification(world):
    case_id = world.start()

    case = world.case(case_id)
    assert case.status == "open"
    assert case.work_order_no and case.work_order_no.startswith("GD")
    assert world.task_names(case_id) == ["verify"]
    verify = world.task(case_id, "verify")
    assert verify.role == "work_order_centre"
    assert verify.due_at == world.clock.now() + timedelta(minutes=15)
    assert case.next_due_at == verify.due_at
    assert [kind for kind, *_ in _outbox(world, case_id)] == ["acknowledgement"]
    assert world.audit_kinds(case_id)[:2] == ["received", "event"]


def test_verified_in_time_leaves_no_breach(world):
    case_id = world.start()
    world.clock.advance(timedelta(minutes=10))

    world.verify(case_id)
    world.advance(minutes=30)

    assert _breaches(world, case_id) == []
    assert world.task_names(case_id) == ["sign"]
    assert world.task(case_id, "sign").role == "handler"
    assert world.case(case_id).deadlines["verify_by"]["state"] == "met"


def test_late_verification_records_breach_notifies_manager_and_stays_open(world):
    case_id = world.start()

    world.advance(minutes=16)

    unit = world.case(case_id).unit
    assert _breaches(world, case_id) == [("verify_15m", "sla_breach", unit)]
    assert ("manager", "breach") in _notifications(world, case_id)
    assert world.task_names(case_id) == ["verify"]
    assert "timer_fired" in world.audit_kinds(case_id)
    assert world.case(case_id).deadlines["verify_by"]["state"] == "missed"

    # Verification still has to happen, and the case carries on afterwards.
    world.verify(case_id)
    assert world.task_names(case_id) == ["sign"]
    assert len(_breaches(world, case_id)) == 1


def test_unverifiable_closes_and_tells_customer_where_to_turn(world):
    case_id = world.start()

    world.complete(
        case_id,
        "verify",
        "gongdan",
        verification="unverifiable",
        verify_note="联系方式无效",
        authority="当地邮政管理局",
    )

    case = world.case(case_id)
    assert case.status == "closed"
    assert case.close_reason == "unverifiable"
    assert world.open_tasks(case_id) == []
    referral = [body for kind, _, body in _outbox(world, case_id) if kind == "referral"]
    assert referral and "当地邮政管理局" in referral[0]
    assert _wall(world, case_id) is None


def test_handled_in_time_goes_to_reply(world):
    case_id = world.start()
    world.verify(case_id)
    world.sign_and_grade(case_id)

    wall = _wall(world, case_id)
    assert wall is not None and wall.status == "handling"
    assert wall.complainant_masked == "徐**"
    assert wall.phone_masked == "199****0000"

    world.clock.advance(timedelta(hours=20))
    world.handle(case_id)
    world.advance(hours=10)

    assert world.task_names(case_id) == ["reply"]
    assert [b for b in _breaches(world, case_id) if b[1] == "criticism"] == []


def test_grading_decision_sets_level_and_measure(world):
    case_id = world.start()
    world.verify(case_id)
    world.sign_and_grade(case_id)

    handle = world.task(case_id, "handle")
    form, initial = world.engine.task_form(handle.id)
    assert form is not None
    # loss/high comes out of the decision table as a measure the handle form
    # shows as its starting value.
    assert initial["measure_taken"]


def test_24_hours_escalate_to_manager_with_criticism(world):
    case_id = world.start()
    world.verify(case_id)
    handler = world.handler_for(case_id)
    world.complete(case_id, "sign", handler, sign_ack="true")

    world.advance(hours=24, minutes=1)

    unit = world.case(case_id).unit
    assert ("handle_24h", "criticism", unit) in _breaches(world, case_id)
    assert world.task_names(case_id) == ["manager_handle"]
    assert world.task(case_id, "manager_handle").role == "manager"
    assert _wall(world, case_id).status == "escalated"
    assert ("manager", "escalation") in _notifications(world, case_id)

    world.handle(
        case_id, spec_name="manager_handle", user=world.handler_for(case_id, "manager")
    )
    assert world.task_names(case_id) == ["reply"]


def test_unresolved_after_3_days_reported_to_operations(world):
    case_id = world.start()
    world.verify(case_id)
    world.sign_and_grade(case_id)
    world.handle(case_id, resolved=False)
    assert world.task_names(case_id) == ["ops_decide"]

    world.advance(days=3, minutes=1)

    names = world.task_names(case_id)
    assert "ops_report" in names
    assert world.task(case_id, "ops_report").role == "operations"
    assert ("operations", "report_3d") in _notifications(world, case_id)
    assert "report_3d" in world.audit_kinds(case_id)


def test_reply_publication_carries_signature_and_rating(world):
    case_id = world.start()
    world.verify(case_id)
    world.sign_and_grade(case_id)
    world.handle(case_id)

    world.reply_confirm_rate(case_id)

    wall = _wall(world, case_id)
    handler = world.handler_for(case_id)
    assert wall.status == "published"
    assert wall.signature == handler.display_name
    assert wall.rating == 4
    assert wall.result_summary == "快件已找回并重新派送"
    assert ("reply", "sms") in [(k, c) for k, c, _ in _outbox(world, case_id)]
    assert world.task_names(case_id) == ["await_customer"]


def test_dispute_sends_the_order_back_to_handling(world):
    case_id = world.start()
    world.verify(case_id)
    world.sign_and_grade(case_id)
    world.handle(case_id)
    world.reply_confirm_rate(case_id)

    world.complete(
        case_id,
        "await_customer",
        "kefu",
        disputed="true",
        dispute_reason="赔偿金额不合理",
    )
    assert world.task_names(case_id) == ["re_review"]
    world.complete(case_id, "re_review", "jingying", review_decision="重新调查赔偿标准")

    assert world.task_names(case_id) == ["sign"]
    assert world.case(case_id).status == "open"


def test_no_dispute_within_window_closes(world):
    case_id = world.start()
    world.verify(case_id)
    world.sign_and_grade(case_id)
    world.handle(case_id)
    world.reply_confirm_rate(case_id)

    world.advance(days=7, minutes=1)

    case = world.case(case_id)
    assert case.status == "closed"
    assert case.close_reason == "no_dispute"
    assert world.open_tasks(case_id) == []
    assert _wall(world, case_id).status == "closed"
    # The result was published before day 3, so no report went to operations.
    assert "report_3d_skipped" in world.audit_kinds(case_id)
    assert ("operations", "report_3d") not in _notifications(world, case_id)


def test_customer_accepts_and_case_closes_resolved(world):
    case_id = world.start()
    world.verify(case_id)
    world.sign_and_grade(case_id)
    world.handle(case_id)
    world.reply_confirm_rate(case_id)

    world.complete(case_id, "await_customer", "kefu", disputed="false")

    case = world.case(case_id)
    assert (case.status, case.close_reason) == ("closed", "resolved")
    with world.system.db.reading() as session:
        assert queries.status(session)["cases"]["closed"] == 1


def test_every_time_node_is_on_record_in_order(world):
    case_id = world.start()
    world.verify(case_id)
    world.sign_and_grade(case_id)
    world.handle(case_id)
    world.reply_confirm_rate(case_id)
    world.complete(case_id, "await_customer", "kefu", disputed="false")

    steps = world.audit_steps(case_id)
    nodes = [
        "register",
        "verify",
        "sign",
        "post_to_wall_task",
        "grade",
        "handle",
        "reply",
        "send_reply_task",
        "confirm",
        "rate",
        "publish_result_task",
        "await_customer",
        "close_resolved",
    ]
    positions = [steps.index(node) for node in nodes]
    assert positions == sorted(positions)
    events = world.audit(case_id)
    assert all(e.at is not None and e.actor for e in events)
    verify = next(
        e for e in events if e.step == "verify" and e.kind == "task_completed"
    )
    assert verify.actor == "gongdan"
    assert verify.detail["values"]["verification"] == "verified"


def test_a_late_action_still_records_the_breach_that_fell_due_first(world):
    """Acting after a deadline without a sweep in between fires the timer first."""
    case_id = world.start()
    world.clock.advance(timedelta(minutes=40))  # no sweep ran meanwhile

    world.verify(case_id)

    assert [rule for rule, *_ in _breaches(world, case_id)] == ["verify_15m"]
    order = [(e.kind, e.step) for e in world.audit(case_id)]
    assert order.index(("timer_fired", "verify_sla")) < order.index(
        ("task_completed", "verify")
    )


def test_a_missed_verification_deadline_stays_on_the_task(world):
    case_id = world.start()
    due = world.task(case_id, "verify").due_at

    world.advance(minutes=16)

    task = world.task(case_id, "verify")
    assert task.due_at == due
    assert task.overdue(world.clock.now())


def test_tasks_show_their_own_deadlines_not_the_case_report(world):
    case_id = world.start()
    world.verify(case_id)
    sign = world.task(case_id, "sign")
    assert sign.due_at == world.clock.now() + timedelta(hours=24)

    world.sign_and_grade(case_id)
    world.handle(case_id)
    # The reply has no deadline of its own; the 3-day report watches the case.
    assert world.task(case_id, "reply").due_at is None
