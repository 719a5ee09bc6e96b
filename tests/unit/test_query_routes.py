"""The query routes take the one filter model, declared once (`routes/query.py` `filtered`), and
still publish the parameters clients were generated from, in the same order and shapes."""

from __future__ import annotations

from activitylog.handlers.docs import openapi_schema

FILTERS = ["actor_id", "action", "target_type", "target_id", "outcome", "from", "to", "q"]


def names(path: str) -> list[str]:
    return [p["name"] for p in openapi_schema()["paths"][path]["get"]["parameters"]]


def test_list_and_count_publish_the_filter_parameters_first_as_before() -> None:
    assert names("/v1/events") == [*FILTERS, "order", "limit", "cursor"]
    assert names("/v1/events/count") == [*FILTERS, "cursor"]


def test_exports_publish_their_filters_as_one_schema_under_the_name_clients_know() -> None:
    # One schema for requests and answers: `-Input`/`-Output` twins of one title make
    # openapi-python-client refuse both, and every export model with them (issue 13, item 3).
    schemas = openapi_schema()["components"]["schemas"]
    assert "ExportFilters" in schemas
    assert not {"ExportFilters-Input", "ExportFilters-Output"} & set(schemas)
    action = next(
        p for p in openapi_schema()["paths"]["/v1/events"]["get"]["parameters"] if p["name"] == "action"
    )
    assert action["schema"]["anyOf"][0]["maxItems"] == 20
