"""Which tools a connection sees: named toolsets, chosen per connection (`/mcp?toolsets=a,b`, `diffuserve mcp
--toolsets a,b`, DIFFUSERVE_MCP_TOOLSETS for connections that name none).

default       the task-level loop of Scenario's hosted MCP server (search, model_schema_get, model_run, jobs_wait,
              asset_display, ...): snake_case arguments, compact results; what Scenario's agent skills call
scenario-api  the fifteen tools named after Scenario's REST operations (post-txt2img-inferences, get-job-id, ...)
full          both
"""

from __future__ import annotations

from collections.abc import Iterable

from diffuserve.errors import InvalidRequest

DEFAULT = "default"
SCENARIO_API = "scenario-api"
FULL = "full"
# What each name selects; `full` is the union, as on Scenario's hosted server (`?toolsets=full`: everything).
TOOLSETS: dict[str, frozenset[str]] = {
    DEFAULT: frozenset({DEFAULT}),
    SCENARIO_API: frozenset({SCENARIO_API}),
    FULL: frozenset({DEFAULT, SCENARIO_API}),
}
# Every selection a connection can make, for servers built ahead of time (HTTP).
SELECTIONS: tuple[frozenset[str], ...] = tuple(dict.fromkeys(TOOLSETS.values()))


def parse_toolsets(values: str | Iterable[str] | None, *, default: str = DEFAULT) -> frozenset[str]:
    """The toolsets named in comma-separated text (or several such texts); `default` when none is named."""
    texts = [values] if isinstance(values, str) else list(values or [])
    names = [name.strip().lower() for text in texts for name in text.split(",") if name.strip()]
    if not names:
        if default == "":
            raise InvalidRequest("no toolset named", field="toolsets", reason="unknown_toolset")
        return parse_toolsets(default, default="")
    unknown = [name for name in names if name not in TOOLSETS]
    if unknown:
        raise InvalidRequest(
            f"unknown toolset {unknown[0]!r}; the toolsets are: {', '.join(TOOLSETS)} (comma-separated, e.g. "
            f"toolsets={DEFAULT},{SCENARIO_API})",
            field="toolsets",
            reason="unknown_toolset",
        )
    return frozenset().union(*(TOOLSETS[name] for name in names))
