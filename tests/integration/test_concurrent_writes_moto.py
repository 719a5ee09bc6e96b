"""Two writes of one id at the same moment (issue 18, item 3), with real threads against the local
stack's DynamoDB (moto's server, over HTTP): the first write wins atomically, the usage counts it
once, and no index item of the losing copy is left, so count and list agree.

Both requests pass the `existing_ids` check before either writes (a barrier holds them there),
which is the race the conditional writes must settle.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import boto3
from activitylog.dal.control import ControlTable
from activitylog.dal.events import DynamoEventStore
from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.logic.query import QueryPorts, count_events, list_events
from activitylog.models.auth import Principal
from activitylog.models.filters import EventFilter
from activitylog.models.settings import TenantSettings
from activitylog_ops.local.service import LocalService

IDS = 40


class RacingStore(DynamoEventStore):
    """The real store; `existing_ids` returns only when both racers have asked (neither sees the other)."""

    def __init__(self, table: str, client: Any, barrier: threading.Barrier) -> None:
        super().__init__(table, client)
        self._barrier = barrier

    def existing_ids(self, tenant: str, event_ids: Iterable[str]) -> set[str]:
        found = super().existing_ids(tenant, event_ids)
        self._barrier.wait(timeout=30)
        return found


def client(stack: LocalService) -> Any:
    return boto3.client("dynamodb", endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name="us-east-1")


def version(name: str, targets: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"race-{i}",
            "action": "asset.edited",
            "actor": {"id": f"actor-{name}"},
            "targets": [{"type": f"asset-{name}", "id": f"{i}-{n}"} for n in range(targets)],
            "description": f"copy {name}",
        }
        for i in range(IDS)
    ]


def test_concurrent_writes_of_one_id_keep_the_first_copy_whole_and_count_it_once(
    local_stack: LocalService,
) -> None:
    tenant = f"race-{uuid.uuid4().hex[:8]}"
    events_table = local_stack.env["ACTIVITYLOG_EVENTS_TABLE"]
    control = ControlTable(local_stack.env["ACTIVITYLOG_CONTROL_TABLE"], client(local_stack))
    barrier = threading.Barrier(2)
    now = datetime.now(UTC)
    answers: dict[str, Any] = {}

    def send(name: str, targets: int) -> None:
        ports = IngestPorts(
            events=RacingStore(events_table, client(local_stack), barrier),  # a client per "container"
            catalogue=control,
            known_actions=set(),
            usage=control,
        )
        answers[name] = ingest(
            version(name, targets), tenant=tenant, now=now, settings=TenantSettings(), ports=ports
        )

    # Given two requests with the same 40 ids, copy A with three targets each, copy B with one
    racers = [threading.Thread(target=send, args=("A", 3)), threading.Thread(target=send, args=("B", 1))]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=120)
    # Then both answer every id accepted (an id stored is accepted, by whichever write)
    assert {name: (a.accepted, a.failed) for name, a in answers.items()} == {"A": (IDS, 0), "B": (IDS, 0)}

    store = DynamoEventStore(events_table, client(local_stack))
    ports = QueryPorts(events=store, known_actions=lambda: control.known_actions(tenant))
    reader = Principal(tenant=tenant, key_id="k", scopes=frozenset({"events:read"}))
    listed = list_events(reader, EventFilter(), limit=200, cursor=None, now=now, ports=ports).events
    # And each id is stored once, whole: actor, description and targets of one copy
    assert sorted(e.id for e in listed) == sorted(f"race-{i}" for i in range(IDS))
    winners = {e.id: e.actor.id.removeprefix("actor-") for e in listed}
    for event in listed:
        name = winners[event.id]
        assert event.description == f"copy {name}"
        assert {t.type for t in event.targets} == {f"asset-{name}"}
        assert len(event.targets) == (3 if name == "A" else 1)
    # And the usage counted each id once, whoever won
    assert control.accepted(tenant, now.strftime("%Y-%m")) == IDS
    # And no index item of a losing copy is left: by-target count and list agree for every target
    for i in range(IDS):
        name = winners[f"race-{i}"]
        for n in range(3):
            target = EventFilter(target_type="asset-A", target_id=f"{i}-{n}")
            expected = 1 if name == "A" else 0
            assert count_events(reader, target, cursor=None, now=now, ports=ports).count == expected, (i, n)
            hits = list_events(reader, target, limit=10, cursor=None, now=now, ports=ports).events
            assert len(hits) == expected, (i, n)
    items = client(local_stack).scan(
        TableName=events_table,
        FilterExpression="begins_with(pk, :t)",
        ExpressionAttributeValues={":t": {"S": f"{tenant}#"}},
    )["Items"]
    extras = [i["pk"]["S"] for i in items if i["pk"]["S"].count("#") == 2]
    assert sorted(extras) == sorted(
        f"{tenant}#race-{i}#{n}" for i in range(IDS) if winners[f"race-{i}"] == "A" for n in (1, 2)
    )
