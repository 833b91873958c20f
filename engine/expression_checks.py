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

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
_TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")


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
    for tag in _TIMER_TAGS:
        for node in root.iter(f"{{{BPMN_NS}}}{tag}"):
            yield _owner(node), node.text or "", "The timer"
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
            _check_calls_and_constants(text)
    except expressions.ExpressionError as exc:
        return exc.reason
    except SyntaxError as exc:
        return f"it cannot be read ({exc.msg})."
    return None


def _check_calls_and_constants(text: str) -> None:
    """Refuse calls of unknown functions; run an expression that needs no data.

    An expression without names (``9**9**9``) gives the same result for every
    case, so evaluating it now finds its failure before a case does.
    """
    if expressions.ISO_LITERAL.fullmatch(text):
        return
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
        expressions.evaluate(text, {})


def _check_cell(text: str) -> None:
    # A DMN input cell is either a whole expression ("loss") or the right-hand
    # side of a comparison with the input ("> 5"), as SpiffWorkflow reads it.
    try:
        expressions.validate(text)
    except SyntaxError:
        expressions.validate(f"dmninputexpr {text}")
