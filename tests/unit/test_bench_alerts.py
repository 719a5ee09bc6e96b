"""The alerts benchmark bills DynamoDB as DynamoDB does and drives the production code (tiny sizes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench import alerts

NOW = datetime.now(UTC) - timedelta(seconds=5)


def test_a_transaction_bills_twice_per_kb_and_a_consistent_read_per_4_kb() -> None:
    from activitylog.dal.alerts import AlertTable
    from activitylog.logic import alert_eval
    from activitylog.models.alerts import Firing

    dynamo = alerts.BilledDynamo()
    table = AlertTable(alerts.CONTROL_TABLE, dynamo)
    rule = alert_eval.rule_of(alerts.alert(0))
    state = rule.empty()
    for i in range(150):  # a full count-3 state: a few KB
        state = alert_eval.step(rule, state, alert_eval.Occurrence(f"01J{i:023d}", 1_000 * i)).state
    assert table.commit("t", "a", "u", state, version=0, firings=[], now=NOW)
    size = alerts.item_size(dynamo.state_items()[0])
    assert dynamo.write_units[("UpdateItem", "STATE")] == -(-size // 1024)
    firing = Firing(
        id="fir-x",
        alert_id="a",
        group="u",
        count=3,
        window_start=NOW,
        window_end=NOW,
        fired_at=NOW,
        event_ids=[],
    )
    dynamo.clear()
    assert table.commit("t", "a", "u", state, version=1, firings=[firing], now=NOW)
    units = dynamo.write_units
    assert units[("TransactWriteItems", "STATE")] == 2 * -(-alerts.item_size(dynamo.state_items()[0]) // 1024)
    assert units[("TransactWriteItems", "FIR")] == 2
    assert not table.commit("t", "a", "u", state, version=1, firings=[firing], now=NOW)  # stale version
    dynamo.clear()
    table.get_state("t", "a", rule.key, "u")
    assert dynamo.read_units[("GetItem", "STATE")] == -(-alerts.item_size(dynamo.state_items()[0]) // 4096)


def test_one_event_per_message_costs_a_read_and_a_write_per_event() -> None:
    case = alerts.units_case(
        "tiny", alerts.alert(0), groups=1, per_message=1, gap_ms=10_000, warm=5, measured=20, now=NOW
    )
    assert case.requests["GetItem STATE"] == 1.0 and case.requests["UpdateItem STATE"] == 1.0
    batched = alerts.units_case(
        "tiny", alerts.alert(0), groups=1, per_message=10, gap_ms=10_000, warm=5, measured=20, now=NOW
    )
    assert batched.requests["GetItem STATE"] == 0.1


def test_the_pipeline_runs_the_production_router_and_evaluator() -> None:
    p = alerts.pipeline("tiny", alerts.one_matching(NOW - timedelta(days=1)), NOW, 2, 20)
    assert p.events == 40 and p.matched == 40  # one alert matches every event, nine none
    assert p.messages == 2 and p.sqs_sends == 1.0  # one message per batch: only the matching alert
    assert p.requests["GetItem STATE"] == p.groups
    cost = alerts.alert_cost(p)
    assert cost.total > 0 and set(cost.lines) >= {
        "DynamoDB writes (states, firings)",
        "Lambda GB-s: evaluator",
    }
