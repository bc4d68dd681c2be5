"""The JSON Schema a tool list shows for an arguments model: every property typed and described, no titles, no
`anyOf`-with-null for optional fields, no `$ref` (some MCP clients cannot follow references)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
            rest = {k: _inline_refs(v, defs) for k, v in node.items() if k != "$ref"}
            return {**target, **rest}
        return {k: _inline_refs(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


def _drop_null(node: Any) -> Any:
    """`X | None = None` becomes plain X (an omitted argument is the "none"); titles go too."""
    if isinstance(node, list):
        return [_drop_null(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _drop_null(v) for k, v in node.items() if k != "title"}
    options = out.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1 and len(kept) < len(options):
            del out["anyOf"]
            out = {**kept[0], **out}
    if "default" in out and out["default"] is None:
        del out["default"]
    return out


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema a client sees for `model`: every property typed and described, refs inlined."""
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})
    schema: dict[str, Any] = _drop_null(_inline_refs(raw, defs))
    properties = schema.get("properties", {})
    schema["properties"] = properties  # tools without arguments still list an (empty) object
    schema["type"] = "object"
    return schema
