"""Signed URLs live no longer than their lifetime and their signatures stay out of the access log; the data folder
and the database are the owner's alone."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from diffuserve.catalog.registry import ModelSpec
from diffuserve.engine.engine import Engine
from diffuserve.service.signing import UrlSigner, asset_content_path
from tests.server_process import REPO, serve
from tests.service_helpers import data_url, picture, run_service


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_60_s_lifetime_gives_urls_valid_for_about_60_s_not_an_hour(tmp_path: Path, engine: Engine) -> None:
    with run_service(tmp_path, engine, open_mode=True, url_ttl_s=60) as service, service.client() as c:
        signed_at = time.time()
        asset = c.post("/v1/assets", json={"name": "p.png", "image": data_url(picture())}).json()["asset"]
        assert httpx.get(asset["url"]).status_code == 200
        query = parse_qs(urlsplit(asset["url"]).query)
        expires = int(query["expires"][0])
        assert signed_at + 54 - 1 <= expires <= time.time() + 60, expires - signed_at
        signer: UrlSigner = service.services.signer
        path = asset_content_path(asset["id"])
        assert signer.verify(path, query["expires"][0], query["sig"][0], now=expires - 1)
        assert not signer.verify(path, query["expires"][0], query["sig"][0], now=signed_at + 61)


def test_the_default_day_lifetime_stays_within_a_day_and_keeps_urls_stable_for_a_while() -> None:
    signer = UrlSigner("secret", base_url="http://x", ttl_s=24 * 3600)
    now = 1_800_000_123.0
    expires = int(parse_qs(urlsplit(signer.sign("/a", now=now)).query)["expires"][0])
    assert now + 23 * 3600 <= expires <= now + 24 * 3600
    assert signer.sign("/a", now=now) == signer.sign("/a", now=now + 60)  # the same URL a minute later


def test_the_access_log_shows_no_url_signature(tmp_path: Path, demo_root: Path, demo_specs: list[ModelSpec]) -> None:
    data = tmp_path / "data"
    key = json.loads(
        subprocess.run(
            [sys.executable, "-m", "diffuserve.cli", "--data-dir", str(data), "keys", "create", "--json"],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        ).stdout
    )
    with serve(data, demo_root) as server, server.client((key["key"], key["secret"])) as c:
        asset = c.post("/v1/assets", json={"name": "p.png", "image": data_url(picture())}).json()["asset"]
        assert httpx.get(asset["url"]).status_code == 200
        download = c.post(f"/v1/assets/{asset['id']}/download", json={"targetFormat": "jpeg"}).json()
        assert httpx.get(download["url"]).status_code == 200
        signatures = [parse_qs(urlsplit(u).query)["sig"][0] for u in (asset["url"], download["url"])]
        server.wait_for_log(f"/v1/assets/{asset['id']}/content/jpeg?")
        log = server.log_text()
    assert f"/v1/assets/{asset['id']}/content?expires=" in log and "sig=[redacted]" in log
    assert not any(sig in log for sig in signatures)
    # The data folder, made by `keys create`, and what the server put in it are the owner's only.
    assert _mode(data) == 0o700
    for name in ("diffuserve.db", "diffuserve.db-wal", "diffuserve.db-shm", "secret.key", "webhook-secret.key"):
        if (data / name).exists() or name == "diffuserve.db":
            assert _mode(data / name) == 0o600, name


def test_a_database_readable_by_others_loses_that_access_at_start(tmp_path: Path, engine: Engine) -> None:
    with run_service(tmp_path, engine):
        pass
    database = tmp_path / "diffuserve.db"
    database.chmod(0o644)
    with run_service(tmp_path, engine):
        assert _mode(database) & 0o007 == 0
