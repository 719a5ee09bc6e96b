"""POST /v1/viewer-tokens (scope tokens:create), served by the `Admin` function.

`register(router)` adds the route to the router of the function that serves it (routes/admin.py),
so the function, its OpenAPI document and the infra route table stay as they are.
"""
# No `from __future__ import annotations`: Powertools resolves route annotations (Response[...]) at import.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import Router

from activitylog.handlers import auditing, http, wiring
from activitylog.handlers.http import principal_of
from activitylog.handlers.routes.answers import BEARER, answers, ok
from activitylog.logic import audit, clock
from activitylog.logic.viewer_tokens import audit_metadata, mint
from activitylog.models.auth import Scope
from activitylog.models.viewer_tokens import ViewerTokenCreate, ViewerTokenCreated

CREATED_ACTION = "activitylog.viewer_token.created"


def register(router: Router) -> None:
    @router.post(
        "/v1/viewer-tokens",
        summary="Mint a short-lived viewer token (embedding, scoped views)",
        description="Scope tokens:create. The token is shown only in this answer and is used like a key "
        "(`Authorization: Bearer vt_...`) until `expires_at`. Its scopes are a subset of the minting "
        "key's and of events:read, events:read:self, exports:manage; `actor_id` and `target` restrict "
        "every list, count, get and export it makes (404 outside them). A key with an actor_id mints "
        "only tokens of that actor. Recorded as an `activitylog.viewer_token.created` event.",
        operation_id="createViewerToken",
        security=BEARER,
        responses=answers(
            ok(201, "the new token (shown only here)", ViewerTokenCreated),
            403,
            body=True,
            why={
                403: "the key lacks tokens:create, asks for a scope it does not hold, or (a key with "
                "an actor_id) for another actor (`forbidden`)",
                422: "a scope a viewer token cannot have, events:read:self without actor_id, a "
                "ttl_seconds outside 60-86400, or another invalid field (`validation_error`)",
            },
        ),
    )
    @http.requires(Scope.TOKENS_CREATE)
    def post_viewer_token(body: Annotated[ViewerTokenCreate, Body()]) -> Response[ViewerTokenCreated]:
        principal = principal_of(router)
        token, record = mint(principal, wiring.container().viewer_tokens, body, now=clock.now())
        auditing.record(
            principal.tenant, CREATED_ACTION, audit.key_actor(principal), metadata=audit_metadata(record)
        )
        answer = ViewerTokenCreated(
            token=token,
            expires_at=record.expires_at,
            scopes=record.scopes,
            actor_id=record.actor_id,
            target=record.target,
        )
        return Response(status_code=201, content_type="application/json", body=answer)
