"""Lambda `Ingest`: POST /v1/events."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from activitylog.dal.control import ControlTable
from activitylog.dal.events import DynamoEventStore
from activitylog.dal.mail import SesMailer
from activitylog.handlers.http import build_resolver, logger, principal_of, raw_error
from activitylog.logic import clock, quota
from activitylog.logic.cache import TtlCache
from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.logic.quota import QuotaWarning
from activitylog.logic.request_ids import with_request_ids
from activitylog.models.auth import Scope
from activitylog.models.env import function_env
from activitylog.models.errors import ConflictError, ForbiddenError, PayloadTooLargeError
from activitylog.models.events import MAX_BODY_BYTES, IngestRequest, IngestResponse
from activitylog.models.settings import TenantSettings

SETTINGS_CACHE_SECONDS = 60  # a settings change reaches ingestion within this time (docs)
IDEMPOTENCY_SECONDS = 24 * 3600
JSON = "application/json"

router = Router()
_settings: TtlCache[TenantSettings] = TtlCache(ttl=SETTINGS_CACHE_SECONDS)
_known_actions: dict[str, set[str]] = {}


@lru_cache(maxsize=1)
def _control() -> ControlTable:
    return ControlTable(function_env().control_table)


@lru_cache(maxsize=1)
def _events() -> DynamoEventStore:
    return DynamoEventStore(function_env().events_table)


def _warn(warning: QuotaWarning) -> None:
    """One email per tenant, month and threshold: only the request that claims it sends it."""
    try:
        if not _control().claim_warning(warning.tenant, warning.month, warning.threshold):
            return
        recipients = _control().get_settings(warning.tenant).logging.notification_emails
        sender = function_env().sender_email
        if recipients and sender:
            SesMailer(sender).send(recipients, *quota.subject_and_body(warning))
        logger.info("quota warning", extra={"threshold": warning.threshold, "recipients": len(recipients)})
    except Exception:  # the events are stored; a lost warning must not fail the request
        logger.exception("quota warning not sent")


class _NotCacheable(Exception):
    """Some events could not be stored: the answer must not be replayed for the Idempotency-Key."""

    def __init__(self, response: dict[str, Any]) -> None:
        super().__init__("partial failure")
        self.response = response


def _run(request: dict[str, Any]) -> IngestResponse:
    tenant = request["tenant"]
    settings = _settings.get(tenant, lambda: _control().get_settings(tenant))
    ports = IngestPorts(
        events=_events(),
        catalogue=_control(),
        known_actions=_known_actions.setdefault(tenant, set()),
        usage=_control(),
        warn=_warn,
    )
    return ingest(request["events"], tenant=tenant, now=clock.now(), settings=settings, ports=ports)


def _run_cacheable(request: dict[str, Any]) -> dict[str, Any]:
    """`_run` for the idempotency layer, which records a JSON-ready answer (never a partial one)."""
    result = _run(request)
    answer = result.answer()
    if result.failed:
        raise _NotCacheable(answer)
    return answer


@lru_cache(maxsize=1)
def _idempotent_run() -> Any:
    """Built on first use: the persistence layer creates a boto3 client."""
    layer = DynamoDBPersistenceLayer(table_name=function_env().idempotency_table)
    config = IdempotencyConfig(
        event_key_jmespath="[tenant, key]",
        payload_validation_jmespath="body_sha256",
        expires_after_seconds=IDEMPOTENCY_SECONDS,
    )
    return config, idempotent_function(
        data_keyword_argument="request", persistence_store=layer, config=config
    )(_run_cacheable)


@router.post(
    "/v1/events",
    summary="Send 1-100 events",
    description="Validates each event on its own; see the per-event results. Scope events:write.",
    responses={200: {"description": "per-event results", "content": {JSON: {"model": IngestResponse}}}},
)
def post_events(
    body: Annotated[IngestRequest, Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)] = None,
) -> Response[str]:
    """Answers with the response serialised here, once: the resolver's own response validation
    (dump, validate again, encode) cost more than validating the events (docs/benchmarks.md)."""
    principal = principal_of(router)
    if not principal.can(Scope.EVENTS_WRITE):
        raise ForbiddenError("this key lacks the events:write scope")
    raw_events = router.current_event.json_body["events"]  # parsed once: json_body is cached
    request = {"tenant": principal.tenant, "events": raw_events}
    try:
        if idempotency_key is None:
            return _answer(_run(request))
        config, run = _idempotent_run()
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


app = build_resolver(router)


def _body_bytes(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    return (
        len(base64.b64decode(body))
        if event.get("isBase64Encoded")
        else len(body.encode("utf-8", "surrogatepass"))
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if _body_bytes(event) > MAX_BODY_BYTES:
        return raw_error(PayloadTooLargeError("the body is larger than 1 MiB"))
    return app.resolve(event, context)
