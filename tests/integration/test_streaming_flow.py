"""Streaming end to end in local mode (issue 15): events accepted over HTTP reach a receiver on
127.0.0.1 through the real pipeline (the events table's stream, the router, the deliveries queue, the
deliverer), signed, retried as the contract says, never marked delivered wrongly; S3 and EventBridge
destinations write to the emulation; the disable notice reaches the local mail; tenants are isolated.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import requests
from activitylog_ops.local.service import LocalService
from standardwebhooks import Webhook

from tests.integration.conftest import ALL_SCOPES, Api, Keys


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def event_ids(self) -> list[str]:
        """The ids of the delivered events the test sent (the service's own `activitylog.*` events,
        such as the destination's creation, are delivered too)."""
        events = json.loads(self.body)["data"]["events"]
        return [e["id"] for e in events if not e["action"].startswith("activitylog.")]


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 whose answer per path is a script (then 204)."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[Callable[[BaseHTTPRequestHandler], None]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def on(self, path: str, *answers: Callable[[BaseHTTPRequestHandler], None]) -> str:
        self.scripts[path] = list(answers)
        return self.url + path

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def wait(self, path: str, count: int, timeout: float = 60) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(path)
            if len(got) >= count:
                return got
            time.sleep(0.1)
        raise AssertionError(f"{path}: {len(self.at(path))} requests, expected {count}")


def status(code: int, headers: dict[str, str] | None = None, delay: float = 0) -> Callable[[Any], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        if delay:
            time.sleep(delay)
        handler.send_response(code)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            r = holder["r"]
            with r.lock:
                r.requests.append(Received(self.path, dict(self.headers), body, time.monotonic()))
                script = r.scripts.get(self.path) or []
                answer = script.pop(0) if script else status(204)
            with contextlib.suppress(OSError):  # the deliverer gave up on us (its 15 s deadline)
                answer(self)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["r"] = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["r"]
    server.shutdown()


@pytest.fixture
def api(local_stack: LocalService) -> Api:
    return Keys(local_stack).api(unthrottled=True)


def create(api: Api, url: str, **fields: Any) -> tuple[str, str]:
    answer = api.request(
        "POST", "/v1/destinations", json={"name": "test", "type": "webhook", "url": url, **fields}
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return body["destination"]["id"], body["secret"]


def send(api: Api, count: int, prefix: str = "e", action: str = "user.login") -> list[str]:
    ids = [f"{prefix}-{uuid.uuid4().hex[:10]}-{n}" for n in range(count)]
    for start in range(0, count, 100):
        batch = [{"id": i, "action": action, "actor": {"id": "u1"}} for i in ids[start : start + 100]]
        answer = api.post_events(batch)
        assert answer.status_code == 200 and answer.json()["accepted"] == len(batch), answer.text
    return ids


def deliveries(api: Api, destination_id: str) -> list[dict[str, Any]]:
    answer = api.request("GET", f"/v1/destinations/{destination_id}/deliveries", params={"limit": 200})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["deliveries"]
    return found


def wait_for(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout} s")


def verify(secret: str, received: Received) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in received.headers.items()}
    payload: dict[str, Any] = Webhook(secret).verify(received.body, headers)  # the real clock: now
    return payload


# --- delivery ---------------------------------------------------------------------------------------


def test_accepted_events_reach_the_receiver_signed_and_the_ledger_says_delivered(
    api: Api, receiver: Receiver
) -> None:
    path = f"/ok-{uuid.uuid4().hex[:6]}"
    destination_id, secret = create(api, receiver.on(path))
    ids = send(api, 150)
    got = wait_for(
        lambda: set(ids) <= {i for r in receiver.at(path) for i in r.event_ids()} and receiver.at(path),
        what="all 150 events",
    )  # in 2 deliveries or more: how the stream batches them decides
    delivered = [i for r in got for i in verify(secret, r)["data"]["events"]]
    assert sorted(e["id"] for e in delivered if e["action"] == "user.login") == sorted(ids)
    # the service's own event of the destination's creation is delivered like any other
    assert [e["action"] for e in delivered if e["action"] != "user.login"] == [
        "activitylog.destination.created"
    ]
    assert all(e["received_at"] and e["expires_at"] for e in delivered)
    ledger = wait_for(
        lambda: (d := deliveries(api, destination_id)) and all(x["status"] == "delivered" for x in d) and d,
        what="every delivery delivered",
    )
    assert sum(x["event_count"] for x in ledger) == 151
    assert {r.headers["webhook-id"] for r in got} == {x["id"] for x in ledger}
    shown = api.request("GET", f"/v1/destinations/{destination_id}").json()
    assert shown["state"] == "active" and shown["lag_seconds"] == 0 and shown["last_delivered_at"]


def test_a_failing_receiver_is_retried_after_5_seconds_with_the_same_webhook_id(
    api: Api, receiver: Receiver
) -> None:
    path = f"/flaky-{uuid.uuid4().hex[:6]}"
    destination_id, _ = create(api, receiver.on(path, status(500)))
    send(api, 3)
    first, second = receiver.wait(path, 2, timeout=60)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert 4.0 <= second.at - first.at <= 30  # the contract's ~5 s (plus the poller's cadence)
    [delivery] = wait_for(
        lambda: [d for d in deliveries(api, destination_id) if d["status"] == "delivered"], what="delivered"
    )
    assert delivery["attempts"] == 2


def test_a_redirect_is_a_failure_and_is_never_followed(api: Api, receiver: Receiver) -> None:
    path, target = f"/redirect-{uuid.uuid4().hex[:6]}", f"/target-{uuid.uuid4().hex[:6]}"
    destination_id, _ = create(api, receiver.on(path, status(302, {"Location": receiver.url + target})))
    send(api, 1)
    receiver.wait(path, 1)
    [delivery] = wait_for(
        lambda: [d for d in deliveries(api, destination_id) if d["attempts"] >= 1], what="one attempt"
    )
    assert delivery["status"] == "retrying" and delivery["last_http_status"] == 302
    assert delivery["next_attempt_at"] is not None
    assert receiver.at(target) == []  # not followed
    shown = api.request("GET", f"/v1/destinations/{destination_id}").json()
    assert shown["state"] == "failing" and shown["lag_seconds"] >= 0


def test_a_slow_2xx_within_15_s_is_delivered_but_one_after_16_s_is_not(api: Api, receiver: Receiver) -> None:
    slow, late = f"/slow-{uuid.uuid4().hex[:6]}", f"/late-{uuid.uuid4().hex[:6]}"
    slow_id, _ = create(api, receiver.on(slow, status(200, delay=2)))
    late_id, _ = create(api, receiver.on(late, status(200, delay=16)))
    send(api, 1)
    receiver.wait(slow, 1)
    receiver.wait(late, 1)
    wait_for(
        lambda: [d for d in deliveries(api, slow_id) if d["status"] == "delivered"], what="slow delivered"
    )
    # The late receiver answered 2xx after the deadline: a failure, retried (the second attempt
    # gets the immediate 204), and the ledger never said delivered after the first attempt.
    first = wait_for(lambda: [d for d in deliveries(api, late_id) if d["attempts"] >= 1], timeout=40)[0]
    assert first["status"] in ("retrying", "delivered")
    if first["status"] == "retrying":
        assert first["last_http_status"] is None and "15" in (first["last_error"] or "")
    done = wait_for(
        lambda: [d for d in deliveries(api, late_id) if d["status"] == "delivered"],
        timeout=60,
        what="late retried",
    )
    assert done[0]["attempts"] == 2
    assert len(receiver.at(late)) == 2


def test_the_router_crashing_mid_batch_loses_no_event(
    api: Api, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from activitylog.logic import stream_router

    path = f"/crash-{uuid.uuid4().hex[:6]}"
    create(api, receiver.on(path))
    real = stream_router.create_deliveries
    crashes = {"left": 2}

    def crashing(*args: Any, **kwargs: Any) -> set[str]:
        if crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("the router's container died mid-batch")
        return real(*args, **kwargs)

    monkeypatch.setattr(stream_router, "create_deliveries", crashing)
    ids = send(api, 120)
    wait_for(
        lambda: set(ids) <= {i for r in receiver.at(path) for i in r.event_ids()},
        timeout=90,
        what="all delivered",
    )
    assert crashes["left"] == 0
    # at least once: every id arrived; duplicates only as whole re-sent deliveries
    seen = [i for r in receiver.at(path) for i in r.event_ids()]
    assert set(seen) == set(ids)


def test_nothing_is_delivered_after_a_destination_is_deleted(api: Api, receiver: Receiver) -> None:
    path = f"/deleted-{uuid.uuid4().hex[:6]}"
    destination_id, _ = create(api, receiver.on(path, status(503)))
    send(api, 5)
    receiver.wait(path, 1)
    assert api.request("DELETE", f"/v1/destinations/{destination_id}").status_code == 204
    deleted_at = time.monotonic()
    send(api, 5)
    time.sleep(12)  # past the retry of the queued delivery (5 s) and the new events' routing
    assert [r for r in receiver.at(path) if r.at > deleted_at] == []
    assert api.request("GET", f"/v1/destinations/{destination_id}").status_code == 404


def test_test_route_signs_and_answers_what_happened(api: Api, receiver: Receiver) -> None:
    path = f"/test-{uuid.uuid4().hex[:6]}"
    destination_id, secret = create(api, receiver.on(path, status(200), status(500)))
    ok = api.request("POST", f"/v1/destinations/{destination_id}/test").json()
    assert ok["status"] == "delivered" and ok["http_status"] == 200 and ok["error"] is None
    bad = api.request("POST", f"/v1/destinations/{destination_id}/test").json()
    assert bad["status"] == "failed" and bad["http_status"] == 500
    payload = verify(secret, receiver.at(path)[0])
    assert payload["type"] == "activitylog.test" and payload["data"]["destination_id"] == destination_id
    assert deliveries(api, destination_id) == []  # tests are not in the ledger


def test_rotated_secrets_both_verify_for_a_day(api: Api, receiver: Receiver) -> None:
    path = f"/rotate-{uuid.uuid4().hex[:6]}"
    destination_id, old = create(api, receiver.on(path))
    new = api.request("POST", f"/v1/destinations/{destination_id}/rotate-secret").json()["secret"]
    assert new != old and new.startswith("whsec_")
    api.request("POST", f"/v1/destinations/{destination_id}/test")
    [got] = receiver.wait(path, 1)
    verify(old, got)
    verify(new, got)


def test_a_failed_delivery_can_be_retried_and_a_replay_re_sends_by_received_time(
    api: Api, receiver: Receiver, local_stack: LocalService
) -> None:
    path = f"/replay-{uuid.uuid4().hex[:6]}"
    destination_id, _ = create(api, receiver.on(path), filters={"actions": ["user.*"]})
    start = datetime.now(UTC) - timedelta(seconds=1)
    ids = send(api, 30)
    send(api, 5, prefix="other", action="asset.download")  # not selected by the filters
    receiver.wait(path, 1)
    end = datetime.now(UTC) + timedelta(seconds=1)
    before = len(receiver.at(path))
    answer = api.request(
        "POST",
        f"/v1/destinations/{destination_id}/replays",
        json={"from": start.isoformat().replace("+00:00", "Z"), "to": end.isoformat().replace("+00:00", "Z")},
    )
    assert answer.status_code == 202, answer.text
    replay_id = answer.json()["replay"]["id"]

    def finished() -> dict[str, Any] | None:
        replay: dict[str, Any] = api.request(
            "GET", f"/v1/destinations/{destination_id}/replays/{replay_id}"
        ).json()["replay"]
        return replay if replay["status"] == "succeeded" else None

    done = wait_for(finished, what="replay succeeded")
    assert done["event_count"] == 30
    wait_for(lambda: len(receiver.at(path)) > before, what="replayed delivery")
    replayed = [d for d in deliveries(api, destination_id) if d["replay_id"] == replay_id]
    assert sum(d["event_count"] for d in replayed) == 30
    again = {i for r in receiver.at(path)[before:] for i in r.event_ids()}
    assert again == set(ids)

    # a delivery that is not failed cannot be retried
    some = replayed[0]["id"]
    assert (
        api.request("POST", f"/v1/destinations/{destination_id}/deliveries/{some}/retry").status_code == 409
    )


def test_five_days_of_failures_disable_with_one_email_in_the_local_mail(
    api: Api, receiver: Receiver, local_stack: LocalService
) -> None:
    address = f"ops-{uuid.uuid4().hex[:6]}@example.com"
    assert api.request("PUT", "/v1/settings", json={"notification_emails": [address]}).status_code == 200
    path = f"/down-{uuid.uuid4().hex[:6]}"
    destination_id, _ = create(api, receiver.on(path, *[status(500)] * 20))
    send(api, 1)
    receiver.wait(path, 1)
    wait_for(lambda: api.request("GET", f"/v1/destinations/{destination_id}").json()["state"] == "failing")
    # the destination has been failing for 6 days (as if): the next failure disables it
    dynamodb = boto3.client("dynamodb", endpoint_url=local_stack.env["AWS_ENDPOINT_URL"])
    since = (datetime.now(UTC) - timedelta(days=6)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    dynamodb.update_item(
        TableName=local_stack.env["ACTIVITYLOG_CONTROL_TABLE"],
        Key={"pk": {"S": f"TENANT#{api.tenant}"}, "sk": {"S": f"DEST#{destination_id}"}},
        UpdateExpression="SET failing_since = :s",
        ExpressionAttributeValues={":s": {"S": since}},
    )
    send(api, 2)
    wait_for(
        lambda: api.request("GET", f"/v1/destinations/{destination_id}").json()["state"] == "disabled",
        what="disabled",
    )

    def notices() -> list[dict[str, Any]]:
        mail = requests.get(f"{local_stack.env['ACTIVITYLOG_API_URL']}/_local/mail", timeout=10).json()
        return [m for m in mail if address in m["to"] and "disabled" in m["subject"]]

    wait_for(notices, what="the disable email")
    time.sleep(6)  # the other queued delivery's retry: no second email
    assert len(notices()) == 1
    events = api.request("GET", "/v1/events", params={"action": "activitylog.destination.disabled"}).json()
    assert [e["targets"][0]["id"] for e in events["events"]] == [destination_id]
    # events accepted while disabled are not delivered
    count = len(receiver.at(path))
    send(api, 1)
    time.sleep(3)
    assert len(receiver.at(path)) == count


def test_s3_and_eventbridge_destinations_write_to_the_emulation(api: Api, local_stack: LocalService) -> None:
    endpoint = local_stack.env["AWS_ENDPOINT_URL"]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"tenant-logs-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    events = boto3.client("events", endpoint_url=endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
    bus = events.create_event_bus(Name=f"audit-{uuid.uuid4().hex[:8]}")["EventBusArn"]
    queue = sqs.create_queue(QueueName=f"bus-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    rule = f"all-{uuid.uuid4().hex[:6]}"
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["activitylog"]}))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    role = "arn:aws:iam::123456789012:role/tenant-writer"
    s3_dest = api.request(
        "POST",
        "/v1/destinations",
        json={"name": "lake", "type": "s3", "bucket": bucket, "prefix": "audit", "role_arn": role,
              "external_id": f"activitylog:{api.tenant}"},
    )  # fmt: skip
    assert s3_dest.status_code == 201, s3_dest.text
    bus_dest = api.request(
        "POST",
        "/v1/destinations",
        json={"name": "bus", "type": "eventbridge", "event_bus_arn": bus, "role_arn": role},
    )
    assert bus_dest.status_code == 201, bus_dest.text
    ids = send(api, 3)

    import gzip

    def written() -> list[dict[str, Any]]:
        out = []
        for listed in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            key = listed["Key"]
            assert key.startswith("audit/") and key.endswith(".jsonl.gz"), key
            body = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode()
            out += [json.loads(line) for line in body.splitlines()]
        return out

    found = wait_for(
        lambda: (w := written()) and len([e for e in w if e["action"] == "user.login"]) >= 3 and w,
        what="the S3 objects",
    )
    assert sorted(e["id"] for e in found if e["action"] == "user.login") == sorted(ids)
    got: list[dict[str, Any]] = []

    def bus_events() -> bool:
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            got.append(json.loads(m["Body"]))
        return len([e for e in got if e["detail"]["action"] == "user.login"]) >= 3

    wait_for(bus_events, what="the bus's events")
    assert sorted(e["detail"]["id"] for e in got if e["detail"]["action"] == "user.login") == sorted(ids)
    assert {e["detail-type"] for e in got} == {"Activity Log Event"}


# --- isolation and the rules -----------------------------------------------------------------------------


def test_another_tenant_can_neither_see_nor_touch_a_destination(
    api: Api, receiver: Receiver, local_stack: LocalService
) -> None:
    other = Keys(local_stack).api(unthrottled=True)
    path = f"/iso-{uuid.uuid4().hex[:6]}"
    destination_id, _ = create(api, receiver.on(path))
    send(other, 3)  # the other tenant's events never reach this tenant's destination
    send(api, 1)
    receiver.wait(path, 1)
    time.sleep(2)
    assert all(len(r.event_ids()) == 1 for r in receiver.at(path))
    [delivery] = deliveries(api, destination_id)
    for method, suffix, body in [
        ("GET", "", None),
        ("PUT", "", {"name": "mine"}),
        ("DELETE", "", None),
        ("POST", "/test", None),
        ("POST", "/rotate-secret", None),
        ("GET", "/deliveries", None),
        ("POST", f"/deliveries/{delivery['id']}/retry", None),
        ("POST", "/replays", {"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}),
    ]:
        answer = other.request(method, f"/v1/destinations/{destination_id}{suffix}", json=body)
        assert answer.status_code == 404, (method, suffix, answer.text)
    assert other.request("GET", "/v1/destinations").json() == {"destinations": []}
    assert api.request("GET", f"/v1/destinations/{destination_id}").json()["name"] == "test"


def test_viewer_tokens_and_keys_without_the_scope_cannot_manage_destinations(
    api: Api, local_stack: LocalService
) -> None:
    plain = Keys(local_stack).api(scopes=[s for s in ALL_SCOPES if s != "streams:manage"])
    assert plain.request("GET", "/v1/destinations").status_code == 403
    minted = api.request("POST", "/v1/viewer-tokens", json={"scopes": ["events:read"]})
    assert minted.status_code == 201, minted.text
    token = Api(api.url, minted.json()["token"], api.tenant)
    assert token.request("GET", "/v1/destinations").status_code == 403
    body = {"name": "x", "type": "webhook", "url": "http://127.0.0.1:9/x"}
    assert token.request("POST", "/v1/destinations", json=body).status_code == 403


def test_webhooks_to_private_addresses_are_refused(api: Api) -> None:
    for url in (
        "https://127.0.0.1/",
        "https://169.254.169.254/",
        "https://[::ffff:10.0.0.1]/",
        "http://127.0.0.1/",
    ):
        answer = api.request("POST", "/v1/destinations", json={"name": "x", "type": "webhook", "url": url})
        assert answer.status_code == 422, (url, answer.text)
        assert answer.json()["error"]["code"] == "destination_not_allowed"


def test_changes_are_in_the_audit_trail(api: Api, receiver: Receiver) -> None:
    destination_id, _ = create(api, receiver.on(f"/audit-{uuid.uuid4().hex[:6]}"))
    api.request("PUT", f"/v1/destinations/{destination_id}", json={"name": "renamed"})
    api.request("DELETE", f"/v1/destinations/{destination_id}")
    listed = api.request("GET", "/v1/events", params={"action": "activitylog.destination.*"}).json()["events"]
    assert {e["action"] for e in listed} >= {
        "activitylog.destination.created",
        "activitylog.destination.updated",
        "activitylog.destination.deleted",
    }
