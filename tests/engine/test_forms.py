"""Tests for engine.forms: schema parsing, submission cleaning and messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.forms import (
    MAX_TEXT_LENGTH,
    Choice,
    Form,
    FormDefinitionError,
    FormValidationError,
    load_form,
    parse_form,
)

FORMS_DIR = Path(__file__).resolve().parents[2] / "processes" / "forms"
ABSENT = object()


def prop(kind: str, **extra: Any) -> dict[str, Any]:
    """A property spec with both labels; keywords with ``_`` become ``-`` keys."""
    spec: dict[str, Any] = {"type": kind, "title": "字段", "x-title-en": "Field"}
    spec.update({key.replace("_", "-"): value for key, value in extra.items()})
    return spec


def options(*values: Any) -> list[dict[str, Any]]:
    return [
        {"const": value, "title": f"选项{value}", "x-title-en": f"Option {value}"}
        for value in values
    ]


def schema(
    properties: dict[str, Any],
    required: tuple[str, ...] = (),
    all_of: list[Any] | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": "object",
        "title": "测试表单",
        "x-title-en": "Test form",
        "required": list(required),
        "properties": properties,
    }
    if all_of is not None:
        document["allOf"] = all_of
    return document


def single(spec: dict[str, Any], required: bool = False) -> Form:
    return parse_form("test", schema({"x": spec}, ("x",) if required else ()))


def when(name: str, value: Any, *then: str) -> dict[str, Any]:
    return {
        "if": {"properties": {name: {"const": value}}},
        "then": {"required": list(then)},
    }


def errors_of(form: Form, submitted: Any, lang: str = "zh") -> dict[str, str]:
    with pytest.raises(FormValidationError) as caught:
        form.validate(submitted, lang)
    return caught.value.errors


RATING = prop("integer", minimum=1, maximum=5)
CONFIRM = prop("boolean", const=True)
YES_NO = prop("boolean", oneOf=options(True, False))
COLOURS = prop("string", oneOf=options("red", "green", "blue"))

# ------------------------------------------------------------------ cleaning


CLEAN_CASES = [
    pytest.param(prop("string"), "  hello \n", "hello", id="string-stripped"),
    pytest.param(prop("string"), "a\r\nb\rc", "a\nb\nc", id="string-crlf-to-lf"),
    pytest.param(prop("string"), "a\tb\nc", "a\tb\nc", id="string-tab-newline-kept"),
    pytest.param(prop("string"), "中文 内容", "中文 内容", id="string-chinese"),
    pytest.param(prop("string"), ["only"], "only", id="string-one-item-list"),
    pytest.param(prop("string"), ABSENT, "", id="string-absent-empty"),
    pytest.param(prop("string"), None, "", id="string-none-empty"),
    pytest.param(prop("string"), "\u3000 ", "", id="string-ideographic-blank"),
    pytest.param(
        prop("string"), "x" * MAX_TEXT_LENGTH, "x" * MAX_TEXT_LENGTH, id="string-at-cap"
    ),
    pytest.param(prop("string", maxLength=3), "abc", "abc", id="string-at-maxlength"),
    pytest.param(COLOURS, " green ", "green", id="choice-string"),
    pytest.param(prop("boolean"), "on", True, id="checkbox-on"),
    pytest.param(prop("boolean"), "TRUE", True, id="checkbox-true-upper"),
    pytest.param(prop("boolean"), "1", True, id="checkbox-1"),
    pytest.param(prop("boolean"), "yes", True, id="checkbox-yes"),
    pytest.param(prop("boolean"), "false", False, id="checkbox-false"),
    pytest.param(prop("boolean"), "0", False, id="checkbox-0"),
    pytest.param(prop("boolean"), "no", False, id="checkbox-no"),
    pytest.param(prop("boolean"), True, True, id="checkbox-json-true"),
    pytest.param(prop("boolean"), False, False, id="checkbox-json-false"),
    pytest.param(prop("boolean"), ABSENT, False, id="checkbox-absent-false"),
    pytest.param(CONFIRM, "on", True, id="const-true-ticked"),
    pytest.param(YES_NO, "true", True, id="radio-true"),
    pytest.param(YES_NO, "false", False, id="radio-false"),
    pytest.param(YES_NO, ABSENT, None, id="radio-absent-none"),
    pytest.param(RATING, "3", 3, id="integer-string"),
    pytest.param(RATING, " +5 ", 5, id="integer-plus-sign"),
    pytest.param(RATING, 1, 1, id="integer-json"),
    pytest.param(RATING, ABSENT, None, id="integer-absent-none"),
    pytest.param(prop("integer"), "-42", -42, id="integer-negative"),
    pytest.param(prop("integer", oneOf=options(1, 2)), "2", 2, id="choice-integer"),
]


@pytest.mark.parametrize(("spec", "submitted", "expected"), CLEAN_CASES)
def test_validate_cleans_and_types_values(spec: Any, submitted: Any, expected: Any):
    form = single(spec)
    data = {} if submitted is ABSENT else {"x": submitted}
    cleaned = form.validate(data)
    assert cleaned == {"x": expected}
    assert type(cleaned["x"]) is type(expected)


ERROR_CASES = [
    pytest.param(
        prop("string"),
        True,
        ABSENT,
        "此项为必填。",
        "This field is required.",
        id="required-absent",
    ),
    pytest.param(
        prop("string"),
        True,
        "   \t\n ",
        "此项为必填。",
        "This field is required.",
        id="required-whitespace",
    ),
    pytest.param(
        prop("string"),
        True,
        [],
        "此项为必填。",
        "This field is required.",
        id="required-empty-list",
    ),
    pytest.param(
        RATING,
        True,
        " ",
        "此项为必填。",
        "This field is required.",
        id="required-blank-int",
    ),
    pytest.param(
        YES_NO, True, "", "此项为必填。", "This field is required.", id="required-radio"
    ),
    pytest.param(
        COLOURS,
        False,
        "purple",
        "请选择列出的选项之一。",
        "Choose one of the listed options.",
        id="not-a-choice",
    ),
    pytest.param(
        YES_NO,
        False,
        "maybe",
        "请选择“是”或“否”。",
        "Choose yes or no.",
        id="radio-not-boolean",
    ),
    pytest.param(
        CONFIRM,
        False,
        ABSENT,
        "请勾选以确认。",
        "Tick the box to confirm.",
        id="const-true-absent",
    ),
    pytest.param(
        CONFIRM,
        True,
        "false",
        "请勾选以确认。",
        "Tick the box to confirm.",
        id="const-true-false",
    ),
    pytest.param(
        prop("string", const="agree"),
        False,
        "disagree",
        "此项只能填写“agree”。",
        "This field must be “agree”.",
        id="const-string",
    ),
    pytest.param(
        RATING,
        False,
        "6",
        "请输入 1 到 5 之间的整数。",
        "Enter a whole number from 1 to 5.",
        id="rating-above",
    ),
    pytest.param(
        RATING,
        False,
        0,
        "请输入 1 到 5 之间的整数。",
        "Enter a whole number from 1 to 5.",
        id="rating-below",
    ),
    pytest.param(
        RATING,
        False,
        "abc",
        "请输入整数。",
        "Enter a whole number.",
        id="rating-letters",
    ),
    pytest.param(
        RATING,
        False,
        "3.0",
        "请输入整数。",
        "Enter a whole number.",
        id="rating-decimal",
    ),
    pytest.param(
        RATING,
        False,
        "３",
        "请输入整数。",
        "Enter a whole number.",
        id="rating-fullwidth",
    ),
    pytest.param(
        RATING,
        False,
        True,
        "请输入整数。",
        "Enter a whole number.",
        id="rating-bool-not-int",
    ),
    pytest.param(
        RATING, False, 2.0, "请输入整数。", "Enter a whole number.", id="rating-float"
    ),
    pytest.param(
        prop("integer", minimum=10),
        False,
        "9",
        "请输入不小于 10 的整数。",
        "Enter a whole number of at least 10.",
        id="minimum-only",
    ),
    pytest.param(
        prop("integer", maximum=-1),
        False,
        "0",
        "请输入不大于 -1 的整数。",
        "Enter a whole number of at most -1.",
        id="maximum-only",
    ),
    pytest.param(
        prop("integer"),
        False,
        "9" * 5000,
        "数字太大，请输入 -9007199254740991 到 9007199254740991 之间的整数。",
        "That number is too large; enter a whole number from "
        "-9007199254740991 to 9007199254740991.",
        id="integer-huge-string",
    ),
    pytest.param(
        prop("integer"),
        False,
        2**60,
        "数字太大，请输入 -9007199254740991 到 9007199254740991 之间的整数。",
        "That number is too large; enter a whole number from "
        "-9007199254740991 to 9007199254740991.",
        id="integer-huge-json",
    ),
    pytest.param(
        prop("string", minLength=3),
        False,
        " ab ",
        "请至少输入 3 个字符（现在是 2 个）。",
        "Enter at least 3 characters (you entered 2).",
        id="min-length",
    ),
    pytest.param(
        prop("string", maxLength=5),
        False,
        "abcdef",
        "最多只能输入 5 个字符（现在是 6 个）。",
        "Enter at most 5 characters (you entered 6).",
        id="max-length",
    ),
    pytest.param(
        prop("string"),
        False,
        "y" * (MAX_TEXT_LENGTH + 1),
        "最多只能输入 20000 个字符（现在是 20001 个）。",
        "Enter at most 20000 characters (you entered 20001).",
        id="hard-cap",
    ),
    pytest.param(
        prop("string"),
        False,
        "a\x00b",
        "文字中不能含有控制字符，请删除后再提交。",
        "Remove the control characters from this text.",
        id="nul",
    ),
    pytest.param(
        prop("string"),
        False,
        "bell\x07",
        "文字中不能含有控制字符，请删除后再提交。",
        "Remove the control characters from this text.",
        id="bell",
    ),
    pytest.param(
        prop("string"),
        False,
        "\x1b[31mred",
        "文字中不能含有控制字符，请删除后再提交。",
        "Remove the control characters from this text.",
        id="escape",
    ),
    pytest.param(
        prop("string"),
        False,
        "trailing\x0c",
        "文字中不能含有控制字符，请删除后再提交。",
        "Remove the control characters from this text.",
        id="form-feed-not-stripped",
    ),
    pytest.param(
        prop("string"), False, 12, "请输入文字。", "Enter text.", id="string-got-int"
    ),
    pytest.param(
        prop("boolean"),
        False,
        "maybe",
        "请选择“是”或“否”。",
        "Choose yes or no.",
        id="checkbox-junk",
    ),
    pytest.param(
        prop("boolean"),
        False,
        1,
        "请选择“是”或“否”。",
        "Choose yes or no.",
        id="checkbox-int",
    ),
    pytest.param(
        prop("string"),
        False,
        ["a", "b"],
        "此项只能提交一个值。",
        "Submit only one value for this field.",
        id="two-values",
    ),
    pytest.param(
        RATING,
        False,
        [3],
        "请输入整数。",
        "Enter a whole number.",
        id="list-of-non-string",
    ),
]


@pytest.mark.parametrize(("spec", "required", "submitted", "zh", "en"), ERROR_CASES)
def test_validate_rejects_with_message_in_both_languages(
    spec: Any, required: bool, submitted: Any, zh: str, en: str
):
    form = single(spec, required)
    data = {} if submitted is ABSENT else {"x": submitted}
    assert errors_of(form, data) == {"x": zh}
    assert errors_of(form, data, "en") == {"x": en}
    assert errors_of(form, data, "en-GB") == {"x": en}


def test_validate_reports_every_error_at_once_and_echoes_known_values():
    form = parse_form(
        "test",
        schema({"name": prop("string"), "rating": RATING, "ok": CONFIRM}, ("name",)),
    )
    submitted = {"name": " ", "rating": "9", "ok": "off", "intruder": "x"}
    with pytest.raises(FormValidationError) as caught:
        form.validate(submitted)
    assert list(caught.value.errors) == ["name", "rating", "ok"]
    assert caught.value.values == {"name": " ", "rating": "9", "ok": "off"}


def test_validate_drops_unknown_keys():
    form = single(prop("string"))
    cleaned = form.validate({"x": "v", "is_admin": "true", "_state": "closed"})
    assert cleaned == {"x": "v"}


def test_validate_returns_every_field_in_schema_order():
    form = parse_form(
        "test",
        schema({"b": prop("string"), "a": RATING, "c": prop("boolean")}),
    )
    assert list(form.validate({"a": "2"})) == ["b", "a", "c"]
    assert form.validate({"a": "2"}) == {"b": "", "a": 2, "c": False}


def test_validate_rejects_a_submission_that_is_not_a_mapping():
    form = single(prop("string"))
    assert errors_of(form, ["x"]) == {"": "提交的内容无法识别，请重新填写表单。"}
    assert errors_of(form, "x=1", "en") == {
        "": "The submission could not be read; fill in the form again."
    }


def test_required_checkbox_without_const_must_be_given():
    form = single(prop("boolean"), required=True)
    assert errors_of(form, {}) == {"x": "此项为必填。"}
    assert form.validate({"x": "false"}) == {"x": False}


def test_const_false_checkbox_accepts_absence():
    form = single(prop("boolean", const=False))
    assert form.validate({}) == {"x": False}
    assert errors_of(form, {"x": "on"}, "en") == {"x": "Leave this box unticked."}


# ------------------------------------------------------------------ conditions


def resolution_form() -> Form:
    properties = {
        "resolved": YES_NO,
        "reason": prop("string", x_widget="textarea"),
        "agreed": prop("boolean"),
        "follow_up": prop("string"),
        "rating": RATING,
    }
    conditions = [
        when("resolved", False, "reason"),
        when("agreed", False, "follow_up"),
        when("rating", 1, "reason", "follow_up"),
    ]
    return parse_form("test", schema(properties, ("resolved",), conditions))


def test_parse_form_reads_conditional_requirements():
    assert resolution_form().conditional_required == (
        ("resolved", False, ("reason",)),
        ("agreed", False, ("follow_up",)),
        ("rating", 1, ("reason", "follow_up")),
    )


@pytest.mark.parametrize(
    ("submitted", "expected_errors"),
    [
        ({"resolved": "false", "agreed": "on"}, {"reason": "此项为必填。"}),
        (
            {"resolved": "false", "agreed": "on", "reason": "  "},
            {"reason": "此项为必填。"},
        ),
        ({"resolved": "true"}, {"follow_up": "此项为必填。"}),
        (
            {"resolved": "true", "agreed": "1", "rating": "1"},
            {"reason": "此项为必填。", "follow_up": "此项为必填。"},
        ),
        (
            {"resolved": "true", "agreed": "1", "rating": "7"},
            {"rating": "请输入 1 到 5 之间的整数。"},
        ),
        ({"agreed": "1"}, {"resolved": "此项为必填。"}),
    ],
    ids=[
        "radio-false",
        "radio-false-blank",
        "unticked-checkbox",
        "rating-one",
        "invalid-condition-field",
        "condition-field-absent",
    ],
)
def test_conditional_required_applies_after_coercion(
    submitted: dict[str, Any], expected_errors: dict[str, str]
):
    assert errors_of(resolution_form(), submitted) == expected_errors


def test_conditional_required_satisfied_or_not_triggered():
    form = resolution_form()
    assert form.validate({"resolved": "true", "agreed": "on"}) == {
        "resolved": True,
        "reason": "",
        "agreed": True,
        "follow_up": "",
        "rating": None,
    }
    cleaned = form.validate({"resolved": False, "reason": "没到", "agreed": True})
    assert cleaned["reason"] == "没到"


# ------------------------------------------------------------------ initial values


def prefilled_form() -> Form:
    properties = {
        "phone": prop(
            "string", maxLength=11, x_prefill="complainant_phone", default="未知"
        ),
        "channel": prop("string", oneOf=options("web", "phone"), x_prefill="channel"),
        "rating": prop(
            "integer", minimum=1, maximum=5, default=3, x_prefill="old_rating"
        ),
        "notify": prop("boolean", default=True, x_prefill="wants_notice"),
        "note": prop("string"),
    }
    return parse_form("test", schema(properties))


def test_initial_values_take_valid_prefill_over_default():
    data = {
        "complainant_phone": "13800000000",
        "channel": "web",
        "old_rating": 5,
        "wants_notice": False,
    }
    assert prefilled_form().initial_values(data) == {
        "phone": "13800000000",
        "channel": "web",
        "rating": 5,
        "notify": False,
        "note": "",
    }


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"complainant_phone": None, "channel": None, "old_rating": None},
        {
            "complainant_phone": "1" * 12,
            "channel": "fax",
            "old_rating": 9,
            "wants_notice": "perhaps",
        },
        {
            "complainant_phone": 13800000000,
            "channel": ["web"],
            "old_rating": True,
            "wants_notice": 0,
        },
        {"complainant_phone": "   ", "channel": "bad\x00", "old_rating": 2.5},
    ],
    ids=["absent", "none", "invalid-values", "wrong-types", "blank-and-control"],
)
def test_initial_values_fall_back_to_default_when_prefill_unusable(
    data: dict[str, Any],
):
    assert prefilled_form().initial_values(data) == {
        "phone": "未知",
        "channel": "",
        "rating": 3,
        "notify": True,
        "note": "",
    }


# ------------------------------------------------------------------ parsing


def test_parse_form_builds_fields_with_labels():
    form = parse_form(
        "verify.json",
        schema(
            {
                "category": prop(
                    "string", oneOf=options("a", "b"), description="类别说明"
                ),
                "verified": prop("boolean", default=False),
            },
            ("category",),
        ),
    )
    category, verified = form.fields
    assert (form.name, form.label("zh"), form.label("en")) == (
        "verify.json",
        "测试表单",
        "Test form",
    )
    assert (category.required, verified.required) == (True, False)
    assert category.choices == (
        Choice("a", "选项a", "Option a"),
        Choice("b", "选项b", "Option b"),
    )
    assert category.choices[1].label("en") == "Option b"
    assert category.description == "类别说明"
    assert (category.label("zh"), category.label("EN")) == ("字段", "Field")
    assert (verified.default, verified.has_const) == (False, False)
    assert verified.const is None


def test_parse_form_records_const_and_bounds():
    form = parse_form(
        "test",
        schema(
            {
                "ok": CONFIRM,
                "text": prop("string", minLength=2, maxLength=9),
                "rating": RATING,
            }
        ),
    )
    ok, text, rating = form.fields
    assert (ok.has_const, ok.const) == (True, True)
    assert (text.min_length, text.max_length) == (2, 9)
    assert (rating.minimum, rating.maximum) == (1, 5)


@pytest.mark.parametrize(
    ("spec", "widget"),
    [
        (prop("string"), "text"),
        (prop("string", x_widget="textarea"), "textarea"),
        (prop("integer"), "number"),
        (prop("boolean"), "checkbox"),
        (prop("boolean", x_widget="checkbox"), "checkbox"),
        (CONFIRM, "checkbox"),
        (YES_NO, "radio"),
        (prop("string", oneOf=options(*"abcd")), "radio"),
        (prop("string", oneOf=options(*"abcde")), "select"),
        (prop("integer", oneOf=options(1, 2)), "radio"),
        (prop("string", oneOf=options(*"ab"), x_widget="select"), "select"),
        (prop("string", oneOf=options(*"abcdefg"), x_widget="radio"), "radio"),
    ],
)
def test_parse_form_chooses_widget(spec: dict[str, Any], widget: str):
    assert single(spec).fields[0].widget == widget


REJECTED_PROPERTIES = [
    pytest.param({"bad-name": prop("string")}, "bad-name", id="not-identifier"),
    pytest.param({"2fast": prop("string")}, "2fast", id="leading-digit"),
    pytest.param({"_secret": prop("string")}, "_secret", id="leading-underscore"),
    pytest.param({"类别": prop("string")}, "类别", id="non-ascii"),
    pytest.param({"class": prop("string")}, "class", id="keyword"),
    pytest.param({"x": prop("number")}, "'x'", id="type-number"),
    pytest.param({"x": prop("array")}, "'x'", id="type-array"),
    pytest.param({"x": {"title": "甲", "x-title-en": "A"}}, "'x'", id="type-missing"),
    pytest.param({"x": "string"}, "'x'", id="spec-not-object"),
    pytest.param(
        {"x": {"type": "string", "x-title-en": "A"}}, "'x'", id="title-missing"
    ),
    pytest.param(
        {"x": {"type": "string", "title": "甲"}}, "'x'", id="english-title-missing"
    ),
    pytest.param({"x": prop("string", format="email")}, "format", id="unknown-key"),
    pytest.param(
        {"x": prop("string", oneOf=[{"title": "甲", "x-title-en": "A"}])},
        "'x'",
        id="choice-without-const",
    ),
    pytest.param({"x": prop("string", oneOf=[])}, "'x'", id="choices-empty"),
    pytest.param(
        {"x": prop("string", oneOf=options("a", "a"))}, "'x'", id="choices-duplicate"
    ),
    pytest.param(
        {"x": prop("integer", oneOf=options("1"))}, "'x'", id="choice-wrong-type"
    ),
    pytest.param(
        {"x": prop("integer", oneOf=options(True))}, "'x'", id="choice-bool-for-integer"
    ),
    pytest.param({"x": prop("string", oneOf=options(" a"))}, "'x'", id="choice-padded"),
    pytest.param(
        {"x": prop("integer", minimum=1, oneOf=options(0, 1))},
        "'x'",
        id="choice-out-of-range",
    ),
    pytest.param(
        {"x": prop("string", x_widget="slider")}, "slider", id="widget-unknown"
    ),
    pytest.param(
        {"x": prop("string", x_widget="number")},
        "'x'",
        id="widget-number-not-declarable",
    ),
    pytest.param(
        {"x": prop("integer", x_widget="textarea")}, "'x'", id="widget-textarea-integer"
    ),
    pytest.param(
        {"x": prop("string", x_widget="checkbox")}, "'x'", id="widget-checkbox-string"
    ),
    pytest.param(
        {"x": prop("string", x_widget="radio")},
        "'x'",
        id="widget-radio-without-choices",
    ),
    pytest.param(
        {"x": prop("string", x_widget="textarea", oneOf=options("a"))},
        "'x'",
        id="widget-textarea-with-choices",
    ),
    pytest.param(
        {"x": prop("string", minLength=5, maxLength=3)},
        "'x'",
        id="min-length-above-max",
    ),
    pytest.param(
        {"x": prop("integer", minimum=5, maximum=1)}, "'x'", id="minimum-above-maximum"
    ),
    pytest.param(
        {"x": prop("string", maxLength=MAX_TEXT_LENGTH + 1)},
        "'x'",
        id="max-length-above-cap",
    ),
    pytest.param({"x": prop("string", minLength=-1)}, "'x'", id="negative-length"),
    pytest.param({"x": prop("string", maxLength=2.5)}, "'x'", id="fraction-length"),
    pytest.param({"x": prop("integer", minimum=True)}, "'x'", id="bool-minimum"),
    pytest.param(
        {"x": prop("integer", minLength=1)}, "minLength", id="length-on-integer"
    ),
    pytest.param({"x": prop("string", maximum=1)}, "maximum", id="range-on-string"),
    pytest.param({"x": prop("boolean", const="yes")}, "'x'", id="const-wrong-type"),
    pytest.param(
        {"x": prop("string", const="a", oneOf=options("a"))},
        "'x'",
        id="const-and-choices",
    ),
    pytest.param({"x": prop("integer", default="3")}, "'x'", id="default-wrong-type"),
    pytest.param(
        {"x": prop("string", oneOf=options("a"), default="b")},
        "'x'",
        id="default-not-choice",
    ),
    pytest.param(
        {"x": prop("integer", maximum=5, default=6)}, "'x'", id="default-out-of-range"
    ),
    pytest.param({"x": prop("string", default=None)}, "'x'", id="default-null"),
    pytest.param(
        {"x": prop("string", x_prefill="case-data")},
        "case-data",
        id="prefill-not-identifier",
    ),
    pytest.param(
        {"x": prop("string", description=5)}, "'x'", id="description-not-text"
    ),
]


@pytest.mark.parametrize(("properties", "mentioned"), REJECTED_PROPERTIES)
def test_parse_form_rejects_bad_property_and_names_it(
    properties: dict[str, Any], mentioned: str
):
    with pytest.raises(FormDefinitionError) as caught:
        parse_form("bad.json", schema(properties))
    error = caught.value
    assert error.form_name == "bad.json"
    assert mentioned in error.reason
    assert mentioned.strip("'") in error.reason_zh
    assert error.reason.endswith(".") and error.reason_zh.endswith("。")


REJECTED_FORMS = [
    pytest.param([], "array", id="root-array"),
    pytest.param("form", "string", id="root-string"),
    pytest.param(
        {**schema({}), "type": "array"}, '"type": "object"', id="root-type-not-object"
    ),
    pytest.param(
        {k: v for k, v in schema({}).items() if k != "type"},
        '"type": "object"',
        id="root-type-missing",
    ),
    pytest.param({**schema({}), "x-title-en": ""}, "x-title-en", id="root-no-english"),
    pytest.param({**schema({}), "pattern": "x"}, "pattern", id="root-unknown-key"),
    pytest.param(
        {**schema({}), "additionalProperties": True},
        "additionalProperties",
        id="additional-properties-true",
    ),
    pytest.param(
        {k: v for k, v in schema({}).items() if k != "properties"},
        "properties",
        id="no-properties",
    ),
    pytest.param(schema({"x": prop("string")}, ("y",)), "'y'", id="required-unknown"),
    pytest.param(schema({"x": prop("string")}, ("x", "x")), "'x'", id="required-twice"),
    pytest.param(
        {**schema({"x": prop("string")}), "required": "x"},
        "required",
        id="required-not-list",
    ),
    pytest.param(
        schema({"x": YES_NO}, all_of=[when("y", True, "x")]),
        "'y'",
        id="condition-unknown-field",
    ),
    pytest.param(
        schema({"x": YES_NO}, all_of=[when("x", True, "z")]),
        "'z'",
        id="condition-requires-unknown",
    ),
    pytest.param(
        schema({"x": YES_NO}, all_of=[when("x", "yes", "x")]),
        "'x'",
        id="condition-value-wrong-type",
    ),
    pytest.param(
        schema({"x": COLOURS}, all_of=[when("x", "pink", "x")]),
        "'x'",
        id="condition-value-not-choice",
    ),
    pytest.param(
        schema({"x": YES_NO}, all_of=[when("x", True)]),
        "requires nothing",
        id="condition-then-empty",
    ),
    pytest.param(
        schema({"x": YES_NO}, all_of=[{"if": when("x", True)["if"]}]),
        "'then'",
        id="condition-without-then",
    ),
    pytest.param(
        schema(
            {"x": YES_NO, "y": YES_NO},
            all_of=[
                {
                    "if": {"properties": {"x": {"const": True}, "y": {"const": True}}},
                    "then": {"required": ["x"]},
                }
            ],
        ),
        "exactly one",
        id="condition-two-fields",
    ),
    pytest.param(
        schema(
            {"x": RATING},
            all_of=[
                {
                    "if": {"properties": {"x": {"minimum": 3}}},
                    "then": {"required": ["x"]},
                }
            ],
        ),
        "'x'",
        id="condition-not-const",
    ),
    pytest.param(
        schema(
            {"x": YES_NO},
            all_of=[{**when("x", True, "x"), "else": {"required": ["x"]}}],
        ),
        "else",
        id="condition-else",
    ),
    pytest.param({**schema({"x": YES_NO}), "allOf": {}}, "allOf", id="all-of-not-list"),
]


@pytest.mark.parametrize(("document", "mentioned"), REJECTED_FORMS)
def test_parse_form_rejects_bad_form_with_a_reason(document: Any, mentioned: str):
    with pytest.raises(FormDefinitionError) as caught:
        parse_form("bad.json", document)
    assert mentioned in caught.value.reason
    assert caught.value.reason_zh != caught.value.reason


def test_parse_form_accepts_if_required_idiom_and_comments():
    conditions = [
        {
            "if": {"properties": {"x": {"const": True}}, "required": ["x"]},
            "then": {"required": ["y"]},
        }
    ]
    document = {
        **schema({"x": YES_NO, "y": prop("string")}, (), conditions),
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "additionalProperties": False,
    }
    form = parse_form("ok.json", document)
    assert form.conditional_required == (("x", True, ("y",)),)


def test_definition_error_message_in_both_languages():
    with pytest.raises(FormDefinitionError) as caught:
        parse_form("bad.json", schema({"x": prop("number")}))
    error = caught.value
    assert error.message("en") == f"Form 'bad.json': {error.reason}"
    assert error.message() == f"表单“bad.json”：{error.reason_zh}"
    assert "属性“x”" in error.reason_zh
    assert str(error) == error.message("en")


# ------------------------------------------------------------------ loading


def test_load_form_reads_text_and_bytes():
    text = json.dumps(schema({"x": RATING}), ensure_ascii=False)
    from_text = load_form("rate.json", text)
    from_bytes = load_form("rate.json", ("\ufeff" + text).encode("utf-8"))
    assert from_text == from_bytes
    assert from_text.fields[0].maximum == 5


def test_load_form_bad_json_names_line_and_column():
    text = '{\n  "type": "object",\n  "title": "甲" "x-title-en": "A"\n}'
    with pytest.raises(FormDefinitionError) as caught:
        load_form("broken.json", text)
    assert "line 3, column 16" in caught.value.reason
    assert "第 3 行第 16 列" in caught.value.reason_zh


@pytest.mark.parametrize(
    ("data", "mentioned"),
    [
        pytest.param(
            '{"type": "object", "type": "object"}', "'type'", id="duplicate-key"
        ),
        pytest.param('{"x": NaN}', "NaN", id="nan"),
        pytest.param(b'{"title": "\xff"}', "UTF-8", id="not-utf8"),
        pytest.param("[" * 100_000 + "]" * 100_000, "", id="deep-nesting"),
        pytest.param("", "line 1, column 1", id="empty"),
    ],
)
def test_load_form_rejects_unreadable_files(data: str | bytes, mentioned: str):
    with pytest.raises(FormDefinitionError) as caught:
        load_form("broken.json", data)
    assert mentioned in caught.value.reason
    assert caught.value.form_name == "broken.json"


FORM_FILES = sorted(FORMS_DIR.glob("*.json")) if FORMS_DIR.is_dir() else []


@pytest.mark.parametrize("path", FORM_FILES, ids=[path.name for path in FORM_FILES])
def test_shipped_form_file_loads(path: Path):
    form = load_form(path.name, path.read_bytes())
    assert form.label("zh").strip() and form.label("en").strip()
    for field in form.fields:
        assert field.label("zh").strip() and field.label("en").strip()
