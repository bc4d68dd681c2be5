"""The task-level toolset (`default`): the names and argument shapes of Scenario's hosted MCP server, over the same
service layer as the REST API. Generation and jobs live here; assets in task_assets.py, search in task_search.py.

The loop Scenario's agent skills teach: search -> model_schema_get -> model_run -> jobs_wait (re-called with
pending_job_ids until none is left) -> asset_display / asset_download; upload_asset turns files into asset ids.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from functools import partial
from typing import Any

from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, TextContent

from diffuserve.catalog.inputs import ModelInput, model_inputs
from diffuserve.errors import DiffuserveError, InvalidRequest, NotFound
from diffuserve.mcp.context import TERMINAL, Progress, ToolCall, Transport
from diffuserve.mcp.registration import ToolSpec, make_tool
from diffuserve.mcp.results import error_result, text_result
from diffuserve.mcp.schemas import DEFAULT_WAIT_S
from diffuserve.mcp.task_assets import asset_specs
from diffuserve.mcp.task_results import DESTROYS, FAILED_HINT, IN_PROGRESS, READ_ONLY, WRITES, job_row, job_summary
from diffuserve.mcp.task_schemas import (
    JobCancelArguments,
    JobGetArguments,
    JobsListArguments,
    JobsWaitArguments,
    ModelRunArguments,
    ModelSchemaGetArguments,
)
from diffuserve.mcp.task_search import search_spec
from diffuserve.service.custom_generation import submit_custom
from diffuserve.service.generate_schemas import DEFAULT_NUM_SAMPLES
from diffuserve.service.query_schemas import JobQuery
from diffuserve.service.wire_types import validate_model

_WAIT_AGAIN = "Call jobs_wait with job_ids={ids}; never model_run again for them (that starts new jobs)."


def parameter_row(item: ModelInput) -> dict[str, Any]:
    """One input as the hosted model_schema_get lists it: snake_case, only the facts that apply."""
    row: dict[str, Any] = {"name": item.name, "type": item.type, "description": item.description}
    if item.required:
        row["required"] = True
    optional = {
        "default": item.default,
        "min": item.minimum,
        "max": item.maximum,
        "step": item.step,
        "max_length": item.max_items,
    }
    row.update({k: v for k, v in optional.items() if v is not None})
    if item.allowed_values:
        row["allowed_values"] = list(item.allowed_values)
    if item.required_if_defined:
        row["required_if"] = dict(item.required_if_defined)
    if item.cost_impact:
        row["cost_impact"] = True
    return row


async def model_schema_get(call: ToolCall, args: ModelSchemaGetArguments) -> CallToolResult:
    def build() -> dict[str, Any]:
        registry = call.services.models.registry
        model = registry.get(args.model_id)
        inputs = model_inputs(registry, model, default_samples=DEFAULT_NUM_SAMPLES)
        payload: dict[str, Any] = {
            "model_id": model.id,
            "name": model.name,
            "type": model.type.value,
            "capabilities": list(model.capabilities),
        }
        if model.compliant_model_ids:
            payload["base_model_ids"] = list(model.compliant_model_ids)
        payload["parameters"] = [parameter_row(item) for item in inputs]
        return payload

    payload = await asyncio.to_thread(build)
    summary = f"{len(payload['parameters'])} parameters; pass them to model_run as `parameters`."
    return text_result(summary, payload, compact=True)


async def model_run(call: ToolCall, args: ModelRunArguments) -> CallToolResult:
    _, response = await asyncio.to_thread(
        submit_custom,
        call.services.inference,
        args.model_id,
        call.image_inputs(args.parameters),
        dry_run=args.dry_run,
        caller=call.caller,
    )
    extra: dict[str, Any] = {"creative_units_cost": response.get("creativeUnitsCost")}
    if response.get("warnings"):
        extra["warnings"] = response["warnings"]
    if args.dry_run:
        return text_result("Dry run: the parameters are valid; nothing ran.", {"dry_run": True, **extra}, compact=True)
    job = response["job"]
    if args.wait:
        job = (
            await call.services.jobs.wait(
                job["jobId"], timeout_s=DEFAULT_WAIT_S, on_progress=call.progress, caller=call.caller
            )
        )["job"]
    return await run_result(call, job, extra)


async def _row_with_files(call: ToolCall, job: dict[str, Any]) -> dict[str, Any]:
    """job_row, plus over stdio each output as a local file."""
    row = job_row(job)
    files = await call.local_files(row["asset_ids"]) if row["status"] == "success" else None
    if files:
        row["files"] = files
    return row


def _done_next(call: ToolCall) -> str:
    if call.outputs is not None:
        return "The images are files on this machine: files[].path. asset_display shows one to the user."
    return "asset_display each asset_id to show it; asset_download for a file URL."


async def run_result(call: ToolCall, job: dict[str, Any], extra: dict[str, Any]) -> CallToolResult:
    """model_run's answer: the outputs, a failure (isError), or the job still running with what to call next."""
    row = {**(await _row_with_files(call, job)), **extra}
    job_id = row["job_id"]
    if row["status"] == "failure":
        failed = DiffuserveError(f"job {job_id} failed: {row['error']}", reason="job_failed")
        result = error_result(failed, hint=FAILED_HINT)
        result.content.append(TextContent(type="text", text=json.dumps(row)))
        return result
    if row["status"] == IN_PROGRESS:
        row["next"] = _WAIT_AGAIN.format(ids=f'["{job_id}"]')
        percent = round(100 * row["progress"])
        return text_result(
            f"Job {job_id} is still running ({percent}%). {call.still_running_note()}", row, compact=True
        )
    if row["status"] == "canceled":
        return text_result(f"Job {job_id} was canceled.", row, compact=True)
    row["next"] = _done_next(call)
    return text_result(f"Job {job_id} succeeded with {len(row['asset_ids'])} asset(s).", row, compact=True)


class _WaitProgress:
    """One progress bar over several jobs: the mean of their progress, finished jobs counting as done."""

    def __init__(self, progress: Progress, job_ids: list[str]) -> None:
        self.progress = progress
        self.states: dict[str, tuple[float, bool]] = {job_id: (0.0, False) for job_id in job_ids}

    async def update(self, job_id: str, fraction: float, status: str) -> None:
        done = status in TERMINAL
        self.states[job_id] = (1.0 if done else fraction, done)
        await self._report()

    async def drop(self, job_id: str) -> None:
        """A job that does not exist counts for nothing."""
        self.states.pop(job_id, None)
        if self.states:
            await self._report()

    async def _report(self) -> None:
        finished = sum(1 for _, ended in self.states.values() if ended)
        mean = sum(value for value, _ in self.states.values()) / len(self.states)
        message = f"{finished}/{len(self.states)} jobs finished"
        await self.progress.report(mean, message, done=finished == len(self.states))


async def jobs_wait(call: ToolCall, args: JobsWaitArguments) -> CallToolResult:
    job_ids = list(dict.fromkeys(job_id.strip() for job_id in args.job_ids if job_id.strip()))
    if not job_ids:
        raise InvalidRequest("job_ids must name at least one job id", field="job_ids")
    progress = _WaitProgress(call.progress, job_ids)

    async def wait_one(job_id: str) -> dict[str, Any]:
        try:
            found = await call.services.jobs.wait(
                job_id, timeout_s=args.timeout_seconds, on_progress=partial(progress.update, job_id), caller=call.caller
            )
        except NotFound as exc:
            await progress.drop(job_id)
            return {"job_id": job_id, "status": "not_found", "error": exc.message}
        return await _row_with_files(call, found["job"])

    rows = await asyncio.gather(*(wait_one(job_id) for job_id in job_ids))
    pending = [row["job_id"] for row in rows if row["status"] == IN_PROGRESS]
    payload: dict[str, Any] = {"jobs": rows, "pending_job_ids": pending}
    counts = Counter(row["status"] for row in rows)
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    summary = f"{len(rows) - len(pending)} of {len(rows)} job(s) finished ({tally})."
    if pending:
        payload["next"] = "Not an error: " + _WAIT_AGAIN.format(ids="pending_job_ids")
        summary += f" {call.still_running_note()}"
    else:
        payload["next"] = _done_next(call)
    return text_result(summary, payload, compact=True)


async def job_get(call: ToolCall, args: JobGetArguments) -> CallToolResult:
    job = (await asyncio.to_thread(call.services.jobs.get, args.job_id, caller=call.caller))["job"]
    if args.verbose:
        return text_result("", {"job": job}, compact=True)
    summary = job_summary(job)
    files = await call.local_files(summary["asset_ids"]) if summary["status"] == "success" else None
    if files:
        summary["files"] = files
    return text_result("", summary, compact=True)


async def jobs_list(call: ToolCall, args: JobsListArguments) -> CallToolResult:
    query = validate_model(
        JobQuery, {"status": args.status, "pageSize": args.limit, "paginationToken": args.pagination_token}
    )
    page = await asyncio.to_thread(call.services.jobs.list, query, caller=call.caller)
    payload: dict[str, Any] = {"jobs": [job_summary(job) for job in page["jobs"]]}
    if page.get("nextPaginationToken"):
        payload["next_pagination_token"] = page["nextPaginationToken"]
    return text_result(f"{len(payload['jobs'])} job(s), newest first.", payload, compact=True)


async def job_cancel(call: ToolCall, args: JobCancelArguments) -> CallToolResult:
    job = (await asyncio.to_thread(call.services.jobs.cancel, args.job_id, caller=call.caller))["job"]
    row = job_row(job)
    return text_result(f"Job {row['job_id']} is now {row['status']}.", row, compact=True)


def _job_specs() -> list[ToolSpec[Any]]:
    return [
        ToolSpec(
            "model_schema_get",
            "Get a model's parameters",
            "The parameters a model takes: name, type, required, default, min/max, allowed_values. Call before "
            "model_run and build its `parameters` from this. Find model ids with search (target=models).",
            ModelSchemaGetArguments,
            model_schema_get,
            READ_ONLY,
        ),
        ToolSpec(
            "model_run",
            "Run a model",
            "Generate images: queues a job running model_id with `parameters` (see model_schema_get). The inputs "
            "pick the mode: image -> img2img, image+mask -> inpaint, ipAdapterImages -> reference guidance, none "
            "-> txt2img. Returns {status, job_id, asset_ids, creative_units_cost}. status=in_progress: call "
            "jobs_wait with the job_id, never model_run again (that makes a second job). failure: isError with "
            "the job's error. Errors name the bad parameter as the REST API does.",
            ModelRunArguments,
            model_run,
            WRITES,
        ),
        ToolSpec(
            "jobs_wait",
            "Wait for jobs",
            "Wait server-side for several jobs at once, with progress notifications. Returns {jobs: [{job_id, "
            "status, asset_ids, error?, hint?}], pending_job_ids}. A timeout is not an error: call again with "
            "job_ids=pending_job_ids until it is empty. Use this, not job_get in a loop.",
            JobsWaitArguments,
            jobs_wait,
            READ_ONLY,
        ),
        ToolSpec(
            "job_get",
            "Get a job",
            "One job's status, progress, asset_ids and error at once (no waiting: use jobs_wait for that). "
            "verbose=true: the whole job with its resolved input (seed included).",
            JobGetArguments,
            job_get,
            READ_ONLY,
        ),
        ToolSpec(
            "jobs_list",
            "List jobs",
            "Recent jobs, newest first, with status, prompt and asset_ids; filter by status "
            "(e.g. 'queued,in-progress'). Page with next_pagination_token.",
            JobsListArguments,
            jobs_list,
            READ_ONLY,
        ),
        ToolSpec(
            "job_cancel",
            "Cancel a job",
            "Cancel a queued or running job: it stops within a step and makes no assets. Errors: job_finished "
            "when it already ended.",
            JobCancelArguments,
            job_cancel,
            DESTROYS,
        ),
    ]


def task_tools(transport: Transport) -> list[Tool]:
    """The `default` toolset, in the order of the loop."""
    specs = [search_spec(), *_job_specs(), *asset_specs(transport)]
    return [make_tool(spec) for spec in specs]
