"""post-generate-custom's arguments: modelId and the model's inputs by name (the REST body of
POST /v1/generate/custom/{modelId}), plus the call options. The schema lists every input any model has
(catalog/inputs.py), so names, types and bounds are known up front; which of them a model takes, and its
defaults, are in its `inputs` (get-models-by-model-id). The inputs are checked by the service, so a bad one gets
the REST API's message."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from diffuserve.catalog.inputs import CONCEPT_SCALE, ModelInput, all_inputs
from diffuserve.mcp.schemas import CALL_ARGUMENTS, CallOptions
from diffuserve.service.generate_schemas import DEFAULT_NUM_SAMPLES

_LOCAL_FILES = " Over stdio also an absolute local file path; over HTTP upload it with post-asset first."


def _concept_item() -> dict[str, Any]:
    low, high = CONCEPT_SCALE
    return {
        "type": "object",
        "properties": {
            "modelId": {"type": "string", "description": "Id of a LoRA model (type *-lora, see get-models)."},
            "scale": {
                "type": "number",
                "minimum": low,
                "maximum": high,
                "description": "LoRA weight: 1 = as trained, 0 = off, negative values push away from its style.",
            },
        },
        "required": ["modelId", "scale"],
        "additionalProperties": False,
    }


def _number(item: ModelInput) -> dict[str, Any]:
    integer = item.step is not None and float(item.step).is_integer()
    prop: dict[str, Any] = {"type": "integer" if integer else "number"}
    if item.minimum is not None:
        prop["minimum"] = item.minimum
    if item.maximum is not None:
        prop["maximum"] = item.maximum
    if integer and item.step is not None and item.step > 1:
        prop["multipleOf"] = int(item.step)
    return prop


def input_property(item: ModelInput) -> dict[str, Any]:
    """One input as a JSON Schema property."""
    description = item.description + (_LOCAL_FILES if item.type in ("file", "file_array") else "")
    if item.type == "number":
        prop = _number(item)
    elif item.type == "boolean":
        prop = {"type": "boolean"}
    elif item.type in ("string", "file"):
        prop = {"type": "string"}
        if item.allowed_values:
            prop["enum"] = list(item.allowed_values)
    else:
        items: dict[str, Any]
        if item.type == "number_array":
            items = {"type": "number", "minimum": item.minimum, "maximum": item.maximum}
        elif item.type == "model_array":
            items = _concept_item()
            description = "LoRAs to stack on the model, each {modelId, scale}; the LoRA must fit the model (see its "
            description += "compliantModelIds in get-models)."
        else:
            items = {"type": "string"}
        prop = {"type": "array", "items": items}
        if item.max_items is not None:
            prop["maxItems"] = item.max_items
    prop["description"] = description
    if item.default is not None:
        prop["default"] = item.default
    return prop


INPUTS = all_inputs(default_samples=DEFAULT_NUM_SAMPLES)


def _with_inputs(schema: dict[str, Any]) -> None:
    """modelId, then every input, then the call options; nothing else."""
    properties: dict[str, Any] = schema["properties"]
    options = {name: prop for name, prop in properties.items() if name in CALL_ARGUMENTS}
    schema["properties"] = {
        "modelId": properties["modelId"],
        **{item.name: input_property(item) for item in INPUTS},
        **options,
    }
    schema["required"] = ["modelId", *(item.name for item in INPUTS if item.required)]
    schema["additionalProperties"] = False


class CustomArguments(CallOptions):
    """modelId and the call options are checked here; the inputs (extra arguments) by the service."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_with_inputs)

    modelId: str = Field(
        description="Id of the model to run (see get-models). Its `inputs` (get-models-by-model-id) list the "
        "arguments it takes, with their defaults and ranges."
    )

    @property
    def inputs(self) -> dict[str, Any]:
        """The model's inputs: every argument that is not modelId or a call option."""
        return dict(self.model_extra or {})
