"""Tests for engine.expressions: the language works and nothing escapes it."""

from __future__ import annotations

import copy
import pickle
import re
import time
from collections import UserDict
from pathlib import Path
from typing import Any

import pytest

from engine import expressions
from engine.expressions import (
    ISO_LITERAL,
    ExpressionError,
    ExpressionSyntaxError,
    check_script,
    evaluate,
    execute,
    validate,
)


def case_data() -> dict[str, Any]:
    """A fresh copy of typical case data."""
    return {
        "x": 5,
        "amount": 250.0,
        "category": "loss",
        "severity": 3,
        "name": "Alice",
        "missing": None,
        "table": {"k": 1, "nested": {"deep": [1, 2]}},
        "items": [3, 1, 2],
        "flags": [True, False],
    }


def refusal(expression: str, names: dict[str, Any] | None = None) -> ExpressionError:
    """Evaluate expression, assert it raises ExpressionError, and return it."""
    with pytest.raises(ExpressionError) as info:
        evaluate(expression, case_data() if names is None else names)
    error = info.value
    assert error.expression.strip() == expression.strip()
    assert error.reason.endswith("."), error.reason
    assert "Traceback" not in str(error)
    return error


# ------------------------------------------------------------- the language


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 // 2", 3),
        ("7 % 3", 1),
        ("2 ** 10", 1024),
        ("-x + +2", -3),
        ("amount * 2 - 0.5", 499.5),
        ("4 < x < 6", True),
        ("6 < x < 8", False),
        ("1 < x > 4", True),
        ("x == 5 != 6", True),
        ("'a' in ['a', 'b']", True),
        ("'c' not in ('a', 'b')", True),
        ("'lic' in name", True),
        ("'k' in table", True),
        ("missing is None", True),
        ("missing is not None and missing > 1", False),
        ("missing is None or missing > 1", True),
        ("x is not None and x > 1", True),
        ("not missing", True),
        ("0 or 'default'", "default"),
        ('(category) == ("loss")', True),
        ('(category) == ("damage")', False),
        ("severity >= 3 and category in ('loss', 'damage')", True),
        ("'big' if amount > 100 else 'small'", "big"),
        ("'big' if amount > 1000 else 'small'", "small"),
        ("table['k']", 1),
        ("table['nested']['deep'][1]", 2),
        ("items[0]", 3),
        ("items[-1]", 2),
        ("items[1:]", [1, 2]),
        ("name[::-1]", "ecilA"),
        ("table.get('k')", 1),
        ("table.get('absent')", None),
        ("table.get('absent', 0)", 0),
        ("sorted(table.keys())", ["k", "nested"]),
        ("table.values()[0]", 1),
        ("table.items()[0]", ("k", 1)),
        ("len(items)", 3),
        ("max(items)", 3),
        ("min(4, 2, 9)", 2),
        ("sum(items)", 6),
        ("sum([0.5, 1], 1)", 2.5),
        ("abs(-3)", 3),
        ("round(2.567, 2)", 2.57),
        ("round(2.5)", 2),
        ("int('12')", 12),
        ("int('ff', base=16)", 255),
        ("float('1.5')", 1.5),
        ("str(12) + 'x'", "12x"),
        ("bool(0)", False),
        ("any(flags)", True),
        ("all(flags)", False),
        ("sorted(items)", [1, 2, 3]),
        ("sorted(items, reverse=True)", [3, 2, 1]),
        ("sorted(['bb', 'a'], key=len)", ["a", "bb"]),
        ("name.lower()", "alice"),
        ("name.upper()", "ALICE"),
        ("'  x '.strip()", "x"),
        ("name.startswith('Al')", True),
        ("name.endswith('z')", False),
        ("'a,b'.split(',')", ["a", "b"]),
        ("'aXb'.replace('X', '-')", "a-b"),
        ("{'a': 1}['a']", 1),
        ("{1, 2} == {2, 1}", True),
        ("(1, 2)[1]", 2),
        ("[1, 2] + [3]", [1, 2, 3]),
        ("'ab' * 3", "ababab"),
        ("None", None),
        ("True", True),
        ("10 ** 100 == 10 ** 100", True),
        ("len('a' * 100000)", 100000),
        ("len([0] * 100000)", 100000),
    ],
)
def test_language_evaluates(expression: str, expected: Any) -> None:
    result = evaluate(expression, case_data())
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "expression",
    [
        "PT15M",
        "P3D",
        "P1Y2M",
        "PT1.5H",
        "P2W",
        "P1DT12H",
        "2026-12-04",
        "2026-12-04T10:00:00+08:00",
        "2026-12-04T10:00:00Z",
        "R3/PT1H",
        "R/2026-01-01T00:00:00Z/P1D",
    ],
)
def test_iso_literal_bare_and_quoted(expression: str) -> None:
    assert ISO_LITERAL.match(expression)
    assert evaluate(expression, {}) == expression
    assert evaluate(f"  {expression}\n", {}) == expression
    assert evaluate(f"'{expression}'", {}) == expression
    assert evaluate(f'"{expression}"', {}) == expression
    validate(expression)


@pytest.mark.parametrize(
    "text",
    [
        "P",
        "PT",
        "P1DT",
        "PT15X",
        "p3d",
        "2026-13-01",
        "2026-12-4",
        "R3/",
        "P3D + 1",
        "x",
        "PT15M or x",
        "'PT15M'",
    ],
)
def test_iso_literal_rejects_other_text(text: str) -> None:
    assert ISO_LITERAL.match(text) is None
    assert ISO_LITERAL.search(text) is None


def test_iso_literal_wins_over_case_data() -> None:
    assert evaluate("P3D", {"P3D": "shadowed"}) == "P3D"


def test_functions_are_offered_and_take_precedence_over_builtins() -> None:
    functions = {"double": lambda v: v * 2, "len": lambda v: -1}
    assert evaluate("double(x) + 1", case_data(), functions) == 11
    assert evaluate("len(items)", case_data(), functions) == -1


def test_case_data_named_like_a_builtin_is_a_value() -> None:
    names = {"type": "loss", "max": 3}
    assert evaluate("type == 'loss' and max == 3", names) is True
    assert evaluate("max(1, 2)", names) == 2


def test_short_circuit_skips_the_right_side() -> None:
    calls: list[int] = []

    def probe(value: int) -> int:
        calls.append(value)
        return value

    assert evaluate("False and probe(1)", {}, {"probe": probe}) is False
    assert evaluate("True or probe(2)", {}, {"probe": probe}) is True
    assert evaluate("3 < 2 < probe(3)", {}, {"probe": probe}) is False
    assert evaluate("probe(4) if False else 0", {}, {"probe": probe}) == 0
    assert calls == []


# ------------------------------------------------------------------- escapes

STATIC_ESCAPES = [
    "__import__('os').system('id')",
    "().__class__.__base__.__subclasses__()",
    "[].__class__",
    "(lambda: 1)()",
    "[x for x in range(10)]",
    "{x: 1 for x in items}",
    "sum(x for x in items)",
    "f'{x}'",
    "x.__dict__",
    "name.__class__",
    "_x",
    "__builtins__",
    "(y := 1)",
    "name.format(x)",
    "table.pop('k')",
    "name.lower",
    "name.lower()()",
    "items[0]()",
    "sorted(*items)",
    "max(**table)",
    "{**table}",
    "[*items]",
    "1 | 2",
    "1 << 2",
    "~1",
    "x is 5",
    "b'bytes'",
    "1j",
    "...",
    "0x" + "f" * 200,
    "int(_base=2)",
]


@pytest.mark.parametrize("expression", STATIC_ESCAPES)
def test_escapes_are_refused_before_anything_runs(expression: str) -> None:
    with pytest.raises(ExpressionError) as info:
        validate(expression)
    assert not isinstance(info.value, SyntaxError)
    calls: list[str] = []

    def probe() -> None:
        calls.append("ran")

    names = case_data()
    names["range"] = 10
    with pytest.raises(ExpressionError):
        evaluate(f"probe() or ({expression})", names, {"probe": probe})
    assert calls == [], "the expression ran although it is not allowed"
    refusal(expression)


@pytest.mark.parametrize(
    ("expression", "mentions"),
    [
        ("open('/etc/passwd')", "'open' is not available"),
        ("eval('1')", "'eval' is not available"),
        ("exec('x=1')", "'exec' is not available"),
        ("getattr(1, 'real')", "'getattr' is not available"),
        ("globals()", "'globals' is not available"),
        ("type(x)", "'type' is not available"),
        ("x()", "'x' is a value in the case data, not a function"),
        ("len", "'len' is a function"),
        ("names['__builtins__']", "'names' is not defined"),
        ("table['__builtins__']", "no entry '__builtins__'"),
        ("name.get('a')", "cannot be used on text"),
        ("items.lower()", "cannot be used on a list"),
        ("x[0]", "Only text, lists and tables have items"),
    ],
)
def test_unknown_functions_and_entries_fail_cleanly(
    expression: str, mentions: str
) -> None:
    validate(expression)
    assert mentions in refusal(expression).reason


def test_function_objects_are_not_reachable_through_data() -> None:
    assert "is a function" in refusal("len").reason
    with pytest.raises(ExpressionError):
        evaluate("sorted([1], key=open)", {})


# ------------------------------------------------------------------- bounds


@pytest.mark.parametrize(
    "expression",
    [
        "9**9**9",
        "'a' * 10**9",
        "10**100000",
        "[0] * 10**9",
        "2 ** 101",
        "10 ** 100 * 10",
        "10 ** 100 + 1",
        "1e50 ** 3",
        "-(10 ** 100) - 1",
        "'a' * 100001",
        "[0] * 100001",
        "'a' * 100000 + 'b'",
        "[[0] * 100000] * 2",
        "[[0] * 60000] + [[0] * 60000]",
        "str([[0] * 100000, [0] * 100000])",
        "'x'.replace('', 'y' * 100000)",
        "'%0100000000d' % 1",
        "sum([[1], [2]], [])",
        "round(5, -100000)",
        "int('1' * 200)",
    ],
)
def test_resource_bombs_fail_fast(expression: str) -> None:
    started = time.perf_counter()
    refusal(expression)
    assert time.perf_counter() - started < 2.0


def test_at_the_limits_still_works() -> None:
    assert evaluate("2 ** 100", {}) == 2**100
    assert evaluate("10 ** 100", {}) == 10**100
    assert evaluate("-(10 ** 100)", {}) == -(10**100)


def test_deep_parentheses_are_a_syntax_error() -> None:
    expression = "(" * 500 + "1" + ")" * 500
    error = refusal(expression)
    assert isinstance(error, SyntaxError)
    with pytest.raises(SyntaxError):
        validate(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "-" * 500 + "1",
        "-" * 5000 + "1",
        "not " * 2000 + "x",
        "[" * 150 + "]" * 150,
        "1" + " + 1" * 600,
        "[" + ", ".join(["1"] * 1500) + "]",
    ],
)
def test_deep_or_large_trees_are_refused(expression: str) -> None:
    assert len(expression) <= expressions.MAX_LENGTH
    started = time.perf_counter()
    refusal(expression)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("expression", ["1 + " * 5000 + "1", "'" + "a" * 20_000 + "'"])
def test_long_text_is_refused(expression: str) -> None:
    assert len(expression) > 10_000
    assert "characters long" in refusal(expression).reason
    with pytest.raises(ExpressionError):
        validate(expression)


def test_step_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    assert evaluate("1 + 2 + 3 + 4", {}) == 10
    monkeypatch.setattr(expressions, "MAX_STEPS", 5)
    assert "steps" in refusal("1 + 2 + 3 + 4").reason


# ------------------------------------------------------------------ failures


@pytest.mark.parametrize(
    ("expression", "mentions"),
    [
        ("1 / 0", "divides by zero"),
        ("1 // 0", "divides by zero"),
        ("1 % 0", "divides by zero"),
        ("0 ** -1", "divides by zero"),
        ("table['absent']", "no entry 'absent'"),
        ("items[10]", "out of range"),
        ("int('x')", "invalid literal"),
        ("float('abc')", "could not convert"),
        ("1 + 'a'", "do not fit together"),
        ("len(5)", "do not fit together"),
        ("x > 'a'", "do not fit together"),
        ("{[1]: 2}", "do not fit together"),
        ("items[::0]", "slice step cannot be zero"),
        ("min([])", "empty"),
        ("'a'.split('')", "empty separator"),
        ("(-8) ** 0.5", "not a real number"),
        ("1e308 ** 2", "too large"),
        ("'a' ** 2", "numbers only"),
        ("sum(['a'])", "numbers only"),
    ],
)
def test_runtime_failures_become_expression_errors(
    expression: str, mentions: str
) -> None:
    assert mentions in refusal(expression).reason


@pytest.mark.parametrize(
    "exception",
    [
        ZeroDivisionError("x"),
        TypeError("x"),
        KeyError("x"),
        IndexError("x"),
        RecursionError("x"),
        MemoryError(),
        ValueError("x"),
        RuntimeError("x"),
        OSError("x"),
    ],
)
def test_failures_of_offered_functions_become_expression_errors(
    exception: Exception,
) -> None:
    def boom() -> None:
        raise exception

    with pytest.raises(ExpressionError) as info:
        evaluate("boom()", {}, {"boom": boom})
    assert type(info.value) is ExpressionError
    assert info.value.reason.endswith(".")


def test_unknown_name_lists_the_case_data() -> None:
    reason = refusal("foo", {"b": 1, "a": 2, "c": 3}).reason
    assert "'foo' is not defined; the case data has: a, b, c" in reason


def test_unknown_name_lists_at_most_twenty_names() -> None:
    names = {f"v{i:02d}": i for i in range(30)}
    reason = refusal("foo", names).reason
    assert "v00, v01" in reason and "v19" in reason
    assert "v20" not in reason and "v29" not in reason


def test_unknown_name_with_empty_case_data() -> None:
    assert "'foo' is not defined" in refusal("foo", {}).reason


@pytest.mark.parametrize("expression", ["1 +", "(", "a b", "", "   ", "x = 1"])
def test_unparsable_text_is_a_syntax_error(expression: str) -> None:
    with pytest.raises(SyntaxError) as info:
        validate(expression)
    assert isinstance(info.value, ExpressionError)
    with pytest.raises(ExpressionError):
        evaluate(expression, {"a": 1, "b": 2, "x": 3})


@pytest.mark.parametrize("value", [None, 5, b"PT1M"])
def test_non_text_is_refused(value: Any) -> None:
    with pytest.raises(ExpressionError):
        evaluate(value, {})
    with pytest.raises(ExpressionError):
        validate(value)


def test_validate_accepts_the_language() -> None:
    text = "a > 1 and b.lower() in ['x', 'y'] and len(c) == d.get('n')"
    validate(text)  # raises when wrong
    names = {"a": 2, "b": "X", "c": [1], "d": {"n": 1}}
    assert evaluate(text, names) is True


def test_error_attributes_and_pickling() -> None:
    error = refusal("1 / 0")
    copied = pickle.loads(pickle.dumps(error))
    assert (copied.expression, copied.reason) == ("1 / 0", error.reason)
    assert error.reason in str(error)
    with pytest.raises(ExpressionSyntaxError) as info:
        validate("1 +")
    copied = pickle.loads(pickle.dumps(info.value))
    assert isinstance(copied, SyntaxError) and copied.reason == info.value.reason


# ---------------------------------------------------------------- no mutation


def test_evaluate_does_not_mutate_names() -> None:
    names = case_data()
    before = copy.deepcopy(names)
    for expression in [
        "table.get('absent', 1)",
        "sorted(items)",
        "items + [4]",
        "table.items()",
        "table.keys()",
        "name.replace('A', 'B')",
        "items[::-1]",
        "x + 1",
    ]:
        evaluate(expression, names)
    for expression in ["table['absent']", "foo", "items.append(4)"]:
        with pytest.raises(ExpressionError):
            evaluate(expression, names)
    assert names == before


def test_returned_views_are_plain_lists() -> None:
    assert type(evaluate("table.keys()", case_data())) is list
    assert type(evaluate("table.values()", case_data())) is list


# ------------------------------------------------------------------- scripts


def test_execute_writes_assignments() -> None:
    names: dict[str, Any] = {}
    execute("a = 1; b = a + 2", names)
    assert names == {"a": 1, "b": 3}


def test_execute_runs_the_script_forms() -> None:
    names: dict[str, Any] = {"total": 1, "table": {"k": 1}, "items": [0, 0]}
    execute(
        """
        total += 4
        c = d = total * 2
        table['k'] = 'set'
        table['n'] = 1
        table['n'] += 1
        items[1] = 'second'
        pass
        """,
        names,
    )
    assert names == {
        "total": 5,
        "c": 10,
        "d": 10,
        "table": {"k": "set", "n": 2},
        "items": [0, "second"],
    }


def test_augmented_assignment_builds_a_new_value() -> None:
    shared = [1]
    names: dict[str, Any] = {"a": shared, "b": shared}
    execute("a += [2]", names)
    assert names["a"] == [1, 2]
    assert shared == [1] and names["b"] is shared


def test_execute_sets_items_of_plain_tables_and_lists_only() -> None:
    names: dict[str, Any] = {"custom": UserDict(), "text": "abc"}
    for script in ["custom['k'] = 1", "text[0] = 'x'", "custom['k'] += 1"]:
        with pytest.raises(ExpressionError) as info:
            execute(script, names)
        assert "table or a list" in info.value.reason
    assert dict(names["custom"]) == {} and names["text"] == "abc"


def test_execute_uses_offered_functions() -> None:
    names: dict[str, Any] = {"x": 2}
    execute("y = double(x)", names, {"double": lambda v: v * 2})
    assert names["y"] == 4


@pytest.mark.parametrize(
    ("script", "line"),
    [
        ("import os", 1),
        ("from os import system", 1),
        ("def f(): pass", 1),
        ("class A: pass", 1),
        ("while True: pass", 1),
        ("for i in x: pass", 1),
        ("if x: y = 1", 1),
        ("with x: pass", 1),
        ("try:\n    pass\nexcept Exception:\n    pass", 1),
        ("del x", 1),
        ("global x", 1),
        ("return 1", 1),
        ("assert x", 1),
        ("x: int = 1", 1),
        ("print(1)", 1),
        ("x", 1),
        ("a, b = 1, 2", 1),
        ("x.y = 1", 1),
        ("_a = 1", 1),
        ("a[1:2] = [3]", 1),
        ("a = 1\nimport os", 2),
        ("a = 1; b = 2\nc = [].__class__", 2),
        ("a = 1\n\nb = lambda: 1", 3),
    ],
)
def test_scripts_refuse_everything_but_assignments(script: str, line: int) -> None:
    names: dict[str, Any] = {"x": [1], "a": [1, 2]}
    before = copy.deepcopy(names)
    with pytest.raises(ExpressionError) as info:
        execute(script, names)
    assert info.value.reason.startswith(f"Line {line}:")
    assert names == before, "nothing runs when the script is refused"
    with pytest.raises(ExpressionError):
        check_script(script)


def test_script_runtime_failure_names_the_line() -> None:
    names: dict[str, Any] = {}
    with pytest.raises(ExpressionError) as info:
        execute("a = 1\nb = 1 / 0", names)
    assert info.value.reason.startswith("Line 2:")
    assert "divides by zero" in info.value.reason
    assert names == {"a": 1}


def test_script_refuses_bombs() -> None:
    with pytest.raises(ExpressionError):
        execute("a = 'x' * 100000\nb = a + a", {})
    with pytest.raises(ExpressionError):
        execute("s = 'x'\ns *= 10 ** 9", {})


def test_check_script() -> None:
    check_script("a = 1; b = a + 2")  # raises when wrong
    check_script("")
    with pytest.raises(SyntaxError):
        check_script("a = (")


# ------------------------------------------------------------ the module text


def test_module_never_calls_eval_exec_or_compile() -> None:
    source = Path(expressions.__file__).read_text(encoding="utf-8")
    assert re.search(r"(?<![\w.])(eval|exec|compile)\s*\(", source) is None
