"""Logging settings, metadata selection and the monthly quota as ingestion applies them."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activitylog.logic import quota
from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.logic.quota import QuotaWarning
from activitylog.logic.settings import update_settings
from activitylog.models.errors import ConflictError, MailNotSentError, QuotaExceededError
from activitylog.models.settings import LoggingSettings, SettingsUpdate, TenantLimits, TenantSettings
from pydantic import ValidationError

from tests.fakes import FakeControl, FakeEventStore

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def event(i: int, action: str = "user.login", **extra: Any) -> dict[str, Any]:
    return {"id": f"e{i}", "action": action, "actor": {"id": "u1"}, **extra}


def run(
    events: list[dict[str, Any]],
    settings: TenantSettings,
    store: FakeEventStore | None = None,
    control: FakeControl | None = None,
    warnings: list[QuotaWarning] | None = None,
    now: datetime = NOW,
) -> Any:
    store, control = store or FakeEventStore(), control or FakeControl()
    sink = warnings if warnings is not None else []
    if isinstance(sink, Announced):
        sink.now = now
    ports = IngestPorts(events=store, catalogue=control, known_actions=set(), usage=control, warn=sink.append)
    return ingest(events, tenant="acme", now=now, settings=settings, ports=ports)


def settings(**logging: Any) -> TenantSettings:
    quota_ = logging.pop("quota", 1_000_000)
    return TenantSettings(
        logging=LoggingSettings.model_validate(logging), limits=TenantLimits(monthly_quota=quota_)
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"actions": {"include": ["User.Login"]}},
        {"actions": {"include": ["user.**"]}},
        {"actions": {"include": ["user*"]}},
        {"actions": {"exclude": [""]}},
        {"actions": {"include": ["*"], "extra": []}},
        {"metadata_keys": {"include": ["a*b"]}},
        {"metadata_keys": {"include": ["k" * 41]}},
        {"retention_days": 0},
        {"retention_days": 3651},
        {"retention_days": "90 days"},
        {"notification_emails": ["not-an-email"]},
        {"notification_emails": ["a@example.com\r\nBcc: evil@example.com"]},
        {"notification_emails": [f"u{i}@example.com" for i in range(51)]},
        {"logging_enabled": "maybe"},
        {"monthly_quota": 5},
    ],
)
def test_invalid_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SettingsUpdate.model_validate(bad)


def test_logging_off_skips_everything_and_stores_nothing() -> None:
    store = FakeEventStore()
    answer = run([event(1), event(2)], settings(logging_enabled=False), store)
    assert [(r.status, r.reason) for r in answer.results] == [("skipped", "logging_disabled")] * 2
    assert answer.skipped == 2 and store.items == {}


def test_action_selection_with_exact_prefix_and_exclude() -> None:
    chosen = settings(actions={"include": ["asset.*", "user.login"], "exclude": ["asset.viewed"]})
    actions = ["asset.downloaded", "asset.viewed", "user.login", "user.logout", "search"]
    answer = run([event(i, a) for i, a in enumerate(actions)], chosen)
    assert [r.status for r in answer.results] == ["accepted", "skipped", "accepted", "skipped", "skipped"]
    assert answer.results[1].reason == "action_not_logged" and answer.results[1].id == "e1"


def test_unselected_metadata_keys_are_dropped_before_storage() -> None:
    store = FakeEventStore()
    chosen = settings(metadata_keys={"include": ["plan", "http.*"], "exclude": ["http.cookie"]})
    metadata = {"plan": "pro", "secret": "x", "http.status": 200, "http.cookie": "c"}
    run([event(1, metadata=metadata)], chosen, store)
    assert '"metadata":{"plan":"pro","http.status":200}' in store.items["acme#e1"]["d"]["S"]


def test_a_batch_over_the_quota_is_refused_whole() -> None:
    store, control = FakeEventStore(), FakeControl()
    run([event(i) for i in range(8)], settings(quota=10), store, control)
    with pytest.raises(QuotaExceededError) as refused:
        run([event(i) for i in range(8, 11)], settings(quota=10), store, control)
    assert len(store.items) == 8 and control.accepted("acme", "2026-11") == 8
    assert refused.value.retry_after == int((datetime(2026, 12, 1, tzinfo=UTC) - NOW).total_seconds())
    assert run([event(i) for i in range(8, 10)], settings(quota=10), store, control).accepted == 2


def test_resent_ids_and_skipped_events_do_not_count() -> None:
    store, control = FakeEventStore(), FakeControl()
    chosen = settings(quota=3, actions={"include": ["user.*"]})
    run([event(1), event(2)], chosen, store, control)
    answer = run([event(1), event(2), event(3), event(4, "search")], chosen, store, control)
    assert [r.status for r in answer.results] == ["accepted", "accepted", "accepted", "skipped"]
    assert control.accepted("acme", "2026-11") == 3


def test_events_that_could_not_be_stored_give_their_quota_back() -> None:
    store, control = FakeEventStore(fail_ids={"e2"}), FakeControl()
    answer = run([event(1), event(2)], settings(quota=10), store, control)
    assert answer.failed == 1 and control.accepted("acme", "2026-11") == 1


def test_each_threshold_is_announced_once() -> None:
    # Given warnings that are sent (and so marked sent) as they are announced
    store, control = FakeEventStore(), FakeControl()
    control.settings["acme"] = settings(quota=10, notification_emails=["ops@example.com"])
    seen = Announced(control)
    for batch in range(5):
        run([event(batch * 2 + i) for i in range(2)], settings(quota=10), store, control, warnings=seen)
    assert [(w.threshold, w.accepted) for w in seen] == [("80", 8), ("100", 10)]


class Announced(list[QuotaWarning]):
    """The warn port sending through `quota.send_warning` (which marks a sent warning) into a list."""

    def __init__(self, control: FakeControl, fail: int = 0) -> None:
        super().__init__()
        self.control, self.fail, self.attempts = control, fail, 0
        self.now = NOW

    def append(self, warning: QuotaWarning) -> None:
        def send(to: Any, subject: str, text: str, html: str) -> None:
            self.attempts += 1
            if self.attempts <= self.fail:
                raise MailNotSentError("injected: MessageRejected")
            super(Announced, self).append(warning)

        with contextlib.suppress(MailNotSentError):  # as the composition root's `_warn` does
            quota.send_warning(warning, now=self.now, usage=self.control, settings=self.control, send=send)


def test_a_warning_whose_email_failed_is_tried_again_after_the_backoff_not_by_every_request() -> None:
    # Given a tenant with recipients, and a mail service that refuses the first message
    store, control = FakeEventStore(), FakeControl()
    control.settings["acme"] = settings(quota=20, notification_emails=["ops@example.com"])
    seen = Announced(control, fail=1)
    # When the batch that crosses 80% is stored
    run([event(i) for i in range(16)], settings(quota=20), store, control, warnings=seen)
    epoch = int(NOW.timestamp())
    assert seen == [] and control.warned == set()
    assert control.leases == {("acme", "2026-11", "80"): epoch + quota.RETRY_SECONDS}  # a backoff
    # Then requests within the backoff do not try (no mail call, no claim)
    soon = NOW + timedelta(seconds=quota.RETRY_SECONDS - 1)
    run([event(16)], settings(quota=20), store, control, warnings=seen, now=soon)
    assert seen == [] and seen.attempts == 1
    # And the first request after it sends it (with the count it found), once; the next one does not
    later = NOW + timedelta(seconds=quota.RETRY_SECONDS + 1)
    run([event(17)], settings(quota=20), store, control, warnings=seen, now=later)
    assert [(w.threshold, w.accepted) for w in seen] == [("80", 18)]
    assert control.warned == {("acme", "2026-11", "80")} and control.leases == {}
    run([event(18)], settings(quota=20), store, control, warnings=seen, now=later)
    assert seen.attempts == 2


def test_a_request_refused_at_the_quota_still_sends_a_pending_warning() -> None:
    # Given the 100% warning failed when the quota was reached
    store, control = FakeEventStore(), FakeControl()
    control.settings["acme"] = settings(quota=10, notification_emails=["ops@example.com"])
    seen = Announced(control, fail=1)
    run([event(i) for i in range(8)], settings(quota=10), store, control, warnings=Announced(control))
    run([event(i) for i in range(8, 10)], settings(quota=10), store, control, warnings=seen)
    assert ("acme", "2026-11", "100") not in control.warned
    # When a request after the backoff is refused (429)
    later = NOW + timedelta(seconds=quota.RETRY_SECONDS + 1)
    with pytest.raises(QuotaExceededError):
        run([event(10)], settings(quota=10), store, control, warnings=seen, now=later)
    # Then the refused request sent the warning, and it is marked sent
    assert [(w.threshold, w.accepted) for w in seen] == [("100", 10)]
    assert ("acme", "2026-11", "100") in control.warned


def test_a_held_lease_keeps_a_second_request_from_sending_until_it_expires() -> None:
    control = FakeControl()
    warning = QuotaWarning(tenant="acme", month="2026-11", threshold="80", accepted=8, quota=10)
    sent: list[Any] = []
    epoch = int(NOW.timestamp())
    assert control.claim_warning("acme", "2026-11", "80", now=epoch, until=epoch + quota.LEASE_SECONDS)
    # While another request holds the lease, this one does not send
    assert (
        quota.send_warning(warning, now=NOW, usage=control, settings=control, send=lambda *a: sent.append(a))
        is None
    )
    assert sent == []
    # Once the lease expired (its holder died), a request sends it
    later = NOW + timedelta(seconds=quota.LEASE_SECONDS + 1)
    assert (
        quota.send_warning(
            warning, now=later, usage=control, settings=control, send=lambda *a: sent.append(a)
        )
        == 0
    )
    assert control.warned == {("acme", "2026-11", "80")}  # nobody to tell: marked sent all the same


def test_no_pending_warning_in_the_steady_state() -> None:
    assert quota.pending(5, 10, frozenset()) == []
    assert quota.pending(8, 10, frozenset()) == ["80"]
    assert quota.pending(10, 10, frozenset({"80"})) == ["100"]
    assert quota.pending(10, 10, frozenset({"80", "100"})) == []
    assert quota.pending(3, 0, frozenset()) == []
    # a live lease (a request sending it, or the backoff after a failure) holds it; an expired one not
    assert quota.pending(8, 10, frozenset(), {"80": 500}, now=500) == []
    assert quota.pending(8, 10, frozenset(), {"80": 500}, now=501) == ["80"]


def test_month_arithmetic() -> None:
    assert quota.month_of(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == "2026-12"
    assert quota.next_month_start(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )
    assert quota.seconds_to_next_month(datetime(2027, 1, 31, 23, 59, 59, 500_000, tzinfo=UTC)) == 1
    assert quota.crossed(7, 9, 10) == ["80"] and quota.crossed(0, 10, 10) == ["80", "100"]
    assert quota.crossed(8, 9, 10) == [] and quota.crossed(0, 5, 0) == []


class Versioned:
    """A settings store whose first write loses a race."""

    def __init__(self, races: int) -> None:
        self.doc, self.version, self.races = LoggingSettings(), 0, races

    def get_logging_settings(self, tenant: str) -> tuple[LoggingSettings, int]:
        return self.doc, self.version

    def put_logging_settings(self, tenant: str, settings: LoggingSettings, *, version: int) -> None:
        if self.races:
            self.races -= 1
            self.version += 1
            self.doc = self.doc.model_copy(update={"logging_enabled": False})
            raise ConflictError("changed meanwhile")
        assert version == self.version
        self.doc, self.version = settings, version + 1

    def get_settings(self, tenant: str) -> TenantSettings:
        return TenantSettings(logging=self.doc)


def test_partial_update_keeps_other_fields_and_survives_a_race() -> None:
    store = Versioned(races=1)
    result, changed = update_settings(store, "acme", SettingsUpdate(retention_days=30))
    assert changed == ["retention_days"]
    assert result.retention_days == 30 and result.logging_enabled is False  # the concurrent change is kept
    with pytest.raises(ConflictError):
        update_settings(Versioned(races=5), "acme", SettingsUpdate(retention_days=31))
    assert update_settings(store, "acme", SettingsUpdate(retention_days=30))[1] == []
