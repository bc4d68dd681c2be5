"""Lenient wire value types for the pydantic wire models, and the one translation of a pydantic validation
failure into an InvalidRequest that names the field the way the API does (`concepts[0].scale`).

Lenient exactly where Scenario is: numbers may come as numeric strings, seeds as strings or numbers, booleans as
"true"/"false". Not lenient where that would hide a mistake: a boolean is not a number, text must be valid
Unicode (JSON lets a lone surrogate through, which could not be stored or sent back).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ValidationError, WithJsonSchema
from pydantic_core import ErrorDetails, PydanticCustomError

from diffuserve.errors import InvalidRequest

MAX_SEED_DIGITS = 20
# Error types whose message the API words itself (the rest: pydantic's wording after the field name).
_WIRE = "wire"
ModelT = TypeVar("ModelT", bound=BaseModel)


def _refuse(message: str, **context: Any) -> PydanticCustomError:
    """A failure whose message follows the field name: `<field> <message>`."""
    return PydanticCustomError(_WIRE, message, context or None)


def _unicode(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _refuse("must be valid Unicode text (it holds a lone surrogate)") from None
    return value


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise _refuse("must be a number, got a boolean")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise _refuse("must be a finite number, got {value}", value=repr(value))
    return value


def _seed(value: Any) -> int | None:
    """The spec types seed as a string; legacy clients send integers. Both are accepted."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _refuse("must be a non-negative integer or a string of digits")
    if isinstance(value, int):
        seed = value
    elif isinstance(value, float) and value.is_integer():
        seed = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        if len(value.strip()) > MAX_SEED_DIGITS:
            raise _refuse(f"must have at most {MAX_SEED_DIGITS} digits")
        seed = int(value.strip())
    else:
        raise _refuse("must be a non-negative integer or a string of digits, got {value}", value=repr(value))
    if seed < 0:
        raise _refuse("must be a non-negative integer, got {value}", value=seed)
    return seed


def in_range(low: float, high: float) -> AfterValidator:
    """A wire-level bound (model-dependent ranges are the catalog's validation)."""

    def check(value: float | None) -> float | None:
        if value is not None and not low <= value <= high:
            raise _refuse(f"must be a number in [{low:g}, {high:g}], got {value:g}")
        return value

    return AfterValidator(check)


def one_of(allowed: Iterable[str]) -> AfterValidator:
    """An enumerated string, refused with the list of what is allowed."""
    names = tuple(allowed)

    def check(value: str | None) -> str | None:
        if value is not None and value not in names:
            raise _refuse(f"must be one of {', '.join(names)}; got {{value}}", value=repr(value))
        return value

    return AfterValidator(check)


Text = Annotated[str, AfterValidator(_unicode)]
Number = Annotated[float, BeforeValidator(_not_bool), AfterValidator(_finite)]
Integer = Annotated[int, BeforeValidator(_not_bool)]
# The spec types seed as a string of digits; a JSON number is accepted too. Read as an int.
Seed = Annotated[
    str | int | None,
    BeforeValidator(_seed),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{1,20}$", "description": "Digits; a JSON number works too"}),
]


def field_path(loc: Sequence[int | str], *, skip: Iterable[str] = ()) -> str:
    """`("body", "concepts", 0, "scale")` -> `concepts[0].scale` (the wire's own way of naming a field)."""
    skipped = set(skip)
    name = ""
    for part in loc:
        if isinstance(part, str) and part in skipped and not name:
            continue
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


_PHRASES: dict[str, str] = {
    "float_parsing": "must be a number, got {input!r}",
    "float_type": "must be a number, got {input!r}",
    "int_parsing": "must be an integer, got {input!r}",
    "int_type": "must be an integer, got {input!r}",
    "int_from_float": "must be an integer, got {input!r}",
    "bool_parsing": "must be a boolean (true or false), got {input!r}",
    "bool_type": "must be a boolean (true or false), got {input!r}",
    "string_type": "must be a string, got {kind}",
    "list_type": "must be an array",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "finite_number": "must be a finite number, got {input!r}",
    "recursion_loop": "is nested too deeply",
}


def describe(error: ErrorDetails, *, skip: Iterable[str] = ()) -> InvalidRequest:
    """One pydantic error as the API's InvalidRequest."""
    field = field_path(tuple(error["loc"]), skip=skip) or "body"
    kind = error["type"]
    if kind == "missing":
        return InvalidRequest(f"{field} is required", field=field, reason="missing_field")
    if kind == "json_invalid":
        return InvalidRequest("the body is not valid JSON", field="body")
    if kind == _WIRE:
        return InvalidRequest(f"{field} {error['msg']}", field=field)
    phrase = _PHRASES.get(kind)
    if phrase is None:
        return InvalidRequest(f"{field}: {error['msg']}", field=field)
    value = error.get("input")
    return InvalidRequest(f"{field} " + phrase.format(input=value, kind=type(value).__name__), field=field)


def first_error(errors: Sequence[ErrorDetails], *, skip: Iterable[str] = ()) -> InvalidRequest:
    return describe(errors[0], skip=skip) if errors else InvalidRequest("invalid request", field="body")


def validate_model(model: type[ModelT], data: Any) -> ModelT:
    """`model` from plain data (a JSON object), or the InvalidRequest naming the first bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise first_error(exc.errors()) from None
    except RecursionError:
        raise InvalidRequest("the request is nested too deeply", field="body") from None
