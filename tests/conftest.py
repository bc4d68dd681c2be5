"""Shared fixtures: the tiny demo models are built once per test session and loaded through the real code path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from diffuserve.catalog.registry import ModelSpec, Registry
from diffuserve.config import Settings
from diffuserve.engine.engine import Engine
from tests.service_helpers import RunningService, run_service


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the demo models are built for this session (once; every test reuses them)."""
    return tmp_path_factory.mktemp("demo-models")


@pytest.fixture(scope="session")
def demo_specs(demo_root: Path) -> list[ModelSpec]:
    from diffuserve.engine.tiny import build_demo_models

    return build_demo_models(demo_root)


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory: pytest.TempPathFactory, demo_root: Path) -> Settings:
    data = tmp_path_factory.mktemp("data")
    return Settings(data_dir=data, demo_models_dir=demo_root, max_batch_images=2, preview_every=1)


@pytest.fixture(scope="session")
def registry(session_settings: Settings, demo_specs: list[ModelSpec]) -> Registry:
    registry = Registry(session_settings.resolved_registry_path)
    for spec in demo_specs:
        registry.add(spec, replace=True)
    return registry


@pytest.fixture(scope="session")
def engine(registry: Registry, session_settings: Settings) -> Iterator[Engine]:
    """One engine for the session, so each tiny model is loaded once."""
    yield Engine(registry, session_settings)


# -- the service (tests/api, tests/jobs) --


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[RunningService]:
    """One running service for the session: real uvicorn on 127.0.0.1, real SQLite, the real engine."""
    with run_service(tmp_path_factory.mktemp("service"), engine) as running:
        yield running


@pytest.fixture(scope="session")
def credentials(service: RunningService) -> tuple[str, str]:
    key = service.services.keys.create()
    return key.key, key.secret


@pytest.fixture()
def client(service: RunningService, credentials: tuple[str, str]) -> Iterator[httpx.Client]:
    with service.client(auth=credentials) as c:
        yield c


# -- servers (tests/storage) --


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server for the session (started on first use) and the URL of its empty database."""
    from tests.servers import postgres_server

    with postgres_server() as url:
        yield url
