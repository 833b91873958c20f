"""Deploy-time checks of every piece of diagram text that will be evaluated.

Gateway conditions, timer expressions, service-task parameters, scripts and
DMN cells are run by the safe evaluator (:mod:`engine.expressions`). A diagram
whose text the evaluator refuses (an import, a dunder attribute, a lambda, an
oversized power) is rejected here with the element that holds it, before any
case can reach it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping

from lxml import etree

from . import expressions
from .errors import Problem
from .spiff import timer_problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
_TIMER_KINDS = {
    "timeDuration": "The timer duration",
    "timeDate": "The timer date",
    "timeCycle": "The repeating timer",
}


def check_files(files: Mapping[str, bytes]) -> list[Problem]:
    problems = []
    for name, content in sorted(files.items()):
        if not name.endswith((".bpmn", ".dmn")):
            continue
        try:
            root = etree.fromstring(
                content, etree.XMLParser(resolve_entities=False, no_network=True)
            )
        except etree.XMLSyntaxError:
            continue  # the parser step reports malformed files
        if root.getroottree().docinfo.doctype:
            problems.append(
                Problem(
                    "The file has a DOCTYPE declaration; diagrams may not declare "
                    "entities. Save it again from the modelling tool.",
                    file=name,
                )
            )
            continue
        for element, text, kind in _expressions(root, name.endswith(".dmn")):
            problem = _check(text, kind)
            if problem:
                problems.append(
                    Problem(
                        f"{kind} {text.strip()[:120]!r}: {problem}",
                        file=name,
                        element_id=element.get("id"),
                        element_name=element.get("name") or element.get("label"),
                        line=element.sourceline,
                    )
                )
    return problems


def _expressions(
    root: etree._Element, is_dmn: bool
) -> Iterator[tuple[etree._Element, str, str]]:
    if is_dmn:
        yield from _dmn_expressions(root)
        return

    for node in root.iter(f"{{{BPMN_NS}}}conditionExpression"):
        yield node.getparent(), node.text or "", "The condition"
    for tag, kind in _TIMER_KINDS.items():
        for node in root.iter(f"{{{BPMN_NS}}}{tag}"):
            yield _owner(node), node.text or "", kind
    for node in root.iter(f"{{{SPIFF_NS}}}parameter"):
        yield _owner(node), node.get("value") or "", "The parameter"
    for node in root.iter(f"{{{BPMN_NS}}}script"):
        yield node.getparent(), node.text or "", "The script"
    for tag in ("preScript", "postScript"):
        for node in root.iter(f"{{{SPIFF_NS}}}{tag}"):
            yield _owner(node), node.text or "", "The script"


def _dmn_expressions(root: etree._Element) -> Iterator[tuple[etree._Element, str, str]]:
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        local = etree.QName(node).localname
        if local == "inputExpression":
            text = node.findtext("{*}text") or ""
            yield node.getparent(), text, "The input expression"
        elif local in ("inputEntry", "outputEntry"):
            text = node.findtext("{*}text") or ""
            yield (
                node.getparent(),
                text,
                "The cell" if local == "inputEntry" else "The output",
            )
            if local == "inputEntry":
                continue


def _owner(node: etree._Element) -> etree._Element:
    """The flow element that holds ``node`` (not an event definition inside it)."""
    current = node.getparent()
    while current is not None and (
        current.get("id") is None or str(current.tag).endswith("EventDefinition")
    ):
        current = current.getparent()
    return current if current is not None else node


def _check(text: str, kind: str) -> str | None:
    text = text.strip()
    if not text and kind in _TIMER_KINDS.values():
        return "the timer has no value; write a duration such as PT15M."
    if not text or text == "-":
        return None
    is_script = kind == "The script"
    try:
        if is_script:
            expressions.check_script(text)
        elif kind == "The cell":
            _check_cell(text)
        else:
            expressions.validate(text)
            value = _check_calls_and_constants(text)
            if kind in _TIMER_KINDS.values() and value is not _NOT_CONSTANT:
                return timer_problem(kind, value)
    except expressions.ExpressionError as exc:
        return exc.reason
    except SyntaxError as exc:
        return f"it cannot be read ({exc.msg})."
    return None


_NOT_CONSTANT = object()


def expression_names(text: str) -> set[str]:
    """The data names an expression reads (none for an ISO literal)."""
    text = text.strip()
    if expressions.ISO_LITERAL.fullmatch(text):
        return set()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return set()
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id not in called
    }


def _check_calls_and_constants(text: str) -> object:
    """Refuse calls of unknown functions; run an expression that needs no data.

    An expression without names (``9**9**9``) gives the same result for every
    case, so evaluating it now finds its failure before a case does.
    """
    if expressions.ISO_LITERAL.fullmatch(text):
        return text
    tree = ast.parse(text, mode="eval")
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id not in expressions.BUILTIN_FUNCTIONS:
                raise expressions.ExpressionError(
                    text,
                    f"The function '{node.func.id}' is not available; the "
                    f"available functions are: "
                    f"{', '.join(sorted(expressions.BUILTIN_FUNCTIONS))}.",
                )
        elif isinstance(node, ast.Name):
            names.add(node.id)
    if not names - expressions.BUILTIN_FUNCTIONS:
        return expressions.evaluate(text, {})
    return _NOT_CONSTANT


def _check_cell(text: str) -> None:
    # A DMN input cell is either a whole expression ("loss") or the right-hand
    # side of a comparison with the input ("> 5"), as SpiffWorkflow reads it.
    try:
        expressions.validate(text)
    except SyntaxError:
        expressions.validate(f"dmninputexpr {text}")
        _check_calls_and_constants(f"dmninputexpr {text}")
    else:
        _check_calls_and_constants(text)
