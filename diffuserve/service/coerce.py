"""Lenient readers for wire values: numbers or numeric strings, booleans or "true"/"false".
Each failure is an InvalidRequest naming the field and what is allowed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from diffuserve.errors import InvalidRequest

TRUE = {"true", "1", "yes"}
FALSE = {"false", "0", "no", ""}
MAX_SEED_DIGITS = 20


def text(value: str, name: str) -> str:
    """The string itself, if it can be stored and sent back: JSON lets a lone surrogate ("\\ud800") through."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(f"{name} must be valid Unicode text (it holds a lone surrogate)", field=name) from None
    return value


def as_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string, got {type(value).__name__}", field=name)
    return text(value, name)


def as_float(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidRequest(f"{name} must be a number, got a boolean", field=name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"{name} must be a number, got {value!r}", field=name) from None
    except OverflowError:
        raise InvalidRequest(f"{name} is out of range (larger than any allowed value)", field=name) from None
    if not math.isfinite(number):
        raise InvalidRequest(f"{name} must be a finite number, got {value!r}", field=name)
    return number


def as_int(body: Mapping[str, Any], name: str) -> int | None:
    number = as_float(body, name)
    if number is None:
        return None
    if not number.is_integer():
        raise InvalidRequest(f"{name} must be an integer, got {body.get(name)!r}", field=name)
    return int(number)


def as_bool(body: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    raise InvalidRequest(f"{name} must be a boolean (true or false), got {value!r}", field=name)


def query_flag(value: str | bool | None) -> bool:
    """Query flags such as dryRun: "true" (any case) or "1" mean true; anything else false."""
    if isinstance(value, bool):
        return value
    return value is not None and value.strip().lower() in ("true", "1")


def as_datetime(value: str | None, name: str) -> datetime | None:
    """An ISO-8601 timestamp ("Z" or an offset; none means UTC) as a UTC datetime; empty means not given."""
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidRequest(
            f"{name} must be an ISO-8601 timestamp such as 2024-05-01T12:00:00.000Z, got {value!r}", field=name
        ) from None


def as_seed(body: Mapping[str, Any], name: str = "seed") -> int | None:
    """The spec types seed as a string; legacy clients send integers. Both are accepted."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidRequest(f"{name} must be a non-negative integer or a string of digits", field=name)
    if isinstance(value, int):
        seed = value
    elif isinstance(value, float) and value.is_integer():
        seed = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        if len(value.strip()) > MAX_SEED_DIGITS:
            raise InvalidRequest(f"{name} must have at most {MAX_SEED_DIGITS} digits", field=name)
        seed = int(value.strip())
    else:
        raise InvalidRequest(f"{name} must be a non-negative integer or a string of digits, got {value!r}", field=name)
    if seed < 0:
        raise InvalidRequest(f"{name} must be a non-negative integer, got {seed}", field=name)
    return seed


def as_str_list(body: Mapping[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest(f"{name} must be an array of strings", field=name)
    return [text(v, f"{name}[{i}]") for i, v in enumerate(value)]


def as_float_list(body: Mapping[str, Any], name: str) -> list[float] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidRequest(f"{name} must be an array of numbers", field=name)
    return [as_float({f"{name}[{i}]": v}, f"{name}[{i}]") or 0.0 for i, v in enumerate(value)]


def page_size(value: Any, *, default: int, maximum: int, name: str = "pageSize") -> int:
    size = as_int({name: value}, name)
    if size is None:
        return default
    if not 1 <= size <= maximum:
        raise InvalidRequest(f"{name} must be an integer in [1, {maximum}], got {size}", field=name)
    return size
