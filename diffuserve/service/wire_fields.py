"""The fields Scenario's schemas list for each generate endpoint (tests/spec: the published OpenAPI), and what
to say about a field a request sends that is not among them: the closest known name, as a warning (or, in strict
mode, a 400), so a typo such as "steps" is noticed while a field from a newer Scenario version keeps working."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from diffuserve.catalog.types import Mode
from diffuserve.errors import InvalidRequest

_COMMON = frozenset(
    {
        "modelId",
        "prompt",
        "negativePrompt",
        "negativePromptStrength",
        "seed",
        "numSamples",
        "numInferenceSteps",
        "guidance",
        "width",
        "height",
        "scheduler",
        "concepts",
        "baseModelId",
        "modelEpoch",
        "hideResults",
        "intermediateImages",
    }
)
_IMAGE = frozenset({"image", "imageId", "imageParentId", "imageHide", "strength"})
_MASK = frozenset({"mask", "maskId"})
_IP_ADAPTER = frozenset(
    {
        "ipAdapterImage",
        "ipAdapterImageId",
        "ipAdapterImageIds",
        "ipAdapterImages",
        "ipAdapterScale",
        "ipAdapterScales",
        "ipAdapterType",
    }
)

FIELDS: dict[Mode, frozenset[str]] = {
    Mode.TXT2IMG: _COMMON | {"aspectRatio"},
    Mode.TXT2IMG_IP_ADAPTER: _COMMON | _IP_ADAPTER | {"aspectRatio"},
    Mode.IMG2IMG: _COMMON | _IMAGE,
    Mode.IMG2IMG_IP_ADAPTER: _COMMON | _IMAGE | _MASK | _IP_ADAPTER,
    Mode.INPAINT: _COMMON | _IMAGE | _MASK | {"disableMerging"},
    Mode.INPAINT_IP_ADAPTER: _COMMON | _IMAGE | _MASK | _IP_ADAPTER | {"disableMerging"},
}
# Fields diffuserve also reads on a mode although Scenario's schema for it does not list them.
EXTRA_FIELDS: dict[Mode, frozenset[str]] = {Mode.IMG2IMG: _MASK}
CONCEPT_FIELDS = frozenset({"modelId", "scale", "modelEpoch"})
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


def known_fields(mode: Mode) -> frozenset[str]:
    return FIELDS[mode] | EXTRA_FIELDS.get(mode, frozenset())


def unknown_fields(mode: Mode, body: Mapping[str, Any]) -> list[dict[str, str]]:
    """One warning per field of `body` that `mode` does not know (also inside concepts), naming the closest."""
    warnings = [_warning(name, name, known_fields(mode), mode.value) for name in body if name not in known_fields(mode)]
    concepts = body.get("concepts")
    if isinstance(concepts, list):
        for i, concept in enumerate(concepts):
            if isinstance(concept, Mapping):
                warnings += [
                    _warning(f"concepts[{i}].{name}", name, CONCEPT_FIELDS, "a concept")
                    for name in concept
                    if name not in CONCEPT_FIELDS
                ]
    return warnings


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
