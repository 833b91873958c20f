"""The exceptions of the engine package; :class:`EngineError` is their root.

Each carries the ids it is about as attributes, and a message that a person can
act on. The web layer translates them to HTTP responses in one place.
"""

from __future__ import annotations


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""

    status = 400


class NotFoundError(EngineError):
    status = 404

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(
            f"找不到{_KINDS_ZH.get(kind, kind)} {key}。 No {kind} {key!r} exists."
        )
        self.kind = kind
        self.key = key


class ConflictError(EngineError):
    """Someone else changed the case first; reload and try again."""

    status = 409

    def __init__(self, case_id: int, message: str | None = None) -> None:
        super().__init__(
            message
            or "该投诉同时被他人修改，您的操作未保存，请刷新后重试。 "
            "The case was changed by someone else at the same time; nothing of "
            "yours was saved. Reload it and try again."
        )
        self.case_id = case_id


class PermissionDeniedError(EngineError):
    status = 403

    def __init__(self, message: str, *, user: str, task_id: str | None = None) -> None:
        super().__init__(message)
        self.user = user
        self.task_id = task_id


class TaskStateError(EngineError):
    """The task cannot take that command in its present state."""

    status = 409

    def __init__(self, message: str, *, task_id: str) -> None:
        super().__init__(message)
        self.task_id = task_id


class InputError(EngineError):
    """Submitted data is invalid; ``errors`` maps field names to messages."""

    status = 422

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}


class DefinitionError(EngineError):
    """A process definition cannot be deployed.

    ``problems`` lists every finding, each naming the file, the element id and
    name where known, and what to change.
    """

    status = 422

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems) or "Invalid definition.")
        self.problems = problems


class CaseRunError(EngineError):
    """The engine failed while running a case; the case is kept as it was."""

    status = 500

    def __init__(self, case_id: int, message: str, *, element: str | None = None):
        super().__init__(message)
        self.case_id = case_id
        self.element = element


class DatabaseSchemaError(EngineError):
    """The database's tables do not match this version of the program."""

    status = 500


class DemoModeError(EngineError):
    status = 403


_KINDS_ZH = {
    "open task": "待办任务",
    "case": "投诉",
    "definition": "流程定义",
    "deployed definition of process": "已部署的流程",
}


class Problem:
    """One finding about a definition file."""

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        element_id: str | None = None,
        element_name: str | None = None,
        line: int | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.element_id = element_id
        self.element_name = element_name
        self.line = line

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file + (f":{self.line}" if self.line else ""))
        if self.element_id:
            name = f" ({self.element_name})" if self.element_name else ""
            where.append(f"element {self.element_id}{name}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "element_id": self.element_id,
            "element_name": self.element_name,
            "reason": self.reason,
        }
