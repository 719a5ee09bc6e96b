"""The local gateway and API Gateway answer a method a route does not define the same way: 405
`method_not_allowed` in the envelope with the same `Allow` header (the local gateway computes it from
the template's routes; API Gateway answers from the template's ANY method with a MOCK integration,
infra/constructs/api.py `refuse_other_methods`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from activitylog_ops.local.service import LocalService

STATELESS = "ActivityLog-Stateless"


def _mock_refusals(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Path -> (Allow header, envelope) of each ANY MOCK method in the synthesized template."""
    resources = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::ApiGateway::Resource"}

    def path_of(resource_id: str) -> str:
        props = resources[resource_id]["Properties"]
        parent = props["ParentId"]
        prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{props['PathPart']}"

    found = {}
    for method in template["Resources"].values():
        props = method.get("Properties", {})
        if method["Type"] != "AWS::ApiGateway::Method" or props.get("HttpMethod") != "ANY":
            continue
        (answer,) = props["Integration"]["IntegrationResponses"]
        allow = answer["ResponseParameters"]["method.response.header.Allow"].strip("'")
        body = json.loads(answer["ResponseTemplates"]["application/json"])
        found[path_of(props["ResourceId"]["Ref"])] = (allow, body)
    return found


@pytest.fixture(scope="module")
def refusals(local_stack: LocalService) -> dict[str, tuple[str, dict[str, Any]]]:
    assert local_stack.deployment is not None
    template = local_stack.deployment.templates[STATELESS]
    return _mock_refusals(dict(template))  # type: ignore[arg-type]


def test_every_route_path_is_refused_alike_locally_and_in_the_template(
    local_stack: LocalService, refusals: dict[str, tuple[str, dict[str, Any]]]
) -> None:
    assert len(refusals) >= 15
    for path, (allow, body) in refusals.items():
        concrete = path.replace("{", "x-").replace("}", "")
        answer = requests.request("TRACE", local_stack.env["ACTIVITYLOG_API_URL"] + concrete, timeout=10)
        assert answer.status_code == 405, (path, answer.text)
        assert answer.headers["Allow"] == allow, path
        assert answer.json()["error"]["code"] == body["error"]["code"] == "method_not_allowed", path
