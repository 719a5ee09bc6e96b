"""Schemathesis against the local service, from the OpenAPI document the service itself serves.

With a valid key (tenant F): no 5xx, every status code, content type and body is the one the
document declares. With the same key aimed at tenant V's real ids: nothing of V comes back.
`make test` runs FUZZ_EXAMPLES=20 examples per operation (derandomized); `make fuzz` runs many more.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import requests
import schemathesis
from activitylog.handlers.docs import document, openapi_schema
from activitylog_ops.local.service import LocalService
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.conftest import Api, Keys

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MARKER = "victim-secret-7f3a"


@pytest.fixture(scope="module")
def victim(local_stack: LocalService) -> dict[str, str]:
    """Tenant V's real ids, to aim the fuzzer's key at."""
    api = Keys(local_stack).api(unthrottled=True)
    assert (
        api.post_events(
            [{"id": "v-1", "action": "user.login", "actor": {"id": "victim"}, "description": MARKER}]
        ).json()["accepted"]
        == 1
    )
    created = api.request("POST", "/v1/exports", json={"name": MARKER, "format": "csv"}).json()
    keys = api.request("GET", "/v1/api-keys").json()["api_keys"]
    return {
        "id": "v-1",
        "export_id": created["export"]["id"],
        "run_id": created["run"]["id"],
        "key_id": keys[0]["id"],
        "tenant": api.tenant,
    }


@pytest.fixture(scope="module")
def fuzzer(local_stack: LocalService) -> Api:
    return Keys(local_stack).api(unthrottled=True)


# The document is generated from the models without I/O, so it is known at collection time (one
# test per operation); test_the_served_document_is_the_fuzzed_one proves the service serves this one.
DOCUMENT = openapi_schema()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = {
    f"{r.ok().method.upper()} {r.ok().path}": r.ok() for r in SCHEMA.get_all_operations() if isinstance(r, Ok)
}


def test_the_served_document_is_the_fuzzed_one(local_stack: LocalService) -> None:
    url = local_stack.env["ACTIVITYLOG_API_URL"]
    served = requests.get(url + "/v1/openapi.json", timeout=10).json()
    assert served == json.loads(json.dumps(document(url)))  # DOCUMENT, with the server it was fetched from
    assert len(OPERATIONS) >= 15


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_api_conforms_to_its_document_and_never_fails(
    operation: str, fuzzer: Api, victim: dict[str, str], local_stack: LocalService
) -> None:
    url = local_stack.env["ACTIVITYLOG_API_URL"]
    headers = {"Authorization": f"Bearer {fuzzer.key}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=OPERATIONS[operation].as_strategy())
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=url, headers=headers, checks=CHECKS, allow_redirects=False, timeout=30
        )
        # The same request aimed at the other tenant's real ids reaches nothing of it
        if not case.path_parameters:
            return
        for name in list(case.path_parameters):
            real = victim.get(name) or (victim["key_id"] if "api-keys" in case.path else None)
            if real:
                case.path_parameters[name] = real
        response = case.call(base_url=url, headers=headers, allow_redirects=False, timeout=30)
        assert response.status_code < 500, response.text
        assert MARKER not in response.text and victim["tenant"] not in response.text
        leaked = [v for v in (victim["export_id"], victim["run_id"], "v-1") if v in response.text]
        assert response.status_code >= 400 or not leaked, (
            case.method,
            case.formatted_path,
            response.text[:300],
        )

    run()


def test_the_victims_data_is_intact(local_stack: LocalService, victim: dict[str, str]) -> None:
    # Runs after the fuzzing (file order): the fuzzer's deletes and runs did not touch V
    keys = Keys(local_stack)
    api = keys.api(tenant=victim["tenant"])
    assert api.request("GET", "/v1/events/v-1").json()["description"] == MARKER
    assert api.request("GET", f"/v1/exports/{victim['export_id']}").status_code == 200
