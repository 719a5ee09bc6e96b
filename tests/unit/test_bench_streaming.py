"""The streaming benchmark drives the production router and deliverer and does its sums right (tiny sizes)."""

from __future__ import annotations

import json
import math
import os
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from activitylog.handlers import wiring

from bench import cost, report, streaming

NOW = datetime.now(UTC) - timedelta(seconds=5)
SMALL = streaming.Deployed(router_batch=20)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert [streaming.percentile(values, p) for p in (50, 99, 100)] == [50.0, 99.0, 100.0]
    assert streaming.percentile([7.0], 99) == 7.0
    assert math.isnan(streaming.percentile([], 50))


def test_stream_records_are_the_event_items_as_the_mapping_sends_them() -> None:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    with streaming.wired():  # the handler module validates its environment when it loads
        from activitylog.handlers.stream_router import parse

    # Given three events prepared by ingestion for two tenants
    records = streaming.accepted(3, 2, NOW, "t")
    batch = streaming.stream_batch(records, first=7)

    # Then each record is the INSERT of the event's item, and the production parser reads it back
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in batch["Records"]]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    for record, raw in zip(records, batch["Records"], strict=True):
        assert raw["eventName"] == "INSERT" and raw["dynamodb"]["StreamViewType"] == "NEW_IMAGE"
        assert raw["dynamodb"]["NewImage"]["d"]["S"] == record.document
        parsed = parse(DynamoDBRecord(raw))
        assert (parsed.tenant, parsed.data["id"]) == (record.tenant, record.event_id)


def test_tenants_get_equal_shares_in_an_order_independent_of_the_workload() -> None:
    owners = streaming.tenant_order(1_000, 10, "seed")
    assert set(Counter(owners).values()) == {100}
    assert owners == streaming.tenant_order(1_000, 10, "seed")  # reproducible
    # the workload's every-10th event (the 10 % filter) is not all one tenant's
    assert len({owners[i] for i in range(5, 1_000, 10)}) > 5


def test_the_router_measurement_runs_the_production_handler() -> None:
    with streaming.wired():
        from activitylog.handlers import deliverer, stream_router

        assert streaming.router_handler() is stream_router.handler
        assert streaming.deliverer_handler() is deliverer.handler
    config = streaming.Config(tenants=(1, 2), destinations=(0, 1), rounds=1, batches_per_sample=1)
    floor, rows = streaming.router_cpu(config, NOW, SMALL)
    assert floor > 0
    shape = [(r.tenants, r.destinations, r.deliveries) for r in rows]
    assert shape == [(1, 0, 0), (1, 1, 1), (2, 0, 0), (2, 1, 2)]
    assert all(r.lean > 0 and r.dal > 0 for r in rows)


def test_a_mix_counts_what_the_production_router_and_deliverer_do() -> None:
    # Given batches of 20 records from 2 tenants, one destination each, every event selected
    mix = streaming.measure_mix(2, "all", NOW, SMALL, batches=2)

    # Then each tenant's events of a batch are one delivery: a ledger item, a marker, one message
    assert (mix.events, mix.selected, mix.deliveries, mix.posts) == (40, 40, 4, 4)
    assert mix.per_thousand == 100.0 and mix.events_per_delivery == 10.0
    assert mix.router_requests == {"PutItem DLV": 2.0, "PutItem OPEN": 2.0, "Query DEST": 2.0}
    assert mix.sqs_send_requests == 2.0
    # and the deliverer reads the delivery, destination and events, then records the outcome
    assert mix.deliverer_requests == {
        "BatchGetItem event": 1.0,
        "DeleteItem OPEN": 1.0,
        "GetItem DEST": 1.0,
        "GetItem DLV": 1.0,
        "UpdateItem DEST": 1.0,
        "UpdateItem DLV": 1.0,
    }
    assert mix.deliverer_read_units == pytest.approx(1 + 1 + 10 * 0.5)  # two consistent gets + 10 events
    assert mix.router_write_units / mix.deliveries * mix.batches >= 2


def test_a_filter_selecting_every_tenth_event_routes_a_tenth() -> None:
    mix = streaming.measure_mix(1, "10%", NOW, streaming.Deployed(router_batch=100), batches=1)
    assert mix.selected == 10 and mix.deliveries == 1


def test_the_stub_bills_request_units_as_dynamodb_does() -> None:
    stub = streaming.StubDynamo()
    table = streaming.CONTROL_TABLE
    key = {"pk": {"S": "TENANT#t#DEST#d"}, "sk": {"S": "DLV#1"}}
    big = {**key, "doc": {"S": "x" * 1_000}}  # names + values + the 100 B overhead: just over 1 KB
    stub.put_item(TableName=table, Item=big)
    assert stub.write_units[("PutItem", "DLV")] == 2
    # an update is billed on the larger of the item before and after
    stub.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET st = :st",
        ExpressionAttributeValues={":st": {"S": "delivered"}},
        ConditionExpression="attribute_exists(pk)",
    )
    assert stub.write_units[("UpdateItem", "DLV")] == 2
    assert stub.tables[(table, "TENANT#t#DEST#d")]["DLV#1"]["st"] == {"S": "delivered"}
    # a consistent get of a small item is one unit, an eventually consistent batch get half per item
    stub.get_item(TableName=table, Key=key, ConsistentRead=True)
    assert stub.read_units[("GetItem", "DLV")] == 1.0
    stub.put(streaming.EVENTS_TABLE, {"pk": {"S": "t#e1"}, "d": {"S": "{}"}})
    stub.put(streaming.EVENTS_TABLE, {"pk": {"S": "t#e2"}, "d": {"S": "{}"}})
    keys = [{"pk": {"S": "t#e1"}}, {"pk": {"S": "t#e2"}}]
    answer = stub.batch_get_item(RequestItems={streaming.EVENTS_TABLE: {"Keys": keys}})
    assert len(answer["Responses"][streaming.EVENTS_TABLE]) == 2
    assert stub.read_units[("BatchGetItem", "event")] == 1.0
    # a missing item fails an update's condition, as DynamoDB answers
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        stub.update_item(
            TableName=table,
            Key={"pk": {"S": "x"}, "sk": {"S": "DLV#2"}},
            UpdateExpression="SET st = :st",
            ExpressionAttributeValues={":st": {"S": "x"}},
            ConditionExpression="attribute_exists(pk)",
        )


def _mix(deliveries: int = 10, events: int = 1_000) -> streaming.Mix:
    return streaming.Mix(
        tenants=1,
        selection="all",
        events=events,
        selected=events,
        deliveries=deliveries,
        router_requests={"PutItem DLV": 5.0, "PutItem OPEN": 5.0, "Query DEST": 1.0},
        router_write_units=25.0,
        router_read_units=1.0,
        sqs_send_requests=1.0,
        router_cpu_s=0.02,
        deliverer_requests={"GetItem DLV": 1.0, "UpdateItem DLV": 1.0},
        deliverer_write_units=6.0,
        deliverer_read_units=52.0,
        deliverer_cpu_s=0.008,
        ledger_bytes=3_400.0,
        posts=deliveries,
        batches=2,
    )


def test_the_cost_of_a_mix_adds_up_from_its_counts() -> None:
    c = streaming.streaming_cost(_mix(), streaming.Deployed(), call_ms=10, receiver_ms=100)
    assert c.total == pytest.approx(sum(c.lines.values()))
    assert c.lines["DynamoDB Streams reads (GetRecords by the Lambda mapping)"] == 0.0
    # 2,000 invocations of 500 records: 20 ms CPU + 12 requests x 10 ms, 1 GB
    assert c.router_ms == 140
    assert c.lines["Lambda GB-s: router"] == pytest.approx(2_000 * 0.140 * cost.LAMBDA_GB_S)
    # 10,000 deliveries: 8 ms CPU + 2 requests x 10 ms + the receiver's 100 ms, 512 MB
    assert c.deliverer_ms == 128
    assert c.lines["Lambda GB-s: deliverer"] == pytest.approx(10_000 * 0.128 * 0.5 * cost.LAMBDA_GB_S)
    sqs = 2_000 * 1 + 10_000 * 2
    assert c.lines["SQS requests (send, receive, delete)"] == pytest.approx(sqs * streaming.SQS_REQUEST)
    writes = 2_000 * 25 + 10_000 * 6
    assert c.lines["control table writes (ledger, marker, state)"] == pytest.approx(writes * cost.WRITE_UNIT)
    # twice the deliveries: the deliverer's lines double
    twice = streaming.streaming_cost(_mix(deliveries=20), call_ms=10, receiver_ms=100)
    name = "Lambda requests: deliverer"
    assert twice.lines[name] == pytest.approx(2 * c.lines[name])


def test_the_report_and_the_cost_section_render_without_a_latency_run() -> None:
    mix = _mix()
    results = streaming.Results(
        config=streaming.Config(latency=False),
        latency=None,
        floor=70e-6,
        cpu=[streaming.CpuRow(1, 1, 15e-6, 16e-6, 5)],
        fake=(280e-6, 70e-6),
        profile={"logic/stream_router.py:route": 90.0},
        mixes=[mix],
        costs=[streaming.streaming_cost(mix)],
        deployed=streaming.Deployed(),
    )
    text = streaming.render(results)
    assert "| 1 | 1 | 5 | 15.0 | 0.21x | 16.0 | 0.23x |" in text
    assert "### 1." not in text  # no latency run, no latency section
    section = streaming.cost_section(results)
    assert "## Streaming" in section and "| **total** |" in section
    assert all(len(line) <= streaming.WIDTH or line.startswith("|") for line in (text + section).splitlines())


def test_the_receiver_notes_each_id_once_and_counts_repeats() -> None:
    with streaming.Receiver() as receiver:
        for ids in (["a", "b"], ["b"]):
            body = json.dumps({"type": "activitylog.events", "data": {"events": [{"id": i} for i in ids]}})
            request = urllib.request.Request(receiver.url, data=body.encode(), method="POST")  # noqa: S310
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
                assert answer.status == 204
    assert set(receiver.received) == {"a", "b"} and receiver.repeats == 1 and receiver.posts == 2


def test_the_handlers_container_and_environment_are_put_back() -> None:
    before = wiring.use(None)
    wiring.use(before)
    env_before = {name: os.environ.get(name) for name in streaming.ENV}
    with streaming.wired(destinations=streaming.LeanDestinationStore()):
        inside = wiring.container()
    assert inside is not before
    assert wiring.use(before) is before
    assert {name: os.environ.get(name) for name in streaming.ENV} == env_before


def test_the_default_settings_are_the_templates() -> None:
    from infra.constructs import streaming as infra

    d = streaming.Deployed()
    assert d.router_batch == infra.ROUTER_BATCH and d.router_window_s == infra.ROUTER_WINDOW.to_seconds()
    assert d.deliverer_batch == infra.DELIVERY_BATCH and d.deliverer_concurrency == infra.DELIVERY_CONCURRENCY
    assert (d.router_mb, d.deliverer_mb) == (infra.ROUTER.memory_size, infra.DELIVERER.memory_size)


def test_the_cost_models_rewrite_of_cost_md_keeps_the_streaming_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path
    (root / "docs").mkdir()
    cost_md = root / "docs" / "cost.md"
    monkeypatch.setattr(report, "ROOT", root)
    # Given cost.md with the streaming section
    cost_md.write_text("# Cost per million events\n\nold model\n")
    report.write_section(streaming.COST_MARKER, "\n## Streaming\n\nthe numbers", path=cost_md)
    previous = cost_md.read_text()
    # When the cost model writes the file anew, then keeps the section as `python -m bench cost` does
    cost_md.write_text("# Cost per million events\n\nnew model\n")
    streaming.keep_cost_section(previous)
    # Then the new model is followed by the section, unchanged
    text = cost_md.read_text()
    assert text.startswith("# Cost per million events\n\nnew model\n")
    assert (
        "<!-- bench:streaming:start -->\n\n## Streaming\n\nthe numbers\n<!-- bench:streaming:end -->" in text
    )
    # and keeping it again changes nothing
    streaming.keep_cost_section(text)
    assert cost_md.read_text() == text


def _router_call(started: float, seconds: float, ids: list[str]) -> streaming.Invocation:
    records = [{"dynamodb": {"NewImage": {"d": {"S": json.dumps({"id": i})}}}} for i in ids]
    return streaming.Invocation("router", started, seconds, 0.004, records)


def test_each_events_latency_is_split_at_the_router_invocation_that_carried_it() -> None:
    # Given two events accepted at 10.0 and 10.5, routed together from 11.2 to 11.3, received at 11.4
    log = [
        _router_call(11.2, 0.1, ["a", "b"]),
        streaming.Invocation("deliverer", 11.3, 0.1, 0.01, []),
        _router_call(12.0, 0.1, ["a"]),  # a retried record counts from its first routing
    ]
    stages = streaming.stages(log, {"a": 10.0, "b": 10.5, "lost": 10.0}, {"a": 11.4, "b": 11.4})
    # Then each stage is per delivered event; an event never received is left out
    assert stages["to the router"] == pytest.approx([1.2, 0.7])
    assert stages["router"] == pytest.approx([0.1, 0.1])
    assert stages["router to receipt"] == pytest.approx([0.1, 0.1])
    # and the router's thread CPU is compared with its handler's own work per record
    sentence = streaming.boto3_share(log[:1], own_cpu=15e-6)
    assert "Of a router invocation's 4 ms (p50, 2 records)" in sentence and "about 0.0 ms" in sentence
    assert streaming.boto3_share(log[:1], own_cpu=None) == ""
