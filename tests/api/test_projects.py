"""Projects and keys: a key sees and acts on its own project only (another project's ids answer 404, on every
endpoint and MCP tool), roles limit what a key may do, admins manage their project's keys, and a revoked key is
refused on its very next request, even when another process revoked it."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from diffuserve.cli import main
from diffuserve.engine.engine import Engine
from diffuserve.storage.database import Database
from diffuserve.storage.key_repository import KeyRepository
from tests.mcp.helpers import basic, http_session, payload
from tests.service_helpers import RunningService, data_url, picture, run_service, wait_for

TINY = {"modelId": "tiny-sd15", "prompt": "a fox", "numSamples": 1, "numInferenceSteps": 1, "width": 64, "height": 64}

UPLOAD = {"fileName": "x.png", "contentType": "image/png", "fileSize": 10, "kind": "image", "parts": 1}


@dataclass
class Project:
    name: str
    admin: tuple[str, str]
    member: tuple[str, str]
    reader: tuple[str, str]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[RunningService]:
    with run_service(tmp_path_factory.mktemp("projects"), engine) as running:
        yield running


def _project(service: RunningService) -> Project:
    keys = service.services.keys
    name = f"team-{uuid.uuid4().hex[:8]}"
    keys.create_project(name)

    def key(role: str) -> tuple[str, str]:
        made = keys.create(project=name, role=role)
        return made.key, made.secret

    return Project(name=name, admin=key("admin"), member=key("member"), reader=key("read-only"))


@pytest.fixture(scope="module")
def alpha(service: RunningService) -> Project:
    return _project(service)


@pytest.fixture(scope="module")
def beta(service: RunningService) -> Project:
    return _project(service)


@pytest.fixture(scope="module")
def alpha_things(service: RunningService, alpha: Project) -> dict[str, str]:
    """A job, its output asset, an uploaded asset and a pending upload, all alpha's."""
    with service.client(auth=alpha.member) as c:
        asset = c.post("/v1/assets", json={"name": "in.png", "image": data_url(picture())}).json()["asset"]["id"]
        job_id = c.post("/v1/generate/txt2img", json=TINY).json()["job"]["jobId"]
        job = wait_for(c, job_id)
        upload = c.post("/v1/uploads", json=UPLOAD).json()["upload"]["id"]
    return {"asset": asset, "job": job_id, "output": job["metadata"]["assetIds"][0], "upload": upload}


def test_another_projects_ids_answer_404_on_every_endpoint(
    service: RunningService, beta: Project, alpha_things: dict[str, str]
) -> None:
    asset, job, output, upload = (alpha_things[k] for k in ("asset", "job", "output", "upload"))
    with service.client(auth=beta.admin) as c:
        refused = {
            "get job": c.get(f"/v1/jobs/{job}"),
            "cancel job": c.post(f"/v1/jobs/{job}/action", json={"action": "cancel"}),
            "get asset": c.get(f"/v1/assets/{asset}"),
            "get output": c.get(f"/v1/assets/{output}"),
            "delete asset": c.request("DELETE", "/v1/assets", json={"assetIds": [asset]}),
            "download": c.post(f"/v1/assets/{asset}/download", json={"targetFormat": "jpeg"}),
            "get upload": c.get(f"/v1/uploads/{upload}"),
            "complete upload": c.post(f"/v1/uploads/{upload}/action", json={"action": "complete"}),
            "imagepipeline status": c.get(f"/sd/text2image/v1/status/{job}"),
            "img2img on its asset": c.post("/v1/generate/img2img", json={**TINY, "image": asset}),
            "parent of a new asset": c.post(
                "/v1/assets", json={"name": "p.png", "image": data_url(picture()), "parentId": asset}
            ),
        }
        for what, response in refused.items():
            assert response.status_code == 404, (what, response.text)
        parent = c.post("/v1/generate/img2img", json={**TINY, "image": data_url(picture()), "imageParentId": asset})
        assert parent.status_code == 400 and parent.json()["field"] == "imageParentId"
        listed_jobs = c.get("/v1/jobs", params={"pageSize": 200}).json()["jobs"]
        listed_assets = c.get("/v1/assets", params={"pageSize": 100}).json()["assets"]
        by_author = c.get("/v1/assets", params={"authorId": service.services.jobs.jobs.get(job).author_id}).json()
    assert job not in {j["jobId"] for j in listed_jobs}
    assert not {asset, output} & {a["id"] for a in listed_assets}
    assert by_author["assets"] == []


def test_the_owner_still_has_everything_and_sees_its_project_as_owner(
    service: RunningService, alpha: Project, alpha_things: dict[str, str]
) -> None:
    with service.client(auth=alpha.reader) as c:
        job = c.get(f"/v1/jobs/{alpha_things['job']}").json()["job"]
        assert job["status"] == "success" and job["ownerId"] == service.services.keys.project(alpha.name).id
        assert c.get(f"/v1/assets/{alpha_things['asset']}").status_code == 200
        listed = {a["id"] for a in c.get("/v1/assets", params={"pageSize": 100}).json()["assets"]}
    assert {alpha_things["asset"], alpha_things["output"]} <= listed


def test_another_projects_ids_are_unknown_to_its_mcp_tools(
    service: RunningService, beta: Project, alpha_things: dict[str, str]
) -> None:
    job, asset = alpha_things["job"], alpha_things["asset"]

    async def run() -> dict[str, Any]:
        results: dict[str, Any] = {}
        async with http_session(f"{service.mcp_url}?toolsets=full", basic(*beta.admin)) as client:
            results["get-job-id"] = await client.call_tool("get-job-id", {"jobId": job, "waitSeconds": 0})
            results["job_get"] = await client.call_tool("job_get", {"job_id": job})
            results["job_cancel"] = await client.call_tool("job_cancel", {"job_id": job})
            results["get-asset-by-asset-id"] = await client.call_tool("get-asset-by-asset-id", {"assetId": asset})
            results["asset_get"] = await client.call_tool("asset_get", {"asset_id": asset})
            results["asset_download"] = await client.call_tool("asset_download", {"asset_id": asset})
            results["img2img"] = await client.call_tool(
                "post-img2img-inferences", {**TINY, "image": asset, "waitSeconds": 0}
            )
            results["get-jobs"] = await client.call_tool("get-jobs", {"pageSize": 200})
            results["get-assets"] = await client.call_tool("get-assets", {"pageSize": 100})
            results["search"] = await client.call_tool("search", {"query": "", "target": "all"})
        return results

    results = anyio.run(run)
    for tool in ("get-job-id", "job_get", "job_cancel", "get-asset-by-asset-id", "asset_get", "asset_download"):
        assert results[tool].is_error, tool
    assert results["img2img"].is_error
    assert job not in {j["jobId"] for j in payload(results["get-jobs"])["jobs"]}
    assert asset not in {a["id"] for a in payload(results["get-assets"])["assets"]}
    found = str(payload(results["search"]))
    assert job not in found and asset not in found


def test_a_read_only_key_reads_but_cannot_write(
    service: RunningService, alpha: Project, alpha_things: dict[str, str]
) -> None:
    with service.client(auth=alpha.reader) as c:
        assert c.get("/v1/models").status_code == 200
        writes = [
            c.post("/v1/generate/txt2img", json=TINY),
            c.post("/v1/assets", json={"name": "x.png", "image": data_url(picture())}),
            c.request("DELETE", "/v1/assets", json={"assetIds": [alpha_things["asset"]]}),
            c.post(
                "/v1/uploads", json={"fileName": "x.png", "contentType": "image/png", "fileSize": 9, "kind": "image"}
            ),
        ]
    for response in writes:
        assert response.status_code == 403 and response.json()["reason"] == "read_only_key", response.text


def test_admins_manage_their_own_projects_keys_only(service: RunningService, alpha: Project, beta: Project) -> None:
    with service.client(auth=alpha.member) as member:
        assert member.get("/v1/keys").status_code == 403
    with service.client(auth=alpha.admin) as admin:
        made = admin.post("/v1/keys", json={"role": "read-only", "name": "ci"}).json()
        listed = {k["id"]: k for k in admin.get("/v1/keys").json()["keys"]}
        beta_key = beta.member[0]
        assert admin.request("DELETE", f"/v1/keys/{beta_key}").status_code == 404
        assert admin.post("/v1/projects", json={"name": "nope"}).status_code == 403
    assert made["key"]["id"] in listed and listed[made["key"]["id"]]["role"] == "read-only"
    assert beta_key not in listed and alpha.member[0] in listed
    with service.client(auth=(made["key"]["id"], made["secret"])) as new:
        assert new.get("/v1/models").status_code == 200
    with service.client(auth=beta.member) as still:
        assert still.get("/v1/models").status_code == 200


def test_revocation_takes_effect_on_the_next_request_even_from_another_process(
    service: RunningService, alpha: Project
) -> None:
    keys = service.services.keys
    made = keys.create(project=alpha.name, role="member")
    with service.client(auth=(made.key, made.secret)) as c:
        assert c.get("/v1/models").status_code == 200  # verified once: its pair is now remembered
        other = Database(service.settings.resolved_database_url)  # a second connection, as `diffuserve keys revoke`
        try:
            assert KeyRepository(other).revoke(made.key)
        finally:
            other.close()
        refused = c.get("/v1/models")
    assert refused.status_code == 401 and refused.json()["reason"] == "invalid_credentials"


def test_the_cli_creates_projects_and_keys_lists_and_revokes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["projects", "create", "studio", "--json", *data]) == 0
    created = capsys.readouterr().out
    assert main(["keys", "create", "--project", "studio", "--role", "member", "--json", *data]) == 0
    key = json.loads(capsys.readouterr().out)
    assert key["project"] == "studio" and key["role"] == "member" and key["projectId"] in created
    assert main(["keys", "list", "--project", "studio", *data]) == 0
    listing = capsys.readouterr().out
    assert key["key"] in listing and "member" in listing and key["secret"] not in listing
    assert main(["keys", "revoke", key["key"], *data]) == 0
    capsys.readouterr()
    assert main(["keys", "list", "--json", *data]) == 0
    assert [k["revoked"] for k in json.loads(capsys.readouterr().out) if k["id"] == key["key"]] == [True]
    assert main(["keys", "create", "--project", "nowhere", *data]) == 2
    assert "project 'nowhere' does not exist" in capsys.readouterr().err


def test_credentials_for_an_unknown_key_cost_as_much_as_a_wrong_secret(service: RunningService, alpha: Project) -> None:
    """No timing oracle: an unknown key id runs the same scrypt as a known id with a wrong secret."""

    def timed(key: str) -> float:
        header = {"Authorization": "Basic " + base64.b64encode(f"{key}:wrong-{uuid.uuid4()}".encode()).decode()}
        start = time.perf_counter()
        assert httpx.get(f"{service.base_url}/v1/models", headers=header).status_code == 401
        return time.perf_counter() - start

    known = sorted(timed(alpha.member[0]) for _ in range(5))[2]
    unknown = sorted(timed(f"api_{uuid.uuid4().hex[:24]}") for _ in range(5))[2]
    assert 1 / 3 < unknown / known < 3, (known, unknown)  # without the dummy scrypt: ~1/12
