"""The reports benchmark bills DynamoDB as DynamoDB does and drives the production code (tiny sizes)."""

from __future__ import annotations

from activitylog.dal.rollups import RollupTable
from activitylog.logic import report_calendar as cal
from activitylog.logic import rollups
from activitylog.models.reports import HourRollup, Tally

from bench import reports
from bench.wire_dynamo import Latency, item_size

TINY = reports.Config(
    rates=(("tiny", 20_000, 1), ("1M/month", 40_000, 1)),
    card=reports.Cardinality(actors=20, targets=30, ips=20, queries=10),
    steady_hours=2,
    containers=(1, 2),
    backfill_days=1,
    backfill_per_hour=12,
    backfill_rates=(1.0,),
    report_days=2,
    per_hour=30,
    sources=3,
    runs=1,
    event_hours=3,
    latency=Latency(),
)


def test_a_put_is_billed_per_started_kb_of_the_larger_item_and_a_failed_condition_too() -> None:
    # Given the production RollupTable on the billing stub
    w = reports.dynamo()
    table = RollupTable(reports.CONTROL, w.client)
    hour = cal.floor_hour(reports.NOW)
    counts = {f"user-{i:05d}": i for i in range(400)}  # a few KB compressed
    tally = Tally(total=1, quarters=[1, 0, 0, 0], dims={"actor": counts}, min_expiry=1, max_expiry=2)
    # When an hour is stored, then stored again by an older computation
    assert table.put_hour(reports.TENANT, "", HourRollup(hour, 2_000, tally), expires=10)
    sizes = [size for _, size, _ in w.put_sizes]
    assert w.write_units["PutItem"] == sum(-(-s // 1024) for s in sizes)
    first = w.write_units["PutItem"]
    assert not table.put_hour(reports.TENANT, "", HourRollup(hour, 1_000, tally), expires=10)
    # Then the refused writes are billed as well, on the larger of the items
    assert w.write_units["PutItem"] == 2 * first
    stored = w.tables[reports.CONTROL].items
    assert max(item_size(i) for i in stored.values()) > 1024


def test_the_bench_runs_the_production_paths_at_tiny_sizes() -> None:
    results = reports.measure(TINY)
    hour = reports.main_hour(results)
    # the hour's items: the totals and one per dimension, written once; the documents read once each
    assert set(hour.items) == {"n", *rollups.dimensions_for(reports.SETTINGS)}
    assert hour.requests["PutItem"] == len(hour.items)
    assert hour.reads["BatchGetItem"] == hour.events * 0.5  # each document < 4 KB, eventually consistent
    assert hour.again["write units"] == 1.0  # another container's seal: only the refused RUSEALED update
    # each hour computed once in the steady state; one seal per container and hour
    for flow in results.steady:
        assert flow.recomputes == 1.0
    assert results.steady[1].router_sends == 2 * results.steady[0].router_sends
    # a report from rollups equals what was stored plus the unsealed hours' events, and is complete
    stored = results.rollups
    assert all(t.complete for t in stored.rows)
    assert len({t.total for t in stored.rows}) == 1 and stored.rows[0].total > stored.events_total
    # from events: every document read once, the whole range counted
    events = results.events
    assert events.full.complete and events.full.total == events.events == events.full.documents
    text = reports.render(results)
    assert text.count("Goal <") == 1 and "Extrapolated to 90 days" in text
    assert "## Reports" in reports.cost_section(results)


def test_a_backfill_computes_each_hour_once_in_time_order_and_again_and_again_in_random_order() -> None:
    flow = reports.backfill_flow(per_hour=6, days=1, rate=0.5, order="time")  # 5 minutes long
    assert flow.hours == 24 and set(flow.computes.values()) == {1}
    shuffled = reports.backfill_flow(per_hour=6, days=1, rate=0.02, order="random")  # 2 hours long
    assert shuffled.recomputes > 2 and max(shuffled.computes.values()) > 3
