"""The ``complaints`` command: serve, import, tick, move the demo clock, status."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import logging
import re
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import engine
from engine import queries

_SHORT = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$", re.IGNORECASE)
_ISO = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``PT15M``, ``P3D``, ``P1DT2H`` or the short forms ``15m``, ``24h``, ``4d``."""
    text = text.strip()
    try:
        short = _SHORT.match(text)
        if short:
            amount = float(short.group(1))
            return timedelta(**{_UNITS[short.group(2).lower()]: amount})
        iso = _ISO.match(text)
        if iso and text.upper() not in ("P", "PT") and any(iso.groupdict().values()):
            parts = {k: float(v) for k, v in iso.groupdict().items() if v}
            return timedelta(
                weeks=parts.get("w", 0),
                days=parts.get("d", 0),
                hours=parts.get("h", 0),
                minutes=parts.get("m", 0),
                seconds=parts.get("s", 0),
            )
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration.") from None
    raise ValueError(
        f"{text!r} is not a duration; write it as ISO 8601 (PT15M, PT24H, P3D) "
        "or short (15m, 24h, 4d)."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except engine.EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="complaints",
        description="Complaint handling driven by BPMN diagrams. The database is "
        "DATABASE_URL (default: SQLite under instance/); COMPLAINTS_DEMO=1 turns "
        "on demo mode (demo users, a movable clock).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app with the timer sweeper")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument(
        "--no-sweeper",
        action="store_true",
        help="do not fire timers in this process (a worker does)",
    )
    serve.set_defaults(func=_serve)

    init = sub.add_parser("init", help="create tables, deploy processes/, demo users")
    init.add_argument(
        "--demo-data",
        action="store_true",
        help="also load the bundled sample complaints into an empty "
        "database, times shifted so the newest arrives now",
    )
    init.set_defaults(func=_init)

    imp = sub.add_parser("import", help="start a case for each line of a JSONL file")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--shift",
        action="store_true",
        help="move all times so the newest complaint arrives now",
    )
    imp.set_defaults(func=_import)

    tick = sub.add_parser("tick", help="fire every timer that is due now")
    tick.set_defaults(func=_tick)

    clock = sub.add_parser("clock", help="show or move the demo clock")
    clock_sub = clock.add_subparsers(dest="clock_command", required=True)
    show = clock_sub.add_parser("show", help="print the current time")
    show.set_defaults(func=_clock_show)
    advance = clock_sub.add_parser("advance", help="move the demo clock forward")
    advance.add_argument("duration", help="PT15M, PT24H, P4D, or 15m, 24h, 4d")
    advance.set_defaults(func=_clock_advance)

    status = sub.add_parser("status", help="cases, open tasks and audit events")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=_status)

    deploy = sub.add_parser("deploy", help="deploy a processes folder as a new version")
    deploy.add_argument("folder", type=Path, nargs="?", default=None)
    deploy.add_argument("--by", default="cli")
    deploy.set_defaults(func=_deploy)

    user = sub.add_parser("user", help="staff accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser(
        "add",
        help="create a staff account (password from COMPLAINTS_PASSWORD or asked)",
    )
    add.add_argument("username")
    add.add_argument("--name", required=True, help="the name shown to others")
    add.add_argument("--roles", required=True, help="comma-separated role codes")
    add.add_argument("--unit", default=None, help="the responsible unit, if any")
    add.set_defaults(func=_user_add)

    check = sub.add_parser("verify-audit", help="check every case's audit hash chain")
    check.set_defaults(func=_verify_audit)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from . import create_app

    app = create_app({"SWEEPER": not args.no_sweeper})
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    return 0


def _init(args: argparse.Namespace) -> int:
    system = engine.open_system()
    print(f"database ready: {system.settings.database_url}")
    if args.demo_data:
        with system.db.reading() as session:
            existing = sum(queries.status(session)["cases"].values())
        if existing:
            print(
                "sample complaints not loaded: the database already has "
                f"{existing} cases"
            )
        else:
            report = engine.load_demo_data(system)
            print(
                f"sample complaints loaded: {len(report.started)} cases started, "
                "some already worked by the demo staff"
            )
            fired = system.engine.fire_due_timers()
            print(f"timers fired for {fired} cases")
    return 0


def _import(args: argparse.Namespace) -> int:
    system = engine.open_system()
    try:
        text = args.file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {args.file}: {exc}") from None
    report = engine.import_complaints(system, text, shift=args.shift)
    print(f"{len(report.started)} cases started, {len(report.rejected)} lines rejected")
    for line in report.rejected:
        print(f"  rejected {line}", file=sys.stderr)
    return 1 if report.rejected else 0


def _tick(args: argparse.Namespace) -> int:
    system = engine.open_system()
    fired = system.engine.fire_due_timers(limit=100_000)
    print(f"{system.engine.clock.now().isoformat()}: timers fired for {fired} cases")
    return 0


def _clock_show(args: argparse.Namespace) -> int:
    system = engine.open_system()
    print(system.engine.clock.now().isoformat())
    return 0


def _clock_advance(args: argparse.Namespace) -> int:
    delta = parse_duration(args.duration)
    system = engine.open_system()
    now = system.advance_clock(delta)
    print(
        f"demo clock is now {now.isoformat()}; run 'complaints tick' to fire "
        "what fell due"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    system = engine.open_system()
    with system.db.reading() as session:
        summary = queries.status(session)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(
        "cases: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["cases"].items()))
    )
    for row in summary["open_tasks"]:
        print(f"  open task {row['task']} ({row['role']}): {row['count']}")
    print(f"audit events: {summary['audit_events']}")
    return 0


def _deploy(args: argparse.Namespace) -> int:
    system = engine.open_system()
    if args.folder is None:
        version = system.engine.deployed_version()
        print(f"version {version} is deployed; give a folder to deploy a new one")
        return 0
    files = engine.read_folder(args.folder)
    version, created = system.engine.deploy(files, by=args.by)
    print(f"version {version} {'deployed' if created else 'already deployed'}")
    return 0


def _user_add(args: argparse.Namespace) -> int:
    password = os.environ.get("COMPLAINTS_PASSWORD")
    if not password:
        try:
            password = getpass.getpass("password: ")
        except EOFError:
            print(
                "error: no password: set COMPLAINTS_PASSWORD or run in a terminal",
                file=sys.stderr,
            )
            return 2
    system = engine.open_system()
    try:
        with system.db.transaction() as session:
            staff = engine.add_user(
                session,
                username=args.username,
                display_name=args.name,
                roles=[r.strip() for r in args.roles.split(",") if r.strip()],
                unit=args.unit,
                password=password,
            )
    except engine.InputError as exc:
        for field, problem in exc.errors.items():
            print(f"error: {field}: {problem}", file=sys.stderr)
        return 2
    print(f"created {staff.username} ({', '.join(staff.roles)})")
    return 0


def _verify_audit(args: argparse.Namespace) -> int:
    system = engine.open_system()
    broken = 0
    with system.db.reading() as session:
        for view in queries.cases(session, limit=1_000_000):
            _, check = queries.audit_trail(session, view.id)
            if not check.ok:
                broken += 1
                print(f"case {view.id} ({view.work_order_no}): {check.reason}")
    print("every chain is intact" if not broken else f"{broken} broken chains")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
