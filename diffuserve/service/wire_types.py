"""Lenient wire value types for the pydantic wire models, and the one translation of a pydantic validation
failure into an InvalidRequest that names the field the way the API does (`concepts[0].scale`).

Lenient exactly where Scenario is: numbers may come as numeric strings, seeds as strings or numbers, booleans as
"true"/"false". Not lenient where that would hide a mistake: a boolean is not a number, text must be valid
Unicode (JSON lets a lone surrogate through, which could not be stored or sent back).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, WithJsonSchema
from pydantic_core import ErrorDetails, PydanticCustomError

from diffuserve.errors import InvalidRequest

MAX_SEED_DIGITS = 20
# Error types whose message the API words itself (the rest: pydantic's wording after the field name).
_WIRE = "wire"
ModelT = TypeVar("ModelT", bound=BaseModel)


TRUE = frozenset({"true", "1", "yes"})
FALSE = frozenset({"false", "0", "no", ""})


def refuse(message: str, **context: Any) -> PydanticCustomError:
    """A failure whose message follows the field name: `<field> <message>`; a `reason` in the context replaces
    invalid_request."""
    return PydanticCustomError(_WIRE, message, context or None)


def unicode_text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise refuse("must be valid Unicode text (it holds a lone surrogate)") from None
    return value


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise refuse("must be a number, got a boolean")
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise refuse("must be a finite number, got {value}", value=repr(value))
    return value


def _seed(value: Any) -> int | None:
    """The spec types seed as a string; legacy clients send integers. Both are accepted."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise refuse("must be a non-negative integer or a string of digits")
    if isinstance(value, int):
        seed = value
    elif isinstance(value, float) and value.is_integer():
        seed = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        if len(value.strip()) > MAX_SEED_DIGITS:
            raise refuse(f"must have at most {MAX_SEED_DIGITS} digits")
        seed = int(value.strip())
    else:
        raise refuse("must be a non-negative integer or a string of digits, got {value}", value=repr(value))
    if seed < 0:
        raise refuse("must be a non-negative integer, got {value}", value=seed)
    return seed


def shown(value: float) -> str:
    """A number as an error message shows it (an integer too large for a float too)."""
    try:
        return f"{value:g}"
    except OverflowError:
        return "a number too large to hold"


def in_range(low: float, high: float, *, words: str = "must be a number in [{low}, {high}]") -> AfterValidator:
    """A wire-level bound (model-dependent ranges are the catalog's validation)."""
    said = words.format(low=f"{low:g}", high=f"{high:g}")

    def check(value: float | None) -> float | None:
        if value is not None and not low <= value <= high:
            raise refuse(f"{said}, got {shown(value)}")
        return value

    return AfterValidator(check)


def one_of(allowed: Iterable[str]) -> AfterValidator:
    """An enumerated string, refused with the list of what is allowed."""
    names = tuple(allowed)

    def check(value: str | None) -> str | None:
        if value is not None and value not in names:
            raise refuse(f"must be one of {', '.join(names)}; got {{value}}", value=repr(value))
        return value

    return AfterValidator(check)


def whole_range(low: int, high: int) -> AfterValidator:
    """An integer bound, refused as `must be an integer in [low, high]`."""

    def check(value: int | None) -> int | None:
        if value is not None and not low <= value <= high:
            raise refuse(f"must be an integer in [{low}, {high}], got {value}")
        return value

    return AfterValidator(check)


def string_list(what: str) -> BeforeValidator:
    """A JSON array of strings, refused as a whole (`must be an array of <what>`) when it is anything else."""

    def check(value: Any) -> Any:
        if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
            raise refuse(f"must be an array of {what}")
        return value

    return BeforeValidator(check)


class Required(BeforeValidator):
    """Marks a field the body must have, with the refusal's wording: WireBody lists it as required in the JSON
    schema, and a missing, null or empty value is `<field> is required<hint>` (reason missing_field)."""


# The default of a `required` field (None, typed Any for mypy): its validator refuses it in the API's words.
MISSING: Any = None


def required(hint: str = "", *, allow_empty: bool = False) -> Required:
    def check(value: Any) -> Any:
        if value is None or (value == "" and not allow_empty):
            raise refuse("is required" + hint, reason="missing_field")
        return value

    return Required(check)


def _list_required(schema: dict[str, Any], model: type[BaseModel]) -> None:
    names = [n for n, f in model.model_fields.items() if any(isinstance(m, Required) for m in f.metadata)]
    for name in names:
        schema["properties"][name].pop("default", None)
    if names:
        schema["required"] = [*names, *(n for n in schema.get("required", []) if n not in names)]


def only(allowed: str) -> Required:
    """A field whose one allowed value is `allowed` (an action): anything else, or nothing, is refused."""

    def check(value: Any) -> Any:
        if value != allowed:
            raise refuse(f"must be {allowed!r}, got {{value}}", value=repr(value))
        return value

    return Required(check)


class WireBody(BaseModel):
    """A request body: unknown names are kept (`model_extra`) for the response's warnings (strict mode: a 400);
    defaults are validated too, so a `required` field's default (None) is the refusal of a missing one."""

    model_config = ConfigDict(extra="allow", validate_default=True, json_schema_extra=_list_required)


def _flag(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    raise refuse("must be a boolean (true or false), got {value}", value=repr(value))


def _query_flag(value: Any) -> bool:
    """Query flags such as dryRun: "true" (any case) or "1" mean true; anything else false."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in ("true", "1")


def _dry_run(value: Any) -> bool:
    """`?dryRun=`: "true" as on every endpoint, and "api" (the SDK's other value: estimate at the API tier)."""
    return _query_flag(value) or (isinstance(value, str) and value.strip().lower() == "api")


def _timestamp(value: Any) -> datetime | None:
    """An ISO-8601 timestamp ("Z" or an offset; none means UTC) as a UTC datetime; empty means not given."""
    if value is None or value == "":
        return None
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        message = "must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z, got {value}"
        raise refuse(message, value=repr(value)) from None


Text = Annotated[str, AfterValidator(unicode_text)]
# A boolean, or "true"/"false" (also yes/no, 1/0; any case) as a string.
Flag = Annotated[bool, BeforeValidator(_flag)]
# A query parameter such as dryRun: "true" or "1" is true, anything else (or nothing) false; never refused.
QueryFlag = Annotated[bool, BeforeValidator(_query_flag), WithJsonSchema({"type": "string", "examples": ["true"]})]
DryRun = Annotated[bool, BeforeValidator(_dry_run), WithJsonSchema({"type": "string", "examples": ["true", "api"]})]
Timestamp = Annotated[
    datetime | None,
    BeforeValidator(_timestamp),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "ISO-8601, e.g. 2024-05-01T12:00:00Z"}),
]
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
        reason = (error.get("ctx") or {}).get("reason", "invalid_request")
        return InvalidRequest(f"{field} {error['msg']}", field=field, reason=reason)
    if field == "body" and kind in ("model_type", "model_attributes_type", "dict_type"):
        return InvalidRequest("the request body must be a JSON object", field=field)
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
