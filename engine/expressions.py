"""A small, safe expression language for text that comes from process diagrams.

Gateway conditions, timer definitions, service-task parameters, DMN cells and
short script tasks are written by analysts in BPMN and DMN files. That text is
never handed to Python's own evaluator. It is read with :func:`ast.parse` and the
tree is walked by this module, which knows only the constructs listed here.

The language
------------
* Literals: text in quotes, whole and decimal numbers, ``True``, ``False``,
  ``None``, lists ``[1, 2]``, tuples ``(1, 2)``, tables ``{"k": 1}``, sets ``{1}``.
* A bare ISO 8601 duration, date, date-time or repeating interval (``PT15M``,
  ``P3D``, ``2026-12-04T10:00:00+08:00``, ``R3/PT1H``) is that text, so a timer
  may be written with or without quotes.
* Names are looked up in the case data, then among the functions the engine
  offers, then among the built-in functions below.
* Arithmetic ``+ - * / // % **``; comparisons, also chained (``4 < x < 6``);
  ``in`` and ``not in``; ``is None`` and ``is not None``; ``and``, ``or`` and
  ``not`` (the right side is only evaluated when needed); ``a if cond else b``;
  items and slices (``d["k"]``, ``l[0]``, ``s[1:3]``).
* Built-in functions: len, min, max, abs, round, int, float, str, bool, sum, any,
  all, sorted. Methods of text: lower, upper, strip, startswith, endswith, split,
  replace. Methods of tables: get, keys, values, items (the last three give lists).
* Scripts (:func:`execute`) are lines, or parts separated by ``;``, of the form
  ``name = expression`` (also ``a = b = expression``), ``name += expression``,
  ``table["key"] = expression``, ``list[0] = expression`` or ``pass``.

Everything else is refused before anything runs: other attributes, names that
start with ``_``, lambda, comprehensions, ``:=``, f-strings, imports, loops,
function definitions. Work is bounded: at most 10,000 characters, 1,000 syntax
nodes and 100 levels of nesting per text; exponents above 100, whole numbers
beyond 10**100 and texts or lists longer than 100,000 items are refused; each run
may take at most 100,000 steps. Every failure is an :class:`ExpressionError` whose
``reason`` says in one sentence what is wrong and what to do.
"""

from __future__ import annotations

import ast
import functools
import logging
import numbers
import operator
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

__all__ = [
    "ISO_LITERAL",
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_INT",
    "MAX_ITEMS",
    "MAX_LENGTH",
    "MAX_NODES",
    "MAX_STEPS",
    "ExpressionError",
    "ExpressionSyntaxError",
    "check_script",
    "evaluate",
    "execute",
    "validate",
]

logger = logging.getLogger(__name__)

MAX_LENGTH = 10_000
MAX_NODES = 1_000
MAX_DEPTH = 100
MAX_STEPS = 100_000
MAX_EXPONENT = 100
MAX_INT = 10**100
MAX_ITEMS = 100_000
MAX_LISTED = 20

Functions = Mapping[str, Callable[..., Any]]

# --------------------------------------------------------------------------- ISO

_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION = (
    rf"P(?=\d|T\d)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?"
)
_DATE = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_TIME = r"T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d+)?)?"
_ZONE = r"(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?"
_DATETIME = rf"{_DATE}(?:{_TIME}{_ZONE})?"
_REPEAT = (
    rf"R\d*/(?:{_DATETIME}/{_DURATION}|{_DURATION}/{_DATETIME}"
    rf"|{_DATETIME}/{_DATETIME}|{_DURATION})"
)

ISO_LITERAL: re.Pattern[str] = re.compile(rf"\A(?:{_REPEAT}|{_DURATION}|{_DATETIME})\Z")
"""A whole ISO 8601 duration, date or date-time, or repeating interval."""


# ------------------------------------------------------------------------ errors


class ExpressionError(Exception):
    """Raised for any expression that is rejected or fails.

    ``expression`` is the text concerned; ``reason`` is a whole sentence a
    business analyst understands: what is wrong and what to do about it.
    """

    def __init__(self, expression: str, reason: str) -> None:
        Exception.__init__(self, expression, reason)
        self.expression = expression
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason} Expression: {_excerpt(self.expression)}"


class ExpressionSyntaxError(ExpressionError, SyntaxError):
    """The text cannot be parsed; both an ExpressionError and a SyntaxError."""

    def __init__(
        self,
        expression: str,
        reason: str,
        lineno: int | None = None,
        offset: int | None = None,
    ) -> None:
        ExpressionError.__init__(self, expression, reason)
        self.msg = reason
        self.filename = "<expression>"
        self.lineno = lineno
        self.offset = offset
        self.text = expression


class _Refused(Exception):
    """Internal: a run-time refusal, turned into ExpressionError by the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _excerpt(text: str, limit: int = 200) -> str:
    """Return text, shortened with an ellipsis when it is longer than limit."""
    return text if len(text) <= limit else text[:limit] + "..."


def _listing(items: Iterable[str]) -> str:
    """Join at most MAX_LISTED sorted items, saying how many were left out."""
    ordered = sorted(items)
    shown = ", ".join(ordered[:MAX_LISTED])
    hidden = len(ordered) - MAX_LISTED
    return f"{shown} and {hidden} more" if hidden > 0 else shown


def _describe(value: Any) -> str:
    """Name the kind of a value in words an analyst uses."""
    if value is None:
        return "nothing (None)"
    if isinstance(value, bool):
        return "a yes/no value"
    if isinstance(value, numbers.Number):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a table"
    return f"a value of type {type(value).__name__}"


def _explain(exc: Exception) -> str:
    """Turn a Python exception raised while evaluating into a sentence."""
    detail = _excerpt(str(exc), 160)
    if isinstance(exc, ZeroDivisionError):
        return (
            "The expression divides by zero; make sure the divisor cannot be 0, "
            "for example with 'a / b if b else 0'."
        )
    if isinstance(exc, KeyError):
        key = _excerpt(repr(exc.args[0]) if exc.args else "?", 80)
        return (
            f"The table has no entry {key}; check the spelling, or use "
            f".get({key}) where the entry may be missing."
        )
    if isinstance(exc, IndexError):
        return (
            "A position in a list or text is out of range; check its length "
            "with len(...) first."
        )
    if isinstance(exc, RecursionError):
        return "The expression is nested too deeply; split it into smaller steps."
    if isinstance(exc, MemoryError):
        return "The expression needs too much memory; make its values smaller."
    if isinstance(exc, OverflowError):
        return "A number became too large to handle; check the values it uses."
    if isinstance(exc, ArithmeticError):
        return f"A calculation failed ({detail}); check the values it uses."
    if isinstance(exc, TypeError):
        return (
            f"The expression combines values that do not fit together ({detail}); "
            "check the kinds of values it uses."
        )
    if isinstance(exc, ValueError):
        return (
            f"A value could not be used as asked ({detail}); check that the case "
            "data holds what the expression expects."
        )
    return (
        f"The expression failed unexpectedly ({type(exc).__name__}: {detail}); "
        "report this to a developer."
    )


# ---------------------------------------------------------------- static checks

_STR_METHODS: dict[str, Callable[..., Any]] = {
    "lower": str.lower,
    "upper": str.upper,
    "strip": str.strip,
    "startswith": str.startswith,
    "endswith": str.endswith,
    "split": str.split,
}


def _replace(text: str, old: str, new: str, count: int = -1) -> str:
    """str.replace, refusing results longer than MAX_ITEMS characters."""
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        hits = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        size = len(text) + hits * (len(new) - len(old))
        if size > MAX_ITEMS:
            raise _Refused(_TOO_LONG)
    return text.replace(old, new, count)


def _keys(table: dict[Any, Any]) -> list[Any]:
    """The keys of a table, as a list."""
    return list(table.keys())


def _values(table: dict[Any, Any]) -> list[Any]:
    """The values of a table, as a list."""
    return list(table.values())


def _items(table: dict[Any, Any]) -> list[tuple[Any, Any]]:
    """The (key, value) pairs of a table, as a list."""
    return list(table.items())


_STR_METHODS["replace"] = _replace
_DICT_METHODS: dict[str, Callable[..., Any]] = {
    "get": dict.get,
    "keys": _keys,
    "values": _values,
    "items": _items,
}
_METHOD_NAMES = frozenset(_STR_METHODS) | frozenset(_DICT_METHODS)

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
    ast.Not: operator.not_,
}


def _is_in(item: Any, container: Any) -> bool:
    """The ``in`` operator."""
    return item in container


def _is_not_in(item: Any, container: Any) -> bool:
    """The ``not in`` operator."""
    return item not in container


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: _is_in,
    ast.NotIn: _is_not_in,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_SYMBOLS: dict[type[ast.AST], str] = {
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.MatMult: "@",
    ast.Invert: "~",
}

_COMPREHENSION = (
    "Comprehensions such as [x for x in items] are not allowed; ask a developer "
    "for a function that does this."
)
_UNPACKING = "Unpacking with * or ** is not allowed; write the items one by one."
_REFUSED_KINDS: dict[type[ast.AST], str] = {
    ast.Lambda: "Lambda functions are not allowed; write the condition directly.",
    ast.ListComp: _COMPREHENSION,
    ast.SetComp: _COMPREHENSION,
    ast.DictComp: _COMPREHENSION,
    ast.GeneratorExp: _COMPREHENSION,
    ast.NamedExpr: (
        "Assignments inside an expression (:=) are not allowed; use a script "
        "task to set values."
    ),
    ast.JoinedStr: (
        "f-strings are not allowed; join texts with + and str(...) instead."
    ),
    ast.FormattedValue: (
        "f-strings are not allowed; join texts with + and str(...) instead."
    ),
    ast.Starred: _UNPACKING,
    ast.Await: "'await' is not part of the expression language; remove it.",
    ast.Yield: "'yield' is not part of the expression language; remove it.",
    ast.YieldFrom: "'yield' is not part of the expression language; remove it.",
}
_PERMITTED = (
    ast.Expression,
    ast.Module,
    ast.Assign,
    ast.AugAssign,
    ast.Pass,
    ast.Load,
    ast.Store,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.BoolOp,
    ast.IfExp,
    ast.Subscript,
    ast.Slice,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.boolop,
)


def _reserved(word: str, what: str) -> str | None:
    """Refuse a name, attribute or keyword that starts with an underscore."""
    if not word.startswith("_"):
        return None
    return (
        f"The {what} '{_excerpt(word, 60)}' starts with '_', which is reserved; "
        "use names that start with a letter."
    )


def _check_constant(node: ast.Constant, calls: set[int]) -> str | None:
    """Allow text, numbers up to 10**100, True, False and None."""
    value = node.value
    if isinstance(value, complex):
        return "Complex numbers are not allowed; use whole or decimal numbers."
    if isinstance(value, bytes):
        return "Byte strings (b'...') are not allowed; use normal text in quotes."
    if value is Ellipsis:
        return "'...' is not part of the expression language; remove it."
    if isinstance(value, int) and abs(value) > MAX_INT:
        return _TOO_LARGE
    return None


def _check_name(node: ast.Name, calls: set[int]) -> str | None:
    """Refuse reserved names."""
    return _reserved(node.id, "name")


def _check_attribute(node: ast.Attribute, calls: set[int]) -> str | None:
    """Allow only the listed methods, and only when they are called."""
    reserved = _reserved(node.attr, "attribute")
    if reserved is not None:
        return reserved
    if node.attr not in _METHOD_NAMES:
        return (
            f"'.{node.attr}' is not available; only the methods "
            f"{_listing(_METHOD_NAMES)} may be used."
        )
    if id(node) not in calls:
        return (
            f"'.{node.attr}' must be called with brackets, as in "
            f"value.{node.attr}(...)."
        )
    return None


def _check_call(node: ast.Call, calls: set[int]) -> str | None:
    """Allow calls of named functions and listed methods only."""
    if type(node.func) in _REFUSED_KINDS:
        return _REFUSED_KINDS[type(node.func)]
    if not isinstance(node.func, (ast.Name, ast.Attribute)):
        return (
            "Only named functions and the listed methods can be called; call a "
            "function by its name, as in len(items)."
        )
    return None


def _check_keyword(node: ast.keyword, calls: set[int]) -> str | None:
    """Refuse ``**`` unpacking and reserved keyword names."""
    if node.arg is None:
        return _UNPACKING
    return _reserved(node.arg, "argument name")


def _check_dict(node: ast.Dict, calls: set[int]) -> str | None:
    """Refuse ``{**other}`` in table displays."""
    return _UNPACKING if any(key is None for key in node.keys) else None


def _operator_problem(op: ast.AST) -> str | None:
    """Refuse bitwise and matrix operators."""
    if type(op) in _BINARY or type(op) in _UNARY:
        return None
    symbol = _SYMBOLS.get(type(op), type(op).__name__)
    return f"The operator '{symbol}' is not allowed; use + - * / // % ** and, or, not."


def _check_binop(node: ast.BinOp, calls: set[int]) -> str | None:
    """Allow the arithmetic operators only."""
    return _operator_problem(node.op)


def _check_unaryop(node: ast.UnaryOp, calls: set[int]) -> str | None:
    """Allow +x, -x and not x only."""
    return _operator_problem(node.op)


def _check_compare(node: ast.Compare, calls: set[int]) -> str | None:
    """Allow 'is' and 'is not' only with None on their right."""
    for op, right in zip(node.ops, node.comparators):
        is_none = isinstance(right, ast.Constant) and right.value is None
        if isinstance(op, (ast.Is, ast.IsNot)) and not is_none:
            return (
                "'is' may only be used as 'is None' or 'is not None'; use == or "
                "!= to compare values."
            )
    return None


_CHECKS: dict[type[ast.AST], Callable[[Any, set[int]], str | None]] = {
    ast.Constant: _check_constant,
    ast.Name: _check_name,
    ast.Attribute: _check_attribute,
    ast.Call: _check_call,
    ast.keyword: _check_keyword,
    ast.Dict: _check_dict,
    ast.BinOp: _check_binop,
    ast.UnaryOp: _check_unaryop,
    ast.Compare: _check_compare,
}


def _node_problem(node: ast.AST, calls: set[int]) -> str | None:
    """Say why node is not allowed, or return None when it is."""
    check = _CHECKS.get(type(node))
    if check is not None:
        return check(node, calls)
    if isinstance(node, _PERMITTED):
        return None
    return _REFUSED_KINDS.get(
        type(node),
        f"'{type(node).__name__}' is not part of the expression language; remove it.",
    )


def _measure(tree: ast.AST, text: str) -> None:
    """Refuse trees with too many nodes or too deep a nesting."""
    count = 0
    pending: list[tuple[ast.AST, int]] = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(text, _TOO_COMPLEX)
        if depth > MAX_DEPTH:
            raise ExpressionError(text, _TOO_DEEP)
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _located(node: ast.AST, reason: str, script: bool) -> str:
    """Prefix a script's reason with the line it concerns."""
    line = getattr(node, "lineno", None)
    return f"Line {line}: {reason}" if script and line is not None else reason


def _check_tree(tree: ast.AST, text: str, script: bool) -> None:
    """Refuse any node outside the language, before anything runs."""
    _measure(tree, text)
    if isinstance(tree, ast.Module):
        _check_statements(tree, text)
    nodes = list(ast.walk(tree))
    calls = {id(node.func) for node in nodes if isinstance(node, ast.Call)}
    for node in nodes:
        reason = _node_problem(node, calls)
        if reason is not None:
            raise ExpressionError(text, _located(node, reason, script))


# -------------------------------------------------------------- script checks

_LOOPS = "Loops are not allowed"
_DEFINITIONS = "Defining functions or classes is not allowed"
_STATEMENT_KINDS: dict[type[ast.AST], str] = {
    ast.Import: "Importing modules is not allowed",
    ast.ImportFrom: "Importing modules is not allowed",
    ast.FunctionDef: _DEFINITIONS,
    ast.AsyncFunctionDef: _DEFINITIONS,
    ast.ClassDef: _DEFINITIONS,
    ast.For: _LOOPS,
    ast.AsyncFor: _LOOPS,
    ast.While: _LOOPS,
    ast.If: (
        "'if' statements are not allowed (use 'a if condition else b' inside an "
        "assignment)"
    ),
    ast.With: "'with' is not allowed",
    ast.AsyncWith: "'with' is not allowed",
    ast.Try: "'try' is not allowed",
    ast.TryStar: "'try' is not allowed",
    ast.Delete: "Deleting names is not allowed",
    ast.Global: "'global' is not allowed",
    ast.Nonlocal: "'nonlocal' is not allowed",
    ast.Return: "'return' is not allowed",
    ast.Raise: "'raise' is not allowed",
    ast.Assert: "'assert' is not allowed",
    ast.AnnAssign: "Type annotations are not allowed",
    ast.Match: "'match' is not allowed",
    ast.Break: _LOOPS,
    ast.Continue: _LOOPS,
}
_ONLY_ASSIGNMENTS = "a script may only assign values, as in total = amount * 2."


def _target_problem(target: ast.expr) -> str | None:
    """Allow a single name, or one item of a table or list, as a target."""
    if isinstance(target, ast.Name):
        return None
    if isinstance(target, ast.Subscript):
        if isinstance(target.slice, ast.Slice):
            return "Assigning to a slice is not allowed (set one item at a time)"
        return None
    if isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
        return "Assigning several names at once is not allowed (use one line each)"
    if isinstance(target, ast.Attribute):
        return "Assigning to an attribute is not allowed (use table['key'] = ...)"
    return "Only names and items can be assigned to"


def _statement_problem(statement: ast.stmt) -> str | None:
    """Say why a top-level statement is not allowed, or return None."""
    if isinstance(statement, ast.Pass):
        return None
    if isinstance(statement, ast.Assign):
        problems = (_target_problem(target) for target in statement.targets)
        return next((p for p in problems if p is not None), None)
    if isinstance(statement, ast.AugAssign):
        problem = _operator_problem(statement.op)
        return _target_problem(statement.target) or problem
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return "A line that only calls a function is not allowed (assign its result)"
    if isinstance(statement, ast.Expr):
        return "This line does not assign anything"
    return _STATEMENT_KINDS.get(type(statement), "This statement is not allowed")


def _check_statements(tree: ast.Module, text: str) -> None:
    """Refuse every statement other than assignments and pass."""
    for statement in tree.body:
        problem = _statement_problem(statement)
        if problem is None:
            continue
        reason = f"Line {statement.lineno}: {problem}; {_ONLY_ASSIGNMENTS}"
        raise ExpressionError(text, reason)


# ------------------------------------------------------------------- parsing


def _checked_text(text: object, what: str) -> str:
    """Refuse text that is missing or too long."""
    if not isinstance(text, str):
        raise ExpressionError(
            str(text), f"The {what} is missing or is not text; write it as text."
        )
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            text,
            f"The {what} is {len(text):,} characters long, more than the "
            f"{MAX_LENGTH:,} allowed; split it into smaller steps.",
        )
    return text


def _parse(text: str, mode: str, what: str) -> ast.AST:
    """Parse text, turning every parser failure into ExpressionSyntaxError."""
    if not text.strip() and mode == "eval":
        raise ExpressionSyntaxError(
            text, f"The {what} is empty; write a value or a condition."
        )
    try:
        return ast.parse(text, mode=mode)
    except SyntaxError as exc:
        message = str(exc.msg).rstrip(".")
        raise ExpressionSyntaxError(
            text,
            f"The {what} cannot be read (line {exc.lineno}, column {exc.offset}: "
            f"{message}); check brackets, quotes and operators.",
            exc.lineno,
            exc.offset,
        ) from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionSyntaxError(
            text,
            f"The {what} cannot be read: it is nested too deeply or contains "
            "characters that are not allowed; simplify it.",
        ) from None


@functools.lru_cache(maxsize=512)
def _parsed_expression(text: str) -> ast.Expression:
    """Parse and check an expression; the result is shared, never modified."""
    tree = _parse(text, "eval", "expression")
    _check_tree(tree, text, script=False)
    return cast(ast.Expression, tree)


@functools.lru_cache(maxsize=256)
def _parsed_script(text: str) -> ast.Module:
    """Parse and check a script; the result is shared, never modified."""
    tree = _parse(text, "exec", "script")
    _check_tree(tree, text, script=True)
    return cast(ast.Module, tree)


# ------------------------------------------------------------------- limits

_TOO_COMPLEX = (
    f"The text has more than {MAX_NODES:,} parts and is too complex; split it "
    "into smaller steps."
)
_TOO_DEEP = (
    f"The text is nested more than {MAX_DEPTH} levels deep; split it into "
    "smaller steps."
)
_TOO_LARGE = "A whole number larger than 10**100 is not allowed; check the values used."
_TOO_LONG = (
    f"The result would be longer than {MAX_ITEMS:,} characters or items, which "
    "is not allowed; make it smaller."
)
_NOT_REAL = (
    "The result is not a real number (for example a root of a negative number); "
    "check the values used."
)
_SEQUENCES = (str, list, tuple)


def _is_number(value: Any) -> bool:
    """True for real numbers (bool, int, float, Decimal, Fraction)."""
    return isinstance(value, numbers.Number) and not isinstance(value, complex)


def _check_magnitude(value: Any) -> None:
    """Refuse whole numbers beyond 10**100."""
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise _Refused(_TOO_LARGE)


def _checked(value: Any) -> Any:
    """Return a computed value after refusing huge integers and complex numbers."""
    _check_magnitude(value)
    if isinstance(value, complex):
        raise _Refused(_NOT_REAL)
    return value


def _weight(value: Any) -> int:
    """Count characters and items of value, nested ones too; stop past MAX_ITEMS."""
    total = 0
    pending = [value]
    while pending and total <= MAX_ITEMS:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, (list, tuple, set, frozenset, dict)):
            total += len(item)
            if total <= MAX_ITEMS:
                pending.extend(item)
            if total <= MAX_ITEMS and isinstance(item, dict):
                pending.extend(item.values())
    return total


def _check_repetition(left: Any, right: Any) -> None:
    """Refuse text or list repetition whose result is too long."""
    if isinstance(left, int) and isinstance(right, _SEQUENCES):
        count, sequence = left, right
    elif isinstance(right, int) and isinstance(left, _SEQUENCES):
        count, sequence = right, left
    else:
        return
    if count > 0 and _weight(sequence) * count > MAX_ITEMS:
        raise _Refused(_TOO_LONG)


def _check_joining(left: Any, right: Any) -> None:
    """Refuse joining texts, lists or tuples into a too long result."""
    same = any(isinstance(left, t) and isinstance(right, t) for t in _SEQUENCES)
    if same and _weight(left) + _weight(right) > MAX_ITEMS:
        raise _Refused(_TOO_LONG)


def _power(base: Any, exponent: Any) -> Any:
    """base ** exponent, for numbers only and within the limits."""
    if not (_is_number(base) and _is_number(exponent)):
        raise _Refused("'**' works on numbers only; check the values it uses.")
    if exponent > MAX_EXPONENT:
        raise _Refused(
            f"Powers with an exponent above {MAX_EXPONENT} are not allowed; "
            "check the exponent."
        )
    _check_magnitude(base)
    result = _checked(base**exponent)
    if abs(result) > MAX_INT:
        raise _Refused(
            "The result of '**' is larger than 10**100, which is not allowed; "
            "check the values it uses."
        )
    return result


def _arithmetic(op: ast.operator, left: Any, right: Any) -> Any:
    """Apply a binary operator after checking its size limits."""
    if isinstance(op, ast.Pow):
        return _power(left, right)
    _check_magnitude(left)
    _check_magnitude(right)
    if isinstance(op, ast.Mult):
        _check_repetition(left, right)
    elif isinstance(op, ast.Add):
        _check_joining(left, right)
    elif isinstance(op, ast.Mod) and isinstance(left, str):
        raise _Refused(
            "Formatting text with % is not allowed; join texts with + and "
            "str(...) instead."
        )
    return _checked(_BINARY[type(op)](left, right))


# ------------------------------------------------------------------ builtins


def _safe_round(number: Any, ndigits: Any = None) -> Any:
    """round(), refusing digit counts beyond MAX_EXPONENT."""
    if isinstance(ndigits, int) and abs(ndigits) > MAX_EXPONENT:
        raise _Refused(
            f"round(...) keeps at most {MAX_EXPONENT} digits; use a smaller "
            "number of digits."
        )
    return round(number, ndigits)


def _safe_sum(values: Iterable[Any], start: Any = 0) -> Any:
    """sum() of numbers only (joining lists this way could grow without bound)."""
    items = list(values)
    if not all(_is_number(item) for item in [*items, start]):
        raise _Refused(
            "sum(...) adds up numbers only; check that every item is a number."
        )
    return sum(items, start)


def _safe_str(value: Any = "") -> str:
    """str(), refusing to spell out very large lists and tables."""
    if not isinstance(value, str) and _weight(value) > MAX_ITEMS:
        raise _Refused(_TOO_LONG)
    return str(value)


_BUILTINS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": _safe_round,
    "int": int,
    "float": float,
    "str": _safe_str,
    "bool": bool,
    "sum": _safe_sum,
    "any": any,
    "all": all,
    "sorted": sorted,
}


def _bound_method(target: Any, name: str) -> Callable[..., Any]:
    """Return the listed method name of target, or refuse."""
    if isinstance(target, str) and name in _STR_METHODS:
        return functools.partial(_STR_METHODS[name], target)
    if isinstance(target, dict) and name in _DICT_METHODS:
        return functools.partial(_DICT_METHODS[name], target)
    raise _Refused(
        f"'.{name}()' cannot be used on {_describe(target)}; the methods of text "
        f"are {_listing(_STR_METHODS)}, and those of tables are "
        f"{_listing(_DICT_METHODS)}."
    )


def _set_item(container: Any, key: Any, value: Any) -> None:
    """container[key] = value, for tables and lists only."""
    if not isinstance(container, (dict, list)) or isinstance(key, slice):
        raise _Refused(
            "Only one entry of a table or a list can be set; this value is "
            f"{_describe(container)}."
        )
    container[key] = value


# ----------------------------------------------------------------- evaluation


class _Evaluator:
    """Walks a checked tree against the case data."""

    def __init__(self, names: Mapping[str, Any], functions: Functions | None) -> None:
        self.names = names
        self.functions: Functions = functions if functions is not None else {}
        self.steps = 0
        self.handlers: dict[type[ast.AST], Callable[[Any], Any]] = {
            ast.Constant: self.constant,
            ast.Name: self.name,
            ast.List: self.list_display,
            ast.Tuple: self.tuple_display,
            ast.Set: self.set_display,
            ast.Dict: self.dict_display,
            ast.BinOp: self.binary,
            ast.UnaryOp: self.unary,
            ast.BoolOp: self.boolean,
            ast.Compare: self.compare,
            ast.IfExp: self.conditional,
            ast.Subscript: self.subscript,
            ast.Slice: self.slice_part,
            ast.Call: self.call,
        }

    def value(self, node: ast.AST) -> Any:
        """Evaluate one node, counting it against the step budget."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _Refused(
                f"The evaluation takes more than {MAX_STEPS:,} steps; simplify it."
            )
        return self.handlers[type(node)](node)

    def constant(self, node: ast.Constant) -> Any:
        """A literal."""
        return node.value

    def name(self, node: ast.Name) -> Any:
        """A name from the case data; functions are only for calling."""
        if node.id in self.names:
            return self.names[node.id]
        if self.find_function(node.id) is not None:
            raise _Refused(
                f"'{node.id}' is a function; call it with brackets, as in "
                f"{node.id}(...)."
            )
        available = [str(k) for k in self.names if not str(k).startswith("_")]
        listed = _listing(available) if available else "no values yet"
        separator = ": " if available else " "
        raise _Refused(
            f"The name '{node.id}' is not defined; the case data has"
            f"{separator}{listed}."
        )

    def list_display(self, node: ast.List) -> list[Any]:
        """[a, b]"""
        return [self.value(element) for element in node.elts]

    def tuple_display(self, node: ast.Tuple) -> tuple[Any, ...]:
        """(a, b)"""
        return tuple(self.value(element) for element in node.elts)

    def set_display(self, node: ast.Set) -> set[Any]:
        """{a, b}"""
        return {self.value(element) for element in node.elts}

    def dict_display(self, node: ast.Dict) -> dict[Any, Any]:
        """{k: v}; keys are never None after checking."""
        pairs = zip(node.keys, node.values)
        return {self.value(cast(ast.expr, k)): self.value(v) for k, v in pairs}

    def binary(self, node: ast.BinOp) -> Any:
        """a + b and the other arithmetic operators."""
        left = self.value(node.left)
        return _arithmetic(node.op, left, self.value(node.right))

    def unary(self, node: ast.UnaryOp) -> Any:
        """-a, +a, not a."""
        operand = self.value(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        _check_magnitude(operand)
        return _checked(_UNARY[type(node.op)](operand))

    def boolean(self, node: ast.BoolOp) -> Any:
        """and / or, evaluating the right side only when it is needed."""
        stop_when = isinstance(node.op, ast.Or)
        result: Any = None
        for operand in node.values:
            result = self.value(operand)
            if bool(result) is stop_when:
                return result
        return result

    def compare(self, node: ast.Compare) -> bool:
        """Comparisons, chained ones stopping at the first false link."""
        left = self.value(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.value(comparator)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def conditional(self, node: ast.IfExp) -> Any:
        """a if condition else b."""
        if self.value(node.test):
            return self.value(node.body)
        return self.value(node.orelse)

    def subscript(self, node: ast.Subscript) -> Any:
        """d["k"], l[0], s[1:3] on text, lists and tables."""
        container = self.value(node.value)
        key = self.value(node.slice)
        if not isinstance(container, (Mapping, Sequence)):
            raise _Refused(
                "Only text, lists and tables have items; this value is "
                f"{_describe(container)}."
            )
        return container[key]

    def slice_part(self, node: ast.Slice) -> slice:
        """The a:b:c part of a subscript."""
        parts = (node.lower, node.upper, node.step)
        return slice(*(None if p is None else self.value(p) for p in parts))

    def call(self, node: ast.Call) -> Any:
        """A call of an allowed function or method."""
        if isinstance(node.func, ast.Attribute):
            function = _bound_method(self.value(node.func.value), node.func.attr)
        elif isinstance(node.func, ast.Name):
            function = self.callable_named(node.func.id)
        else:
            raise _Refused("Only named functions can be called.")
        args = [self.argument(arg) for arg in node.args]
        kwargs = {str(kw.arg): self.argument(kw.value) for kw in node.keywords}
        return _checked(function(*args, **kwargs))

    def argument(self, node: ast.expr) -> Any:
        """A call argument; here a bare function name (key=len) is allowed."""
        if isinstance(node, ast.Name) and node.id not in self.names:
            function = self.find_function(node.id)
            if function is not None:
                return function
        return self.value(node)

    def find_function(self, name: str) -> Callable[..., Any] | None:
        """A function offered by the engine, else a built-in one, else None."""
        if name in self.functions:
            return self.functions[name]
        return _BUILTINS.get(name)

    def callable_named(self, name: str) -> Callable[..., Any]:
        """The function to call for name, or a refusal saying what exists."""
        function = self.find_function(name)
        if function is not None:
            return function
        if name in self.names:
            raise _Refused(
                f"'{name}' is a value in the case data, not a function, so it "
                "cannot be called."
            )
        offered = [n for n in [*self.functions, *_BUILTINS] if not n.startswith("_")]
        raise _Refused(
            f"The function '{name}' is not available; the available functions "
            f"are: {_listing(set(offered))}."
        )


class _Executor(_Evaluator):
    """Runs checked script statements, writing into the case data."""

    def __init__(self, names: dict[str, Any], functions: Functions | None) -> None:
        super().__init__(names, functions)
        self.data = names

    def run(self, statement: ast.stmt) -> None:
        """Run one assignment, augmented assignment or pass."""
        if isinstance(statement, ast.Assign):
            value = self.value(statement.value)
            for target in statement.targets:
                self.store(target, value)
        elif isinstance(statement, ast.AugAssign):
            self.augment(statement)

    def store(self, target: ast.expr, value: Any) -> None:
        """Write value to a name or to one item of a table or list."""
        if isinstance(target, ast.Subscript):
            container = self.value(target.value)
            _set_item(container, self.value(target.slice), value)
        elif isinstance(target, ast.Name):
            self.data[target.id] = value
        else:
            raise _Refused("Only names and items can be assigned to.")

    def augment(self, statement: ast.AugAssign) -> None:
        """name += value (always builds a new value, never changes it in place)."""
        target = statement.target
        if isinstance(target, ast.Subscript):
            container = self.value(target.value)
            key = self.value(target.slice)
            current = self.item(container, key)
            result = _arithmetic(statement.op, current, self.value(statement.value))
            _set_item(container, key, result)
        elif isinstance(target, ast.Name):
            current = self.name(target)
            result = _arithmetic(statement.op, current, self.value(statement.value))
            self.data[target.id] = result
        else:
            raise _Refused("Only names and items can be assigned to.")

    def item(self, container: Any, key: Any) -> Any:
        """container[key] for a table or a list."""
        if not isinstance(container, (dict, list)):
            raise _Refused(
                "Only entries of a table or a list can be changed; this value is "
                f"{_describe(container)}."
            )
        return container[key]


def _guarded(
    text: str, line: int | None, action: Callable[[Any], Any], node: ast.AST
) -> Any:
    """Run action(node), turning every failure into ExpressionError."""
    prefix = f"Line {line}: " if line is not None else ""
    try:
        return action(node)
    except ExpressionError:
        raise
    except _Refused as refusal:
        raise ExpressionError(text, prefix + refusal.reason) from None
    except Exception as exc:
        logger.debug("expression %r failed", _excerpt(text), exc_info=True)
        raise ExpressionError(text, prefix + _explain(exc)) from exc


# --------------------------------------------------------------------- public


def evaluate(
    expression: str,
    names: Mapping[str, Any],
    functions: Functions | None = None,
) -> Any:
    """Evaluate expression against the case data names; never changes names.

    A bare ISO 8601 literal (``PT15M``) evaluates to its own text. Raises
    ExpressionError for anything refused or failing.
    """
    text = _checked_text(expression, "expression").strip()
    if ISO_LITERAL.match(text):
        return text
    tree = _parsed_expression(text)
    return _guarded(text, None, _Evaluator(names, functions).value, tree.body)


def execute(
    script: str,
    names: dict[str, Any],
    functions: Functions | None = None,
) -> None:
    """Run the assignments of script in order, writing the results into names.

    The whole script is checked before its first line runs. When a line fails,
    the lines before it have taken effect.
    """
    text = textwrap.dedent(_checked_text(script, "script"))
    tree = _parsed_script(text)
    executor = _Executor(names, functions)
    for statement in tree.body:
        _guarded(text, statement.lineno, executor.run, statement)


def validate(expression: str) -> None:
    """Check expression without running it.

    Raises SyntaxError (as ExpressionSyntaxError) if it cannot be parsed and
    ExpressionError if it uses something the language does not allow.
    """
    text = _checked_text(expression, "expression").strip()
    if not ISO_LITERAL.match(text):
        _parsed_expression(text)


def check_script(script: str) -> None:
    """Check a script as :func:`validate` checks an expression."""
    _parsed_script(textwrap.dedent(_checked_text(script, "script")))


BUILTIN_FUNCTIONS: frozenset[str] = frozenset(_BUILTINS)
"""The functions every expression may call when the caller adds none."""
