"""The local gateway against a hand-made template and fake handlers (no emulation needed)."""

from __future__ import annotations

import base64
import json
import os
import socket
from collections.abc import Iterator
from typing import Any

import local_fake_handlers
import pytest
import requests
from activitylog_ops.local.gateway import Gateway
from activitylog_ops.local.invoker import InProcessInvoker
from activitylog_ops.local.template import Deployment
from local_fakes import templates

GOOD = {"Authorization": "Bearer good"}


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    environ = dict(os.environ)
    deployment = Deployment(templates())
    sent_mail = [{"to": ["a@example.com"], "subject": "s", "text": "t", "html": None, "sent_at": "x"}]
    server = Gateway(deployment.routes(), InProcessInvoker(deployment.functions()), mail=lambda: sent_mail)
    server.start()
    yield server
    server.stop()
    os.environ.clear()
    os.environ.update(environ)


def echoed(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_envelope(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["details"] == []


def test_proxy_event_carries_path_query_headers_body_and_authorizer(gateway: Gateway) -> None:
    response = requests.post(
        f"{gateway.url}/v1/events?tag=a&tag=b&empty=&x=%2F1",
        headers={**GOOD, "X-Trace": "t1", "User-Agent": "pytest"},
        data=json.dumps({"events": []}),
        timeout=10,
    )

    result = echoed(response)
    event = result["event"]
    assert (
        event["resource"] == "/v1/events" and event["path"] == "/v1/events" and event["httpMethod"] == "POST"
    )
    assert event["queryStringParameters"] == {"tag": "b", "empty": "", "x": "/1"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "empty": [""], "x": ["/1"]}
    assert event["headers"]["X-Trace"] == "t1" and event["multiValueHeaders"]["X-Trace"] == ["t1"]
    assert json.loads(event["body"]) == {"events": []} and event["isBase64Encoded"] is False
    assert event["pathParameters"] is None
    context = event["requestContext"]
    assert context["stage"] == "prod" and context["resourcePath"] == "/v1/events"
    assert context["identity"]["sourceIp"] == "127.0.0.1" and context["requestId"]
    assert context["authorizer"] == {
        "tenant": "t1",
        "scopes": "events:read",
        "actor_id": "",
        "key_id": "k1",
        "n": "3",
        "principalId": "t1/k1",
    }
    # the handler ran with a Lambda-like context and the template's resolved environment
    assert result["context"]["function_name"] == "ActivityLog-Stateless-EchoFn"
    assert 0 < result["context"]["remaining_ms"] <= 10_000
    assert result["env_table"] == "ActivityLog-Stateful-ControlTable"
    # the proxy response's headers and multiValueHeaders both come back
    assert response.headers["X-Multi"] == "a, b"


def test_literal_segment_wins_over_path_parameter(gateway: Gateway) -> None:
    count = echoed(requests.get(f"{gateway.url}/v1/events/count", headers=GOOD, timeout=10))["event"]
    one = echoed(requests.get(f"{gateway.url}/v1/events/ev%3A42", headers=GOOD, timeout=10))["event"]

    assert count["resource"] == "/v1/events/count" and count["pathParameters"] is None
    assert one["resource"] == "/v1/events/{id}" and one["pathParameters"] == {"id": "ev:42"}


def test_greedy_any_route_without_authorizer(gateway: Gateway) -> None:
    event = echoed(requests.delete(f"{gateway.url}/v1/files/a/b.csv", timeout=10))["event"]

    assert event["pathParameters"] == {"path": "a/b.csv"}
    assert "authorizer" not in event["requestContext"]


def test_missing_key_is_401_without_calling_the_authorizer(gateway: Gateway) -> None:
    local_fake_handlers.authorizer_calls.clear()

    response = requests.get(f"{gateway.url}/v1/events", timeout=10)

    assert_envelope(response, 401, "unauthorized")
    assert local_fake_handlers.authorizer_calls == []


def test_authorizer_unauthorized_is_401_and_deny_is_403(gateway: Gateway) -> None:
    local_fake_handlers.authorizer_calls.clear()

    unknown = requests.get(f"{gateway.url}/v1/events", headers={"Authorization": "Bearer nope"}, timeout=10)
    denied = requests.get(f"{gateway.url}/v1/events", headers={"Authorization": "Bearer deny"}, timeout=10)
    broken = requests.get(f"{gateway.url}/v1/events", headers={"Authorization": "Bearer crash"}, timeout=10)

    assert_envelope(unknown, 401, "unauthorized")
    assert_envelope(denied, 403, "forbidden")
    assert_envelope(broken, 500, "internal_error")
    first = local_fake_handlers.authorizer_calls[0]
    assert first == {
        "type": "TOKEN",
        "authorizationToken": "Bearer nope",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:local/prod/GET/v1/events",
    }


def test_unknown_route_is_a_404_envelope(gateway: Gateway) -> None:
    assert_envelope(requests.get(f"{gateway.url}/v2/nothing", headers=GOOD, timeout=10), 404, "not_found")
    assert_envelope(requests.request("TRACE", f"{gateway.url}/v2/nothing", timeout=10), 404, "not_found")


# OPTIONS is every route path's CORS preflight, answered by the gateway (test_local_console.py)
@pytest.mark.parametrize("method", ["DELETE", "PATCH", "TRACE", "HEAD", "CONNECT", "BREW"])
def test_a_method_the_resource_does_not_define_is_a_405_envelope_with_allow(
    gateway: Gateway, method: str
) -> None:
    # Given /v1/events with GET and POST (and the preflight's OPTIONS), /v1/events/count with GET
    local_fake_handlers.authorizer_calls.clear()

    # When another method arrives, with or without a key
    events = requests.request(method, f"{gateway.url}/v1/events", headers=GOOD, timeout=10)
    count = requests.request(method, f"{gateway.url}/v1/events/count", timeout=10)

    # Then 405 with the resource's own methods (the literal resource's, not those of /v1/events/{id})
    for answer, allow in ((events, "GET, OPTIONS, POST"), (count, "GET, OPTIONS")):
        assert answer.status_code == 405, answer.text
        assert answer.headers["Allow"] == allow
        if method != "HEAD":  # a HEAD answer has no body
            assert_envelope(answer, 405, "method_not_allowed")
    assert local_fake_handlers.authorizer_calls == []  # refused before any function runs


def test_an_any_route_takes_every_method(gateway: Gateway) -> None:
    event = echoed(requests.request("TRACE", f"{gateway.url}/v1/files/a.csv", timeout=10))["event"]
    assert event["httpMethod"] == "TRACE"


def test_handler_crash_is_502_envelope(gateway: Gateway) -> None:
    assert_envelope(
        requests.get(f"{gateway.url}/v1/events?crash=1", headers=GOOD, timeout=10), 502, "internal_error"
    )


def test_base64_responses_are_decoded(gateway: Gateway) -> None:
    response = requests.get(f"{gateway.url}/v1/events?binary=1", headers=GOOD, timeout=10)

    assert response.status_code == 200
    assert response.content == b"\x00\xffbytes"


def test_binary_request_bodies_are_base64_encoded(gateway: Gateway) -> None:
    event = echoed(requests.post(f"{gateway.url}/v1/events", headers=GOOD, data=b"\xff\xfe", timeout=10))[
        "event"
    ]

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe"


def test_oversized_body_is_413_before_the_body_is_sent(gateway: Gateway) -> None:
    # Given a client that announces 11 MB and sends none of it
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer good\r\n"
            b"Content-Type: application/json\r\nContent-Length: 11534336\r\n\r\n"
        )
        # When it reads (a gateway waiting for the body would time out here)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk

    # Then the refusal came at once, with the envelope, and the connection is closed
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def test_oversized_body_from_a_real_client_gets_the_413(gateway: Gateway) -> None:
    response = requests.post(
        f"{gateway.url}/v1/events", headers=GOOD, data=b"x" * (10 * 1024 * 1024 + 1), timeout=30
    )

    assert_envelope(response, 413, "payload_too_large")


def test_local_mail_route(gateway: Gateway) -> None:
    response = requests.get(f"{gateway.url}/_local/mail", timeout=10)

    assert response.status_code == 200
    assert response.json()[0]["subject"] == "s"
