"""POST /generate/custom/{modelId} (Scenario's generic generate, the one method of its SDK): the body holds the
model's inputs by name; they pick one of the six modes and go through `InferenceService.submit`, so checks,
messages, the job and the assets are those of the other generate endpoints. Also the Model object's `inputs`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from diffuserve.catalog.inputs import (
    CONCEPTS,
    IMAGE,
    IP_ADAPTER_IMAGES,
    MASK,
    REFINES,
    ModelInput,
    model_inputs,
    select_mode,
)
from diffuserve.catalog.registry import ModelSpec, Registry
from diffuserve.errors import InvalidRequest
from diffuserve.service.generate_schemas import DEFAULT_NUM_SAMPLES
from diffuserve.service.inference import InferenceService
from diffuserve.service.keys import LOCAL_CALLER, Caller
from diffuserve.service.wire_fields import closest_field


def input_wire(item: ModelInput) -> dict[str, Any]:
    """One input as Scenario's ModelInput object (fields that do not apply are left out)."""
    wire: dict[str, Any] = {"name": item.name, "type": item.type, "label": item.label, "description": item.description}
    optional: dict[str, Any] = {
        "default": item.default,
        "min": item.minimum,
        "max": item.maximum,
        "step": item.step,
        "maxLength": item.max_items,
        "kind": item.kind,
        "maskFrom": item.mask_from,
        "group": item.group,
    }
    wire.update({k: v for k, v in optional.items() if v is not None})
    if item.allowed_values:
        wire["allowedValues"] = list(item.allowed_values)
    if item.model_types:
        wire["modelTypes"] = list(item.model_types)
    required: dict[str, Any] = {}
    if item.required:
        required["always"] = True
    if item.required_if_defined:
        required["ifDefined"] = dict(item.required_if_defined)
    if required:
        wire["required"] = required
    for flag, on in (("parent", item.parent), ("prompt", item.prompt), ("costImpact", item.cost_impact)):
        if on:
            wire[flag] = True
    return wire


def inputs_wire(inputs: Iterable[ModelInput]) -> list[dict[str, Any]]:
    return [input_wire(i) for i in inputs]


def model_inputs_wire(registry: Registry, model: ModelSpec) -> list[dict[str, Any]]:
    """The `inputs` of a Model object (REST defaults: numSamples 4)."""
    return inputs_wire(model_inputs(registry, model, default_samples=DEFAULT_NUM_SAMPLES))


def _given(value: Any) -> bool:
    return value is not None and value != "" and value != []


def _refuse_unknown(model_id: str, body: Mapping[str, Any], names: list[str]) -> None:
    for name in body:
        if name == "modelId":
            if body[name] != model_id:
                raise InvalidRequest(
                    f"modelId {body[name]!r} in the body differs from the model in the path ({model_id!r}); "
                    "leave it out",
                    field="modelId",
                    reason="conflicting_fields",
                )
            continue
        if name not in names:
            closest = closest_field(str(name), frozenset(names))
            hint = f" Did you mean {closest}?" if closest else ""
            raise InvalidRequest(
                f"{name} is not an input of model {model_id!r}; its inputs are: {', '.join(names)} "
                f"(GET /v1/models/{model_id} describes each).{hint}",
                field=str(name),
                reason="unknown_input",
            )


def _concept(item: Any) -> Any:
    """A bare LoRA model id (a model_array item) is that LoRA at scale 1."""
    return {"modelId": item, "scale": 1.0} if isinstance(item, str) else item


def submit_custom(
    inference: InferenceService,
    model_id: str,
    body: Any,
    *,
    dry_run: bool = False,
    original_assets: bool = False,
    caller: Caller = LOCAL_CALLER,
) -> tuple[int, dict[str, Any]]:
    """(200, {job, inference, creativeUnitsCost}) or (269, {creativeUnitsCost}), as `InferenceService.submit`."""
    model = inference.registry.get(model_id)
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object of the model's inputs", field="body")
    names = [i.name for i in model_inputs(inference.registry, model, default_samples=DEFAULT_NUM_SAMPLES)]
    _refuse_unknown(model_id, body, names)
    mode = select_mode(
        image=_given(body.get(IMAGE)), mask=_given(body.get(MASK)), ip_adapter=_given(body.get(IP_ADAPTER_IMAGES))
    )
    fields = {k: v for k, v in body.items() if k != "modelId"}
    for name in (IMAGE, MASK, IP_ADAPTER_IMAGES):
        if not _given(fields.get(name)):
            fields.pop(name, None)
    warnings: list[dict[str, str]] = []
    for name, needs in REFINES.items():
        # An input that refines one not given changes nothing: left out, and said so (a null silently).
        if name in fields and needs not in fields and fields.pop(name) is not None:
            warnings.append({"field": name, "message": f"{name} applies with {needs}, which was not given; ignored"})
    if isinstance(fields.get(CONCEPTS), list):
        fields[CONCEPTS] = [_concept(c) for c in fields[CONCEPTS]]
    status, content = inference.submit(
        mode,
        {**fields, "modelId": model_id},
        dry_run=dry_run,
        original_assets=original_assets,
        caller=caller,
    )
    if warnings:
        content["warnings"] = [*warnings, *content.get("warnings", [])]
    return status, content
