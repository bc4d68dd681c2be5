"""What to say about a field a request sends that its wire model (service/generate_schemas) does not know: the
closest known name, as a warning (or, in strict mode, a 400), so a typo such as "steps" is noticed while a field
from a newer Scenario version keeps working."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel

from diffuserve.errors import InvalidRequest

# How a nested object is named in a warning (default: its path, e.g. assetOptions).
NESTED = {"concepts": "a concept"}
# Names other APIs (A1111, diffusers, imagepipeline) use for the same thing.
SYNONYMS = {
    "steps": "numInferenceSteps",
    "samples": "numSamples",
    "batchsize": "numSamples",
    "cfg": "guidance",
    "cfgscale": "guidance",
    "guidancescale": "guidance",
    "sampler": "scheduler",
    "samplername": "scheduler",
    "model": "modelId",
    "initimage": "image",
    "maskimage": "mask",
    "denoisingstrength": "strength",
    "weight": "scale",
}


def _normal(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def unknown_fields(body: BaseModel, where: str, prefix: str = "") -> list[dict[str, str]]:
    """One warning per field a wire model kept as extra, also inside nested models (concepts, assetOptions),
    naming the closest known one."""
    known = frozenset(type(body).model_fields)
    warnings = [_warning(prefix + name, name, known, where) for name in body.model_extra or {}]
    for name in type(body).model_fields:
        value = getattr(body, name)
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            if isinstance(item, BaseModel):
                path = prefix + (name if i is None else f"{name}[{i}]")
                warnings += unknown_fields(item, NESTED.get(name, path), prefix=path + ".")
    return warnings


def field_warnings(body: BaseModel, where: str, *, strict: bool) -> dict[str, Any]:
    """`{"warnings": [...]}` to add to a response when `body` holds unknown fields (else nothing); in strict
    mode the first of them is a 400 instead."""
    warnings = unknown_fields(body, where)
    if strict:
        refuse_unknown(warnings)
    return {"warnings": warnings} if warnings else {}


def refuse_unknown(warnings: list[dict[str, str]]) -> None:
    """Strict mode: the first unknown field is a 400."""
    if warnings:
        first = warnings[0]
        raise InvalidRequest(first["message"], field=first["field"], reason="unknown_field")


def closest_field(name: str, known: frozenset[str]) -> str | None:
    """The known field `name` most likely meant: same letters in another case or with underscores, a usual
    synonym, else the nearest spelling."""
    by_normal = {_normal(k): k for k in known}
    if _normal(name) in by_normal:
        return by_normal[_normal(name)]
    synonym = SYNONYMS.get(_normal(name))
    if synonym in known:
        return synonym
    near = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return near[0] if near else None


def _warning(path: str, name: str, known: frozenset[str], where: str) -> dict[str, str]:
    closest = closest_field(name, known)
    hint = f"; did you mean {closest}?" if closest else ""
    warning = {"field": path, "message": f"{path} is not a field of {where} and was ignored{hint}"}
    if closest:
        warning["closest"] = closest
    return warning
