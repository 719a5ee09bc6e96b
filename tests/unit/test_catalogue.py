"""The catalogue's rules with fakes (logic/catalogue.py): no write per event in the steady state, a
fresh container reads before it writes, the latest name wins, entries outlive their events by at
most a day, prefix search shows each entry once, and restricted credentials see their own slice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activitylog.logic import catalogue
from activitylog.logic import cursor as cursors
from activitylog.logic.catalogue import DAY, REFRESH, CatalogueMemory, CataloguePorts, catalogue_slice
from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.logic.query import QueryPorts
from activitylog.models.auth import Principal, TargetRef
from activitylog.models.catalogue import Entry, EntryData, EntryKey
from activitylog.models.errors import BadRequestError, ForbiddenError, StorageUnavailableError
from activitylog.models.filters import EventFilter
from activitylog.models.settings import TenantSettings

from tests.fakes import FakeControl, FakeEventStore

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TENANT = "acme"
READER = Principal(tenant=TENANT, key_id="k1", scopes=frozenset({"events:read"}))


def event(
    i: int, actor: str = "u1", name: str | None = "Ada", email: str | None = None, **more: Any
) -> dict[str, Any]:
    person = {"id": actor, **({"name": name} if name else {}), **({"email": email} if email else {})}
    return {
        "id": f"e{i}",
        "action": more.pop("action", "asset.downloaded"),
        "actor": person,
        "targets": more.pop("targets", [{"type": "asset", "id": "7", "name": "Report"}]),
        **more,
    }


@dataclass
class Service:
    """One tenant's stores, and as many containers (memories) as a test wants."""

    store: FakeEventStore
    control: FakeControl

    def ingest(self, events: list[dict[str, Any]], *, now: datetime = NOW, memory: CatalogueMemory) -> None:
        ports = IngestPorts(
            events=self.store,
            catalogue=self.control,
            known_actions=set(),
            usage=self.control,
            entries=self.control,
            entry_memory=memory,
        )
        answer = ingest(events, tenant=TENANT, now=now, settings=TenantSettings(), ports=ports)
        assert answer.accepted == len(events), answer

    def ports(self) -> CataloguePorts:
        query = QueryPorts(events=self.store, known_actions=lambda: self.control.known_actions(TENANT))
        return CataloguePorts(store=self.control, query=lambda: query)

    def actors(self, principal: Principal = READER, now: datetime = NOW, **kw: Any) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"q": None, "limit": 50, "cursor": None, **kw}
        page = catalogue.list_actors(principal, now=now, ports=self.ports(), **params)
        return [a.model_dump(mode="json") for a in page.actors]


@pytest.fixture
def service() -> Service:
    return Service(FakeEventStore(), FakeControl())


def test_the_steady_state_touches_nothing(service: Service) -> None:
    memory = CatalogueMemory()
    service.ingest([event(1), event(2, actor="u2", name="Bob")], memory=memory)
    writes, reads = service.control.item_writes, service.control.entry_reads
    assert reads == 1 and writes > 0
    for i in range(3, 30):  # the same entries, a minute apart: no request at all
        service.ingest(
            [event(i), event(i + 100, actor="u2", name="Bob")], memory=memory, now=NOW + timedelta(minutes=i)
        )
    assert (service.control.item_writes, service.control.entry_reads) == (writes, reads)


def test_a_fresh_container_reads_and_writes_nothing_already_stored(service: Service) -> None:
    service.ingest([event(1)], memory=CatalogueMemory())
    writes = service.control.item_writes
    fresh = CatalogueMemory()
    service.ingest([event(2)], memory=fresh, now=NOW + timedelta(hours=1))
    assert service.control.item_writes == writes and service.control.entry_reads == 2
    assert len(fresh) == 3  # action, actor, target: remembered from what it read
    service.ingest([event(3)], memory=fresh, now=NOW + timedelta(hours=2))
    assert service.control.entry_reads == 2


def test_an_entry_in_use_is_written_again_about_once_per_refresh(service: Service) -> None:
    memory = CatalogueMemory()
    service.ingest([event(1)], memory=memory)
    [item] = {e for e in service.control.catalogue_items.values() if e.key.kind == "actor"}
    assert item.expires == int(NOW.timestamp()) + 90 * DAY and item.until == item.expires + REFRESH + DAY
    writes = service.control.item_writes
    service.ingest([event(2)], memory=memory, now=NOW + timedelta(seconds=REFRESH))
    assert service.control.item_writes == writes
    later = NOW + timedelta(seconds=REFRESH + 60)
    service.ingest([event(3)], memory=memory, now=later)
    assert service.control.item_writes > writes
    [actor] = service.actors(now=later)
    assert actor["last_seen_at"] == later.isoformat(timespec="milliseconds")[:-6] + "Z"


def test_a_backdated_event_never_shortens_an_entry(service: Service) -> None:
    memory = CatalogueMemory()
    service.ingest([event(1)], memory=memory)
    service.ingest(
        [event(2, name="Ada B", occurred_at=(NOW - timedelta(days=30)).isoformat())], memory=memory
    )
    item = service.control.get_entries(TENANT, [EntryKey("actor", "u1")])[EntryKey("actor", "u1")]
    assert item.expires == int(NOW.timestamp()) + 90 * DAY and item.data.name == "Ada B"


def test_the_latest_name_wins_and_the_old_one_is_no_longer_found(service: Service) -> None:
    memory = CatalogueMemory()
    service.ingest([event(1, name="Old", email="a@x.org")], memory=memory)
    service.ingest([event(2, name=None)], memory=memory)  # no name: nothing erased, nothing written
    service.ingest([event(3, name="New")], memory=memory)
    assert [(a["name"], a["email"]) for a in service.actors()] == [("New", "a@x.org")]
    assert service.actors(q="OLD") == [] and [a["id"] for a in service.actors(q="nE")] == ["u1"]
    assert [a["id"] for a in service.actors(q="A@X")] == ["u1"]


def test_each_entry_is_shown_once_and_pages_follow_the_cursor(service: Service) -> None:
    memory = CatalogueMemory()
    # ids, names and emails that share the prefix "ad": each actor must still come once
    service.ingest(
        [event(i, actor=f"ad-{i}", name=f"Adam {i}", email=f"ad{i}@x") for i in range(7)], memory=memory
    )
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = catalogue.list_actors(READER, q="AD", limit=3, cursor=cursor, now=NOW, ports=service.ports())
        seen += [a.id for a in page.actors]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == [f"ad-{i}" for i in range(7)]
    with pytest.raises(BadRequestError):
        catalogue.list_actors(
            READER, q="ADA", limit=3, cursor=page_cursor(service), now=NOW, ports=service.ports()
        )
    with pytest.raises(BadRequestError):
        catalogue.list_actors(READER, q="a\x00", limit=3, cursor=None, now=NOW, ports=service.ports())
    forged = cursors.encode(catalogue._fingerprint(READER, False, "actor", q="ad", type=None), {"p": "zz"})
    with pytest.raises(BadRequestError):  # a position outside the query's keys
        catalogue.list_actors(READER, q="AD", limit=3, cursor=forged, now=NOW, ports=service.ports())


def page_cursor(service: Service) -> str:
    page = catalogue.list_actors(READER, q="AD", limit=1, cursor=None, now=NOW, ports=service.ports())
    assert page.next_cursor
    return page.next_cursor


def test_an_entry_disappears_at_most_a_day_after_its_last_event_expired(service: Service) -> None:
    service.ingest([event(1)], memory=CatalogueMemory())
    expired = NOW + timedelta(days=91, seconds=1)  # a day after the event left every read
    assert service.actors(now=expired) == []  # its index holds no live event: not shown
    assert catalogue.list_actions(READER, now=expired, ports=service.ports()).actions == []
    within = NOW + timedelta(days=90) - timedelta(seconds=1)
    assert [a["id"] for a in service.actors(now=within)] == ["u1"]


def test_an_entry_with_unrecorded_later_events_stays_shown(service: Service) -> None:
    memory = CatalogueMemory()
    service.ingest([event(1)], memory=memory)
    # a later event within REFRESH is not recorded; once the recorded one expires, the index says
    service.ingest([event(2)], memory=memory, now=NOW + timedelta(days=10))
    after_first = NOW + timedelta(days=91, hours=1)
    assert [a["id"] for a in service.actors(now=after_first)] == ["u1"]
    assert service.actors(now=NOW + timedelta(days=101)) == []


def test_a_failed_catalogue_write_stores_nothing_and_gives_the_quota_back(service: Service) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise StorageUnavailableError("busy")

    service.control.write_entries = refuse  # type: ignore[method-assign]
    with pytest.raises(StorageUnavailableError):
        service.ingest([event(1)], memory=CatalogueMemory())
    assert service.store.items == {} and service.control.counters.get((TENANT, "2026-11"), 0) == 0


def test_the_memory_forgets_the_least_recently_used_first() -> None:
    memory = CatalogueMemory(capacity=2)
    entries = [Entry(EntryKey("actor", str(i)), EntryData(), 0, expires=0, until=0) for i in range(3)]
    memory.remember("t", entries[0])
    memory.remember("t", entries[1])
    assert memory.get("t", ("actor", "0", "")) is not None  # now the most recent
    memory.remember("t", entries[2])
    assert memory.get("t", ("actor", "1", "")) is None and len(memory) == 2


def test_the_slice_of_each_credential() -> None:
    assert catalogue_slice(READER) is None
    me = Principal(tenant=TENANT, key_id="k2", scopes=frozenset({"events:read:self"}), actor_id="u1")
    assert catalogue_slice(me) == EventFilter(actor_id="u1")
    with pytest.raises(ForbiddenError):
        catalogue_slice(Principal(tenant=TENANT, key_id="k3", scopes=frozenset({"events:write"})))

    scopes = frozenset({"events:read"})
    token = Principal(tenant=TENANT, key_id="vt", scopes=scopes, target=TargetRef("asset", "7"), token=True)
    assert catalogue_slice(token) == EventFilter(target_type="asset", target_id="7")


def test_a_self_key_sees_what_its_own_events_contain(service: Service) -> None:
    memory = CatalogueMemory()
    service.ingest(
        [
            event(1, actor="u1", name="Ada", targets=[{"type": "asset", "id": "7"}], action="asset.viewed"),
            event(2, actor="u2", name="Bob", targets=[{"type": "doc", "id": "9"}], action="doc.read"),
            event(3, actor="u1", name="Ada L", targets=[{"type": "doc", "id": "3", "name": "Plan"}]),
        ],
        memory=memory,
    )
    me = Principal(tenant=TENANT, key_id="k2", scopes=frozenset({"events:read:self"}), actor_id="u1")
    assert [(a["id"], a["name"]) for a in service.actors(me)] == [("u1", "Ada L")]
    assert service.actors(me, q="bob") == []
    targets = catalogue.list_targets(
        me, target_type=None, q=None, limit=1, cursor=None, now=NOW, ports=service.ports()
    )
    rest = catalogue.list_targets(
        me, target_type=None, q=None, limit=5, cursor=targets.next_cursor, now=NOW, ports=service.ports()
    )
    assert [(t.type, t.id) for t in targets.targets + rest.targets] == [("doc", "3"), ("asset", "7")]
    assert rest.next_cursor is None
    actions = catalogue.list_actions(me, now=NOW, ports=service.ports()).actions
    assert [a.action for a in actions] == ["asset.downloaded", "asset.viewed"]
    everyone = catalogue.list_actions(READER, now=NOW, ports=service.ports()).actions
    assert [a.action for a in everyone] == ["asset.downloaded", "asset.viewed", "doc.read"]
