"""The one typed adapter around SpiffWorkflow.

Only this module touches ``BpmnWorkflow``, task specs, the parser and the
serializer. Everything else sees the small dataclasses defined here. The
engine's own task objects are called *engine tasks* (``SpiffTask``) so they are
never confused with the ``open_tasks`` rows.

Three things are replaced on the library, all here:

* expression evaluation (conditions, timers, parameters, DMN cells, scripts)
  goes through :mod:`engine.expressions`, never Python's ``eval``/``exec``;
* the timer module's idea of "now" is the time pinned by the running command
  (:mod:`engine.clock`);
* service tasks call the handler the running command installed.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.ValidationException import (
    ValidationException,
)
from SpiffWorkflow.bpmn.script_engine import (
    PythonScriptEngine,
)
from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)
from SpiffWorkflow.bpmn.serializer import (
    BpmnWorkflowSerializer,
)
from SpiffWorkflow.bpmn.specs.event_definitions import (
    timer as spiff_timer,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimerEventDefinition,
)
from SpiffWorkflow.exceptions import (
    SpiffWorkflowException,
    WorkflowException,
)
from SpiffWorkflow.spiff.parser.process import (
    SpiffBpmnParser,
)
from SpiffWorkflow.spiff.serializer.config import (
    SPIFF_CONFIG,
)
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from . import expressions
from .clock import ensure_utc, pinned_now
from .errors import Problem

logger = logging.getLogger(__name__)

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
NS = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS}

FORM_PROPERTY = "formJsonSchemaFilename"

# Elements whose completion is worth an audit line; gateways and the engine's
# internal helper specs are left out.
_AUDITED_KINDS = {
    "UserTask": "task_completed",
    "ManualTask": "task_completed",
    "ServiceTask": "service",
    "BusinessRuleTask": "decision",
    "ScriptTask": "script",
    "StartEvent": "event",
    "EndEvent": "event",
    "BoundaryEvent": "timer_fired",
    "IntermediateCatchEvent": "event",
}


# --- the clock behind SpiffWorkflow's timers ---------------------------------


class _PinnedDatetime(datetime):
    """``datetime`` whose ``now()`` is the time pinned by the running command."""

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        moment = pinned_now()
        if moment is None:
            return datetime.now(tz)
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


spiff_timer.datetime = _PinnedDatetime

# The longest duration a timer may have. SpiffWorkflow adds months one by one,
# so a duration of millions of years would hold a command for hours.
MAX_TIMER_DAYS = 3660
_parse_iso_duration = TimerEventDefinition.parse_iso_duration


def _bounded_duration(expression: str) -> dict[str, Any]:
    parsed: dict[str, Any] = _parse_iso_duration(expression)
    if _approximate_days(parsed) > MAX_TIMER_DAYS:
        raise ValueError(f"The duration {expression} is longer than ten years.")
    return parsed


def _approximate_days(parsed: Mapping[str, Any]) -> float:
    return float(
        parsed.get("years", 0) * 366
        + parsed.get("months", 0) * 31
        + parsed.get("weeks", 0) * 7
        + parsed.get("days", 0)
        + parsed.get("hours", 0) / 24
        + parsed.get("minutes", 0) / 1440
        + parsed.get("seconds", 0) / 86400
    )


TimerEventDefinition.parse_iso_duration = staticmethod(_bounded_duration)


def timer_problem(kind: str, value: Any) -> str | None:
    """What is wrong with a timer's value, or None; ``kind`` names the tag."""
    if not isinstance(value, str):
        return "a timer needs a text such as PT15M, P3D or 2026-12-31T18:00:00+08:00."
    if "repeating" in kind:
        return (
            "repeating timers are not supported; use a duration timer on a "
            "loop instead."
        )
    if "date" in kind:
        try:
            moment = ensure_utc(datetime.fromisoformat(value))
            if not 2000 <= moment.year < 2100:
                return "the date must lie between the years 2000 and 2099."
        except (ValueError, OverflowError):
            return (
                "it is not an ISO 8601 date and time such as 2026-12-31T18:00:00+08:00."
            )
        return None
    try:
        parsed = _bounded_duration(value) if value.upper().startswith("P") else None
    except Exception as exc:
        text = str(exc) if isinstance(exc, ValueError) else ""
        return text or "it is not an ISO 8601 duration such as PT15M, PT24H or P3D."
    if parsed is None:
        return "it is not an ISO 8601 duration such as PT15M, PT24H or P3D."
    if _approximate_days(parsed) * 86400 < 1:
        return "a duration under one second fires at once; give a longer one."
    return None


# --- service calls ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """A service task asking the engine to perform a named operation."""

    operation: str
    params: dict[str, Any]
    spec_name: str
    title: str
    data: dict[str, Any]


ServiceHandler = Callable[[ServiceCall], Mapping[str, Any]]

_service_handler: contextvars.ContextVar[ServiceHandler | None] = (
    contextvars.ContextVar("complaints_service_handler", default=None)
)


@contextlib.contextmanager
def service_handler(handler: ServiceHandler) -> Iterator[None]:
    token = _service_handler.set(handler)
    try:
        yield
    finally:
        _service_handler.reset(token)


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """What the library calls directly for some conditions; safe as well.

    SpiffWorkflow evaluates sequence-flow conditions (and message correlations)
    through the environment rather than the script engine, so the environment
    must not be the default one, which uses ``eval``.
    """

    def evaluate(
        self,
        expression: str,
        context: Mapping[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        names = dict(context)
        names.update(external_context or {})
        return expressions.evaluate(expression, names)

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        expressions.execute(script, context)
        return True

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Service calls go through the script engine.")


class SafeScriptEngine(PythonScriptEngine):
    """Evaluates diagram text with the safe evaluator; calls engine operations."""

    def validate(self, expression: str) -> None:
        expressions.validate(expression)

    def evaluate(
        self, task: SpiffTask, expression: str, external_context: Any = None
    ) -> Any:
        names = dict(task.data)
        names.update(external_context or {})
        try:
            return expressions.evaluate(expression, names)
        except expressions.ExpressionError as exc:
            raise ExpressionFailure(task, expression, exc.reason) from None

    def execute(
        self, task: SpiffTask, script: str, external_context: Any = None
    ) -> bool:
        try:
            expressions.execute(script, task.data)
        except expressions.ExpressionError as exc:
            raise ExpressionFailure(task, script, exc.reason) from None
        return True

    def call_service(self, task: SpiffTask, **kwargs: Any) -> str:
        handler = _service_handler.get()
        if handler is None:
            raise RuntimeError("A service task ran outside of an engine command.")
        params = {k: v["value"] for k, v in kwargs["operation_params"].items()}
        call = ServiceCall(
            operation=kwargs["operation_name"],
            params=params,
            spec_name=task.task_spec.bpmn_id or task.task_spec.name,
            title=task.task_spec.bpmn_name or "",
            data=task.data,
        )
        return json.dumps(dict(handler(call)))


class ExpressionFailure(SpiffWorkflowException):
    def __init__(self, task: SpiffTask, expression: str, reason: str) -> None:
        super().__init__(f"Expression {expression!r} failed: {reason}")
        self.task = task
        self.expression = expression
        self.reason = reason


SCRIPT_ENGINE = SafeScriptEngine(environment=SafeEnvironment())
_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


# --- definitions -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserTaskSpec:
    spec_name: str
    title: str
    lane: str | None
    form: str | None


@dataclass(frozen=True, slots=True)
class TimerSpec:
    spec_name: str
    title: str
    expression: str
    interrupting: bool


@dataclass(slots=True)
class ParsedDefinition:
    """A parsed, runnable process definition."""

    process_id: str
    spec: Any
    subprocess_specs: dict[str, Any]
    user_tasks: dict[str, UserTaskSpec] = field(default_factory=dict)
    timers: dict[str, TimerSpec] = field(default_factory=dict)
    operations: dict[str, str] = field(default_factory=dict)
    lanes: set[str] = field(default_factory=set)


def parse_definition(process_id: str, files: Mapping[str, bytes]) -> ParsedDefinition:
    """Parse BPMN and DMN files; raise :class:`DefinitionParseError` if unusable."""
    parser = SpiffBpmnParser()
    problems: list[Problem] = []

    for name, content in sorted(files.items()):
        if not name.endswith((".bpmn", ".dmn")):
            continue
        try:
            root = etree.fromstring(content, _xml_parser())
        except etree.XMLSyntaxError as exc:
            problems.append(
                Problem(
                    f"The file is not well-formed XML: {exc.msg}.",
                    file=name,
                    line=exc.lineno,
                )
            )
            continue

        try:
            if name.endswith(".dmn"):
                parser.add_dmn_xml(root, filename=name)
            else:
                _normalise_lanes(root)
                parser.add_bpmn_xml(root, filename=name)
        except ValidationException as exc:
            problems.append(_problem_from_validation(exc, name))
        except Exception as exc:  # the parser raises many kinds; all mean "rejected"
            problems.append(
                Problem(f"The file cannot be read: {_plain(exc)}", file=name)
            )

    if problems:
        raise DefinitionParseError(problems)

    try:
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise DefinitionParseError([_problem_from_validation(exc, None)]) from None
    except Exception as exc:
        raise DefinitionParseError(
            [Problem(f"Process {process_id!r} cannot be built: {_plain(exc)}")]
        ) from None

    parsed = ParsedDefinition(process_id, spec, subprocess_specs)
    for task_spec in _all_task_specs(spec, subprocess_specs):
        _index_spec(parsed, task_spec)
    return parsed


class DefinitionParseError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _xml_parser() -> etree.XMLParser:
    # No network, no entity expansion: diagrams are uploaded by people.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _plain(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text if text.endswith(".") else text + "."


def _problem_from_validation(exc: ValidationException, file: str | None) -> Problem:
    return Problem(
        getattr(exc, "message", None) or _plain(exc),
        file=getattr(exc, "file_name", None) or file,
        element_id=getattr(exc, "id", None) or None,
        element_name=getattr(exc, "name", None) or None,
        line=getattr(exc, "line_number", None) or None,
    )


def _normalise_lanes(root: Any) -> None:
    """Make lanes mean what a person reading the drawing sees.

    * A node that no lane lists goes into the lane where its shape is drawn:
      modelling tools often list only the nodes directly in the process, not
      the ones inside an expanded subprocess.
    * An expanded subprocess drawn across lanes gives no lane to its content:
      the parser would otherwise hand the subprocess's lane to every node in
      it, overriding their own.
    """
    lanes = root.findall(".//bpmn:lane", NS)
    if not lanes:
        return

    refs = {ref.text: ref for ref in root.iterfind(".//bpmn:flowNodeRef", NS)}
    for subprocess in root.iterfind(".//bpmn:subProcess", NS):
        inner = {node.get("id") for node in subprocess.iter() if node.get("id")}
        inner.discard(subprocess.get("id"))
        ref = refs.get(subprocess.get("id"))
        if ref is not None and inner & set(refs):
            ref.getparent().remove(ref)

    bounds = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        box = shape.find("dc:Bounds", NS)
        if box is not None:
            bounds[shape.get("bpmnElement")] = tuple(
                float(box.get(k, 0)) for k in ("x", "y", "width", "height")
            )

    lane_boxes = [(lane, bounds.get(lane.get("id"))) for lane in lanes]
    for tag in _LANED_TAGS:
        for node in root.iterfind(f".//bpmn:{tag}", NS):
            node_id = node.get("id")
            if node_id in refs or node_id not in bounds:
                continue
            lane = _lane_at(lane_boxes, bounds[node_id])
            if lane is not None:
                ref = etree.SubElement(lane, f"{{{BPMN_NS}}}flowNodeRef")
                ref.text = node_id


_LANED_TAGS = (
    "task",
    "userTask",
    "serviceTask",
    "businessRuleTask",
    "scriptTask",
    "manualTask",
    "sendTask",
    "receiveTask",
)


def _lane_at(lane_boxes: list[tuple[Any, Any]], shape: tuple[float, ...]) -> Any:
    x, y, w, h = shape
    cx, cy = x + w / 2, y + h / 2
    for lane, box in lane_boxes:
        if box and box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[3]:
            return lane
    return None


def _all_task_specs(spec: Any, subprocess_specs: Mapping[str, Any]) -> Iterator[Any]:
    yield from spec.task_specs.values()
    for sub in subprocess_specs.values():
        yield from sub.task_specs.values()


def _index_spec(parsed: ParsedDefinition, task_spec: Any) -> None:
    kind = task_spec.__class__.__name__
    bpmn_id = getattr(task_spec, "bpmn_id", None)
    if bpmn_id is None:
        return
    if getattr(task_spec, "lane", None):
        parsed.lanes.add(task_spec.lane)

    if getattr(task_spec, "manual", False):
        properties = (task_spec.extensions or {}).get("properties", {})
        parsed.user_tasks[bpmn_id] = UserTaskSpec(
            bpmn_id,
            task_spec.bpmn_name or bpmn_id,
            task_spec.lane,
            properties.get(FORM_PROPERTY),
        )
    elif kind == "ServiceTask":
        parsed.operations[bpmn_id] = task_spec.operation_name

    event_definition = getattr(task_spec, "event_definition", None)
    if isinstance(event_definition, TimerEventDefinition):
        parsed.timers[bpmn_id] = TimerSpec(
            bpmn_id,
            task_spec.bpmn_name or bpmn_id,
            event_definition.expression,
            bool(getattr(task_spec, "cancel_activity", True)),
        )


# --- running cases -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadyTask:
    id: str
    spec_name: str
    title: str
    lane: str | None
    form: str | None
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class WaitingTimer:
    spec_name: str
    title: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Step:
    """An element the engine completed during a command, in completion order."""

    task_id: str
    spec_name: str
    title: str
    kind: str
    lane: str | None
    outputs: dict[str, Any] = field(default_factory=dict)


class CaseRunner:
    """One case's workflow, loaded for the length of one command."""

    def __init__(self, workflow: Any) -> None:
        self._wf = workflow
        self._wf.script_engine = SCRIPT_ENGINE
        self._completed_before = self._completed_ids()

    @classmethod
    def start(cls, parsed: ParsedDefinition, data: Mapping[str, Any]) -> CaseRunner:
        workflow = BpmnWorkflow(
            parsed.spec, parsed.subprocess_specs, script_engine=SCRIPT_ENGINE
        )
        runner = cls(workflow)
        start = workflow.get_tasks(state=TaskState.READY)
        for task in start:
            task.data.update(data)
        return runner

    @classmethod
    def load(cls, state: str) -> CaseRunner:
        return cls(_SERIALIZER.deserialize_json(state))

    def dump(self) -> str:
        return str(_SERIALIZER.serialize_json(self._wf))

    # commands

    def run(self) -> None:
        """Run engine steps until only user tasks and waiting events remain."""
        self._wf.refresh_timers()
        self._wf.do_engine_steps()

    def complete(self, task_id: str, values: Mapping[str, Any]) -> None:
        """Complete a user task, after firing whatever fell due before it.

        A timer that was due before the user acted fires first, as the
        sweeper would have fired it: a late verification still records the
        breach, and a task whose deadline moved it away is no longer there.
        """
        self.run()
        task = self._ready_task(task_id)
        task.data.update(values)
        task.run()
        self.run()

    # queries

    @property
    def completed(self) -> bool:
        return bool(self._wf.completed)

    @property
    def data(self) -> dict[str, Any]:
        return dict(self._wf.data) | dict(self._last_data())

    def task_data(self, task_id: str) -> dict[str, Any]:
        return dict(self._ready_task(task_id).data)

    def ready_tasks(self) -> list[ReadyTask]:
        timers = self._timers_by_host()
        result = []
        for task in self._all_tasks(state=TaskState.READY):
            spec = task.task_spec
            if not spec.manual:
                continue
            properties = (spec.extensions or {}).get("properties", {})
            result.append(
                ReadyTask(
                    id=str(task.id),
                    spec_name=spec.bpmn_id,
                    title=spec.bpmn_name or spec.bpmn_id,
                    lane=spec.lane,
                    form=properties.get(FORM_PROPERTY),
                    due_at=self._due_for(task, timers),
                )
            )
        return result

    def waiting_timers(self) -> list[WaitingTimer]:
        result = []
        for task in self._wf.event_manager.tasks.values():
            due = _timer_due(task)
            if due is not None:
                spec = task.task_spec
                result.append(
                    WaitingTimer(spec.bpmn_id or spec.name, spec.bpmn_name or "", due)
                )
        return sorted(result, key=lambda t: t.due_at)

    def new_steps(self) -> list[Step]:
        """Elements completed since this runner was loaded, oldest first."""
        fresh = [
            t
            for t in self._all_tasks(state=TaskState.COMPLETED)
            if t.id not in self._completed_before
        ]
        fresh.sort(key=lambda t: t.last_state_change)
        steps = []
        for task in fresh:
            spec = task.task_spec
            kind = _AUDITED_KINDS.get(spec.__class__.__name__)
            if kind is None or not getattr(spec, "bpmn_id", None):
                continue
            steps.append(
                Step(
                    str(task.id),
                    spec.bpmn_id,
                    spec.bpmn_name or spec.bpmn_id,
                    kind,
                    getattr(spec, "lane", None),
                    _decision_outputs(task),
                )
            )
        return steps

    # internals

    def _all_tasks(self, **filters: Any) -> list[SpiffTask]:
        # The top workflow's iterator may or may not descend into subprocesses;
        # collect from each and keep every engine task once.
        tasks = {t.id: t for t in self._wf.get_tasks(**filters)}
        for sub in self._wf.subprocesses.values():
            tasks.update((t.id, t) for t in sub.get_tasks(**filters))
        return list(tasks.values())

    def _completed_ids(self) -> set[Any]:
        return {t.id for t in self._all_tasks(state=TaskState.COMPLETED)}

    def _last_data(self) -> dict[str, Any]:
        # The freshest data is on the most recently changed task.
        tasks = self._all_tasks()
        if not tasks:
            return {}
        newest = max(
            tasks,
            key=lambda t: (
                t.has_state(TaskState.COMPLETED | TaskState.READY),
                t.last_state_change,
            ),
        )
        return dict(newest.data)

    def _ready_task(self, task_id: str) -> SpiffTask:
        try:
            from uuid import UUID

            task = self._wf.get_task_from_id(UUID(task_id))
        except (ValueError, WorkflowException, KeyError):
            task = None
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise LookupError(task_id)
        return task

    def _timers_by_host(self) -> dict[Any, list[tuple[datetime, bool]]]:
        """Waiting boundary timers (due, interrupting), keyed by what they guard."""
        hosts: dict[Any, list[tuple[datetime, bool]]] = {}
        for task in self._wf.event_manager.tasks.values():
            due = _timer_due(task)
            split = task.parent
            if due is None or split is None:
                continue
            interrupting = bool(getattr(task.task_spec, "cancel_activity", True))
            for sibling in split.children:
                if sibling is not task:
                    hosts.setdefault(sibling.id, []).append((due, interrupting))
        return hosts

    def _due_for(
        self, task: SpiffTask, hosts: Mapping[Any, list[tuple[datetime, bool]]]
    ) -> datetime | None:
        """The task's deadline: a timer on the task itself, or an interrupting
        timer on a subprocess that encloses it (which would take the task away).

        A non-interrupting timer on an enclosing subprocess (the 3-day report)
        watches the whole case; it is not a deadline of each task inside.
        """
        dues = [due for due, _ in hosts.get(task.id, [])]
        current = self._enclosing(task)
        while current is not None:
            dues.extend(
                due for due, interrupting in hosts.get(current.id, []) if interrupting
            )
            current = self._enclosing(current)
        return min(dues) if dues else None

    def _enclosing(self, task: SpiffTask) -> SpiffTask | None:
        parent_id = getattr(task.workflow, "parent_task_id", None)
        return self._wf.get_task_from_id(parent_id) if parent_id else None


def _decision_outputs(task: SpiffTask) -> dict[str, Any]:
    """What a business rule task decided, by output name (empty otherwise)."""
    engine = getattr(task.task_spec, "dmnEngine", None)
    if engine is None:
        return {}
    names = [o.name or o.label for o in engine.decision_table.outputs]
    return {name: task.data.get(name) for name in names if name in task.data}


def _timer_due(task: SpiffTask) -> datetime | None:
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return None
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):  # a cycle timer
        value = value.get("next")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return ensure_utc(moment)


def describe_failure(exc: BaseException) -> tuple[str, str | None]:
    """A sentence about an engine failure, and the element it happened on."""
    task = getattr(exc, "task", None)
    element = None
    if task is not None:
        spec = task.task_spec
        element = getattr(spec, "bpmn_id", None) or spec.name
    if isinstance(exc, ExpressionFailure):
        return exc.reason, element
    message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    notes = getattr(exc, "notes", None) or []
    if notes:
        message = message + " (" + "; ".join(str(n) for n in notes) + ")"
    return message, element
