"""Staff accounts: the demo users of every role, and password checks."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import InputError
from .intake import UNITS
from .models import User

_ITERATIONS = 120_000

# (username, display name, roles, unit). Every demo password is "demo".
DEMO_USERS: tuple[tuple[str, str, str, str | None], ...] = (
    ("kefu", "客服 王敏", "customer_service", None),
    ("gongdan", "工单中心 李强", "work_order_centre", None),
    ("chuli_ba", "处理员 陈刚（宝安）", "handler", "深圳宝安营业部"),
    ("jingli_ba", "经理 刘洋（宝安）", "manager", "深圳宝安营业部"),
    ("chuli_th", "处理员 赵磊（天河）", "handler", "广州天河营业部"),
    ("jingli_th", "经理 孙丽（天河）", "manager", "广州天河营业部"),
    ("chuli_pd", "处理员 周杰（浦东）", "handler", "上海浦东营业部"),
    ("jingli_pd", "经理 吴芳（浦东）", "manager", "上海浦东营业部"),
    ("jingying", "经营管理部 郑华", "operations", None),
    ("shenji", "审计 黄蕾", "auditor", None),
    ("fenxi", "业务分析 何静", "analyst", None),
)
DEMO_PASSWORD = "demo"


@dataclass(frozen=True, slots=True)
class Staff:
    """A signed-in user, as the rest of the system sees them."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    unit: str | None

    def has_role(self, role: str) -> bool:
        return role in self.roles


def hash_password(password: str) -> str:
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), salt.encode(), _ITERATIONS
    )
    return f"pbkdf2_sha256${_ITERATIONS}${salt}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    try:
        _, iterations, salt, hexdigest = stored.split("$")
        digest = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), salt.encode(), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), hexdigest)


_DUMMY_HASH = hash_password(secrets.token_hex(8))


def to_staff(user: User) -> Staff:
    return Staff(user.username, user.display_name, user.role_codes, user.unit)


def authenticate(session: Session, username: str, password: str) -> Staff | None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        # Spend the same time as a real check, so timing does not tell which
        # usernames exist.
        check_password(_DUMMY_HASH, password)
        return None
    if not check_password(user.password_hash, password):
        return None
    return to_staff(user)


def find_staff(session: Session, username: str) -> Staff | None:
    user = session.scalar(select(User).where(User.username == username))
    return to_staff(user) if user else None


# Every role a staff account may hold: the lanes' roles and two more.
ROLE_CODES = frozenset(
    {
        "customer_service",
        "work_order_centre",
        "handler",
        "manager",
        "operations",
        "auditor",
        "analyst",
    }
)


# Roles whose staff work for one unit and so need one.
UNIT_ROLES = frozenset({"handler", "manager"})


def add_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    roles: list[str],
    unit: str | None,
    password: str,
) -> Staff:
    """Create a staff account; raise :class:`InputError` naming what is wrong."""
    errors: dict[str, str] = {}
    if not re.fullmatch(r"[a-z][a-z0-9_.-]{1,59}", username):
        errors["username"] = (
            "2-60 lower-case letters, digits, _ . -, starting with a letter."
        )
    elif session.scalar(select(User.id).where(User.username == username)):
        errors["username"] = "This username exists already."
    if not 1 <= len(display_name.strip()) <= 100:
        errors["display_name"] = "Give a name of 1 to 100 characters."
    roles = list(dict.fromkeys(roles))
    unknown = sorted(set(roles) - ROLE_CODES)
    if not roles or unknown:
        errors["roles"] = f"Roles must be among: {', '.join(sorted(ROLE_CODES))}."
    if unit is not None and unit not in UNITS:
        errors["unit"] = f"The unit must be one of: {', '.join(UNITS)}."
    elif unit is None and set(roles) & UNIT_ROLES:
        errors["unit"] = "Handlers and managers belong to a unit; give one."
    if len(password) < 8:
        errors["password"] = "The password needs at least 8 characters."
    if errors:
        raise InputError("The account was not created.", errors)

    user = User(
        username=username,
        display_name=display_name.strip(),
        roles=",".join(roles),
        unit=unit,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return to_staff(user)


def demo_staff(session: Session) -> list[Staff]:
    """The demo accounts that exist, in the order of :data:`DEMO_USERS`."""
    names = [username for username, *_ in DEMO_USERS]
    users = {
        u.username: u
        for u in session.scalars(select(User).where(User.username.in_(names)))
    }
    return [to_staff(users[n]) for n in names if n in users]


def ensure_demo_users(session: Session) -> int:
    """Create the demo users that do not exist yet; return how many were made."""
    existing = set(session.scalars(select(User.username)).all())
    password_hash = hash_password(DEMO_PASSWORD)
    made = 0
    for username, display_name, roles, unit in DEMO_USERS:
        if username in existing:
            continue
        session.add(
            User(
                username=username,
                display_name=display_name,
                roles=roles,
                unit=unit,
                password_hash=password_hash,
            )
        )
        made += 1
    return made
