"""Process definitions: deploy a folder of process files as a numbered version.

A definition is every file of ``processes/`` (BPMN, DMN, forms, manifest) stored
together with a content hash. Deploying content that is already deployed returns
the existing version; anything else becomes the next version and the one new
cases start on. Before a version is stored it must pass :func:`check`: the
diagram parses, every lane is a role, every user task has a lane and a form that
exists and is valid, every service task names a known operation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import forms as form_files
from .errors import DefinitionError, NotFoundError, Problem
from .expression_checks import check_files, expression_names
from .models import Definition
from .spiff import DefinitionParseError, ParsedDefinition, parse_definition

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
ALLOWED_SUFFIXES = (".bpmn", ".dmn", ".json")
MAX_FILE_BYTES = 2_000_000
HEADER_FIELDS = frozenset({"category", "severity"})


@dataclass(frozen=True, slots=True)
class Role:
    code: str
    lane: str
    title: str
    title_en: str
    scope: str  # "unit": staff see only their unit's tasks; "company": all


@dataclass(frozen=True, slots=True)
class Deadline:
    key: str
    title: str
    title_en: str


@dataclass(slots=True)
class Manifest:
    process_id: str
    roles: dict[str, Role]  # by lane name
    deadlines: dict[str, Deadline]  # by timer id
    # Case header columns that follow a case-data variable once a form or a
    # decision sets it (the graded category replaces the one given at intake).
    case_fields: dict[str, str] = field(default_factory=dict)
    # Case-data variables shown on the case page, with their titles.
    facts: dict[str, Deadline] = field(default_factory=dict)

    def role_for_lane(self, lane: str | None) -> Role | None:
        return self.roles.get(lane or "")

    def role(self, code: str) -> Role | None:
        return next((r for r in self.roles.values() if r.code == code), None)


@dataclass(slots=True)
class LoadedDefinition:
    """A deployed definition, parsed and ready to start or run cases."""

    id: int
    version: int
    content_hash: str
    manifest: Manifest
    parsed: ParsedDefinition
    forms: dict[str, form_files.Form] = field(default_factory=dict)


def read_folder(folder: Path) -> dict[str, bytes]:
    """The deployable files of a folder, by path relative to it."""
    files = {}
    for path in sorted(folder.rglob("*")):
        # Links inside the folder and hidden files (editor settings) are
        # skipped: a definition holds the folder's own process files only.
        inner = path.relative_to(folder)
        if any(part.startswith(".") for part in inner.parts):
            continue
        if any(
            (folder / Path(*inner.parts[: n + 1])).is_symlink()
            for n in range(len(inner.parts))
        ):
            continue
        if path.is_file() and path.suffix in ALLOWED_SUFFIXES:
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def content_hash(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


def check(files: Mapping[str, bytes]) -> LoadedDefinition:
    """Parse and check a set of files; raise :class:`DefinitionError` if unfit."""
    problems: list[Problem] = []
    for name, content in files.items():
        if (
            not name.endswith(ALLOWED_SUFFIXES)
            or "/../" in f"/{name}/"
            or (name.startswith("/"))
        ):
            problems.append(
                Problem("Only .bpmn, .dmn and .json files can be deployed.", file=name)
            )
        elif len(content) > MAX_FILE_BYTES:
            problems.append(Problem("The file is larger than 2 MB.", file=name))
        elif (
            name.endswith(".json")
            and name != MANIFEST
            and not (name.startswith("forms/") and name.count("/") == 1)
        ):
            problems.append(
                Problem(
                    "A .json file must be manifest.json or a form under forms/.",
                    file=name,
                )
            )
        else:
            try:
                content.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.append(
                    Problem(
                        f"The file is not UTF-8 (byte {exc.start}); save it as UTF-8.",
                        file=name,
                    )
                )
    if problems:
        raise DefinitionError(problems)

    manifest = _read_manifest(files)
    problems.extend(check_files(files))
    if problems:
        raise DefinitionError(problems)
    try:
        parsed = parse_definition(manifest.process_id, files)
    except DefinitionParseError as exc:
        raise DefinitionError(exc.problems) from None

    forms = _read_forms(files, parsed, problems)
    _check_contract(manifest, parsed, problems)
    _check_timer_names(files, parsed, forms, problems)
    if problems:
        raise DefinitionError(problems)
    return LoadedDefinition(0, 0, content_hash(files), manifest, parsed, forms)


def deploy(
    session: Session,
    files: Mapping[str, bytes],
    *,
    by: str,
    at: datetime,
    note: str = "",
    process_id: str | None = None,
) -> tuple[Definition, bool]:
    """Store ``files`` as the next version; return (definition, newly created).

    ``process_id`` is the process the engine runs; a manifest naming another
    one is refused rather than deployed where nothing would run it.
    """
    loaded = check(files)
    if process_id is not None and loaded.manifest.process_id != process_id:
        raise DefinitionError(
            [
                Problem(
                    "manifest.json names the process "
                    f"{loaded.manifest.process_id!r}, but "
                    f"this system runs {process_id!r}; keep the process id.",
                    file=MANIFEST,
                )
            ]
        )
    process_id = loaded.manifest.process_id
    existing = session.scalar(
        select(Definition).where(
            Definition.process_id == process_id,
            Definition.content_hash == loaded.content_hash,
        )
    )
    if existing is not None:
        return existing, False

    latest = session.scalar(
        select(func.max(Definition.version)).where(Definition.process_id == process_id)
    )
    definition = Definition(
        process_id=process_id,
        version=(latest or 0) + 1,
        content_hash=loaded.content_hash,
        files={name: content.decode("utf-8") for name, content in files.items()},
        deployed_by=by,
        deployed_at=at,
        note=note,
    )
    session.add(definition)
    session.flush()
    logger.info(
        "Deployed definition",
        extra={"process_id": process_id, "version": definition.version},
    )
    return definition, True


def latest(session: Session, process_id: str) -> Definition:
    definition = session.scalar(
        select(Definition)
        .where(Definition.process_id == process_id)
        .order_by(Definition.version.desc())
        .limit(1)
    )
    if definition is None:
        raise NotFoundError("deployed definition of process", process_id)
    return definition


class DefinitionCache:
    """Parsed definitions by id; a definition never changes once stored."""

    def __init__(self) -> None:
        self._loaded: dict[int, LoadedDefinition] = {}
        self._lock = threading.Lock()

    def get(self, definition: Definition) -> LoadedDefinition:
        with self._lock:
            cached = self._loaded.get(definition.id)
        if cached is not None:
            return cached

        files = {name: text.encode("utf-8") for name, text in definition.files.items()}
        loaded = check(files)
        loaded.id = definition.id
        loaded.version = definition.version
        with self._lock:
            self._loaded[definition.id] = loaded
        return loaded


def _read_manifest(files: Mapping[str, bytes]) -> Manifest:
    if MANIFEST not in files:
        raise DefinitionError(
            [
                Problem(
                    "The definition needs a manifest.json naming the process and "
                    "its roles.",
                    file=MANIFEST,
                )
            ]
        )
    try:
        doc = json.loads(files[MANIFEST])
        roles = {
            r["lane"]: Role(
                r["code"],
                r["lane"],
                r["title"],
                r.get("x-title-en", r["title"]),
                _scope(r),
            )
            for r in doc["roles"]
        }
        deadlines = {
            timer: Deadline(d["key"], d["title"], d.get("x-title-en", d["title"]))
            for timer, d in doc.get("deadlines", {}).items()
        }
        facts = {
            name: Deadline(name, d["title"], d.get("x-title-en", d["title"]))
            for name, d in doc.get("facts", {}).items()
        }
        case_fields = {str(k): str(v) for k, v in doc.get("case_fields", {}).items()}
        unknown = set(case_fields) - HEADER_FIELDS
        if unknown:
            raise DefinitionError(
                [
                    Problem(
                        f"case_fields may set only {', '.join(sorted(HEADER_FIELDS))}; "
                        f"not {', '.join(sorted(unknown))}.",
                        file=MANIFEST,
                    )
                ]
            )
        return Manifest(str(doc["process_id"]), roles, deadlines, case_fields, facts)
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            [Problem(f"Not valid JSON: {exc.msg}.", file=MANIFEST, line=exc.lineno)]
        ) from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise DefinitionError(
            [
                Problem(
                    f"The manifest lacks or misshapes {exc}; it needs process_id "
                    "and roles "
                    "(each with code, lane, title).",
                    file=MANIFEST,
                )
            ]
        ) from None


def _scope(role: Mapping[str, Any]) -> str:
    scope = role.get("scope")
    if scope not in ("unit", "company"):
        raise KeyError(
            f'roles[].scope of {role.get("code")!r} (it must be "unit" or "company")'
        )
    return str(scope)


def _read_forms(
    files: Mapping[str, bytes], parsed: ParsedDefinition, problems: list[Problem]
) -> dict[str, form_files.Form]:
    forms = {}
    for name in sorted(files):
        # Forms no task names yet are checked too: a later diagram may use them.
        if name.startswith("forms/") and name[len("forms/") :] not in forms:
            try:
                forms[name[len("forms/") :]] = form_files.load_form(
                    name[len("forms/") :], files[name]
                )
            except form_files.FormDefinitionError as exc:
                problems.append(Problem(exc.reason, file=name))
    for task in parsed.user_tasks.values():
        if not task.form:
            continue
        path = f"forms/{task.form}"
        if path not in files:
            problems.append(
                Problem(
                    f"The form file {path} that this user task names does not exist.",
                    element_id=task.spec_name,
                    element_name=task.title,
                )
            )
            continue
        if task.form in forms:
            continue
        try:
            forms[task.form] = form_files.load_form(task.form, files[path])
        except form_files.FormDefinitionError as exc:
            problems.append(Problem(exc.reason, file=path))
    return forms


def _check_contract(
    manifest: Manifest, parsed: ParsedDefinition, problems: list[Problem]
) -> None:
    from .operations import OPERATIONS

    for task in parsed.user_tasks.values():
        if task.lane is None:
            problems.append(
                Problem(
                    "The user task is in no lane; draw it inside the lane of the role "
                    "that works it.",
                    element_id=task.spec_name,
                    element_name=task.title,
                )
            )
        elif manifest.role_for_lane(task.lane) is None:
            problems.append(
                Problem(
                    f"The lane {task.lane!r} is not a role in manifest.json; "
                    "known lanes: "
                    f"{', '.join(manifest.roles)}.",
                    element_id=task.spec_name,
                    element_name=task.title,
                )
            )
        if not task.form:
            problems.append(
                Problem(
                    "The user task names no form; add the property "
                    "formJsonSchemaFilename.",
                    element_id=task.spec_name,
                    element_name=task.title,
                )
            )

    for spec_name, operation in parsed.operations.items():
        if operation not in OPERATIONS:
            problems.append(
                Problem(
                    f"Unknown operation {operation!r}; known: "
                    f"{', '.join(sorted(OPERATIONS))}.",
                    element_id=spec_name,
                )
            )

    for timer in manifest.deadlines:
        if timer not in parsed.timers:
            problems.append(
                Problem(
                    f"manifest.json lists a deadline for timer {timer!r}, which the "
                    "diagram does not have.",
                    file=MANIFEST,
                )
            )


def _check_timer_names(
    files: Mapping[str, bytes],
    parsed: ParsedDefinition,
    forms: Mapping[str, form_files.Form],
    problems: list[Problem],
) -> None:
    """A timer that reads case data may read only values the process computes.

    A constant timer is checked by value elsewhere. A timer naming data (a
    typo such as ``PT15X`` reads as a name) must name a decision output or a
    service result: text that a customer or a member of staff typed must
    never set a deadline.
    """
    known = _declared_names(files)

    for timer in parsed.timers.values():
        unknown = sorted(expression_names(timer.expression) - known)
        if unknown:
            problems.append(
                Problem(
                    f"The timer {timer.expression.strip()!r} reads "
                    f"{', '.join(unknown)}, "
                    "which no decision table or service provides; write a "
                    "duration such as PT15M, or take it from a decision output.",
                    element_id=timer.spec_name,
                    element_name=timer.title,
                )
            )


def _declared_names(files: Mapping[str, bytes]) -> set[str]:
    """Decision output names and service result variables in the diagrams."""
    names: set[str] = set()
    for name, content in files.items():
        if not name.endswith((".bpmn", ".dmn")):
            continue
        try:
            root = etree.fromstring(content, etree.XMLParser(resolve_entities=False))
        except etree.XMLSyntaxError:
            continue
        for node in root.iter():
            if not isinstance(node.tag, str):
                continue
            local = etree.QName(node).localname
            if local == "output" and node.get("name"):
                names.add(str(node.get("name")))
            elif local == "serviceTaskOperator" and node.get("resultVariable"):
                names.add(str(node.get("resultVariable")))
    return names


def as_problem_dicts(error: DefinitionError) -> list[dict[str, Any]]:
    return [p.to_dict() for p in error.problems]
