"""Projections: the rows beside the serialized state that queries read.

After every command the open tasks, the case header (status, current step,
``next_due_at``, deadlines) and the audit trail are brought up to date from
the workflow. Open tasks are synchronised by diff, so tasks the engine deleted
(a cancelled branch, an interrupted subprocess) disappear too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .audit import AuditLog
from .definitions import LoadedDefinition
from .models import OpenTask
from .operations import SYSTEM_ACTOR, CommandContext, PendingEvent
from .spiff import CaseRunner, ReadyTask, Step

_SKIPPED_FORM_KEYS = ("_user", "_user_name", "_time")


def refresh_case(
    ctx: CommandContext, audit: AuditLog, loaded: LoadedDefinition, runner: CaseRunner
) -> None:
    steps = runner.new_steps()
    fired = _write_steps(ctx, audit, steps)
    _take_facts(ctx, loaded, steps)
    ready = runner.ready_tasks()
    _sync_open_tasks(ctx, loaded, ready)
    _update_header(ctx, loaded, runner, ready, fired)


def _write_steps(ctx: CommandContext, audit: AuditLog, steps: list[Step]) -> set[str]:
    """Append the command's steps and operation events in the order they happened."""
    pending = list(ctx.events)
    fired: set[str] = set()
    for step in steps:
        detail: dict[str, Any] = {"lane": step.lane}
        actor = SYSTEM_ACTOR
        if step.kind == "task_completed":
            actor = ctx.actor
            values = ctx.form_values.get(step.spec_name, {})
            detail["values"] = {
                k: v for k, v in values.items() if not k.endswith(_SKIPPED_FORM_KEYS)
            }
            detail["by"] = ctx.actor_name
        if step.kind == "timer_fired":
            fired.add(step.spec_name)
        if step.outputs:
            detail["decided"] = step.outputs
        audit.append(
            at=ctx.now,
            actor=actor,
            kind=step.kind,
            step=step.spec_name,
            title=step.title,
            detail=detail,
        )

        for event in [e for e in pending if e.after_step == step.spec_name]:
            pending.remove(event)
            _append_event(ctx, audit, event)

    for event in pending:
        _append_event(ctx, audit, event)
    ctx.events.clear()
    return fired


def _append_event(ctx: CommandContext, audit: AuditLog, event: PendingEvent) -> None:
    """Record what an operation did, under the step that called it."""
    audit.append(
        at=ctx.now,
        actor=SYSTEM_ACTOR,
        kind=event.kind,
        step=event.after_step,
        title=event.title,
        detail=event.detail,
    )


def _take_facts(
    ctx: CommandContext, loaded: LoadedDefinition, steps: list[Step]
) -> None:
    """Copy what forms and decisions of this command set into the case header."""
    values: dict[str, Any] = {}
    for step in steps:
        values.update(ctx.form_values.get(step.spec_name, {}))
        values.update(step.outputs)
    if not values:
        return

    case = ctx.case
    for column, variable in loaded.manifest.case_fields.items():
        if isinstance(values.get(variable), str) and values[variable]:
            setattr(case, column, values[variable][:40])
    facts = dict(case.facts or {})
    for variable, fact in loaded.manifest.facts.items():
        if variable in values:
            title = f"{fact.title} {fact.title_en}"
            facts[variable] = {"title": title, "value": values[variable]}
    case.facts = facts


def _sync_open_tasks(
    ctx: CommandContext, loaded: LoadedDefinition, ready: list[ReadyTask]
) -> None:
    session, case = ctx.session, ctx.case
    rows = {
        row.id: row
        for row in session.scalars(select(OpenTask).where(OpenTask.case_id == case.id))
    }
    wanted = {task.id: task for task in ready}

    for task_id, row in rows.items():
        if task_id not in wanted:
            session.delete(row)

    for task_id, task in wanted.items():
        existing = rows.get(task_id)
        if existing is None:
            role = loaded.manifest.role_for_lane(task.lane)
            session.add(
                OpenTask(
                    id=task_id,
                    case_id=case.id,
                    spec_name=task.spec_name,
                    title=task.title,
                    role=role.code if role else "",
                    unit=case.unit if role and role.scope == "unit" else None,
                    form_name=task.form,
                    ready_since=ctx.now,
                    due_at=task.due_at,
                )
            )
        elif existing.due_at is None or (
            task.due_at is not None and task.due_at < existing.due_at
        ):
            existing.due_at = task.due_at
        # Otherwise the deadline already shown stays: a passed deadline whose
        # timer fired (a non-interrupting breach) keeps the task marked overdue.


def _update_header(
    ctx: CommandContext,
    loaded: LoadedDefinition,
    runner: CaseRunner,
    ready: list[ReadyTask],
    fired: set[str],
) -> None:
    case = ctx.case
    case.current_step = "、".join(t.title for t in ready)[:400]
    timers = runner.waiting_timers()
    case.next_due_at = timers[0].due_at if timers else None

    deadlines = dict(case.deadlines or {})
    waiting = {t.spec_name: t for t in timers}
    for timer_id, deadline in loaded.manifest.deadlines.items():
        previous = deadlines.get(deadline.key)
        if timer_id in waiting:
            deadlines[deadline.key] = {
                "due": waiting[timer_id].due_at.isoformat(),
                "state": "waiting",
            }
        elif timer_id in fired and previous:
            deadlines[deadline.key] = {**previous, "state": "missed"}
        elif previous and previous.get("state") == "waiting":
            deadlines[deadline.key] = {**previous, "state": "met"}
    case.deadlines = deadlines

    if runner.completed and case.status == "open":
        case.status = "closed"
        case.closed_at = ctx.now
