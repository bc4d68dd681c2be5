"""Credentials: Basic key:secret (hashed at rest), 401 otherwise; signed URLs need none; open mode is loopback only."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from diffuserve.app import check_settings
from diffuserve.config import Settings
from diffuserve.engine.engine import Engine
from tests.service_helpers import RunningService, run_service


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b"api_nope:wrong").decode()},
        {"Authorization": "Basic !!!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"API-Key": "api_nope:wrong"},
    ],
    ids=["missing", "unknown-key", "not-base64", "no-secret", "api-key-header"],
)
def test_missing_or_wrong_credentials_get_401(service: RunningService, headers: dict[str, str]) -> None:
    with service.client(headers=headers) as c:
        for method, path in [
            ("GET", "/v1/models"),
            ("GET", "/v1/jobs"),
            ("POST", "/v1/generate/txt2img"),
            ("GET", "/sd/text2image/v1/status/job_x"),
        ]:
            response = c.request(method, path, json={} if method == "POST" else None)
            assert response.status_code == 401, (path, response.text)
            assert response.json()["reason"] in ("missing_credentials", "invalid_credentials")


def test_wrong_secret_of_a_real_key_gets_401(service: RunningService, credentials: tuple[str, str]) -> None:
    with service.client(auth=(credentials[0], credentials[1] + "x")) as c:
        assert c.get("/v1/models").status_code == 401


def test_other_header_forms_carry_the_same_key(service: RunningService, credentials: tuple[str, str]) -> None:
    pair = f"{credentials[0]}:{credentials[1]}"
    for headers in ({"API-Key": pair}, {"Authorization": f"Bearer {pair}"}, {"X-API-Key": pair}):
        with service.client(headers=headers) as c:
            assert c.get("/v1/models").status_code == 200


def test_signed_urls_need_no_credentials_but_a_valid_signature(service: RunningService, client: httpx.Client) -> None:
    png = base64.b64encode(Path(__file__).with_name("__init__.py").read_bytes() or b"x").decode()
    assert client.post("/v1/assets", json={"name": "x.png", "image": png}).status_code == 400  # not an image
    from tests.service_helpers import data_url, picture

    asset = client.post("/v1/assets", json={"name": "p.png", "image": data_url(picture())}).json()["asset"]
    assert httpx.get(asset["url"]).status_code == 200
    tampered = asset["url"].replace("sig=", "sig=0")
    assert httpx.get(tampered).status_code == 404
    expired = asset["url"].split("?")[0] + "?expires=1000&sig=" + asset["url"].split("sig=")[1]
    assert httpx.get(expired).status_code == 404


def test_keys_create_prints_a_working_key_stored_hashed(tmp_path: Path, engine: Engine) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "diffuserve.cli",
            "--data-dir",
            str(tmp_path),
            "keys",
            "create",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    key = json.loads(out.stdout)
    assert key["key"].startswith("api_") and len(key["secret"]) >= 32
    assert key["secret"].encode() not in (tmp_path / "diffuserve.db").read_bytes()
    with run_service(tmp_path, engine) as running, running.client(auth=(key["key"], key["secret"])) as c:
        assert c.get("/v1/models").status_code == 200


def test_open_mode_serves_loopback_without_keys_and_refuses_other_hosts(tmp_path: Path, engine: Engine) -> None:
    with pytest.raises(ValueError, match="loopback"):
        check_settings(Settings(data_dir=tmp_path, host="0.0.0.0", open_mode=True))
    with run_service(tmp_path, engine, open_mode=True) as running, running.client() as c:
        assert c.get("/v1/models").status_code == 200
