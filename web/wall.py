"""The public wall (上墙公示): every signed-for work order, masked, no login.

Only what the wall table holds is shown: masked name and phone, never the
description or an address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from engine import queries

from .context import now, reading
from .presenters import Deadline, deadline

bp = Blueprint("wall", __name__)

TV_REFRESH_SECONDS: Final = 30


@dataclass(frozen=True, slots=True)
class WallRow:
    entry: queries.WallView
    verify_by: Deadline
    handle_by: Deadline

    def to_dict(self) -> dict[str, Any]:
        e = self.entry
        return {
            "work_order_no": e.work_order_no,
            "category": e.category,
            "unit": e.unit,
            "complainant": e.complainant_masked,
            "phone": e.phone_masked,
            "received_at": e.received_at.isoformat(),
            "posted_at": e.posted_at.isoformat(),
            "status": e.status,
            "handler": e.handler,
            "signature": e.signature,
            "rating": e.rating,
            "result_summary": e.result_summary,
            "verify_by": self.verify_by.to_dict(),
            "handle_by": self.handle_by.to_dict(),
        }


def wall_rows(moment: datetime) -> list[WallRow]:
    with reading() as session:
        entries = queries.wall(session)
    return [
        WallRow(
            entry,
            deadline(entry.deadlines, "verify_by", moment),
            deadline(entry.deadlines, "handle_by", moment),
        )
        for entry in entries
    ]


@bp.get("/wall")
def board() -> ResponseReturnValue:
    moment = now()
    return render_template("wall/board.html", rows=wall_rows(moment), now=moment)


@bp.get("/wall/tv")
def tv() -> ResponseReturnValue:
    moment = now()
    return render_template(
        "wall/tv.html", rows=wall_rows(moment), now=moment, refresh=TV_REFRESH_SECONDS
    )
