"""The query benchmark counts what DynamoDB examines (moto, tiny sizes)."""

from __future__ import annotations

from bench import query


def test_each_filter_is_walked_to_the_end_and_counted() -> None:
    rows = {r["filter"]: r for r in query.measure(query.Config(events=60, actors=3, assets=5))}
    whole = rows["none (whole tenant)"]
    # Every event of the tenant comes back once, none of the other tenant's
    assert whole["returned"] == 60
    for row in rows.values():
        assert row["scanned"] >= row["count"] >= 0
        assert row["queries"] >= 1
    # A single indexed stream reads at most one boundary entry more per page
    assert whole["scanned"] <= whole["returned"] + whole["pages"]
