"""Deliveries to a tenant's S3 bucket or EventBridge bus, as the role the tenant gave us.

Every delivery assumes the destination's role with its external id (`activitylog:<tenant>...`, the
condition our own policy allows AssumeRole under, and the tenant's trust policy requires: no other
tenant can make us write into this tenant's account, docs/destination-roles.md). Credentials are
kept until 5 minutes before they expire, per (role, external id). Every failure is an answer (a
`TargetAnswer`), never an exception: the deliverer retries by the schedule.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from activitylog.dal import errors
from activitylog.dal.clients import new_client

PUT_EVENTS_ENTRIES = 10  # PutEvents' limit per request
PUT_EVENTS_BYTES = 256 * 1024  # and its size limit per request
SOURCE = "activitylog"
DETAIL_TYPE = "Activity Log Event"
SESSION_SECONDS = 900
REFRESH_BEFORE_SECONDS = 300


@dataclass(frozen=True)
class TargetAnswer:
    delivered: bool
    error: str | None
    duration_ms: int


def _error(err: Exception) -> str:
    if isinstance(err, ClientError):
        return f"{errors.code(err)}: {errors.message(err)}"[:500]
    return f"{type(err).__name__}: {err}"[:500]


class AssumedRoleTargets:
    def __init__(
        self,
        sts: Callable[[], Any] | None = None,
        session: Callable[..., Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sts = sts or (lambda: new_client("sts"))
        self._session = session  # boto3.session.Session (tests give their own)
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _clients(self, role_arn: str, external_id: str, service: str, region: str | None) -> Any:
        key = (role_arn, external_id)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None or cached[0] - REFRESH_BEFORE_SECONDS < self._clock():
            answer = self._sts().assume_role(
                RoleArn=role_arn,
                RoleSessionName="activitylog-delivery",
                ExternalId=external_id,
                DurationSeconds=SESSION_SECONDS,
            )
            creds = answer["Credentials"]
            if self._session is None:
                import boto3

                self._session = boto3.session.Session
            session = self._session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
            cached = (creds["Expiration"].timestamp(), session)
            with self._lock:
                self._cache[key] = cached
        return cached[1].client(service, region_name=region) if region else cached[1].client(service)

    def put_object(
        self, *, role_arn: str, external_id: str, bucket: str, key: str, lines: Sequence[str]
    ) -> TargetAnswer:
        """One gzip JSON Lines object."""
        started = time.monotonic()
        body = gzip.compress(("\n".join(lines) + "\n").encode("utf-8"))
        try:
            s3 = self._clients(role_arn, external_id, "s3", None)
            s3.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType="application/x-ndjson",
                ContentEncoding="gzip",
            )
        except (ClientError, BotoCoreError) as err:
            return TargetAnswer(False, _error(err), _ms(started))
        return TargetAnswer(True, None, _ms(started))

    def put_events(
        self, *, role_arn: str, external_id: str, event_bus_arn: str, details: Sequence[str]
    ) -> TargetAnswer:
        """PutEvents of one entry per event (detail = the StoredEvent), in requests of at most 10
        entries and 256 KiB; any entry EventBridge refuses fails the delivery (it is retried whole)."""
        started = time.monotonic()
        region = event_bus_arn.split(":")[3]
        try:
            events = self._clients(role_arn, external_id, "events", region)
            for batch in _batches(details):
                entries = [
                    {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": d, "EventBusName": event_bus_arn}
                    for d in batch
                ]
                answer = events.put_events(Entries=entries)
                if answer.get("FailedEntryCount"):
                    failed = next(e for e in answer["Entries"] if e.get("ErrorCode"))
                    return TargetAnswer(
                        False, f"{failed['ErrorCode']}: {failed.get('ErrorMessage', '')}"[:500], _ms(started)
                    )
        except (ClientError, BotoCoreError) as err:
            return TargetAnswer(False, _error(err), _ms(started))
        return TargetAnswer(True, None, _ms(started))


def _batches(details: Sequence[str]) -> list[list[str]]:
    """Entries of at most PUT_EVENTS_ENTRIES and about PUT_EVENTS_BYTES per request (an entry's
    size: its detail plus source and detail-type, as EventBridge counts it)."""
    batches: list[list[str]] = []
    size = 0
    overhead = len(SOURCE) + len(DETAIL_TYPE)
    for detail in details:
        entry = len(detail.encode("utf-8")) + overhead
        if not batches or len(batches[-1]) == PUT_EVENTS_ENTRIES or size + entry > PUT_EVENTS_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(detail)
        size += entry
    return batches


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
