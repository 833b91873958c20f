"""Intake: the data a complaint arrives with, checked before a case starts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .clock import ensure_utc
from .errors import InputError

CHANNELS = ("web", "hotline", "email", "sms")
CATEGORIES = (
    "delay",
    "loss",
    "damage",
    "attitude",
    "false_signature",
    "fee_dispute",
    "not_delivered_to_door",
    "other",
)
SEVERITIES = ("low", "medium", "high", "critical")

# Responsible units of the demo organisation; a complaint without a unit is
# routed to one by its waybill number.
UNITS = ("深圳宝安营业部", "广州天河营业部", "上海浦东营业部")

# The fields of a complaint as an intake form or a flat API body names them.
INTAKE_FIELDS = (
    "channel",
    "waybill_no",
    "complainant_name",
    "complainant_phone",
    "complainant_email",
    "category",
    "severity",
    "description",
    "unit",
)

# How old a complaint may be when it is entered or imported.
MAX_AGE = timedelta(days=366)

_WAYBILL = re.compile(r"^[A-Z]{0,4}[0-9]{8,20}$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,20}$")
# Control characters, lone surrogates (which no encoder accepts), and the
# direction overrides and isolates that make text read differently from how
# it is stored. Joiners and direction marks that real scripts need stay.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)


@dataclass(frozen=True, slots=True)
class Intake:
    channel: str
    waybill_no: str
    complainant_name: str
    complainant_phone: str
    complainant_email: str | None
    category: str
    severity: str
    description: str
    received_at: datetime
    unit: str

    def case_data(self) -> dict[str, Any]:
        """The case data the process starts with (JSON-plain)."""
        data = asdict(self)
        data["received_at"] = self.received_at.isoformat()
        return data


def parse_intake(raw: Mapping[str, Any], *, now: datetime) -> Intake:
    """Check one complaint, flat (web form) or nested (the JSONL shape).

    Raises :class:`InputError` with every field's problem at once.
    """
    person = raw.get("complainant")
    if isinstance(person, Mapping):
        flat = dict(raw)
        flat["complainant_name"] = person.get("name")
        flat["complainant_phone"] = person.get("phone")
        flat["complainant_email"] = person.get("email")
    else:
        flat = dict(raw)

    errors: dict[str, str] = {}
    text = {k: _text(flat.get(k), k, errors) for k in INTAKE_FIELDS}

    _choose(text, "channel", CHANNELS, errors)
    _choose(text, "category", CATEGORIES, errors)
    _choose(text, "severity", SEVERITIES, errors, default="medium")
    text["waybill_no"] = text["waybill_no"].upper()
    if not _WAYBILL.match(text["waybill_no"]):
        errors.setdefault(
            "waybill_no", "运单号应为字母前缀加8至20位数字，如 SF0166131860913。"
        )
    visible = any(ch.isalnum() for ch in text["complainant_name"])
    if not visible or not 1 <= len(text["complainant_name"]) <= 50:
        errors.setdefault("complainant_name", "请填写投诉人姓名（不超过50字）。")
    if not _PHONE.match(text["complainant_phone"]):
        errors.setdefault("complainant_phone", "请填写有效的联系电话。")
    email = text["complainant_email"]
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        errors.setdefault("complainant_email", "邮箱地址格式不正确。")
    if text["channel"] == "email" and not text["complainant_email"]:
        errors.setdefault("complainant_email", "邮件渠道的投诉需要邮箱地址。")
    if not 1 <= len(text["description"]) <= 4000:
        errors.setdefault("description", "请填写投诉内容（不超过4000字）。")
    if text["unit"] and text["unit"] not in UNITS:
        errors.setdefault("unit", "请选择列出的责任单位之一。")

    received_at = _moment(flat.get("received_at"), now, errors)
    if errors:
        raise InputError("请更正标出的字段。 Correct the marked fields.", errors)

    return Intake(
        channel=text["channel"],
        waybill_no=text["waybill_no"],
        complainant_name=text["complainant_name"],
        complainant_phone=text["complainant_phone"],
        complainant_email=text["complainant_email"] or None,
        category=text["category"],
        severity=text["severity"],
        description=text["description"],
        received_at=received_at,
        unit=text["unit"] or route_unit(text["waybill_no"]),
    )


def route_unit(waybill_no: str) -> str:
    """The unit responsible for a waybill, when intake did not name one."""
    digits = sum(int(ch) for ch in waybill_no if ch.isdigit())
    return UNITS[digits % len(UNITS)]


def read_jsonl(text: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield (line number, object or None, error or None) for each non-blank line."""
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"line {number} is not JSON: {exc.msg}"
            continue
        except RecursionError:
            yield number, None, f"line {number} is nested too deeply"
            continue
        if not isinstance(value, dict):
            yield number, None, f"line {number} is not a JSON object"
            continue
        yield number, value, None


def shift_to_now(rows: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Move every ``received_at`` so the newest complaint arrives ``now``."""
    moments = [datetime.fromisoformat(r["received_at"]) for r in rows]
    if not moments:
        return rows
    delta: timedelta = now - max(ensure_utc(m) for m in moments)
    shifted = []
    for row, moment in zip(rows, moments):
        copy = dict(row)
        copy["received_at"] = (moment + delta).isoformat()
        shifted.append(copy)
    return shifted


def _text(value: Any, name: str, errors: dict[str, str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        errors[name] = "此项应为文本。"
        return ""
    result = str(value).strip()
    if _CONTROL.search(result):
        errors[name] = "含有不允许的控制字符。"
        return ""
    return result


def _choose(
    text: dict[str, str],
    name: str,
    allowed: tuple[str, ...],
    errors: dict[str, str],
    default: str | None = None,
) -> None:
    if not text[name] and default:
        text[name] = default
    if text[name] not in allowed:
        errors.setdefault(name, f"应为以下之一：{', '.join(allowed)}。")


def _moment(value: Any, now: datetime, errors: dict[str, str]) -> datetime:
    if value in (None, ""):
        return now
    if not isinstance(value, str):
        errors["received_at"] = "受理时间应为 ISO 8601 文本。"
        return now
    try:
        moment = datetime.fromisoformat(value)
        ensure_utc(moment)
    except (ValueError, OverflowError):
        errors["received_at"] = (
            "受理时间应为 ISO 8601 格式，如 2026-11-01T08:00:00+08:00。"
        )
        return now
    if moment.tzinfo is None:
        errors["received_at"] = "受理时间需要带时区，如 +08:00。"
        return now
    moment = ensure_utc(moment)
    if moment > now + timedelta(minutes=5):
        errors["received_at"] = "受理时间不能晚于当前时间。"
    elif moment < now - MAX_AGE:
        errors["received_at"] = "受理时间不能早于一年前。"
    return moment.astimezone(timezone.utc)
