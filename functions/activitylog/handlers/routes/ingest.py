"""POST /v1/events (the `Ingest` function)."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from activitylog.handlers import http, metrics, wiring
from activitylog.handlers.http import principal_of
from activitylog.handlers.log import logger
from activitylog.handlers.routes.answers import BEARER, answers, ok
from activitylog.logic import clock
from activitylog.logic.ingest import ingest
from activitylog.logic.request_ids import with_request_ids
from activitylog.models.auth import Scope
from activitylog.models.errors import ConflictError, ForbiddenError, QuotaExceededError
from activitylog.models.events import IngestRequest, IngestResponse

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

IDEMPOTENCY_SECONDS = 24 * 3600
# Powertools keys each record `<prefix>#<hash>`, the prefix naming the Lambda function and, by
# default, the decorated function's module: records made before this code moved out of
# `handlers/ingest.py` must still be found (a replay answered, a reused key refused), so the prefix
# stays what it was (tests/unit/test_ingest_idempotency_key.py).
RECORDS_OF = "activitylog.handlers.ingest._run_cacheable"
JSON = "application/json"

router = Router()


class _NotCacheable(Exception):
    """Some events could not be stored: the answer must not be replayed for the Idempotency-Key."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__("partial failure")
        self.response = response


def _run(request: dict[str, Any]) -> IngestResponse:
    """Counted here, where the events are handled: an answer replayed for an Idempotency-Key is not."""
    tenant = request["tenant"]
    c = wiring.container()
    try:
        result = ingest(
            request["events"],
            tenant=tenant,
            now=clock.now(),
            settings=c.settings(tenant),
            ports=c.ingest_ports(tenant),
        )
    except QuotaExceededError:
        metrics.add(metrics.QUOTA_REFUSALS)  # the batch is refused whole: 429, no event counted
        logger.info("quota exceeded", extra={"tenant": tenant, "events": len(request["events"])})
        raise
    metrics.add(metrics.EVENTS_ACCEPTED, result.accepted)
    metrics.add(metrics.EVENTS_SKIPPED, result.skipped)
    metrics.add(metrics.EVENTS_REJECTED, result.rejected)
    metrics.add(metrics.EVENTS_FAILED, result.failed)
    return result


def _run_cacheable(request: dict[str, Any]) -> dict[str, Any]:
    """`_run` for the idempotency layer, which records a JSON-ready answer (never a partial one)."""
    result = _run(request)
    answer = result.answer()
    if result.failed:
        raise _NotCacheable(answer)
    return answer


@lru_cache(maxsize=1)
def _idempotent_run(layer: DynamoDBPersistenceLayer) -> tuple[IdempotencyConfig, Any]:
    """Built once per container's persistence layer."""
    config = IdempotencyConfig(
        event_key_jmespath="[tenant, key]",
        payload_validation_jmespath="body_sha256",
        expires_after_seconds=IDEMPOTENCY_SECONDS,
    )
    prefix = f"{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', 'test-func')}.{RECORDS_OF}"
    run = idempotent_function(
        data_keyword_argument="request", persistence_store=layer, config=config, key_prefix=prefix
    )(_run_cacheable)
    return config, run


@router.post(
    "/v1/events",
    summary="Send 1-100 events",
    description="Validates each event on its own; see the per-event results. Scope events:write.",
    operation_id="ingestEvents",
    security=BEARER,
    responses=answers(
        ok(200, "per-event results, in order", IngestResponse),
        403,
        409,
        body=True,
        why={
            409: "this Idempotency-Key was used with a different body, or its first request is "
            "still in progress",
            413: "the body is larger than 1 MiB (`payload_too_large`)",
            422: "not a valid envelope (no `events` list, 0 or more than 100 events, an "
            "Idempotency-Key longer than 128 characters): `validation_error`",
            429: "throttled (`rate_limited`), or the tenant's monthly quota would be exceeded "
            "(`quota_exceeded`, nothing of the batch is stored); `Retry-After` in seconds",
        },
    ),
)
@http.requires(Scope.EVENTS_WRITE)
def post_events(
    body: Annotated[IngestRequest, Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> Response[str]:
    """Answers with the response serialised here, once: the resolver's own response validation
    (dump, validate again, encode) cost more than validating the events (docs/benchmarks.md).

    The resolver validates only the envelope (an object with 1-100 events): `body.events` are the
    parsed JSON values as sent (`SkipValidation`), each validated on its own by the logic."""
    principal = principal_of(router)
    if not principal.can(Scope.EVENTS_WRITE):
        raise ForbiddenError("this key lacks the events:write scope")
    raw_events: list[Any] = list(body.events)
    request = {"tenant": principal.tenant, "events": raw_events}
    try:
        if idempotency_key is None:
            return _answer(_run(request))
        config, run = _idempotent_run(wiring.container().idempotency)
        config.register_lambda_context(router.lambda_context)
        digest = hashlib.sha256((router.current_event.body or "").encode()).hexdigest()
        # A retry after a partial failure is not replayed: it must find the events it stored before.
        request["events"] = with_request_ids(raw_events, principal.tenant, idempotency_key)
        return _answer(
            IngestResponse.model_validate(
                run(request={**request, "key": idempotency_key, "body_sha256": digest})
            )
        )
    except _NotCacheable as partial:
        return _answer(IngestResponse.model_validate(partial.response))
    except IdempotencyValidationError:
        raise ConflictError("this Idempotency-Key was used with a different body") from None
    except IdempotencyAlreadyInProgressError:
        raise ConflictError("a request with this Idempotency-Key is still in progress") from None


def _answer(result: IngestResponse) -> Response[str]:
    return Response(status_code=200, content_type=JSON, body=result.answer_json())
