"""CORS for any origin (API.md "Console", Embedding), end to end in local mode with the real handlers,
and checked against the synthesized template: the local preflights answer what API Gateway's OPTIONS
MOCK methods answer, the functions' answers (successes, their own errors, the ingest function's
oversized-body refusal) carry the headers the gateway responses carry, and the OpenAPI document
describes it without listing OPTIONS operations."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from activitylog_ops.local import cors
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys

STATELESS = "ActivityLog-Stateless"
ORIGIN = {"Origin": "https://vendor.example"}


def _paths(template: dict[str, Any]) -> dict[str, str]:
    resources = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::ApiGateway::Resource"}

    def path_of(resource_id: str) -> str:
        props = resources[resource_id]["Properties"]
        parent = props["ParentId"]
        prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    return {k: path_of(k) for k in resources}


@pytest.fixture(scope="module")
def template(local_stack: LocalService) -> dict[str, Any]:
    assert local_stack.deployment is not None
    return dict(local_stack.deployment.templates[STATELESS])


@pytest.fixture(scope="module")
def preflights(template: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Path -> the headers of its OPTIONS MOCK answer in the template."""
    paths = _paths(template)
    found = {}
    for method in template["Resources"].values():
        props = method.get("Properties", {})
        if method["Type"] != "AWS::ApiGateway::Method" or props.get("HttpMethod") != "OPTIONS":
            continue
        (answer,) = props["Integration"]["IntegrationResponses"]
        found[paths[props["ResourceId"]["Ref"]]] = {
            k.removeprefix("method.response.header."): v.strip("'")
            for k, v in answer["ResponseParameters"].items()
        }
    return found


@pytest.fixture(scope="module")
def gateway_cors(template: dict[str, Any]) -> dict[str, str]:
    """The CORS headers every gateway response of the template carries (one set for all)."""
    found = set()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::ApiGateway::GatewayResponse":
            parameters = resource["Properties"]["ResponseParameters"]
            found.add(
                tuple(
                    sorted(
                        (k.removeprefix("gatewayresponse.header."), v.strip("'"))
                        for k, v in parameters.items()
                        if "Access-Control-" in k
                    )
                )
            )
    (headers,) = found
    return dict(headers)


def test_local_preflights_answer_what_the_template_answers(
    local_stack: LocalService, preflights: dict[str, dict[str, str]]
) -> None:
    assert len(preflights) >= 15
    for path, expected in preflights.items():
        concrete = path.replace("{", "x-").replace("}", "")
        answer = requests.options(
            local_stack.env["ACTIVITYLOG_API_URL"] + concrete,
            headers={**ORIGIN, "Access-Control-Request-Method": "GET"},
            timeout=10,
        )
        assert answer.status_code == 204, (path, answer.text)
        got = {k: answer.headers[k] for k in expected if k in answer.headers}
        assert got == expected, path


def test_local_refusals_carry_the_template_gateway_headers(
    local_stack: LocalService, gateway_cors: dict[str, str]
) -> None:
    assert gateway_cors == dict(cors.GATEWAY_HEADERS)
    url = local_stack.env["ACTIVITYLOG_API_URL"]
    for method, path in (("GET", "/v1/events"), ("GET", "/v1/nothing"), ("TRACE", "/v1/events")):
        answer = requests.request(method, url + path, headers=ORIGIN, timeout=10)
        assert answer.status_code in (401, 404, 405), answer.text
        assert {k: answer.headers.get(k) for k in gateway_cors} == gateway_cors, (method, path)


def test_handler_answers_carry_the_same_cors_headers(keys: Keys, gateway_cors: dict[str, str]) -> None:
    # Given a key and a cross-origin request, as a vendor's page with a viewer token sends it
    api: Api = keys.api(scopes=["events:read"])
    expose = gateway_cors["Access-Control-Expose-Headers"]

    for answer, status in (
        (api.request("GET", "/v1/events", headers=ORIGIN), 200),  # a success
        (api.request("POST", "/v1/events", headers=ORIGIN, json={"events": []}), 403),  # scope refused
        (api.request("GET", "/v1/events", headers=ORIGIN, params={"limit": "0"}), 422),  # validation
        (api.request("GET", "/v1/health", headers=ORIGIN), 200),  # a public route
    ):
        # Then the function's answer allows any origin and exposes the contract's headers
        assert answer.status_code in (status, 400), answer.text
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert answer.headers["Access-Control-Expose-Headers"].replace(",", ", ").replace("  ", " ") == expose
        assert "Access-Control-Allow-Credentials" not in answer.headers


def test_ingest_oversized_body_refusal_carries_cors(keys: Keys) -> None:
    api = keys.api(scopes=["events:write"])
    big = {"events": [{"action": "user.login", "actor": {"id": "a"}, "description": "x" * 1000}] * 1100}
    answer = api.request("POST", "/v1/events", headers=ORIGIN, json=big)
    assert answer.status_code == 413, answer.text
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_openapi_document_has_no_options_operations_and_says_why(anonymous: Api) -> None:
    document = anonymous.request("GET", "/v1/openapi.json").json()
    operations = {verb for item in document["paths"].values() for verb in item}
    assert "options" not in operations
    assert "OPTIONS" in document["info"]["description"]
    assert "Access-Control-Allow-Origin: *" in document["info"]["description"]
