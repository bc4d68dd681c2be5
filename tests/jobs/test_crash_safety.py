"""Nothing left behind: a `kill -9` at each phase of every write that pairs a file with a row (inline images of a
POST, a job's outputs, an upload's completion, a deletion), then a restart, leaves no file without its row and no
row without its file or owner; the start-up sweep also removes what older versions' crashes left."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from diffuserve.catalog.registry import ModelSpec
from diffuserve.engine.engine import Engine
from diffuserve.storage.tables import AssetRow, JobRow, UploadRow
from tests.server_process import ServerProcess, database, new_key, serve
from tests.service_helpers import data_url, mask, picture, png, run_service, wait_for

TINY = {"modelId": "tiny-sd15", "prompt": "a crash", "numInferenceSteps": 2, "width": 64, "height": 64}
INLINE = {**TINY, "numSamples": 1, "image": data_url(picture(64)), "mask": data_url(mask(64)), "strength": 0.8}
OUTPUTS = {**TINY, "numSamples": 2}


def leftovers(data_dir: Path, *, kept: frozenset[str] = frozenset()) -> list[str]:
    """Everything that points nowhere, read from the data folder of a stopped server: files no live asset or
    open upload uses, live assets without their file or without a job, upload or request (`kept`) that made
    them, pending rows, uploads stuck completing."""
    blobs = data_dir / "blobs"
    with database(data_dir) as db, db.read() as s:
        assets = list(s.scalars(select(AssetRow)))
        jobs = {j.id: j for j in s.scalars(select(JobRow))}
        uploads = list(s.scalars(select(UploadRow)))
    live = {a.blob_key: a for a in assets if not a.deleted}
    open_uploads = {u.id for u in uploads if u.status == "pending"}
    used_as_input = {
        ref
        for job in jobs.values()
        for ref in [job.input.get("imageId"), job.input.get("maskId"), *(job.input.get("ipAdapterImageIds") or [])]
        if ref
    }
    imported = {u.asset_id for u in uploads if u.asset_id}
    problems = [f"pending row {a.id}" for a in assets if a.pending]
    problems += [f"upload {u.id} left {u.status}" for u in uploads if u.status == "validating"]
    for path in sorted(p for p in blobs.rglob("*") if p.is_file()):
        key = path.relative_to(blobs).as_posix()
        top, _, rest = key.partition("/")
        if key not in live and not (top == "uploads" and rest.split("/")[0] in open_uploads):
            problems.append(f"orphaned file {key}")
    for key, asset in live.items():
        if not (blobs / key).is_file():
            problems.append(f"asset {asset.id} without its file")
        if asset.inference_id is not None:
            job = jobs.get(asset.inference_id)
            if job is None or job.status != "success" or asset.id not in job.asset_ids:
                problems.append(f"output {asset.id} of no successful job")
        elif asset.id not in used_as_input | imported | set(kept):
            problems.append(f"uploaded asset {asset.id} that nothing refers to")
    return problems


def _quietly(method: str, url: str, auth: tuple[str, str], **kwargs: Any) -> None:
    """A request the server is killed under (it never answers)."""
    with contextlib.suppress(httpx.HTTPError):
        httpx.request(method, url, auth=auth, timeout=300, **kwargs)


def _aside(method: str, url: str, auth: tuple[str, str], **kwargs: Any) -> None:
    threading.Thread(target=_quietly, args=(method, url, auth), kwargs=kwargs, daemon=True).start()


def _start(kind: str, server: ServerProcess, auth: tuple[str, str]) -> dict[str, Any]:
    """Begins the write that will be frozen; returns what the test needs afterwards."""
    with server.client(auth) as c:
        if kind == "inline":
            _aside("POST", f"{server.base_url}/v1/generate/inpaint", auth, json=INLINE)
            return {}
        if kind == "outputs":
            return {"job": c.post("/v1/generate/txt2img", json=OUTPUTS).json()["job"]["jobId"]}
        if kind == "upload":
            data = png(picture(48))
            body = {"fileName": "in.png", "contentType": "image/png", "kind": "image", "parts": 1}
            upload = c.post("/v1/uploads", json={**body, "fileSize": len(data)}).json()["upload"]
            assert httpx.put(upload["parts"][0]["url"], content=data).status_code == 200
            _aside("POST", f"{server.base_url}/v1/uploads/{upload['id']}/action", auth, json={"action": "complete"})
            return {"upload": upload["id"]}
        assert kind == "delete"
        asset = c.post("/v1/assets", json={"name": "gone.png", "image": data_url(picture(48))}).json()["asset"]
        _aside("DELETE", f"{server.base_url}/v1/assets", auth, json={"assetIds": [asset["id"]]})
        return {"asset": asset["id"]}


PHASES = [
    ("inline", "asset.row"),  # the first inline image's row, before its file
    ("inline", "blob.tmp"),  # its file half written (a temporary file)
    ("inline", "asset.blob"),  # its file in place, the row still pending
    ("inline", "inputs.staged"),  # both inline images stored, the job not yet
    ("outputs", "asset.row"),  # the worker's first output row, before its file
    ("outputs", "asset.blob"),  # the first output's file in place
    ("outputs", "outputs.staged"),  # every output stored, the job not yet successful
    ("upload", "asset.blob"),  # a completing upload's asset stored, the upload not yet imported
    ("delete", "asset.discard"),  # a deletion recorded, the file not yet removed
]


@pytest.mark.parametrize(("kind", "phase"), PHASES, ids=[f"{k}-{p}" for k, p in PHASES])
def test_a_kill_at_each_phase_of_a_write_leaves_nothing_orphaned_after_a_restart(
    tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec], kind: str, phase: str
) -> None:
    auth = new_key(tmp_path)
    with serve(tmp_path, demo_root, pause_at=phase) as server:
        started = _start(kind, server, auth)
        assert server.wait_for_pause() == phase
        server.kill()
    assert leftovers(tmp_path), "the kill left nothing to clean up: the phase was not reached as meant"
    with serve(tmp_path, demo_root) as server, server.client(auth) as c:
        if kind == "outputs":  # the interrupted job runs again and keeps only its new outputs
            job = wait_for(c, started["job"], timeout_s=300)
            assert job["status"] == "success" and len(job["metadata"]["assetIds"]) == 2
        if kind == "upload":  # the upload is pending again and completes
            done = c.post(f"/v1/uploads/{started['upload']}/action", json={"action": "complete"})
            assert done.status_code == 200 and done.json()["upload"]["status"] == "imported", done.text
        if kind == "delete":
            assert c.get(f"/v1/assets/{started['asset']}").status_code == 404
        if kind == "inline":
            assert c.get("/v1/jobs").json()["jobs"] == []  # the POST never stored its job
    assert leftovers(tmp_path) == []


def test_the_start_sweeps_files_older_crashes_left_and_keeps_what_is_in_use(tmp_path: Path, engine: Engine) -> None:
    """Before this write order, a file was written before its row: a crash left a file nothing points to."""
    with run_service(tmp_path, engine, open_mode=True) as service, service.client() as c:
        kept = c.post("/v1/assets", json={"name": "kept.png", "image": data_url(picture(48))}).json()["asset"]["id"]
    blobs = tmp_path / "blobs"
    strays = [
        blobs / "assets" / "zz" / "asset_stray.png",  # a file whose row was never written
        blobs / "assets" / "zz" / ".tmp-x1y2z3",  # a write cut short
        blobs / "previews" / "job_gone" / "0.png",  # previews of a job that no longer runs
        blobs / "uploads" / "upload_gone" / "1",  # a part of an upload that no longer exists
    ]
    for stray in strays:
        stray.parent.mkdir(parents=True, exist_ok=True)
        stray.write_bytes(b"left behind")
    assert len(leftovers(tmp_path, kept=frozenset({kept}))) == len(strays)
    with run_service(tmp_path, engine, open_mode=True) as service, service.client() as c:
        assert httpx.get(c.get(f"/v1/assets/{kept}").json()["asset"]["url"]).status_code == 200
    assert not any(stray.exists() for stray in strays)
    assert leftovers(tmp_path, kept=frozenset({kept})) == []
