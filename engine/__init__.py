"""The complaint engine: runs the BPMN diagrams of ``processes/`` and keeps state.

Public entry points (nothing else is part of the API):

* :func:`open_system` / :class:`Settings` - database, clock, deployed definition
* :class:`Engine` - commands: ``start_case``, ``claim``, ``release``,
  ``complete``, ``fire_due_timers``, ``deploy``, ``task_form``
* :mod:`engine.queries` - read models: inbox, case, audit trail, wall, status
* :func:`parse_intake`, :func:`import_complaints` - intake
* the exceptions under :class:`EngineError`
"""

from . import queries
from .clock import Clock, FakeClock, SystemClock
from .definitions import read_folder
from .demo import load_demo_data
from .errors import (
    CaseRunError,
    ConflictError,
    DefinitionError,
    DemoModeError,
    EngineError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    TaskStateError,
)
from .intake import (
    CATEGORIES,
    CHANNELS,
    INTAKE_FIELDS,
    SEVERITIES,
    UNITS,
    Intake,
    parse_intake,
)
from .service import Engine
from .sweeper import Sweeper
from .system import (
    ImportReport,
    Settings,
    System,
    demo_complaints,
    import_complaints,
    open_system,
)
from .text import split_bilingual
from .users import (
    DEMO_PASSWORD,
    Staff,
    add_user,
    authenticate,
    demo_staff,
    find_staff,
)

__all__ = [
    "CATEGORIES",
    "DEMO_PASSWORD",
    "INTAKE_FIELDS",
    "CHANNELS",
    "SEVERITIES",
    "UNITS",
    "CaseRunError",
    "Clock",
    "ConflictError",
    "DefinitionError",
    "DemoModeError",
    "Engine",
    "EngineError",
    "FakeClock",
    "ImportReport",
    "InputError",
    "Intake",
    "NotFoundError",
    "PermissionDeniedError",
    "Problem",
    "Settings",
    "Staff",
    "Sweeper",
    "System",
    "SystemClock",
    "TaskStateError",
    "add_user",
    "authenticate",
    "demo_complaints",
    "demo_staff",
    "find_staff",
    "import_complaints",
    "load_demo_data",
    "open_system",
    "parse_intake",
    "queries",
    "read_folder",
    "split_bilingual",
]
