"""The fifteen tools: Scenario's names, the service layer's calls, results for an agent."""

from __future__ import annotations

import asyncio
from typing import Any

from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, ToolAnnotations

from diffuserve.catalog.types import Mode
from diffuserve.mcp import descriptions as doc
from diffuserve.mcp.context import ToolCall
from diffuserve.mcp.custom_arguments import CustomArguments
from diffuserve.mcp.registration import ToolSpec, make_tool
from diffuserve.mcp.results import job_result, previews_of, text_result
from diffuserve.mcp.schemas import (
    CALL_ARGUMENTS,
    CallOptions,
    GetAssetArguments,
    GetAssetsArguments,
    GetJobArguments,
    GetJobsArguments,
    GetModelArguments,
    Img2ImgArguments,
    Img2ImgIpAdapterArguments,
    InpaintArguments,
    InpaintIpAdapterArguments,
    JobActionArguments,
    NoArguments,
    PostAssetArguments,
    Txt2ImgArguments,
    Txt2ImgIpAdapterArguments,
)
from diffuserve.service.custom_generation import submit_custom
from diffuserve.service.query_schemas import AssetQuery, JobQuery
from diffuserve.service.wire_types import validate_model

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
# Generation writes a job and assets and is not idempotent (each call is a new job); it destroys nothing.
GENERATES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)

ARGUMENTS_BY_MODE: dict[Mode, type[CallOptions]] = {
    Mode.TXT2IMG: Txt2ImgArguments,
    Mode.TXT2IMG_IP_ADAPTER: Txt2ImgIpAdapterArguments,
    Mode.IMG2IMG: Img2ImgArguments,
    Mode.IMG2IMG_IP_ADAPTER: Img2ImgIpAdapterArguments,
    Mode.INPAINT: InpaintArguments,
    Mode.INPAINT_IP_ADAPTER: InpaintIpAdapterArguments,
}

TITLES: dict[Mode, str] = {
    Mode.TXT2IMG: "Generate images from text",
    Mode.TXT2IMG_IP_ADAPTER: "Generate images from text and reference images",
    Mode.IMG2IMG: "Transform an image",
    Mode.IMG2IMG_IP_ADAPTER: "Transform an image after reference images",
    Mode.INPAINT: "Repaint a masked region",
    Mode.INPAINT_IP_ADAPTER: "Repaint a masked region after reference images",
}


def tool_name(mode: Mode) -> str:
    """`post-<mode>-inferences`, the name Scenario's MCP server gives the operation."""
    return f"post-{mode.value}-inferences"


def _generate(mode: Mode) -> ToolSpec[CallOptions]:
    async def handler(call: ToolCall, args: CallOptions) -> CallToolResult:
        body = call.image_inputs(args.model_dump(exclude_none=True, exclude=set(CALL_ARGUMENTS)))
        _, response = await asyncio.to_thread(
            call.services.inference.submit,
            mode,
            body,
            dry_run=args.dryRun,
            original_assets=args.originalAssets,
            caller=call.caller,
        )
        return await _submitted(call, args, response)

    return ToolSpec(
        name=tool_name(mode),
        title=TITLES[mode],
        description=doc.generate_description(mode),
        arguments=ARGUMENTS_BY_MODE[mode],
        handler=handler,
        annotations=GENERATES,
    )


async def _submitted(call: ToolCall, args: CallOptions, response: dict[str, Any]) -> CallToolResult:
    """A generate call's answer: the dry run's cost, or the job after waiting up to waitSeconds for it."""
    if args.dryRun:
        return text_result("Dry run: the request is valid; nothing was queued or stored.", response)
    job = response["job"]
    if args.waitSeconds > 0:
        waited = await call.services.jobs.wait(
            job["jobId"], timeout_s=args.waitSeconds, on_progress=call.progress, caller=call.caller
        )
        job = waited["job"]
    extra: dict[str, Any] = {name: response[name] for name in ("creativeUnitsCost", "warnings") if name in response}
    return await job_result(call, job, extra=extra)


async def post_generate_custom(call: ToolCall, args: CustomArguments) -> CallToolResult:
    _, response = await asyncio.to_thread(
        submit_custom,
        call.services.inference,
        args.modelId,
        call.image_inputs(args.inputs),
        dry_run=args.dryRun,
        original_assets=args.originalAssets,
        caller=call.caller,
    )
    return await _submitted(call, args, response)


async def get_job(call: ToolCall, args: GetJobArguments) -> CallToolResult:
    if args.waitSeconds > 0:
        found = await call.services.jobs.wait(
            args.jobId, timeout_s=args.waitSeconds, on_progress=call.progress, caller=call.caller
        )
    else:
        found = await asyncio.to_thread(call.services.jobs.get, args.jobId, caller=call.caller)
    return await job_result(call, found["job"])


async def post_job_action(call: ToolCall, args: JobActionArguments) -> CallToolResult:
    result = await asyncio.to_thread(call.services.jobs.action, args.jobId, args, caller=call.caller)
    job = result["job"]
    return text_result(f"Job {job['jobId']} is now {job['status']}.", result)


async def get_jobs(call: ToolCall, args: GetJobsArguments) -> CallToolResult:
    query = validate_model(JobQuery, args.model_dump(exclude_none=True))
    result = await asyncio.to_thread(call.services.jobs.list, query, caller=call.caller)
    more = " More: pass nextPaginationToken." if result.get("nextPaginationToken") else ""
    return text_result(f"{len(result['jobs'])} job(s).{more}", result)


async def get_asset(call: ToolCall, args: GetAssetArguments) -> CallToolResult:
    result = await asyncio.to_thread(
        call.services.assets.get, args.assetId, original_assets=args.originalAssets, caller=call.caller
    )
    images = await previews_of(call.services, [args.assetId]) if args.includePreview else []
    return text_result("", result, images=images)


async def get_assets(call: ToolCall, args: GetAssetsArguments) -> CallToolResult:
    query = validate_model(AssetQuery, args.model_dump(exclude_none=True))
    result = await asyncio.to_thread(call.services.assets.list, query, caller=call.caller)
    more = " More: pass nextPaginationToken." if result.get("nextPaginationToken") else ""
    return text_result(f"{len(result['assets'])} asset(s).{more}", result)


async def post_asset(call: ToolCall, args: PostAssetArguments) -> CallToolResult:
    image, path = call.upload_image(args.image)
    body = args.model_copy(update={"image": image})
    result = await asyncio.to_thread(call.services.assets.upload, body, caller=call.caller)
    source = f" from {path}" if path else ""
    return text_result(f"Stored asset {result['asset']['id']}{source}.", result)


async def get_models(call: ToolCall, args: NoArguments) -> CallToolResult:
    return text_result("", await asyncio.to_thread(call.services.models.list))


async def get_model(call: ToolCall, args: GetModelArguments) -> CallToolResult:
    return text_result("", await asyncio.to_thread(call.services.models.get, args.modelId))


def _specs() -> list[ToolSpec[Any]]:
    specs: list[ToolSpec[Any]] = [_generate(mode) for mode in Mode]
    specs += [
        ToolSpec(
            "post-generate-custom",
            "Generate images with a model's inputs",
            doc.GENERATE_CUSTOM,
            CustomArguments,
            post_generate_custom,
            GENERATES,
        ),
        ToolSpec("get-job-id", "Get a job (and wait for its images)", doc.GET_JOB, GetJobArguments, get_job, READ_ONLY),
        ToolSpec(
            "post-job-action-by-job-id",
            "Cancel a job",
            doc.JOB_ACTION,
            JobActionArguments,
            post_job_action,
            ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False),
        ),
        ToolSpec("get-jobs", "List jobs", doc.GET_JOBS, GetJobsArguments, get_jobs, READ_ONLY),
        ToolSpec("get-assets-by-asset-id", "Get an asset", doc.GET_ASSET, GetAssetArguments, get_asset, READ_ONLY),
        ToolSpec("get-assets", "List assets", doc.GET_ASSETS, GetAssetsArguments, get_assets, READ_ONLY),
        ToolSpec(
            "post-asset",
            "Upload an image",
            doc.POST_ASSET,
            PostAssetArguments,
            post_asset,
            ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False),
        ),
        ToolSpec("get-models", "List models", doc.GET_MODELS, NoArguments, get_models, READ_ONLY),
        ToolSpec("get-models-by-model-id", "Get a model", doc.GET_MODEL, GetModelArguments, get_model, READ_ONLY),
    ]
    return specs


def build_tools() -> list[Tool]:
    return [make_tool(spec) for spec in _specs()]
