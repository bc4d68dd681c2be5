"""Wiring: one process per data folder, Host checks on loopback, and a start-up that fails leaves nothing behind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from diffuserve.api.limits import MAX_BODY_BYTES
from diffuserve.app import build_container, open_database
from diffuserve.config import Settings
from diffuserve.engine.engine import Engine
from diffuserve.errors import Conflict
from diffuserve.jobs.worker import Worker
from diffuserve.storage.ids import new_job_id
from diffuserve.storage.job_repository import JobRepository
from diffuserve.storage.records import JobStatus
from tests.service_helpers import run_service


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, demo_models=False, shutdown_timeout_s=5)


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("diffuserve-worker")]


def test_a_second_process_on_the_same_data_dir_is_refused_until_the_first_closes(
    tmp_path: Path, engine: Engine
) -> None:
    first = build_container(_settings(tmp_path), engine=engine)
    try:
        with pytest.raises(Conflict, match=f"another diffuserve process is using {tmp_path}"):
            build_container(_settings(tmp_path), engine=engine)
    finally:
        first.close()
    build_container(_settings(tmp_path), engine=engine).close()


def test_the_rest_api_refuses_a_foreign_host_on_loopback(tmp_path: Path, engine: Engine) -> None:
    with run_service(tmp_path, engine, open_mode=True) as service, service.client() as c:
        assert c.get("/v1/models").status_code == 200
        assert c.get("/v1/models", headers={"Host": f"localhost:{service.settings.port}"}).status_code == 200
        rebound = c.get("/v1/models", headers={"Host": "evil.example.com"})
        assert rebound.status_code == 400
        assert c.get("/v1/models", headers={"Host": f"evil.example.com:{service.settings.port}"}).status_code == 400


def test_a_start_up_that_fails_partway_stops_what_it_started(tmp_path: Path, engine: Engine) -> None:
    db = open_database(_settings(tmp_path))
    try:
        job = JobRepository(db).insert(
            job_id=new_job_id(),
            mode="txt2img",
            input={"modelId": "tiny-sd15", "prompt": "x"},
            author_id="local",
            owner_id="local",
            hide_results=False,
            webhook_url="http://127.0.0.1:9/hook",
        )
        JobRepository(db).transition(job.id, JobStatus.FAILURE)
        with db.session() as s:  # a row the webhook notifier cannot read
            s.execute(text('UPDATE jobs SET status_history = \'[{"status": "failure", "date": "x"}]\''))
    finally:
        db.close()
    before = len(_workers())
    with pytest.raises(ValueError):
        build_container(_settings(tmp_path), engine=engine)
    assert len(_workers()) == before
    # The data folder is free again.
    db = open_database(_settings(tmp_path))
    try:
        with db.session() as s:
            s.execute(text("DELETE FROM jobs"))
    finally:
        db.close()
    build_container(_settings(tmp_path), engine=engine).close()


def test_close_stops_the_webhooks_and_frees_the_data_dir_even_when_the_worker_fails_to_stop(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = Worker.stop

    def stop_then_fail(self: Worker, *, timeout_s: float) -> None:
        stop(self, timeout_s=timeout_s)
        raise RuntimeError("the worker did not stop")

    monkeypatch.setattr(Worker, "stop", stop_then_fail)
    container = build_container(_settings(tmp_path), engine=engine)
    with pytest.raises(RuntimeError):
        container.close()
    monkeypatch.undo()
    assert container.webhooks._pool._shutdown
    build_container(_settings(tmp_path), engine=engine).close()


def test_the_app_refuses_a_body_over_the_size_limit(tmp_path: Path, engine: Engine) -> None:
    with run_service(tmp_path, engine) as service, service.client() as client:
        response = client.post(
            "/v1/assets", content=b"x" * (MAX_BODY_BYTES + 1), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.json()["reason"] == "body_too_large"
