"""CORS as the deployed API answers it (API.md "Console", Embedding): any origin, bearer credentials
in a header and never cookies, so `Access-Control-Allow-Origin: *` and no `Allow-Credentials`.

API Gateway answers a preflight (`OPTIONS` on any route's path) from a MOCK method and adds the
headers below to each of its own refusals (infra/constructs/api.py, gateway_responses.py); the
functions add them to their own answers (Powertools' CORSConfig in handlers/http.py). The local
gateway does the first two here; tests/integration/test_cors.py checks all three against the
synthesized template.
"""

from __future__ import annotations

from collections.abc import Iterable

ALLOW_ORIGIN = "*"
ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"
# The response headers of the contract a script may read (CORS-safelisted ones aside).
EXPOSE_HEADERS = "Allow, Location, Retry-After, WWW-Authenticate"
MAX_AGE = "7200"  # seconds; Chromium caps a preflight's cache at 2 hours

# On every answer of the gateway itself (refusals), as API Gateway's gateway responses carry them.
GATEWAY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Access-Control-Allow-Origin", ALLOW_ORIGIN),
    ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
)


def methods(defined: Iterable[str]) -> list[str]:
    """A resource's methods as `Allow` lists them: its routes' plus the preflight's OPTIONS."""
    return sorted({*defined, "OPTIONS"})


def preflight_headers(defined: Iterable[str]) -> list[tuple[str, str]]:
    """The 204 answer to `OPTIONS` on a route's path (no key needed, no function runs)."""
    allow = ", ".join(methods(defined))
    return [
        ("Access-Control-Allow-Origin", ALLOW_ORIGIN),
        ("Access-Control-Allow-Methods", allow),
        ("Access-Control-Allow-Headers", ALLOW_HEADERS),
        ("Access-Control-Max-Age", MAX_AGE),
        ("Allow", allow),
    ]
