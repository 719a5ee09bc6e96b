"""dal/rollups.py on the local emulation's control table (moto): what is written is what is read,
a computation never replaces a later one, groups of another computation are not mixed in, quiet
hours are one item, marks keep the latest time, claims hold until released."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from activitylog.dal import rollups as dal
from activitylog.dal.rollups import RollupTable
from activitylog.models.reports import HourRollup, Tally
from activitylog_ops.local.service import LocalService

HOUR = datetime(2026, 11, 2, 12, tzinfo=UTC)


@pytest.fixture
def table(local_stack: LocalService) -> tuple[RollupTable, str, object]:
    client = boto3.client(
        "dynamodb", endpoint_url=local_stack.env["AWS_ENDPOINT_URL"], region_name="us-east-1"
    )
    return (
        RollupTable(local_stack.env["ACTIVITYLOG_CONTROL_TABLE"], client),
        f"t-{uuid.uuid4().hex[:8]}",
        client,
    )


def tally(groups: int, total: int = 10) -> Tally:
    actors = {f"user-{i}": 1 for i in range(groups)}
    return Tally(
        total=total,
        quarters=[total, 0, 0, 0],
        dims={"actor": actors, "outcome": {"success": total}},
        labels={"actor": {k: ("2026-11-02T12:00:00.000Z", f"Name {k}") for k in actors}},
        min_expiry=1_900_000_000,
        max_expiry=1_900_000_100,
    )


@pytest.mark.parametrize("groups", [2, 400])  # inline in the totals item, and an item per dimension
def test_an_hour_reads_back_as_it_was_written(table: tuple[RollupTable, str, object], groups: int) -> None:
    store, tenant, client = table
    written = HourRollup(HOUR, 1_000, tally(groups), frozenset({"query"}))
    assert store.put_hour(tenant, "", written, expires=2_000_000_000)
    [read] = store.get_hours(
        tenant, "", HOUR, HOUR + timedelta(hours=1), dimensions=["actor", "outcome"]
    ).values()
    assert read.tally == written.tally and read.as_of == 1_000 and read.meta_keys == {"query"}
    totals_only = store.get_hours(tenant, "", HOUR, HOUR + timedelta(hours=1), dimensions=[])[HOUR]
    assert totals_only.tally.total == 10 and totals_only.tally.dims == {}
    items = client.scan(TableName=store._table, FilterExpression="begins_with(pk, :p)",  # type: ignore[attr-defined]
                        ExpressionAttributeValues={":p": {"S": f"TENANT#{tenant}#RU"}})["Items"]  # fmt: skip
    assert len(items) == (1 if groups == 2 else 3)


def test_a_later_computation_stands_and_others_groups_are_left_out(
    table: tuple[RollupTable, str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, tenant, _ = table
    assert store.put_hour(tenant, "", HourRollup(HOUR, 2_000, tally(400)), expires=2_000_000_000)
    assert not store.put_hour(tenant, "", HourRollup(HOUR, 1_000, tally(400, total=7)), expires=2_000_000_000)
    read = store.get_hours(tenant, "", HOUR, HOUR + timedelta(hours=1), dimensions=["actor"])[HOUR]
    assert read.tally.total == 10 and len(read.tally.dims["actor"]) == 400
    # A dimension too big to store: the hour says so and its groups are not given.
    monkeypatch.setattr(dal, "MAX_GROUP_BYTES", 100)
    assert store.put_hour(tenant, "", HourRollup(HOUR, 3_000, tally(400)), expires=2_000_000_000)
    read = store.get_hours(tenant, "", HOUR, HOUR + timedelta(hours=1), dimensions=["actor", "outcome"])[HOUR]
    assert "actor" not in read.tally.dims and read.tally.dims["outcome"] == {"success": 10}
    assert read.too_big == {"actor"}
    # Filters' rollups are apart from the tenant's.
    assert store.get_hours(tenant, "fp1", HOUR, HOUR + timedelta(hours=1), dimensions=[]) == {}


def test_marks_seals_and_claims(table: tuple[RollupTable, str, object]) -> None:
    store, tenant, _ = table
    store.mark_late(tenant, {HOUR: 5_000, HOUR + timedelta(hours=3): 4_000})
    store.mark_late(tenant, {HOUR: 4_500})  # older: kept the latest
    assert store.late_marks(tenant, HOUR, HOUR + timedelta(hours=3)) == {HOUR: 5_000}
    assert store.sealed_through(tenant) is None
    store.set_sealed_through(tenant, HOUR)
    store.set_sealed_through(tenant, HOUR - timedelta(hours=1))
    assert store.sealed_through(tenant) == HOUR
    now = datetime.now(UTC)
    assert store.claim_job(tenant, "k", seconds=600, now=now)
    assert not store.claim_job(tenant, "k", seconds=600, now=now)
    store.release_job(tenant, "k")
    assert store.claim_job(tenant, "k", seconds=600, now=now)
