"""Turning a (name, description, argument model, handler) spec into an SDK `Tool`.

The SDK would validate arguments itself and word failures as pydantic does; instead each tool receives the raw
arguments, validates them against its model, and answers every problem as an isError result whose text is
the REST API's `reason: message`, so a bad call never becomes a protocol error or a server crash.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict, ValidationError

from diffuserve.errors import DiffuserveError, InvalidRequest
from diffuserve.mcp.context import McpContext, ToolCall
from diffuserve.mcp.json_schema import input_schema
from diffuserve.mcp.results import error_result
from diffuserve.service.wire_types import describe, field_path

logger = logging.getLogger(__name__)

ArgsT = TypeVar("ArgsT", bound=BaseModel)
# Arrays and objects inside arguments nest at most this deep (the deepest real argument is 3: concepts); deeper
# input, as JSON text or not, is a tool error instead of a RecursionError somewhere further on.
MAX_NESTING = 32
Handler = Callable[[ToolCall, ArgsT], Awaitable[CallToolResult]]


class _Unchecked(ArgModelBase):
    model_config = ConfigDict(extra="allow")


class _RawArguments(FuncMetadata):
    """Hands the tool function its arguments as one dict; the tool checks them (see the module docstring)."""

    def validate_arguments(self, arguments_to_validate: dict[str, Any]) -> dict[str, Any]:
        return {"arguments": dict(arguments_to_validate)}


@dataclass(frozen=True)
class ToolSpec(Generic[ArgsT]):
    name: str
    title: str
    description: str
    arguments: type[ArgsT]
    handler: Handler[ArgsT]
    annotations: ToolAnnotations


@cache
def _structured_names(model: type[BaseModel]) -> frozenset[str]:
    properties = input_schema(model)["properties"]
    return frozenset(name for name, prop in properties.items() if prop.get("type") in ("array", "object"))


def _too_deep(field: str) -> InvalidRequest:
    return InvalidRequest(
        f"{field} is nested too deeply: arrays and objects may nest at most {MAX_NESTING} levels",
        field=field,
        reason="too_deeply_nested",
    )


def _check_nesting(name: str, value: Any) -> None:
    """InvalidRequest when `value` holds arrays or objects nested deeper than MAX_NESTING (checked without
    recursion, so any depth is safe to look at)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_NESTING:
                raise _too_deep(name)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))


def parse_arguments(model: type[ArgsT], raw: dict[str, Any]) -> ArgsT:
    """The model from raw arguments; an InvalidRequest naming the first bad field otherwise."""
    data = dict(raw)
    for name in _structured_names(model) & data.keys():
        value = data[name]
        # Some clients send arrays and objects as JSON text.
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            try:
                data[name] = json.loads(value)
            except RecursionError:
                raise _too_deep(name) from None
            except ValueError:
                pass
    for name, value in data.items():
        _check_nesting(name, value)
    try:
        return model.model_validate(data)
    except RecursionError:
        raise InvalidRequest("the arguments are nested too deeply", field="arguments") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "extra_forbidden":
            field = field_path(tuple(first["loc"]))
            allowed = ", ".join(input_schema(model)["properties"])
            raise InvalidRequest(f"{field} is not an argument of this tool; it takes: {allowed}", field=field) from None
        raise describe(first) from None


def make_tool(spec: ToolSpec[ArgsT]) -> Tool:
    async def run(arguments: dict[str, Any], ctx: Context[McpContext, Any]) -> CallToolResult:
        try:
            call = ToolCall.of(ctx)
            result = await spec.handler(call, parse_arguments(spec.arguments, arguments))
            if call.outputs is not None:  # stdio: no HTTP server behind the signed URLs, local files instead
                result = await asyncio.to_thread(call.outputs.localize, result)
            return result
        except DiffuserveError as exc:
            logger.info("tool refused tool=%s reason=%s message=%s", spec.name, exc.reason, exc.message)
            return error_result(exc)
        except RecursionError:
            logger.info("tool refused tool=%s reason=too_deeply_nested", spec.name)
            return error_result(_too_deep("arguments"))
        except Exception:
            logger.exception("tool failed tool=%s", spec.name)
            internal = DiffuserveError(
                "the server failed while running this tool; the server log has the details",
                reason="internal_error",
            )
            return error_result(internal)

    run.__name__ = spec.name.replace("-", "_")
    return Tool(
        fn=run,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        parameters=input_schema(spec.arguments),
        fn_metadata=_RawArguments(arg_model=_Unchecked),
        is_async=True,
        context_kwarg="ctx",
        annotations=spec.annotations,
    )
