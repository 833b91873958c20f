"""Turning engine values into what pages and JSON show: times, deadlines, stars.

Everything here is presentation only; no rule about complaints lives in it.
Times are stored in UTC and shown in Asia/Shanghai.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Final
from zoneinfo import ZoneInfo

from flask import Flask

LOCAL_TZ: Final = ZoneInfo("Asia/Shanghai")
TIME_FORMAT: Final = "%Y-%m-%d %H:%M"
EMPTY: Final = "—"
_CHECKED_WORDS: Final = frozenset({"true", "on", "1", "yes"})
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def to_datetime(value: datetime | str | None) -> datetime | None:
    """A timezone-aware datetime from a datetime or ISO text; naive means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def localtime(value: datetime | str | None, fmt: str = TIME_FORMAT) -> str:
    """Format a moment in Beijing time, e.g. ``2026-11-01 08:00``."""
    moment = to_datetime(value)
    if moment is None:
        return EMPTY if not value else str(value)
    return moment.astimezone(LOCAL_TZ).strftime(fmt)


def stars(rating: int | None, out_of: int = 5) -> str:
    if rating is None:
        return ""
    filled = max(0, min(int(rating), out_of))
    return "★" * filled + "☆" * (out_of - filled)


@dataclass(frozen=True, slots=True)
class Deadline:
    """One deadline of a case as a page shows it."""

    key: str
    due: datetime | None
    state: str
    overdue: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "due": self.due.isoformat() if self.due else None,
            "state": self.state,
            "overdue": self.overdue,
        }


def deadline(deadlines: Mapping[str, Any], key: str, now: datetime) -> Deadline:
    """The deadline ``key``; overdue when missed, or still waiting past its time."""
    entry = deadlines.get(key)
    if not isinstance(entry, Mapping):
        return Deadline(key, None, "", False)
    due = to_datetime(entry.get("due"))
    state = str(entry.get("state") or "")
    passed = due is not None and due < now
    overdue = state == "missed" or (state == "waiting" and passed)
    return Deadline(key, due, state, overdue)


def all_deadlines(deadlines: Mapping[str, Any], now: datetime) -> list[Deadline]:
    return [deadline(deadlines, key, now) for key in deadlines]


def displayable(text: str) -> str:
    """Text without control characters, for showing a refused value again."""
    return _CONTROL.sub("", text)


def field_value(value: Any) -> str:
    """A form value as the text an HTML control holds (booleans as true/false)."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return displayable(str(value))


def is_checked(value: Any) -> bool:
    return field_value(value).strip().lower() in _CHECKED_WORDS


def mask_contact(recipient: str | None) -> str:
    """An e-mail address or phone number shortened for display (u***@x, 138****5678)."""
    text = (recipient or "").strip()
    if "@" in text:
        local, _, domain = text.partition("@")
        return (local[:1] or "*") + "***@" + domain
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "****" + digits[-4:]


def row_dict(row: object, names: Iterable[str]) -> dict[str, Any]:
    """Copy a database row's attributes while its session is still open."""
    return {name: getattr(row, name) for name in names}


def pretty(value: Any) -> str:
    """Values of an audit event, indented JSON with Chinese kept readable."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


def plain(value: Any) -> Any:
    """Dataclasses, datetimes and tuples made JSON-plain, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return {field.name: plain(getattr(value, field.name)) for field in fields}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        localtime=localtime,
        stars=stars,
        field_value=field_value,
        is_checked=is_checked,
        mask_contact=mask_contact,
        pretty=pretty,
    )
