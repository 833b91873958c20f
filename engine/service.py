"""The engine's commands: start a case, claim, complete, fire due timers.

Every command loads one case, runs the workflow, and writes in one transaction
the serialized state, the projections, the audit events and the outbox. The
case row's version column makes a concurrent second writer fail with
:class:`ConflictError` instead of overwriting the first.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import (
    IntegrityError,
    InterfaceError,
    InvalidRequestError,
    OperationalError,
    PendingRollbackError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

from . import definitions, forms, queries
from .audit import AuditLog
from .clock import Clock, pinned
from .db import Database
from .definitions import DefinitionCache, LoadedDefinition
from .errors import (
    CaseRunError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    TaskStateError,
)
from .intake import Intake
from .masking import mask_name, mask_phone
from .models import Case, Definition, OpenTask
from .operations import SYSTEM_ACTOR, CommandContext
from .projections import refresh_case
from .spiff import CaseRunner, describe_failure, service_handler
from .text import bilingual
from .users import Staff

logger = logging.getLogger(__name__)

PROCESSES_DIR = Path(__file__).resolve().parent.parent / "processes"


def _assign(
    ctx: CommandContext,
    audit: AuditLog,
    row: OpenTask,
    assignee: str | None,
    kind: str,
    title: tuple[str, str],
) -> None:
    """Claim or release an open task, on record."""
    row.assignee = assignee
    row.assignee_name = ctx.actor_name if assignee else None
    row.claimed_at = ctx.now if assignee else None
    ctx.case.updated_at = ctx.now
    audit.append(
        at=ctx.now,
        actor=ctx.actor,
        kind=kind,
        step=row.spec_name,
        title=bilingual(*title, row.title),
    )
    ctx.case.audit_head = audit.head


_NO_LONGER_OPEN = (
    "该任务已不在待办中（可能已被办理或超时转交）。 The task is no longer open; "
    "it was completed, or its deadline moved it on."
)


def _database_cause(exc: BaseException) -> SQLAlchemyError | None:
    """The database error behind an engine failure, if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SQLAlchemyError):
            return current
        seen.add(id(current))
        current = (
            getattr(current, "exception", None)
            or current.__cause__
            or current.__context__
        )
    return None


@contextlib.contextmanager
def _conflicts_as_errors(case_id: int | None) -> Iterator[None]:
    """Turn the database's ways of saying "someone else wrote first" into one.

    Only the audit sequence's uniqueness means a concurrent writer; any other
    integrity error is about this case's data and is raised as it is.
    """
    try:
        yield
    except StaleDataError:
        raise ConflictError(case_id or 0) from None
    except IntegrityError as exc:
        if "audit_events" in str(exc):
            raise ConflictError(case_id or 0) from None
        raise
    except OperationalError as exc:
        if "locked" in str(exc).lower():
            raise ConflictError(case_id or 0) from None
        raise


class Engine:
    """Runs complaint cases against a database, with one clock for all of time."""

    def __init__(
        self, db: Database, clock: Clock, *, process_id: str = "complaint_lifecycle"
    ):
        self.db = db
        self.clock = clock
        self.process_id = process_id
        self.definitions = DefinitionCache()

    # --- definitions -------------------------------------------------------

    def deploy(
        self, files: Mapping[str, bytes], *, by: str, note: str = ""
    ) -> tuple[int, bool]:
        """Deploy process files; return (version, whether it is new)."""
        with self.db.transaction() as session:
            definition, created = definitions.deploy(
                session,
                files,
                by=by,
                at=self.clock.now(),
                note=note,
                process_id=self.process_id,
            )
            return definition.version, created

    def deployed_version(self) -> int | None:
        """The version new cases start on, or None before the first deploy."""
        with self.db.reading() as session:
            try:
                return definitions.latest(session, self.process_id).version
            except NotFoundError:
                return None

    def check_folder(self, folder: Path = PROCESSES_DIR) -> tuple[int | None, bool]:
        """(the deployed version with the folder's content or None, is latest)."""
        digest = definitions.content_hash(definitions.read_folder(folder))
        with self.db.reading() as session:
            found = session.scalar(
                select(Definition).where(
                    Definition.process_id == self.process_id,
                    Definition.content_hash == digest,
                )
            )
            if found is None:
                return None, False
            latest = definitions.latest(session, self.process_id)
            return found.version, found.id == latest.id

    def deploy_folder(
        self, folder: Path = PROCESSES_DIR, *, by: str = SYSTEM_ACTOR
    ) -> tuple[int, bool]:
        return self.deploy(definitions.read_folder(folder), by=by)

    def loaded(self, session: Session, definition_id: int) -> LoadedDefinition:
        definition = session.get(Definition, definition_id)
        if definition is None:
            raise NotFoundError("definition", definition_id)
        return self.definitions.get(definition)

    # --- commands ------------------------------------------------------------

    def start_case(self, intake: Intake, *, actor: Staff | None = None) -> int:
        """Start a case for a complaint; its clock starts at ``received_at``.

        Starting "as of" the moment the customer complained means a complaint
        imported late gets its deadlines from when it was received, and the
        sweeper fires whatever is already overdue. The same complaint arriving
        twice (same waybill, same moment) is refused.
        """
        try:
            return self._start_case(intake, actor=actor)
        except IntegrityError:
            raise InputError(
                "该投诉已受理过。 This complaint was already received.",
                {
                    "waybill_no": "同一运单同一时间的投诉已存在。 A complaint about this "
                    "waybill at this moment exists already."
                },
            ) from None

    def _start_case(self, intake: Intake, *, actor: Staff | None) -> int:
        now = self.clock.now()
        started_at = min(intake.received_at, now)
        with self.db.transaction() as session, pinned(started_at):
            definition = definitions.latest(session, self.process_id)
            loaded = self.definitions.get(definition)
            case = Case(
                definition_id=definition.id,
                status="open",
                unit=intake.unit,
                channel=intake.channel,
                waybill_no=intake.waybill_no,
                category=intake.category,
                severity=intake.severity,
                complainant_name=intake.complainant_name,
                complainant_phone=intake.complainant_phone,
                complainant_email=intake.complainant_email,
                description=intake.description,
                received_at=intake.received_at,
                created_at=now,
                updated_at=now,
                deadlines={},
            )
            session.add(case)
            session.flush()

            ctx = self._context(session, case, started_at, actor)
            audit = AuditLog(session, case.id)
            audit.append(
                at=started_at,
                actor=ctx.actor,
                kind="received",
                title="收到投诉 Received",
                detail={
                    "channel": intake.channel,
                    "waybill_no": intake.waybill_no,
                    "complainant": mask_name(intake.complainant_name),
                    "phone": mask_phone(intake.complainant_phone),
                    "category": intake.category,
                    "severity": intake.severity,
                    "recorded_by": ctx.actor_name,
                },
            )
            runner = CaseRunner.start(loaded.parsed, intake.case_data())
            self._run(ctx, runner, lambda: runner.run())
            self._save(ctx, audit, loaded, runner)
            case_id = case.id
        logger.info("Case started", extra={"case_id": case_id})
        return case_id

    def find_duplicate(self, intake: Intake) -> int | None:
        """A case already started for the same waybill at the same moment."""
        with self.db.reading() as session:
            return session.scalar(
                select(Case.id).where(
                    Case.waybill_no == intake.waybill_no,
                    Case.received_at == intake.received_at,
                )
            )

    def claim(self, task_id: str, user: Staff) -> None:
        def claim_row(
            ctx: CommandContext,
            audit: AuditLog,
            row: OpenTask,
            loaded: LoadedDefinition,
        ) -> None:
            if row.assignee == user.username:
                return
            if row.assignee is not None:
                raise TaskStateError(
                    f"该任务已被 {row.assignee} 认领。 The task is already claimed by "
                    f"{row.assignee}.",
                    task_id=task_id,
                )
            _assign(ctx, audit, row, user.username, "claimed", ("认领", "Claimed"))

        self._task_command(task_id, user, claim_row)

    def release(self, task_id: str, user: Staff) -> None:
        def release_row(
            ctx: CommandContext,
            audit: AuditLog,
            row: OpenTask,
            loaded: LoadedDefinition,
        ) -> None:
            if row.assignee != user.username:
                raise TaskStateError(
                    "只有认领人可以放弃认领。 Only the user who claimed "
                    "a task can release it.",
                    task_id=task_id,
                )
            _assign(ctx, audit, row, None, "released", ("放弃认领", "Released"))

        self._task_command(task_id, user, release_row)

    def complete(
        self,
        task_id: str,
        user: Staff,
        submitted: Mapping[str, Any],
        *,
        lang: str = "zh",
    ) -> None:
        """Validate the form, complete the task and run the case onward."""

        def complete_row(
            ctx: CommandContext,
            audit: AuditLog,
            row: OpenTask,
            loaded: LoadedDefinition,
        ) -> None:
            if row.assignee not in (None, user.username):
                raise TaskStateError(
                    f"该任务已被 {row.assignee} 认领，只有认领人可以办理。 The task is "
                    f"claimed by {row.assignee}; only they can complete it.",
                    task_id=task_id,
                )
            values = self._validated(loaded, row, submitted, lang)
            runner = CaseRunner.load(ctx.case.state)
            values[f"{row.spec_name}_user"] = user.username
            values[f"{row.spec_name}_user_name"] = user.display_name
            values[f"{row.spec_name}_time"] = ctx.now.isoformat()

            def run() -> None:
                try:
                    runner.complete(task_id, values)
                except LookupError:
                    raise TaskStateError(_NO_LONGER_OPEN, task_id=task_id) from None

            self._run(ctx, runner, run, form_values={row.spec_name: values})
            self._save(ctx, audit, loaded, runner)

        self._task_command(task_id, user, complete_row)

    def fire_due_timers(self, *, limit: int = 200) -> int:
        """Run every case whose earliest timer is due; return how many ran.

        Each case runs in its own transaction. On PostgreSQL the row is locked
        with SKIP LOCKED so two sweepers never run the same case; elsewhere the
        version column turns a race into a conflict that the loser skips.
        """
        now = self.clock.now()
        with self.db.reading() as session:
            due = session.scalars(
                select(Case.id)
                .where(Case.next_due_at <= now, Case.status != "error")
                .order_by(Case.next_due_at)
                .limit(limit)
            ).all()

        fired = 0
        for case_id in due:
            try:
                if self._fire_case(case_id):
                    fired += 1
            except ConflictError:
                logger.info(
                    "Timer sweep skipped a busy case", extra={"case_id": case_id}
                )
            except (OperationalError, InterfaceError, PendingRollbackError):
                raise  # the database is away: stop here, the next sweep retries
            except CaseRunError as exc:
                self._stop_case(case_id, exc)
            except Exception as exc:
                # Anything else about one case (a row the database refuses, a
                # state that no longer loads) stops that case, not the sweep.
                reason = f"{exc.__class__.__name__}: {exc}"[:1000]
                self._stop_case(case_id, CaseRunError(case_id, reason))
        return fired

    def _stop_case(self, case_id: int, error: CaseRunError) -> None:
        logger.warning(
            "Timer sweep stopped a failing case",
            extra={"case_id": case_id, "element": error.element},
        )
        try:
            self.mark_failed(case_id, error)
        except (OperationalError, InterfaceError, PendingRollbackError):
            raise
        except Exception:
            logger.exception(
                "A failing case could not be marked", extra={"case_id": case_id}
            )

    def _fire_case(self, case_id: int) -> bool:
        now = self.clock.now()
        with (
            _conflicts_as_errors(case_id),
            self.db.transaction() as session,
            pinned(now),
        ):
            query = select(Case).where(Case.id == case_id)
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            case = session.scalar(query)
            if case is None or case.next_due_at is None or case.next_due_at > now:
                return False
            if case.status == "error":
                return False
            loaded = self.loaded(session, case.definition_id)
            ctx = self._context(session, case, now, None)
            audit = AuditLog(session, case.id)
            runner = CaseRunner.load(case.state)
            self._run(ctx, runner, runner.run)
            self._save(ctx, audit, loaded, runner)
            return True
        return False

    # --- internals -------------------------------------------------------------

    def _task_command(
        self,
        task_id: str,
        user: Staff,
        body: Callable[[CommandContext, AuditLog, OpenTask, LoadedDefinition], None],
    ) -> None:
        now = self.clock.now()
        if not queries.is_task_id(str(task_id)):
            raise NotFoundError("open task", str(task_id)[:40])
        with _conflicts_as_errors(None), self.db.transaction() as session, pinned(now):
            row = session.get(OpenTask, str(task_id))
            if row is None:
                raise NotFoundError("open task", task_id)
            case = session.get(Case, row.case_id, with_for_update=self.db.is_postgres)
            assert case is not None
            # Read the task again now that the case is read (and, on
            # PostgreSQL, locked): a claim or completion that committed in
            # between is seen here, and one that commits later changes the
            # case's version, so this command's write fails with a conflict.
            try:
                session.refresh(row)
            except (ObjectDeletedError, InvalidRequestError):
                raise TaskStateError(_NO_LONGER_OPEN, task_id=task_id) from None
            if case.status == "error":
                raise TaskStateError(
                    "该投诉因流程错误已暂停，需管理员处理。 The case is stopped by "
                    "an engine error; an administrator must look at it first.",
                    task_id=task_id,
                )
            self._authorize(row, user, case)
            loaded = self.loaded(session, case.definition_id)
            ctx = self._context(session, case, now, user)
            audit = AuditLog(session, case.id)
            body(ctx, audit, row, loaded)

    def _authorize(self, row: OpenTask, user: Staff, case: Case) -> None:
        if not user.has_role(row.role):
            raise PermissionDeniedError(
                f"您没有办理“{row.title}”所需的角色。 The task {row.title!r} belongs to "
                f"the role {row.role}; {user.username} does not have it.",
                user=user.username,
                task_id=row.id,
            )
        if row.unit is not None and user.unit is not None and user.unit != row.unit:
            raise PermissionDeniedError(
                f"该任务属于{row.unit}，您属于{user.unit}。 The task belongs to "
                f"{row.unit}; {user.username} works for {user.unit}.",
                user=user.username,
                task_id=row.id,
            )

    def _validated(
        self,
        loaded: LoadedDefinition,
        row: OpenTask,
        submitted: Mapping[str, Any],
        lang: str,
    ) -> dict[str, Any]:
        form = loaded.forms.get(row.form_name or "")
        if form is None:
            return {}
        try:
            return dict(form.validate(submitted, lang=lang))
        except forms.FormValidationError as exc:
            message = (
                "请更正标出的字段。" if lang == "zh" else "Correct the marked fields."
            )
            raise InputError(message, dict(exc.errors)) from None

    def _context(
        self, session: Session, case: Case, now: datetime, actor: Staff | None
    ) -> CommandContext:
        if actor is None:
            return CommandContext(session, case, now, SYSTEM_ACTOR, "系统 System")
        return CommandContext(session, case, now, actor.username, actor.display_name)

    def _run(
        self,
        ctx: CommandContext,
        runner: CaseRunner,
        step: Callable[[], None],
        form_values: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        ctx.form_values = dict(form_values or {})
        try:
            with service_handler(ctx.handle):
                step()
        except (TaskStateError, InputError, PermissionDeniedError):
            raise
        except Exception as exc:
            database_error = _database_cause(exc)
            if database_error is not None:
                # The database failed, not the case: let the command fail as a
                # whole (and a sweep stop) instead of blaming the case.
                raise database_error from exc
            message, element = describe_failure(exc)
            logger.exception("Case failed to run", extra={"case_id": ctx.case.id})
            raise CaseRunError(ctx.case.id, message, element=element) from exc

    def _save(
        self,
        ctx: CommandContext,
        audit: AuditLog,
        loaded: LoadedDefinition,
        runner: CaseRunner,
    ) -> None:
        refresh_case(ctx, audit, loaded, runner)
        ctx.case.state = runner.dump()
        ctx.case.updated_at = ctx.now
        ctx.case.audit_head = audit.head
        ctx.session.flush()

    # --- failures ------------------------------------------------------------

    def mark_failed(self, case_id: int, error: CaseRunError) -> None:
        """Stop a case that the engine cannot run, with the reason on record."""
        now = self.clock.now()
        with self.db.transaction() as session:
            case = session.get(Case, case_id)
            if case is None:
                return
            case.status = "error"
            case.error_message = str(error)
            audit = AuditLog(session, case_id)
            audit.append(
                at=now,
                actor=SYSTEM_ACTOR,
                kind="error",
                step=(error.element or "")[:255] or None,
                title="引擎错误 Engine error",
                detail={"message": str(error)},
            )
            case.audit_head = audit.head

    # --- forms -----------------------------------------------------------------

    def task_form(self, task_id: str) -> tuple[forms.Form | None, dict[str, Any]]:
        """The form of an open task and its initial values from the case data."""
        if not queries.is_task_id(str(task_id)):
            raise NotFoundError("open task", str(task_id)[:40])
        with self.db.reading() as session:
            row = session.get(OpenTask, str(task_id))
            if row is None:
                raise NotFoundError("open task", task_id)
            case = session.get(Case, row.case_id)
            assert case is not None
            loaded = self.loaded(session, case.definition_id)
            form = loaded.forms.get(row.form_name or "")
            if form is None:
                return None, {}
            try:
                data = CaseRunner.load(case.state).task_data(task_id)
            except LookupError:
                data = {}
            return form, form.initial_values(data)
