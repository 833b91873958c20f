"""The public wall (上墙公示): every signed-for work order, masked, no login.

Only what the wall table holds is shown: masked name and phone, never the
description or an address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from flask import Blueprint, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import queries

from .context import now, reading
from .presenters import Deadline, deadline

bp = Blueprint("wall", __name__)

TV_REFRESH_SECONDS: Final = 20
TV_ROWS_PER_PAGE: Final = 8


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
    """Full screen for the office TV: one page of orders, then the next page.

    The page refreshes itself onto the following page, so every order comes
    round on a screen that nobody scrolls.
    """
    moment = now()
    rows = wall_rows(moment)
    pages = max(1, -(-len(rows) // TV_ROWS_PER_PAGE))
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and 1 <= int(page) <= pages else 1
    start = (number - 1) * TV_ROWS_PER_PAGE
    return render_template(
        "wall/tv.html",
        rows=rows[start : start + TV_ROWS_PER_PAGE],
        now=moment,
        refresh=TV_REFRESH_SECONDS,
        page=number,
        pages=pages,
        next_url=url_for("wall.tv", page=number % pages + 1),
    )
