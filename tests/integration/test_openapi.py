"""The served OpenAPI document is valid, describes every route the gateway has, and is usable as is:
its server answers where the document was fetched from, every operation has a stable id and every
status it can answer, and a generator finds one named schema per model (issue 13, items 1, 3, 6c)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from activitylog.handlers import docs
from activitylog_ops.local.service import LocalService
from openapi_spec_validator import validate

from tests.integration.conftest import Api, Keys

OPERATION_IDS = {
    ("post", "/v1/events"): "ingestEvents",
    ("get", "/v1/events"): "listEvents",
    ("get", "/v1/events/count"): "countEvents",
    ("get", "/v1/events/{id}"): "getEvent",
    ("get", "/v1/actions"): "listActions",
    ("get", "/v1/actors"): "listActors",
    ("get", "/v1/targets"): "listTargets",
    ("get", "/v1/settings"): "getSettings",
    ("put", "/v1/settings"): "updateSettings",
    ("get", "/v1/usage"): "getUsage",
    ("post", "/v1/api-keys"): "createApiKey",
    ("get", "/v1/api-keys"): "listApiKeys",
    ("delete", "/v1/api-keys/{key_id}"): "revokeApiKey",
    ("post", "/v1/viewer-tokens"): "createViewerToken",
    ("post", "/v1/exports"): "createExport",
    ("get", "/v1/exports"): "listExports",
    ("get", "/v1/exports/{export_id}"): "getExport",
    ("delete", "/v1/exports/{export_id}"): "deleteExport",
    ("post", "/v1/exports/{export_id}/runs"): "startRun",
    ("get", "/v1/exports/{export_id}/runs"): "listRuns",
    ("get", "/v1/exports/{export_id}/runs/{run_id}"): "getRun",
    ("get", "/v1/exports/{export_id}/runs/{run_id}/download"): "downloadRun",
    ("put", "/v1/exports/{export_id}/schedule"): "putSchedule",
    ("get", "/v1/exports/{export_id}/schedule"): "getSchedule",
    ("delete", "/v1/exports/{export_id}/schedule"): "deleteSchedule",
    ("get", "/v1/downloads/{token}"): "downloadByToken",
    ("post", "/v1/destinations"): "createDestination",
    ("get", "/v1/destinations"): "listDestinations",
    ("get", "/v1/destinations/{destination_id}"): "getDestination",
    ("put", "/v1/destinations/{destination_id}"): "updateDestination",
    ("delete", "/v1/destinations/{destination_id}"): "deleteDestination",
    ("post", "/v1/destinations/{destination_id}/rotate-secret"): "rotateDestinationSecret",
    ("post", "/v1/destinations/{destination_id}/test"): "testDestination",
    ("get", "/v1/destinations/{destination_id}/deliveries"): "listDeliveries",
    ("post", "/v1/destinations/{destination_id}/deliveries/{delivery_id}/retry"): "retryDelivery",
    ("post", "/v1/destinations/{destination_id}/replays"): "startReplay",
    ("get", "/v1/destinations/{destination_id}/replays/{replay_id}"): "getReplay",
    ("post", "/v1/alerts"): "createAlert",
    ("get", "/v1/alerts"): "listAlerts",
    ("post", "/v1/alerts/preview"): "previewAlert",
    ("get", "/v1/alerts/{alert_id}"): "getAlert",
    ("put", "/v1/alerts/{alert_id}"): "updateAlert",
    ("delete", "/v1/alerts/{alert_id}"): "deleteAlert",
    ("get", "/v1/alerts/{alert_id}/firings"): "listFirings",
    ("get", "/v1/reports/activity"): "reportActivity",
    ("get", "/v1/reports/heatmap"): "reportHeatmap",
    ("get", "/v1/health"): "getHealth",
    ("get", "/v1/openapi.json"): "getOpenApiDocument",
}
PUBLIC = {"/v1/health", "/v1/openapi.json", "/v1/downloads/{token}"}
BODIES = {("post", "/v1/events"), ("put", "/v1/settings"), ("post", "/v1/api-keys"), ("post", "/v1/exports")}
BODIES.add(("put", "/v1/exports/{export_id}/schedule"))
BODIES |= {
    ("post", "/v1/destinations"),
    ("put", "/v1/destinations/{destination_id}"),
    ("post", "/v1/destinations/{destination_id}/replays"),
    ("post", "/v1/alerts"),
    ("put", "/v1/alerts/{alert_id}"),
    ("post", "/v1/alerts/preview"),
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def document(local_stack: LocalService) -> dict[str, Any]:
    answer = requests.get(local_stack.env["ACTIVITYLOG_API_URL"] + "/v1/openapi.json", timeout=30)
    assert answer.status_code == 200
    return dict(answer.json())


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m, p): op for p, item in document["paths"].items() for m, op in item.items()}


def test_document_is_valid_and_covers_every_route(
    local_stack: LocalService, document: dict[str, Any]
) -> None:
    validate(document)
    described = {(m.upper(), re.sub(r"\{[^}]+\}", "{}", p)) for m, p in operations(document)}
    assert local_stack.deployment is not None
    served = {(r.method, re.sub(r"\{[^}]+\}", "{}", r.resource)) for r in local_stack.deployment.routes()}
    served.discard(("GET", "/v1/docs"))  # the Swagger UI page itself
    assert served - described == set()
    assert described - served == set()


def test_every_operation_has_its_stable_camel_case_id(document: dict[str, Any]) -> None:
    assert {key: op["operationId"] for key, op in operations(document).items()} == OPERATION_IDS


def test_keyed_routes_declare_the_bearer_scheme_and_public_ones_none(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer", "description": "an Activity Log API key"}
    }
    assert "security" not in document  # no global requirement: each operation says its own
    for (_, path), op in operations(document).items():
        if path in PUBLIC:
            assert op.get("security", []) == [], path
        else:
            assert op["security"] == [{"bearer": []}], path


def test_every_error_status_is_declared_with_the_envelope(document: dict[str, Any]) -> None:
    for (method, path), op in operations(document).items():
        responses = op["responses"]
        errors = {int(s) for s in responses if int(s) >= 400}
        assert {400, 429} <= errors, (method, path)  # unknown query parameter; throttling
        if path not in PUBLIC:
            assert {401, 503} <= errors, (method, path)
        if (method, path) in BODIES:
            assert {413, 415, 422} <= errors, (method, path)
        if "{" in path:
            assert {404, 422} <= errors, (method, path)
        for status in errors:
            content = responses[str(status)]["content"]
            assert content == {"application/json": {"schema": ERROR_REF}}, (method, path, status)
        assert 429 not in errors or "Retry-After" in responses["429"]["headers"]
    assert operations(document)[("post", "/v1/events")]["responses"].keys() >= {"403", "409", "413"}
    assert {"409", "410"} <= set(operations(document)[("get", "/v1/downloads/{token}")]["responses"]) | {
        "409"
    }
    assert "410" in operations(document)[("get", "/v1/downloads/{token}")]["responses"]
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"] and error["properties"]["error"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }


def test_no_schema_describes_an_answer_the_api_never_gives(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    for never in ("HTTPValidationError", "ResponseValidationError", "ValidationError"):
        assert never not in text


def test_one_named_schema_per_model_and_none_unused(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert not [name for name in schemas if name.endswith(("-Input", "-Output"))]
    titles = [s.get("title", name) for name, s in schemas.items()]
    assert len(titles) == len(set(titles))
    for enum in ("Outcome", "Order", "Format", "Compression", "RunStatus", "Notification", "EventStatus"):
        assert "enum" in schemas[enum], enum
    inline_enums = [p for p in re.findall(r'"enum": \[', json.dumps(document["paths"]))]
    assert inline_enums == []  # parameters refer to the named enums
    referenced = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))
    assert set(schemas) == referenced
    events = schemas["IngestRequest"]["properties"]["events"]
    assert events["items"] == {"$ref": "#/components/schemas/EventIn"}
    assert events["maxItems"] == 100 and events["minItems"] == 1
    assert schemas["EventIn"]["additionalProperties"] is False and "action" in schemas["EventIn"]["required"]


def test_redirects_and_deletes_are_declared_as_they_are(document: dict[str, Any]) -> None:
    for path in ("/v1/exports/{export_id}/runs/{run_id}/download", "/v1/downloads/{token}"):
        found = document["paths"][path]["get"]["responses"]["302"]
        assert "content" not in found  # no body
        assert found["headers"]["Location"]["schema"] == {"type": "string", "format": "uri"}
    for path in ("/v1/exports/{export_id}", "/v1/exports/{export_id}/schedule", "/v1/api-keys/{key_id}"):
        assert document["paths"][path]["delete"]["responses"]["204"] == {"description": "revoked"} or (
            "content" not in document["paths"][path]["delete"]["responses"]["204"]
        )


def test_create_export_declares_both_answers(document: dict[str, Any]) -> None:
    responses = document["paths"]["/v1/exports"]["post"]["responses"]
    for status in ("201", "202"):
        assert responses[status]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ExportCreated"
        }
    run = document["components"]["schemas"]["ExportCreated"]["properties"]["run"]
    assert {"type": "null"} in run["anyOf"]


def test_the_server_of_the_local_document_answers(local_stack: LocalService, keys: Keys) -> None:
    url = local_stack.env["ACTIVITYLOG_API_URL"]
    served = requests.get(url + "/v1/openapi.json", timeout=30).json()
    assert served["servers"] == [{"url": url}]
    server = served["servers"][0]["url"]
    assert requests.get(server + "/v1/health", timeout=30).json() == {"status": "ok"}
    api = keys.api()
    answer = requests.get(server + "/v1/events", headers={"Authorization": f"Bearer {api.key}"}, timeout=30)
    assert answer.status_code == 200 and answer.json() == {"events": [], "next_cursor": None}


def test_the_document_is_the_one_the_routes_declare(local_stack: LocalService, anonymous: Api) -> None:
    url = local_stack.env["ACTIVITYLOG_API_URL"]
    served = anonymous.request("GET", "/v1/openapi.json").json()
    assert served == json.loads(json.dumps(docs.document(url)))


# --- an API Gateway proxy event (payload 1.0), as a REST API on an execute-api host or a custom domain


def proxy_event(url_path: str, *, host: str, stage: str, base: str, resource: str) -> dict[str, Any]:
    """The event API Gateway sends for `https://host{url_path}`: `path` is the route's path (with a
    custom domain's base path), `requestContext.path` the path as the client sent it."""
    return {
        "resource": resource,
        "path": url_path.removeprefix(f"/{stage}") if base == f"/{stage}" else url_path,
        "httpMethod": "GET",
        "headers": {"Host": host, "X-Forwarded-Proto": "https"},
        "multiValueHeaders": {"Host": [host], "X-Forwarded-Proto": ["https"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"path": url_path, "stage": stage, "resourcePath": resource, "httpMethod": "GET"},
        "body": None,
        "isBase64Encoded": False,
    }


class Context:
    function_name = "Docs"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:Docs"
    aws_request_id = "test"


@pytest.mark.parametrize(
    ("host", "base", "server"),
    [
        (
            "abc123.execute-api.eu-west-1.amazonaws.com",
            "/prod",
            "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
        ),
        ("api.example.com", "", "https://api.example.com"),  # custom domain, no base path
    ],
)
def test_the_server_of_an_api_gateway_document_answers(host: str, base: str, server: str) -> None:
    # Given the document as API Gateway serves it from that address
    event = proxy_event(
        f"{base}/v1/openapi.json", host=host, stage="prod", base=base, resource="/v1/openapi.json"
    )
    answer = docs.handler(event, Context())  # type: ignore[arg-type]
    assert answer["statusCode"] == 200
    servers = json.loads(answer["body"])["servers"]
    assert servers == [{"url": server}]
    # When a client calls its server + a path, API Gateway routes that URL to the route
    called = servers[0]["url"] + "/v1/health"
    assert called.startswith(f"https://{host}")
    path = called.removeprefix(f"https://{host}")
    health = docs.handler(
        proxy_event(path, host=host, stage="prod", base=base, resource="/v1/health"), Context()
    )  # type: ignore[arg-type]
    # Then it is the health route (API Gateway strips the stage; a custom domain its base path)
    assert health["statusCode"] == 200 and json.loads(health["body"]) == {"status": "ok"}
