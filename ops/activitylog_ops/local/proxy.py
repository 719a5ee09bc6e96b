"""API Gateway REST semantics without I/O: route matching, proxy events (v1), authorizer policies."""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from activitylog_ops.local.template import ACCOUNT_ID, LOCAL_API_ID, REGION, Route


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: dict[str, str]


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def _is_variable(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


class RouteTable:
    """Finds the route of a request. As in API Gateway, a literal segment wins over a variable one
    (`/v1/events/count` over `/v1/events/{id}`), and `{name+}` is greedy."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)

    def match(self, method: str, path: str) -> Match | None:
        candidates = []
        raw = _segments(path)
        for route in self.routes:
            if route.method not in (method.upper(), "ANY"):
                continue
            parameters = self._bind(_segments(route.resource), raw)
            if parameters is not None:
                pattern = _segments(route.resource)
                # Rank: literal before variable, segment by segment; an exact method before ANY.
                rank = ([1 if _is_variable(s) else 0 for s in pattern], route.method == "ANY")
                candidates.append((rank, Match(route, parameters)))
        if not candidates:
            return None
        return min(candidates, key=lambda c: c[0])[1]

    def allowed(self, path: str) -> list[str]:
        """The methods of the resource a path selects (API Gateway picks the resource by path, the
        most literal one, then the method on it): a request with another method is a 405 with these
        in `Allow`. Empty when no resource has this path (a 404)."""
        raw = _segments(path)
        resources: dict[str, set[str]] = {}
        for route in self.routes:
            if self._bind(_segments(route.resource), raw) is not None:
                resources.setdefault(route.resource, set()).add(route.method)
        if not resources:
            return []
        best = min(resources, key=lambda r: [1 if _is_variable(s) else 0 for s in _segments(r)])
        return sorted(resources[best])

    @staticmethod
    def _bind(pattern: Sequence[str], raw: Sequence[str]) -> dict[str, str] | None:
        parameters: dict[str, str] = {}
        for index, segment in enumerate(pattern):
            if _is_variable(segment) and segment.endswith("+}"):
                if index >= len(raw):
                    return None
                parameters[segment[1:-2]] = unquote("/".join(raw[index:]))
                return parameters
            if index >= len(raw):
                return None
            if _is_variable(segment):
                parameters[segment[1:-1]] = unquote(raw[index])
            elif segment != raw[index]:
                return None
        return parameters if len(pattern) == len(raw) else None


def method_arn(stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{LOCAL_API_ID}/{stage}/{method}{path}"


def policy_allows(policy: Mapping[str, Any], arn: str) -> bool:
    """IAM evaluation for an authorizer's policy: an explicit Deny wins, else an Allow is needed."""
    allowed = False
    for statement in _as_list(policy.get("Statement", [])):
        actions = _as_list(statement.get("Action", []))
        if not any(_glob(str(a), "execute-api:Invoke") for a in actions):
            continue
        if any(_glob(str(r), arn) for r in _as_list(statement.get("Resource", []))):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def authorizer_context(result: Mapping[str, Any]) -> dict[str, Any]:
    """`requestContext.authorizer`: the authorizer's context (values as strings) plus principalId."""
    context = {k: _stringify(v) for k, v in (result.get("context") or {}).items()}
    context["principalId"] = str(result.get("principalId", ""))
    return context


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str


def _multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value  # API Gateway keeps the last value in the single-value map
        multi.setdefault(name, []).append(value)
    return (single or None, multi or None)


def proxy_event(
    request: Request, match: Match, *, stage: str, authorizer: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The Lambda proxy integration event (payload format 1.0) of a REST API."""
    headers, multi_headers = _multi(request.headers)
    query, multi_query = _multi(parse_qsl(request.query, keep_blank_values=True))
    try:
        body: str | None = request.body.decode("utf-8") if request.body else None
        encoded = False
    except UnicodeDecodeError:
        body, encoded = base64.b64encode(request.body).decode(), True
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    user_agent = next((v for k, v in request.headers if k.lower() == "user-agent"), None)
    context: dict[str, Any] = {
        "resourceId": match.route.resource,
        "resourcePath": match.route.resource,
        "httpMethod": request.method,
        "extendedRequestId": request_id,
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        # The path as the client called it: the local gateway has no `/<stage>` prefix in its URLs
        # (like a custom domain without a base path), so the served OpenAPI document's server,
        # derived from this, is the URL the client used.
        "path": unquote(request.path),
        "accountId": ACCOUNT_ID,
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": "127",
        "requestTimeEpoch": int(time.time() * 1000),
        "requestId": request_id,
        "identity": {"sourceIp": request.source_ip, "userAgent": user_agent},
        "domainName": "127.0.0.1",
        "apiId": LOCAL_API_ID,
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return {
        "resource": match.route.resource,
        "path": unquote(request.path),
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": encoded,
    }


def error_body(code: str, message: str) -> dict[str, Any]:
    """The API's error envelope (API.md, Conventions), for the gateway's own refusals."""
    return {"error": {"code": code, "message": message, "details": []}}
