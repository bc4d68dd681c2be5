"""Fixtures for the MCP tests: one app with /mcp for the session, and an API key for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from diffuserve.engine.engine import Engine
from tests.mcp.helpers import basic
from tests.service_helpers import RunningService, run_service


@pytest.fixture(scope="session")
def mcp_service(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[RunningService]:
    with run_service(tmp_path_factory.mktemp("mcp-service"), engine) as running:
        yield running


@pytest.fixture(scope="session")
def mcp_headers(mcp_service: RunningService) -> dict[str, str]:
    key = mcp_service.services.keys.create()
    return basic(key.key, key.secret)
