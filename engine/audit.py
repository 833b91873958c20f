"""The append-only audit log, hash-chained per case.

Each event stores the hash of the previous event of its case and its own hash
over its content. Editing or deleting a row breaks the chain, and
:func:`verify_chain` reports where.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import AuditEvent

GENESIS = "0" * 64


def _digest(event: AuditEvent) -> str:
    body = json.dumps(
        [
            event.case_id,
            event.seq,
            event.at.isoformat(),
            event.actor,
            event.kind,
            event.step,
            event.title,
            event.detail,
            event.prev_hash,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class AuditLog:
    """Appends the events of one command to one case's chain."""

    def __init__(self, session: Session, case_id: int) -> None:
        self._session = session
        self._case_id = case_id
        last = session.execute(
            select(AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.case_id == case_id)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).first()
        self._seq, self._prev = (last[0], last[1]) if last else (0, GENESIS)

    def append(
        self,
        *,
        at: datetime,
        actor: str,
        kind: str,
        title: str,
        step: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEvent:
        self._seq += 1
        event = AuditEvent(
            case_id=self._case_id,
            seq=self._seq,
            at=at,
            actor=actor,
            kind=kind,
            step=step,
            title=title,
            detail=_plain_json(detail or {}),
            prev_hash=self._prev,
        )
        event.hash = _digest(event)
        self._prev = event.hash
        self._session.add(event)
        return event

    @property
    def head(self) -> str:
        """The hash of the newest event; the case header keeps a copy."""
        return self._prev


def _plain_json(value: dict[str, Any]) -> dict[str, Any]:
    # Round-trip so the hash is computed over exactly what the database keeps.
    loaded: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return loaded


@dataclass(frozen=True, slots=True)
class ChainCheck:
    case_id: int
    events: int
    ok: bool
    broken_at: int | None
    reason: str


def verify_chain(session: Session, case_id: int, head: str | None = None) -> ChainCheck:
    """Check the chain of one case; ``head`` is the hash its header recorded."""
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)
    ).all()
    if not events:
        return ChainCheck(case_id, 0, False, 1, "The case has no audit events at all.")
    prev = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return ChainCheck(
                case_id,
                len(events),
                False,
                expected_seq,
                f"Event {expected_seq} is missing.",
            )
        if event.prev_hash != prev:
            return ChainCheck(
                case_id,
                len(events),
                False,
                event.seq,
                f"Event {event.seq} does not follow event {event.seq - 1}.",
            )
        if _digest(event) != event.hash:
            return ChainCheck(
                case_id,
                len(events),
                False,
                event.seq,
                f"Event {event.seq} was altered after it was written.",
            )
        prev = event.hash
    if head is not None and head != prev:
        return ChainCheck(
            case_id,
            len(events),
            False,
            len(events) + 1,
            "Events at the end of the log are missing.",
        )
    return ChainCheck(case_id, len(events), True, None, "The chain is intact.")


def count_events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
