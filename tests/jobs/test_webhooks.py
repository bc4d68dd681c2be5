"""Every imagepipeline job that ends gets its webhook: canceled while queued, or failed at a restart; each
delivery is signed as Standard Webhooks has it, and the README's snippet verifies it."""

from __future__ import annotations

import re
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from diffuserve.app import build_container, open_database
from diffuserve.config import Settings
from diffuserve.engine.engine import Engine
from diffuserve.errors import ConfigError
from diffuserve.service.webhook_signature import new_secret
from diffuserve.storage.ids import new_job_id
from diffuserve.storage.job_repository import MAX_RUNS, JobRepository
from diffuserve.storage.records import JobStatus
from tests.service_helpers import LocalReceiver, run_service, wait_for

QUICK = {"modelId": "tiny-sd15", "prompt": "quick", "numSamples": 1, "numInferenceSteps": 1, "width": 64, "height": 64}
LONG = {**QUICK, "prompt": "long", "numInferenceSteps": 150, "numSamples": 4, "width": 256, "height": 256}


@pytest.fixture()
def hooks() -> Iterator[LocalReceiver]:
    h = LocalReceiver()
    yield h
    h.close()


def test_a_job_canceled_while_queued_gets_its_webhook(tmp_path: Path, engine: Engine, hooks: LocalReceiver) -> None:
    with (
        run_service(tmp_path, engine, open_mode=True, fetch_allow_private=True, webhook_backoff_s=0.05) as service,
        service.client() as c,
    ):
        running = c.post("/v1/generate/txt2img", json=LONG).json()["job"]["jobId"]
        body = {"model_id": "tiny-sd15", "prompt": "never run", "width": 64, "height": 64, "webhook": hooks.url}
        task = c.post("/sd/text2image/v1", json=body).json()
        canceled = c.post(f"/v1/jobs/{task['id']}/action", json={"action": "cancel"}).json()["job"]
        assert [h["status"] for h in canceled["statusHistory"]] == ["queued", "canceled"]
        assert hooks.wait_for_call() == {"id": task["id"], "status": "FAILURE", "error": "the job was canceled"}
        c.post(f"/v1/jobs/{running}/action", json={"action": "cancel"})
        wait_for(c, running)


def test_a_job_failed_at_start_after_too_many_interrupted_runs_gets_its_webhook_at_that_start(
    tmp_path: Path, engine: Engine, hooks: LocalReceiver
) -> None:
    db = open_database(Settings(data_dir=tmp_path))
    try:
        jobs = JobRepository(db)
        job = jobs.insert(
            job_id=new_job_id(),
            mode="txt2img",
            input=QUICK,
            author_id="local",
            owner_id="local",
            hide_results=False,
            webhook_url=hooks.url,
            api="imagepipeline",
        )
        for run in range(MAX_RUNS):  # each run was cut short by a crash
            if run:
                jobs.transition(job.id, JobStatus.QUEUED)
            jobs.transition(job.id, JobStatus.IN_PROGRESS)
    finally:
        db.close()
    with run_service(tmp_path, engine, open_mode=True, fetch_allow_private=True, webhook_backoff_s=0.05):
        call = hooks.wait_for_call()
    assert call["id"] == job.id and call["status"] == "FAILURE"
    assert "stopped during all" in call["error"]


def readme_verifier() -> Callable[..., bool]:
    """The verification snippet of the README, as a reader would copy it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "def verify_webhook" in b)
    namespace: dict[str, Any] = {}
    exec(block, namespace)  # the README is ours
    verify: Callable[..., bool] = namespace["verify_webhook"]
    return verify


@pytest.mark.parametrize("configured", [True, False], ids=["configured-secret", "generated-secret"])
def test_webhooks_are_signed_as_standard_webhooks_has_it_and_the_readme_verifies_them(
    tmp_path: Path, engine: Engine, configured: bool
) -> None:
    hooks = LocalReceiver(refuse_first=True)  # the retry is signed anew, under the same id
    secret = new_secret() if configured else None
    body = {"model_id": "tiny-sd15", "prompt": "signed", "width": 64, "height": 64, "num_inference_steps": 1}
    try:
        with (
            run_service(
                tmp_path / "data",
                engine,
                open_mode=True,
                fetch_allow_private=True,
                webhook_backoff_s=0.05,
                webhook_secret=secret,
            ) as service,
            service.client() as c,
        ):
            task = c.post("/sd/text2image/v1", json={**body, "webhook": hooks.url}).json()
            assert hooks.wait_for_call()["status"] == "SUCCESS"
    finally:
        hooks.close()
    if secret is None:  # generated once in the data folder, for the owner only
        stored = tmp_path / "data" / "webhook-secret.key"
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        secret = stored.read_text().strip()
        assert secret.startswith("whsec_")
    verify = readme_verifier()
    assert len(hooks.deliveries) == 2
    for headers, raw in hooks.deliveries:
        assert headers["webhook-id"] == task["id"] and headers["content-type"] == "application/json"
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 120
        assert headers["webhook-signature"].startswith("v1,")
        assert verify(secret, headers, raw)
    headers, raw = hooks.deliveries[1]
    assert not verify(secret, headers, raw.replace(b"SUCCESS", b"FAILURE"))  # a changed body
    assert not verify(new_secret(), headers, raw)  # another secret
    replayed = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 3600)}
    assert not verify(secret, replayed, raw)  # an old delivery sent again


def test_a_malformed_webhook_secret_is_refused_at_start(tmp_path: Path, engine: Engine) -> None:
    settings = Settings(data_dir=tmp_path, demo_models=False, webhook_secret="whsec_not-base64!")
    with pytest.raises(ConfigError, match="whsec_"):
        build_container(settings, engine=engine)
