"""User-task forms: a strict reader for the JSON Schema subset in processes/forms.

A form file is parsed once into a :class:`Form` made of :class:`Field` values.
Anything outside the subset described in ``processes/README.md`` is refused with
a :class:`FormDefinitionError` that says what is wrong, where, and what to do.

:meth:`Form.validate` turns a submission (strings from an HTML form, or JSON
values from the API) into typed case data, or raises :class:`FormValidationError`
carrying every problem at once. Property names become case-data variables, so
only fields declared in the schema ever leave :meth:`Form.validate`.

Messages are in Chinese by default and in English when ``lang`` starts with
``en``; every message exists in both languages.
"""

from __future__ import annotations

import enum
import json
import keyword
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, NoReturn, TypeAlias

__all__ = [
    "MAX_INTEGER",
    "MAX_TEXT_LENGTH",
    "Choice",
    "Field",
    "FieldType",
    "Form",
    "FormDefinitionError",
    "FormValidationError",
    "Widget",
    "load_form",
    "parse_form",
]

FieldType: TypeAlias = Literal["string", "boolean", "integer"]
Widget: TypeAlias = Literal["text", "textarea", "radio", "select", "checkbox", "number"]
Scalar: TypeAlias = str | int | bool
Submitted: TypeAlias = str | list[str] | bool | int | None

MAX_TEXT_LENGTH: Final = 20_000
"""Hard cap on any text value, whatever the schema's maxLength says."""

MAX_INTEGER: Final = 2**53 - 1
"""Largest integer magnitude accepted: the largest that every JSON reader keeps."""

SELECT_AFTER: Final = 4
"""Fields with more choices than this default to a select box, else radio."""

_TRUE_WORDS: Final = frozenset({"true", "on", "1", "yes"})
_FALSE_WORDS: Final = frozenset({"false", "off", "0", "no"})
_CONTROL: Final = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\u202a-\u202e\u2066-\u2069]"
)
_INTEGER: Final = re.compile(r"[+-]?[0-9]+")

_TYPES: Final[dict[str, FieldType]] = {
    "string": "string",
    "boolean": "boolean",
    "integer": "integer",
}
_DECLARED_WIDGETS: Final[dict[str, Widget]] = {
    "textarea": "textarea",
    "radio": "radio",
    "select": "select",
    "checkbox": "checkbox",
}
_ROOT_KEYS: Final = frozenset(
    {
        "$schema",
        "$id",
        "$comment",
        "type",
        "title",
        "x-title-en",
        "description",
        "required",
        "properties",
        "allOf",
        "additionalProperties",
    }
)
_FIELD_KEYS: Final = frozenset(
    {
        "$comment",
        "type",
        "title",
        "x-title-en",
        "description",
        "oneOf",
        "const",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "default",
        "x-widget",
        "x-prefill",
    }
)
_CHOICE_KEYS: Final = frozenset({"$comment", "const", "title", "x-title-en"})
_ONLY_FOR: Final[dict[str, FieldType]] = {
    "minLength": "string",
    "maxLength": "string",
    "minimum": "integer",
    "maximum": "integer",
}

_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "required": ("此项为必填。", "This field is required."),
    "not_choice": ("请选择列出的选项之一。", "Choose one of the listed options."),
    "must_tick": ("请勾选以确认。", "Tick the box to confirm."),
    "must_untick": ("请不要勾选此项。", "Leave this box unticked."),
    "const": ("此项只能填写“{value}”。", "This field must be “{value}”."),
    "not_text": ("请输入文字。", "Enter text."),
    "not_boolean": ("请选择“是”或“否”。", "Choose yes or no."),
    "not_integer": ("请输入整数。", "Enter a whole number."),
    "control": (
        "文字中不能含有控制字符，请删除后再提交。",
        "Remove the control characters from this text.",
    ),
    "multiple": ("此项只能提交一个值。", "Submit only one value for this field."),
    "too_short": (
        "请至少输入 {limit} 个字符（现在是 {length} 个）。",
        "Enter at least {limit} characters (you entered {length}).",
    ),
    "too_long": (
        "最多只能输入 {limit} 个字符（现在是 {length} 个）。",
        "Enter at most {limit} characters (you entered {length}).",
    ),
    "between": (
        "请输入 {low} 到 {high} 之间的整数。",
        "Enter a whole number from {low} to {high}.",
    ),
    "too_small": (
        "请输入不小于 {low} 的整数。",
        "Enter a whole number of at least {low}.",
    ),
    "too_large": (
        "请输入不大于 {high} 的整数。",
        "Enter a whole number of at most {high}.",
    ),
    "too_big": (
        "数字太大，请输入 -{limit} 到 {limit} 之间的整数。",
        "That number is too large; enter a whole number from -{limit} to {limit}.",
    ),
    "unreadable": (
        "提交的内容无法识别，请重新填写表单。",
        "The submission could not be read; fill in the form again.",
    ),
}


def _is_english(lang: str) -> bool:
    return lang.strip().lower().startswith("en")


def _pick(lang: str, zh: str, en: str) -> str:
    return en if _is_english(lang) else zh


def _message(code: str, lang: str, **params: object) -> str:
    zh, en = _MESSAGES[code]
    return _pick(lang, zh, en).format(**params)


# --------------------------------------------------------------------------- errors


class FormDefinitionError(Exception):
    """A form file is not valid: ``reason`` says what is wrong, where, and what to do.

    ``reason`` is in English; ``reason_zh`` says the same in Chinese.
    """

    def __init__(self, form_name: str, reason: str, reason_zh: str | None = None):
        super().__init__(f"Form {form_name!r}: {reason}")
        self.form_name = form_name
        self.reason = reason
        self.reason_zh = reason if reason_zh is None else reason_zh

    def message(self, lang: str = "zh") -> str:
        """The reason in the requested language, prefixed with the form's name."""
        if _is_english(lang):
            return f"Form {self.form_name!r}: {self.reason}"
        return f"表单“{self.form_name}”：{self.reason_zh}"


class FormValidationError(Exception):
    """A submission failed validation.

    ``errors`` maps field names to messages in the requested language (key ``""``
    for a problem with the submission as a whole); ``values`` holds what was
    submitted for the form's own fields, for showing the form again.
    """

    def __init__(self, errors: dict[str, str], values: dict[str, Any]) -> None:
        summary = "; ".join(
            f"{key or '(form)'}: {text}" for key, text in errors.items()
        )
        super().__init__(summary)
        self.errors = errors
        self.values = values


class _Invalid(Exception):
    """One value's problem, as a message code to render in the caller's language."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def render(self, lang: str) -> str:
        return _message(self.code, lang, **self.params)


class _Absent(enum.Enum):
    MISSING = enum.auto()


_MISSING: Final = _Absent.MISSING


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Choice:
    """One entry of a property's ``oneOf``."""

    value: str | int | bool
    title: str
    title_en: str

    def label(self, lang: str) -> str:
        return _pick(lang, self.title, self.title_en)


@dataclass(frozen=True, slots=True)
class Field:
    """One property of a form; ``has_const`` tells whether ``const`` is set."""

    name: str
    type: FieldType
    title: str
    title_en: str
    description: str | None
    required: bool
    widget: Widget
    choices: tuple[Choice, ...]
    const: Any | None
    has_const: bool
    min_length: int | None
    max_length: int | None
    minimum: int | None
    maximum: int | None
    default: Any | None
    prefill: str | None

    def label(self, lang: str) -> str:
        return _pick(lang, self.title, self.title_en)


@dataclass(frozen=True, slots=True)
class Form:
    """A parsed form: its fields in schema order and its conditional requirements.

    Each entry of ``conditional_required`` is ``(field, value, names)``: when the
    cleaned value of ``field`` equals ``value``, every field in ``names`` is
    required.
    """

    name: str
    title: str
    title_en: str
    fields: tuple[Field, ...]
    conditional_required: tuple[tuple[str, Any, tuple[str, ...]], ...]

    def label(self, lang: str) -> str:
        return _pick(lang, self.title, self.title_en)

    def initial_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Values to show first: the case data named by x-prefill when it is valid
        for the field, else the default, else an empty value."""
        return {field.name: _initial_value(field, data) for field in self.fields}

    def validate(
        self, submitted: Mapping[str, Submitted], lang: str = "zh"
    ) -> dict[str, Any]:
        """Clean a submission into typed values for every field, in schema order.

        Missing optional fields become "" (text), False (checkbox) or None.
        Unknown keys are ignored. Raises FormValidationError with all problems.
        """
        if not isinstance(submitted, Mapping):
            raise FormValidationError({"": _message("unreadable", lang)}, {})
        cleaned, absent, problems = _clean_all(self.fields, submitted)
        required = self._required_names(cleaned)
        for field in self.fields:
            if field.name in absent:
                problem = _absence_problem(field, field.name in required)
                if problem is not None:
                    problems[field.name] = problem
        if problems:
            raise self._failure(submitted, problems, lang)
        return cleaned

    def _required_names(self, cleaned: Mapping[str, Any]) -> set[str]:
        names = {field.name for field in self.fields if field.required}
        for name, value, then in self.conditional_required:
            if name in cleaned and _same(cleaned[name], value):
                names.update(then)
        return names

    def _failure(
        self,
        submitted: Mapping[str, Submitted],
        problems: Mapping[str, _Invalid],
        lang: str,
    ) -> FormValidationError:
        names = [field.name for field in self.fields]
        errors = {n: problems[n].render(lang) for n in names if n in problems}
        values = {name: submitted[name] for name in names if name in submitted}
        return FormValidationError(errors, values)


# --------------------------------------------------------------------------- cleaning


def _same(left: object, right: object) -> bool:
    """Equality that keeps True apart from 1 and False apart from 0."""
    return type(left) is type(right) and left == right


def _clean_all(
    fields: tuple[Field, ...], submitted: Mapping[str, Submitted]
) -> tuple[dict[str, Any], set[str], dict[str, _Invalid]]:
    """Clean each field; absent ones get their empty value and are listed apart."""
    cleaned: dict[str, Any] = {}
    absent: set[str] = set()
    problems: dict[str, _Invalid] = {}
    for field in fields:
        try:
            value = _clean(field, submitted.get(field.name))
        except _Invalid as problem:
            problems[field.name] = problem
            continue
        if isinstance(value, _Absent):
            absent.add(field.name)
            cleaned[field.name] = _empty_value(field)
        else:
            cleaned[field.name] = value
    return cleaned, absent, problems


def _absence_problem(field: Field, required: bool) -> _Invalid | None:
    """An absent checkbox means unticked; anything else absent fails if required."""
    if field.widget == "checkbox" and field.has_const:
        return None if field.const is False else _const_error(field.const)
    return _Invalid("required") if required else None


def _empty_value(field: Field) -> Scalar | None:
    if field.type == "string":
        return ""
    return False if field.widget == "checkbox" else None


def _initial_value(field: Field, data: Mapping[str, Any]) -> Any:
    if field.prefill is not None:
        raw = data.get(field.prefill)
        if isinstance(raw, (str, int)):
            try:
                value = _clean(field, raw)
            except _Invalid:
                value = _MISSING
            if value is not _MISSING:
                return value
    return _empty_value(field) if field.default is None else field.default


def _clean(field: Field, raw: object, *, check_const: bool = True) -> Scalar | _Absent:
    """One submitted value made typed and checked; _MISSING when nothing was given."""
    single = _single_value(field, raw)
    if single is _MISSING:
        return _MISSING
    value = _COERCERS[field.type](single)
    if value is _MISSING:
        return _MISSING
    _check_bounds(field, value)
    if check_const and field.has_const and not _same(value, field.const):
        raise _const_error(field.const)
    return value


def _single_value(field: Field, raw: object) -> object:
    """HTML forms may send a list of values; one is allowed, none means missing."""
    if raw is None:
        return _MISSING
    if not isinstance(raw, (list, tuple)):
        return raw
    if not raw:
        return _MISSING
    if len(raw) > 1:
        raise _Invalid("multiple")
    if not isinstance(raw[0], str):
        raise _Invalid(_TYPE_ERRORS[field.type])
    return raw[0]


def _coerce_string(raw: object) -> str | _Absent:
    if not isinstance(raw, str):
        raise _Invalid("not_text")
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):
        raise _Invalid("control")
    text = text.strip()
    return text if text else _MISSING


def _coerce_boolean(raw: object) -> bool | _Absent:
    if isinstance(raw, bool):
        return raw
    if not isinstance(raw, str):
        raise _Invalid("not_boolean")
    word = raw.strip().lower()
    if not word:
        return _MISSING
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise _Invalid("not_boolean")


def _coerce_integer(raw: object) -> int | _Absent:
    if isinstance(raw, bool):
        raise _Invalid("not_integer")
    if isinstance(raw, int):
        return raw
    if not isinstance(raw, str):
        raise _Invalid("not_integer")
    text = raw.strip()
    if not text:
        return _MISSING
    if not _INTEGER.fullmatch(text):
        raise _Invalid("not_integer")
    if len(text.lstrip("+-").lstrip("0")) > len(str(MAX_INTEGER)):
        raise _Invalid("too_big", limit=MAX_INTEGER)
    return int(text)


_COERCERS: Final[dict[str, Callable[[object], Scalar | _Absent]]] = {
    "string": _coerce_string,
    "boolean": _coerce_boolean,
    "integer": _coerce_integer,
}
_TYPE_ERRORS: Final[dict[str, str]] = {
    "string": "not_text",
    "boolean": "not_boolean",
    "integer": "not_integer",
}


def _check_bounds(field: Field, value: Scalar) -> None:
    if field.choices:
        if not any(_same(value, choice.value) for choice in field.choices):
            raise _Invalid("not_choice")
    elif isinstance(value, str):
        _check_length(field, value)
    elif not isinstance(value, bool):
        _check_range(field, value)


def _check_length(field: Field, value: str) -> None:
    limit = MAX_TEXT_LENGTH if field.max_length is None else field.max_length
    if len(value) > limit:
        raise _Invalid("too_long", limit=limit, length=len(value))
    if field.min_length is not None and len(value) < field.min_length:
        raise _Invalid("too_short", limit=field.min_length, length=len(value))


def _check_range(field: Field, value: int) -> None:
    low, high = field.minimum, field.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            raise _Invalid("between", low=low, high=high)
        if low is not None:
            raise _Invalid("too_small", low=low)
        raise _Invalid("too_large", high=high)
    if abs(value) > MAX_INTEGER:
        raise _Invalid("too_big", limit=MAX_INTEGER)


def _const_error(const: object) -> _Invalid:
    if const is True:
        return _Invalid("must_tick")
    if const is False:
        return _Invalid("must_untick")
    return _Invalid("const", value=const)


def _fits(field: Field, value: object) -> bool:
    """Whether a schema-given value is one a user could submit for the field."""
    try:
        cleaned = _clean(field, value, check_const=False)
    except _Invalid:
        return False
    return _same(cleaned, value)


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True, slots=True)
class _Place:
    """Where in a form file a problem is, in both languages."""

    en: str
    zh: str


_ROOT: Final = _Place("The form", "表单")


def _property_place(name: str) -> _Place:
    return _Place(f"Property {name!r}", f"属性“{name}”")


def _fail(form: str, en: str, zh: str) -> NoReturn:
    raise FormDefinitionError(form, en, zh)


def _show(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _kind(value: object) -> tuple[str, str]:
    if value is None:
        return "null", "null"
    if isinstance(value, bool):
        return "a boolean", "布尔值"
    if isinstance(value, (int, float)):
        return "a number", "数字"
    if isinstance(value, str):
        return "a string", "字符串"
    if isinstance(value, (list, tuple)):
        return "an array", "数组"
    return "an object", "对象"


def _object(form: str, place: _Place, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        en, zh = _kind(value)
        _fail(
            form,
            f"{place.en} must be a JSON object, not {en}; write it as {{...}}.",
            f"{place.zh}必须是 JSON 对象，而不是{zh}；请写成 {{...}} 的形式。",
        )
    return value


def _check_keys(
    form: str, place: _Place, spec: Mapping[str, Any], allowed: frozenset[str]
) -> None:
    unknown = sorted(str(key) for key in spec if key not in allowed)
    if unknown:
        listed = ", ".join(sorted(allowed))
        _fail(
            form,
            f"{place.en} has the unsupported key {unknown[0]!r}; remove it "
            f"(supported here: {listed}).",
            f"{place.zh}含有不支持的键“{unknown[0]}”；请删除它（这里支持：{listed}）。",
        )


def _titles(form: str, place: _Place, spec: Mapping[str, Any]) -> tuple[str, str]:
    for key, en, zh in (
        ("title", "Chinese", "中文"),
        ("x-title-en", "English", "英文"),
    ):
        value = spec.get(key)
        if not isinstance(value, str) or not value.strip():
            _fail(
                form,
                f"{place.en} needs {key!r} (its {en} label) as non-empty text; "
                "add one.",
                f"{place.zh}缺少“{key}”（{zh}标签），或它不是非空文本；请补上。",
            )
    return spec["title"].strip(), spec["x-title-en"].strip()


def _check_variable_name(form: str, name: object, what_en: str, what_zh: str) -> str:
    """Property names and x-prefill become case-data variables: keep them plain."""
    if not isinstance(name, str) or not name.isascii() or not name.isidentifier():
        _fail(
            form,
            f"{what_en} {_show(name)} is not a valid identifier; it names a case-data "
            "variable, so use ASCII letters, digits and underscores, starting with a "
            "letter.",
            f"{what_zh} {_show(name)} 不是合法的标识符；它是案件数据的变量名，请只用 "
            "ASCII 字母、数字和下划线，并以字母开头。",
        )
    if name.startswith("_"):
        _fail(
            form,
            f"{what_en} {name!r} starts with an underscore, which is reserved for the "
            "engine; rename it to start with a letter.",
            f"{what_zh}“{name}”以下划线开头，这是引擎保留的；请改为以字母开头。",
        )
    if keyword.iskeyword(name):
        _fail(
            form,
            f"{what_en} {name!r} is a reserved word of the expression language; "
            "rename it.",
            f"{what_zh}“{name}”是表达式语言的保留字；请改名。",
        )
    return name


def _name_list(
    form: str, place: _Place, key: str, value: object, known: Mapping[str, Any]
) -> tuple[str, ...]:
    """A list of distinct property names, each one declared in ``properties``."""
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        _fail(
            form,
            f"{place.en} has {key!r} that is not an array of property names; "
            'write it as ["name", ...].',
            f'{place.zh}的“{key}”不是属性名数组；请写成 ["name", ...]。',
        )
    for index, name in enumerate(value):
        if name in value[:index]:
            _fail(
                form,
                f"{place.en} lists {name!r} twice in {key!r}; keep one.",
                f"{place.zh}的“{key}”把“{name}”列了两次；请只保留一次。",
            )
        if name not in known:
            _fail(
                form,
                f"{place.en} names {name!r} in {key!r}, but there is no such property; "
                "add the property or remove the name.",
                f"{place.zh}的“{key}”中的“{name}”不是已定义的属性；请添加该属性或删除这个名字。",
            )
    return tuple(value)


def parse_form(name: str, document: Mapping[str, Any]) -> Form:
    """Build a Form from a decoded schema, refusing anything outside the subset."""
    root = _object(name, _ROOT, document)
    _check_keys(name, _ROOT, root, _ROOT_KEYS)
    if root.get("type") != "object":
        _fail(
            name,
            f'The form must say "type": "object" at the top level, not '
            f"{_show(root.get('type'))}; set it.",
            f'表单顶层必须写 "type": "object"，而不是 {_show(root.get("type"))}；请改正。',
        )
    if root.get("additionalProperties", False) is not False:
        _fail(
            name,
            'The form may only say "additionalProperties": false (unknown fields are '
            "always dropped); remove the key or set it to false.",
            '表单只能写 "additionalProperties": false（未知字段总会被丢弃）；'
            "请删除该键或改为 false。",
        )
    title, title_en = _titles(name, _ROOT, root)
    properties = _properties(name, root)
    listed = root.get("required", [])
    required = set(_name_list(name, _ROOT, "required", listed, properties))
    fields = tuple(
        _parse_field(name, prop, spec, prop in required)
        for prop, spec in properties.items()
    )
    conditions = _parse_conditions(name, root.get("allOf", []), fields)
    return Form(name, title, title_en, fields, conditions)


def _properties(form: str, root: Mapping[str, Any]) -> Mapping[str, Any]:
    if "properties" not in root:
        _fail(
            form,
            'The form has no "properties"; add an object with one entry per field.',
            "表单缺少“properties”；请添加一个对象，每个字段一项。",
        )
    place = _Place('The form\'s "properties"', "表单的“properties”")
    properties = _object(form, place, root["properties"])
    for prop in properties:
        _check_variable_name(form, prop, "Property name", "属性名")
    return properties


def _parse_field(form: str, prop: str, raw: object, required: bool) -> Field:
    place = _property_place(prop)
    spec = _object(form, place, raw)
    _check_keys(form, place, spec, _FIELD_KEYS)
    field_type = _field_type(form, place, spec)
    title, title_en = _titles(form, place, spec)
    bare = Field(
        name=prop,
        type=field_type,
        title=title,
        title_en=title_en,
        description=_description(form, place, spec),
        required=required,
        widget="text",
        choices=(),
        const=None,
        has_const=False,
        min_length=None,
        max_length=None,
        minimum=None,
        maximum=None,
        default=None,
        prefill=_prefill(form, place, spec),
    )
    bounded = _with_bounds(form, place, spec, bare)
    choices = _parse_choices(form, prop, spec, bounded)
    shaped = replace(
        bounded, choices=choices, widget=_widget(form, place, spec, bounded, choices)
    )
    return _with_const_and_default(form, place, spec, shaped)


def _field_type(form: str, place: _Place, spec: Mapping[str, Any]) -> FieldType:
    declared = spec.get("type")
    if not isinstance(declared, str) or declared not in _TYPES:
        _fail(
            form,
            f'{place.en} has type {_show(declared)}; use "string", "boolean" or '
            '"integer".',
            f'{place.zh}的类型是 {_show(declared)}；请使用 "string"、"boolean" 或 '
            '"integer"。',
        )
    return _TYPES[declared]


def _description(form: str, place: _Place, spec: Mapping[str, Any]) -> str | None:
    value = spec.get("description")
    if value is not None and not isinstance(value, str):
        _fail(
            form,
            f'{place.en} has a "description" that is not text; write it as a string.',
            f"{place.zh}的“description”不是文本；请写成字符串。",
        )
    if value is None:
        return None
    return value.strip() or None


def _prefill(form: str, place: _Place, spec: Mapping[str, Any]) -> str | None:
    if "x-prefill" not in spec:
        return None
    what_en = f'{place.en}: "x-prefill"'
    what_zh = f"{place.zh}的“x-prefill”"
    return _check_variable_name(form, spec["x-prefill"], what_en, what_zh)


def _whole(form: str, place: _Place, spec: Mapping[str, Any], key: str) -> int | None:
    """An optional integer keyword; lengths must not be negative."""
    if key not in spec:
        return None
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(
            form,
            f"{place.en} has {key} {_show(value)}; it must be a whole number.",
            f"{place.zh}的 {key} 是 {_show(value)}；它必须是整数。",
        )
    if key.endswith("Length") and value < 0:
        _fail(
            form,
            f"{place.en} has {key} {value}; it must not be negative.",
            f"{place.zh}的 {key} 是 {value}；它不能是负数。",
        )
    return value


def _with_bounds(
    form: str, place: _Place, spec: Mapping[str, Any], field: Field
) -> Field:
    for key, owner in _ONLY_FOR.items():
        if key in spec and field.type != owner:
            _fail(
                form,
                f"{place.en} uses {key!r}, which applies only to {owner} properties, "
                f"but its type is {field.type}; remove {key!r}.",
                f"{place.zh}使用了“{key}”，它只适用于 {owner} 类型，而该属性的类型是 "
                f"{field.type}；请删除“{key}”。",
            )
    bounded = replace(
        field,
        min_length=_whole(form, place, spec, "minLength"),
        max_length=_whole(form, place, spec, "maxLength"),
        minimum=_whole(form, place, spec, "minimum"),
        maximum=_whole(form, place, spec, "maximum"),
    )
    _check_bound_order(form, place, bounded)
    return bounded


def _check_bound_order(form: str, place: _Place, field: Field) -> None:
    pairs = (
        ("minLength", field.min_length, "maxLength", field.max_length),
        ("minimum", field.minimum, "maximum", field.maximum),
    )
    for low_key, low, high_key, high in pairs:
        if low is not None and high is not None and low > high:
            _fail(
                form,
                f"{place.en} has {low_key} {low} greater than {high_key} {high}; "
                "no value could pass, so lower the one or raise the other.",
                f"{place.zh}的 {low_key}（{low}）大于 {high_key}（{high}）；"
                "任何值都无法通过，请调低前者或调高后者。",
            )
    if field.max_length is not None and field.max_length > MAX_TEXT_LENGTH:
        _fail(
            form,
            f"{place.en} has maxLength {field.max_length}, above the hard cap of "
            f"{MAX_TEXT_LENGTH} characters; use at most {MAX_TEXT_LENGTH}.",
            f"{place.zh}的 maxLength（{field.max_length}）超过了 {MAX_TEXT_LENGTH} "
            f"个字符的上限；请不要大于 {MAX_TEXT_LENGTH}。",
        )


def _parse_choices(
    form: str, prop: str, spec: Mapping[str, Any], field: Field
) -> tuple[Choice, ...]:
    if "oneOf" not in spec:
        return ()
    entries = spec["oneOf"]
    place = _property_place(prop)
    if not isinstance(entries, list) or not entries:
        _fail(
            form,
            f'{place.en} has a "oneOf" that is not a non-empty array; list the choices '
            'as [{"const": ..., "title": ..., "x-title-en": ...}, ...].',
            f"{place.zh}的“oneOf”不是非空数组；请把选项写成 "
            '[{"const": ..., "title": ..., "x-title-en": ...}, ...]。',
        )
    choices = tuple(
        _parse_choice(form, prop, index, entry, field)
        for index, entry in enumerate(entries, start=1)
    )
    _check_distinct_choices(form, place, choices)
    return choices


def _parse_choice(
    form: str, prop: str, index: int, raw: object, field: Field
) -> Choice:
    place = _Place(
        f"Choice {index} of property {prop!r}", f"属性“{prop}”的第 {index} 个选项"
    )
    entry = _object(form, place, raw)
    _check_keys(form, place, entry, _CHOICE_KEYS)
    if "const" not in entry:
        _fail(
            form,
            f'{place.en} has no "const"; give every oneOf entry the value it stands '
            "for as const.",
            f"{place.zh}缺少“const”；请为 oneOf 的每一项用 const 写出它代表的值。",
        )
    value = _fitting(form, place, "const", entry["const"], field)
    title, title_en = _titles(form, place, entry)
    return Choice(value, title, title_en)


def _check_distinct_choices(
    form: str, place: _Place, choices: tuple[Choice, ...]
) -> None:
    seen: list[Scalar] = []
    for choice in choices:
        if choice.value in seen:
            _fail(
                form,
                f"{place.en} offers the choice {_show(choice.value)} twice; keep one.",
                f"{place.zh}的选项 {_show(choice.value)} 出现了两次；请只保留一个。",
            )
        seen.append(choice.value)


def _fitting(form: str, place: _Place, key: str, value: object, field: Field) -> Any:
    """A schema-given value (const, default, condition) that the field can accept."""
    if not _fits(field, value):
        _fail(
            form,
            f"{place.en} has {key} {_show(value)}, which property {field.name!r} "
            f"could never accept; use a {field.type} value within its bounds and "
            "choices (text must be non-empty, without surrounding spaces).",
            f"{place.zh}的 {key} 是 {_show(value)}，属性“{field.name}”不可能接受这个值；"
            f"请使用符合其范围和选项的 {field.type} 值（文本须非空且首尾无空格）。",
        )
    return value


def _widget(
    form: str,
    place: _Place,
    spec: Mapping[str, Any],
    field: Field,
    choices: tuple[Choice, ...],
) -> Widget:
    if "x-widget" not in spec:
        return _default_widget(field.type, choices)
    declared = spec["x-widget"]
    if not isinstance(declared, str) or declared not in _DECLARED_WIDGETS:
        _fail(
            form,
            f"{place.en} has x-widget {_show(declared)}; use one of "
            '"textarea", "radio", "select" or "checkbox", or leave it out.',
            f'{place.zh}的 x-widget 是 {_show(declared)}；请使用 "textarea"、'
            '"radio"、"select"、"checkbox" 之一，或者不写。',
        )
    widget = _DECLARED_WIDGETS[declared]
    _check_widget_fits(form, place, widget, field.type, bool(choices))
    return widget


def _default_widget(field_type: FieldType, choices: tuple[Choice, ...]) -> Widget:
    if choices:
        return "select" if len(choices) > SELECT_AFTER else "radio"
    if field_type == "boolean":
        return "checkbox"
    return "number" if field_type == "integer" else "text"


def _check_widget_fits(
    form: str, place: _Place, widget: Widget, field_type: FieldType, choices: bool
) -> None:
    if widget in ("radio", "select"):
        fits, need_en, need_zh = choices, "a oneOf list of choices", "oneOf 选项列表"
    elif choices:
        fits, need_en, need_zh = False, "no oneOf choices", "没有 oneOf 选项"
    elif widget == "textarea":
        fits, need_en, need_zh = field_type == "string", "type string", "string 类型"
    else:
        fits, need_en, need_zh = field_type == "boolean", "type boolean", "boolean 类型"
    if not fits:
        _fail(
            form,
            f"{place.en} asks for x-widget {widget!r}, which needs {need_en}; "
            "change the widget or the property.",
            f"{place.zh}要求 x-widget “{widget}”，它需要{need_zh}；请修改控件或属性。",
        )


def _with_const_and_default(
    form: str, place: _Place, spec: Mapping[str, Any], field: Field
) -> Field:
    has_const = "const" in spec
    if has_const and field.choices:
        _fail(
            form,
            f'{place.en} has both "const" and "oneOf"; keep only one of them.',
            f"{place.zh}同时有“const”和“oneOf”；请只保留其中一个。",
        )
    const = _fitting(form, place, "const", spec["const"], field) if has_const else None
    default = None
    if "default" in spec:
        default = _fitting(form, place, "default", spec["default"], field)
    return replace(field, const=const, has_const=has_const, default=default)


def _parse_conditions(
    form: str, raw: object, fields: tuple[Field, ...]
) -> tuple[tuple[str, Any, tuple[str, ...]], ...]:
    if not isinstance(raw, list):
        _fail(
            form,
            'The form\'s "allOf" is not an array; write it as '
            '[{"if": ..., "then": ...}, ...].',
            '表单的“allOf”不是数组；请写成 [{"if": ..., "then": ...}, ...]。',
        )
    by_name = {field.name: field for field in fields}
    return tuple(
        _parse_condition(form, index, entry, by_name)
        for index, entry in enumerate(raw, start=1)
    )


def _parse_condition(
    form: str, index: int, raw: object, fields: Mapping[str, Field]
) -> tuple[str, Any, tuple[str, ...]]:
    place = _Place(f"allOf entry {index}", f"allOf 的第 {index} 项")
    entry = _object(form, place, raw)
    _check_keys(form, place, entry, frozenset({"if", "then"}))
    for key in ("if", "then"):
        if key not in entry:
            _fail(
                form,
                f'{place.en} has no {key!r}; each entry needs both "if" and "then".',
                f"{place.zh}缺少“{key}”；每一项都需要“if”和“then”。",
            )
    name, value = _parse_test(form, place, entry["if"], fields)
    then_place = _Place(f'{place.en}, "then"', f"{place.zh}的“then”")
    then = _object(form, then_place, entry["then"])
    _check_keys(form, then_place, then, frozenset({"required"}))
    names = _name_list(form, then_place, "required", then.get("required"), fields)
    if not names:
        _fail(
            form,
            f"{then_place.en} requires nothing; name at least one property in "
            '"required" or drop the entry.',
            f"{then_place.zh}没有要求任何属性；请在“required”中至少写一个属性，或删除这一项。",
        )
    return name, value, names


def _parse_test(
    form: str, place: _Place, raw: object, fields: Mapping[str, Field]
) -> tuple[str, Any]:
    """``{"properties": {name: {"const": value}}}``, maybe ``"required": [name]``."""
    if_place = _Place(f'{place.en}, "if"', f"{place.zh}的“if”")
    test = _object(form, if_place, raw)
    _check_keys(form, if_place, test, frozenset({"properties", "required"}))
    properties = test.get("properties")
    if not isinstance(properties, Mapping) or len(properties) != 1:
        _fail(
            form,
            f'{if_place.en} must test exactly one property, as {{"properties": '
            '{"name": {"const": value}}}; rewrite it that way.',
            f"{if_place.zh}必须只检查一个属性，写成 "
            '{"properties": {"name": {"const": value}}}；请照此改写。',
        )
    ((name, check),) = properties.items()
    field = fields.get(name)
    if field is None:
        _fail(
            form,
            f"{if_place.en} tests {name!r}, which is not a property; add the property "
            "or fix the name.",
            f"{if_place.zh}检查的“{name}”不是已定义的属性；请添加该属性或改正名字。",
        )
    if not isinstance(check, Mapping) or set(check) != {"const"}:
        _fail(
            form,
            f'{if_place.en} must test {name!r} with {{"const": value}} only; '
            "rewrite the test that way.",
            f'{if_place.zh}只能用 {{"const": value}} 检查“{name}”；请照此改写。',
        )
    if test.get("required", [name]) != [name]:
        _fail(
            form,
            f'{if_place.en} may only say "required": [{_show(name)}]; fix or '
            "remove it.",
            f'{if_place.zh}只能写 "required": [{_show(name)}]；请改正或删除。',
        )
    return name, _fitting(form, if_place, "const", check["const"], field)


# --------------------------------------------------------------------------- loading


class _DuplicateKey(Exception):
    pass


class _BadConstant(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reject_constant(word: str) -> NoReturn:
    raise _BadConstant(word)


def load_form(name: str, text: str | bytes) -> Form:
    """Parse a form file's JSON text (UTF-8 if bytes) into a Form."""
    if isinstance(text, bytes):
        text = _decode(name, text)
    try:
        document = json.loads(
            text.removeprefix("\ufeff"),
            object_pairs_hook=_unique_keys,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as error:
        _fail(
            name,
            f"The file is not valid JSON: {error.msg} at line {error.lineno}, column "
            f"{error.colno}; fix the syntax there.",
            f"文件不是有效的 JSON：第 {error.lineno} 行第 {error.colno} 列有错误"
            f"（{error.msg}）；请修正该处的语法。",
        )
    except _DuplicateKey as duplicate:
        _fail(
            name,
            f"The key {duplicate.args[0]!r} appears twice in one JSON object; "
            "keep only one.",
            f"键“{duplicate.args[0]}”在同一个 JSON 对象中出现了两次；请只保留一个。",
        )
    except _BadConstant as constant:
        _fail(
            name,
            f"The file uses {constant.args[0]}, which is not JSON; write a number.",
            f"文件中使用了 {constant.args[0]}，这不是 JSON；请写成数字。",
        )
    except RecursionError:
        _fail(
            name,
            "The file is nested too deeply; flatten it.",
            "文件嵌套过深；请简化结构。",
        )
    return parse_form(name, document)


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        _fail(
            name,
            f"The file is not UTF-8 (bad byte at offset {error.start}); save it "
            "as UTF-8.",
            f"文件不是 UTF-8 编码（第 {error.start} 字节有误）；请以 UTF-8 保存。",
        )
