"""/openapi.json: request and response bodies from the wire models, every status the API answers documented, HTTP
Basic as the security scheme, no dangling reference; and a schema fuzzer (schemathesis) that finds no 5xx and no
undocumented status or response shape on the real server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from diffuserve.engine.engine import Engine
from tests.service_helpers import RunningService, run_service


@pytest.fixture(scope="module")
def document(client: httpx.Client) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


@pytest.fixture(scope="module")
def own_service(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Iterator[RunningService]:
    """A service of its own: what the fuzzer queues must not delay the session service's tests."""
    with run_service(tmp_path_factory.mktemp("openapi"), engine) as running:
        yield running


@pytest.fixture(scope="module")
def own_credentials(own_service: RunningService) -> tuple[str, str]:
    key = own_service.services.keys.create()
    return key.key, key.secret


@pytest.fixture(scope="module")
def client(own_service: RunningService, own_credentials: tuple[str, str]) -> Iterator[httpx.Client]:
    with own_service.client(auth=own_credentials) as c:
        yield c


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs = set(_refs(document))
    assert refs and all(ref.startswith("#/components/schemas/") for ref in refs), refs
    assert {ref.removeprefix("#/components/schemas/") for ref in refs} <= set(schemas)


def test_generate_bodies_and_answers_are_documented_from_the_wire_models(document: dict[str, Any]) -> None:
    operation = document["paths"]["/v1/generate/inpaint-ip-adapter"]["post"]
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = document["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert {"modelId", "prompt", "mask", "maskId", "ipAdapterImages", "negativePromptStrength"} <= set(
        body["properties"]
    )
    assert set(body["required"]) == {"modelId", "prompt"}
    assert body["additionalProperties"] is True  # unknown fields are warnings, not refusals
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert answer.endswith("/GenerateResponse")
    generated = document["components"]["schemas"]["GenerateResponse"]["properties"]
    assert {"job", "inference", "creativeUnitsCost", "warnings"} <= set(generated)
    assert "269" in operation["responses"]


def test_every_error_status_is_documented_and_422_never_is(document: dict[str, Any]) -> None:
    for path, method, operation in _operations(document):
        where = f"{method.upper()} {path}"
        assert "422" not in operation["responses"], where
        if path.startswith("/v1/") and "/content" not in path:
            assert {"400", "401", "429", "503"} <= set(operation["responses"]), where
            assert operation.get("security", document["security"]) == [{"basicAuth": []}], where
        if path.startswith("/v1/") and method == "post":
            assert "413" in operation["responses"], where
    assert document["components"]["securitySchemes"]["basicAuth"] == {
        **document["components"]["securitySchemes"]["basicAuth"],
        "type": "http",
        "scheme": "basic",
    }


def test_a_body_that_is_not_json_names_the_body(client: httpx.Client) -> None:
    response = client.post("/v1/generate/txt2img", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"reason": "invalid_request", "message": "the body is not valid JSON", "field": "body"}


# The fuzzer: every operation, generated valid and invalid requests, checked for server errors, undocumented
# statuses, wrong content types and responses that do not match their documented schema.
FUZZ_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_schema(document: dict[str, Any], own_service: RunningService) -> Any:
    loaded = schemathesis.openapi.from_dict(document)
    loaded.config.update(base_url=own_service.base_url)
    return loaded.exclude(path_regex="^/mcp")


def test_the_fuzzer_finds_no_server_error_and_no_undocumented_answer(
    fuzz_schema: Any, own_credentials: tuple[str, str]
) -> None:
    failures: list[str] = []
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert len(operations) >= 25

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            label = case.operation.label
            response = case.call(auth=own_credentials, timeout=30)
            try:
                case.validate_response(response, checks=FUZZ_CHECKS)
            except BaseExceptionGroup as exc:  # the failed checks of one response; keep each one's title
                titles = [str(e).strip().splitlines()[0] for e in exc.exceptions]
                failures.append(f"{label}: {'; '.join(titles)} ({response.status_code}: {response.text[:120]})")

        fuzz()
    assert not failures, "\n".join(sorted(set(failures)))
