"""The served OpenAPI document is valid and describes every route the gateway has."""

from __future__ import annotations

import re

from activitylog_ops.local.service import LocalService
from openapi_spec_validator import validate

from tests.integration.conftest import Api


def test_document_is_valid_and_covers_every_route(local_stack: LocalService, anonymous: Api) -> None:
    document = anonymous.request("GET", "/v1/openapi.json").json()
    validate(document)
    described = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, item in document["paths"].items()
        for method in item
    }
    assert local_stack.deployment is not None
    served = {(r.method, re.sub(r"\{[^}]+\}", "{}", r.resource)) for r in local_stack.deployment.routes()}
    served.discard(("GET", "/v1/docs"))  # the Swagger UI page itself
    assert served - described == set()
    assert described - served == set()


def test_document_names_errors_and_auth(anonymous: Api) -> None:
    document = anonymous.request("GET", "/v1/openapi.json").json()
    post = document["paths"]["/v1/events"]["post"]
    assert {"401", "403", "413", "422"} <= set(post["responses"])
    assert post.get("security") != []
    assert document["paths"]["/v1/health"]["get"]["security"] == []
    envelope = document["components"]["schemas"]["IngestRequest"]["properties"]["events"]
    assert envelope["maxItems"] == 100 and envelope["minItems"] == 1
    assert envelope["items"]["additionalProperties"] is False
    assert "action" in envelope["items"]["required"]
