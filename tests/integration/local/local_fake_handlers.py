"""Fake Lambda handlers for the gateway tests (loaded by handler string, as Lambda would)."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

authorizer_calls: list[dict[str, Any]] = []


def authorizer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    authorizer_calls.append(event)
    token = event["authorizationToken"].removeprefix("Bearer ")
    if token == "crash":
        raise RuntimeError("authorizer bug")
    if token not in ("good", "deny"):
        raise Exception("Unauthorized")  # what a TOKEN authorizer raises for 401
    effect = "Allow" if token == "good" else "Deny"
    api = event["methodArn"].split("/", 1)[0]
    return {
        "principalId": "t1/k1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": f"{api}/*/*"}],
        },
        "context": {"tenant": "t1", "scopes": "events:read", "actor_id": "", "key_id": "k1", "n": 3},
    }


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    if "crash" in query:
        raise ValueError("handler bug")
    if "binary" in query:
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(b"\x00\xffbytes").decode(),
            "isBase64Encoded": True,
        }
    echoed = {
        "event": event,
        "context": {
            "function_name": context.function_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id,
        },
        "env_table": os.environ.get("CONTROL_TABLE"),
    }
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps(echoed),
    }
