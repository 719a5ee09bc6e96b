"""Writes tests/corpus/hostile_payloads.jsonl, the corpus of tests/integration/test_hostile_corpus.py.

Each line: {"name", "method", "path", "body_b64" (raw bytes, so invalid UTF-8 survives), "expect"}.
`expect` is "4xx" (an error envelope with a 4xx status) or "rejected" (POST /v1/events answers 200
and rejects every event one by one: the documented per-event contract). Run
`python tests/corpus/make_hostile_corpus.py` after editing; the file is checked in, so a change of
the corpus shows in review.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("hostile_payloads.jsonl")
GOOD = {"action": "user.login", "actor": {"id": "u1"}}

INJECTED_EMAILS = [
    "a@example.com\r\nBcc: victim@example.com",
    "a@example.com\nBcc: victim@example.com",
    "a@example.com%0d%0aBcc:victim@example.com",
    "a@example.com\rCc: x@example.com",
    "a@example.com, b@example.com",
    "a@example.com;b@example.com",
    '"a\r\nb"@example.com',
    "<a@example.com>\r\nSubject: hi",
    "a@example.com\x00",
    "=cmd|' /C calc'!A0@example.com",
    "@example.com",
    "a@",
    "a" * 300 + "@example.com",
    "a@[127.0.0.1]",
]
FORMULAS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(A1)",
    '=HYPERLINK("http://x")',
    "=cmd|' /C calc'!A0",
    "\t=1",
    "\r=1",
]
TRAVERSALS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2f",
    "..\\..\\windows",
    "....//....//",
    "%00",
    "a%00b",
    "%252e%252e%252f",
    "x%23y",
    "%2F",
]
WRONG_TYPES: list[Any] = [None, True, 0, -1, 1.5, 10**30, "", "x", [], [1], {}, {"a": 1}]


def enc(value: Any) -> bytes:
    return json.dumps(value).encode()


def entry(name: str, method: str, path: str, body: bytes | None, expect: str = "4xx") -> dict[str, Any]:
    return {
        "name": name,
        "method": method,
        "path": path,
        "body_b64": None if body is None else base64.b64encode(body).decode(),
        "expect": expect,
    }


def events_envelope() -> list[dict[str, Any]]:
    p = "/v1/events"
    raw = [
        ("not json", b"{nope"),
        ("truncated json", b'{"events": [{"action": "user.login"'),
        ("json array", b"[]"),
        ("json array of a valid envelope", b"[" + enc({"events": [GOOD]}) + b"]"),
        (
            "json array of two envelopes",
            b"[" + enc({"events": [GOOD]}) + b"," + enc({"events": [GOOD]}) + b"]",
        ),
        ("json null", b"null"),
        ("json number", b"1e999999"),
        ("json string", b'"events"'),
        ("no events key", b'{"items": []}'),
        ("events null", b'{"events": null}'),
        ("events object", b'{"events": {"0": {}}}'),
        ("events string", b'{"events": "x"}'),
        ("zero events", b'{"events": []}'),
        ("101 events", enc({"events": [GOOD] * 101})),
        ("unknown envelope field", enc({"events": [GOOD], "tenant": "other"})),
        ("deep nesting arrays", b'{"events": ' + b"[" * 20000 + b"]" * 20000 + b"}"),
        ("deep nesting objects", b'{"events": [' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"]}"),
        ("invalid utf-8 ff fe", b'{"events": [{"action": "user.login", "actor": {"id": "\xff\xfe"}}]}'),
        ("invalid utf-8 overlong", b'{"events": [{"action": "user.login", "actor": {"id": "\xc0\xaf"}}]}'),
        ("invalid utf-8 cesu surrogate", b'{"events": [{"action": "a", "actor": {"id": "\xed\xa0\x80"}}]}'),
        ("invalid utf-8 truncated", b'{"events": [{"action": "a", "actor": {"id": "\xe2\x82"}}]}'),
        ("latin-1 body", '{"events": [{"action": "a", "actor": {"id": "Zoë"}}]}'.encode("latin-1")),
        ("utf-16 body", enc({"events": [GOOD]}).decode().encode("utf-16")),
        ("nul byte raw", b'{"events": [\x00]}'),
        ("trailing garbage", enc({"events": [GOOD]}) + b"garbage"),
        ("NaN", b'{"events": NaN}'),
        ("duplicate keys", b'{"events": [], "events": []}'),
        ("bom then empty", b"\xef\xbb\xbf"),
    ]
    return [entry(f"events envelope: {n}", "POST", p, b) for n, b in raw]


def bad_events() -> list[dict[str, Any]]:
    """One hostile event per batch: rejected one by one (200), nothing stored."""
    cases: list[tuple[str, Any]] = [
        ("event not an object", "x"),
        ("event null", None),
        ("event list", [GOOD]),
        ("missing action", {"actor": {"id": "u"}}),
        ("missing actor", {"action": "user.login"}),
        ("lone surrogate in description", {**GOOD, "description": "\ud800"}),
        ("lone low surrogate in actor id", {**GOOD, "actor": {"id": "\udfff"}}),
        ("lone surrogate in metadata key", {**GOOD, "metadata": {"\ud83d": "x"}}),
        ("lone surrogate in target id", {**GOOD, "targets": [{"type": "a", "id": "\ud800x"}]}),
        ("nul in actor id", {**GOOD, "actor": {"id": "a\x00b"}}),
        # issue 18: times at the edge of the calendar (an OverflowError once), numbers as times
        ("occurred_at past year 9999 in UTC", {**GOOD, "occurred_at": "9999-12-31T23:59:59-01:00"}),
        ("occurred_at before year 1 in UTC", {**GOOD, "occurred_at": "0001-01-01T00:00:00+01:00"}),
        ("occurred_at a number", {**GOOD, "occurred_at": 1796207427}),
        ("occurred_at a numeric string", {**GOOD, "occurred_at": "1796207427"}),
        ("occurred_at a date only", {**GOOD, "occurred_at": "2026-11-23"}),
        ("occurred_at without offset", {**GOOD, "occurred_at": "2026-11-23T10:00:00"}),
        # issue 18: IPv6 zone ids carry any text
        ("ip zone with CRLF and markup", {**GOOD, "context": {"ip": "fe80::1%\r\n<script>x</script>"}}),
        ("ip zone huge", {**GOOD, "context": {"ip": "fe80::1%" + "z" * 5000}}),
        ("ip zone plain", {**GOOD, "context": {"ip": "fe80::1%eth0"}}),
        ("nul in description", {**GOOD, "description": "\x00"}),
        ("nul in metadata value", {**GOOD, "metadata": {"k": "v\x00"}}),
        ("nul in target name", {**GOOD, "targets": [{"type": "a", "id": "1", "name": "\x00"}]}),
        ("huge int metadata", {**GOOD, "metadata": {"n": 10**40}}),
        ("huge negative metadata", {**GOOD, "metadata": {"n": -(10**40)}}),
        ("nested metadata", {**GOOD, "metadata": {"n": {"a": {"b": 1}}}}),
        ("list metadata", {**GOOD, "metadata": {"n": [1, 2]}}),
        ("51 metadata keys", {**GOOD, "metadata": {f"k{i}": i for i in range(51)}}),
        ("long metadata key", {**GOOD, "metadata": {"k" * 41: 1}}),
        ("long metadata value", {**GOOD, "metadata": {"k": "v" * 501}}),
        ("11 targets", {**GOOD, "targets": [{"type": "a", "id": str(i)} for i in range(11)]}),
        ("51 changes", {**GOOD, "changes": [{"field": "f", "before": 1, "after": 2}] * 51}),
        ("unknown field", {**GOOD, "severity": "high"}),
        ("tenant field", {**GOOD, "tenant": "someone-else"}),
        ("unknown actor field", {**GOOD, "actor": {"id": "u", "tenant": "x"}}),
        ("reserved action", {**GOOD, "action": "activitylog.key_created"}),
        ("far future", {**GOOD, "occurred_at": "2999-01-01T00:00:00Z"}),
        ("ancient", {**GOOD, "occurred_at": "1970-01-01T00:00:00Z"}),
        ("no offset", {**GOOD, "occurred_at": "2026-11-01T00:00:00"}),
        ("not a time", {**GOOD, "occurred_at": "yesterday"}),
        ("year 10000", {**GOOD, "occurred_at": "10000-01-01T00:00:00Z"}),
        ("bad ip", {**GOOD, "context": {"ip": "1.2.3"}}),
        ("ip with port", {**GOOD, "context": {"ip": "1.2.3.4:80"}}),
        ("ip injection", {**GOOD, "context": {"ip": "1.2.3.4\r\nX: y"}}),
        ("long user agent", {**GOOD, "context": {"user_agent": "u" * 513}}),
        ("long description", {**GOOD, "description": "d" * 1001}),
        ("outcome other", {**GOOD, "outcome": "maybe"}),
        ("empty actor id", {**GOOD, "actor": {"id": ""}}),
        ("long actor id", {**GOOD, "actor": {"id": "a" * 257}}),
        ("Infinity metadata", {**GOOD, "metadata": {"n": float("inf")}}),
        (
            "event over 32 KiB",
            {**GOOD, "changes": [{"field": "f", "before": "x" * 490, "after": "y" * 490}] * 50},
        ),
    ]
    cases += [(f"path traversal id {t!r}", {**GOOD, "id": t}) for t in TRAVERSALS]
    cases += [
        (f"id with slash {i}", {**GOOD, "id": v}) for i, v in enumerate(["a/b", "a#b", "a b", "é", "x" * 129])
    ]
    cases += [(f"formula action {f!r}", {**GOOD, "action": f}) for f in FORMULAS]
    cases += [(f"formula id {f!r}", {**GOOD, "id": f}) for f in FORMULAS]
    cases += [(f"formula ip {f!r}", {**GOOD, "context": {"ip": f}}) for f in FORMULAS[:4]]
    cases += [(f"formula outcome {f!r}", {**GOOD, "outcome": f}) for f in FORMULAS[:3]]
    for field in (
        "action",
        "actor",
        "targets",
        "context",
        "changes",
        "description",
        "outcome",
        "metadata",
        "id",
    ):
        for i, wrong in enumerate(WRONG_TYPES):
            if field == "description" and wrong is None:
                continue  # null is a valid "no description"
            if field in ("targets", "changes") and wrong == []:
                continue
            if field in ("context", "metadata") and wrong == {}:
                continue
            if field == "metadata" and wrong == {"a": 1}:
                continue
            if field == "id" and wrong in (None, "x"):
                continue
            if field == "description" and wrong in ("", "x"):
                continue
            if field == "action" and wrong == "x":
                continue
            if field == "outcome" and wrong is None:
                continue
            if field == "context" and isinstance(wrong, dict):
                continue
            cases.append((f"wrong type {field}={i}", {**GOOD, field: wrong}))
    return [entry(f"event: {n}", "POST", "/v1/events", enc({"events": [e]}), "rejected") for n, e in cases]


def exports() -> list[dict[str, Any]]:
    base = {"name": "x", "format": "csv"}
    cases: list[tuple[str, Any]] = [
        (f"recipient {e!r}", {**base, "recipients": [e]}) for e in INJECTED_EMAILS
    ]
    cases += [
        ("name with CRLF", {**base, "name": "a\r\nBcc: x@y.z"}),
        ("name with nul", {**base, "name": "a\x00"}),
        ("name with right-to-left override", {**base, "name": "invoice\u202efdp.exe"}),
        ("name with bidi isolate", {**base, "name": "a\u2066b\u2069"}),
        ("filters from past year 9999", {**base, "filters": {"from": "9999-12-31T23:59:59-01:00"}}),
        ("filters to a number", {**base, "filters": {"to": 1796207427}}),
        ("name lone surrogate", {**base, "name": "\ud800"}),
        ("name empty", {**base, "name": ""}),
        ("name huge", {**base, "name": "n" * 10000}),
        ("format xlsx", {**base, "format": "xlsx"}),
        ("format formula", {**base, "format": "=1+1"}),
        ("compression zip", {**base, "compression": "zip"}),
        ("51 recipients", {**base, "recipients": [f"a{i}@example.com" for i in range(51)]}),
        ("filters action formula", {**base, "filters": {"actions": ["=1+1"]}}),
        (
            "filters from after to",
            {**base, "filters": {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}},
        ),
        ("filters target_id alone", {**base, "filters": {"target_id": "7"}}),
        ("filters unknown", {**base, "filters": {"tenant": "other"}}),
        ("filters q nul", {**base, "filters": {"q": "a\x00"}}),
        ("unknown field tenant", {**base, "tenant": "other"}),
        ("missing format", {"name": "x"}),
        ("body list", [base]),
    ]
    cases += [
        (f"wrong type name={i}", {**base, "name": w}) for i, w in enumerate(WRONG_TYPES) if w not in ("x",)
    ]
    cases += [
        (f"wrong type recipients={i}", {**base, "recipients": w})
        for i, w in enumerate(WRONG_TYPES)
        if w != []
    ]
    return [entry(f"exports: {n}", "POST", "/v1/exports", enc(b)) for n, b in cases]


def settings() -> list[dict[str, Any]]:
    cases: list[tuple[str, Any]] = [
        (f"notification email {e!r}", {"notification_emails": [e]}) for e in INJECTED_EMAILS
    ]
    cases += [
        ("retention 0", {"retention_days": 0}),
        ("retention huge", {"retention_days": 10**20}),
        ("retention float", {"retention_days": 1.5}),
        ("include formula", {"actions": {"include": ["=1+1"]}}),
        ("include traversal", {"actions": {"include": ["../x"]}}),
        ("unknown field", {"monthly_quota": 10**9}),
        ("shard_count", {"shard_count": 64}),
        ("nul in metadata key pattern", {"metadata_keys": {"include": ["a\x00"]}}),
        ("body list", [{"retention_days": 7}]),
    ]
    return [entry(f"settings: {n}", "PUT", "/v1/settings", enc(b)) for n, b in cases]


def api_keys() -> list[dict[str, Any]]:
    cases: list[tuple[str, Any]] = [
        ("unknown scope", {"name": "k", "scopes": ["admin:*"]}),
        ("scope star", {"name": "k", "scopes": ["*"]}),
        ("scopes string", {"name": "k", "scopes": "events:read"}),
        ("name nul", {"name": "a\x00", "scopes": ["events:read"]}),
        ("tenant field", {"name": "k", "scopes": ["events:read"], "tenant": "other"}),
        ("actor traversal", {"name": "k", "scopes": ["events:read:self"], "actor_id": "\x00"}),
        ("empty object", {}),
    ]
    return [entry(f"api-keys: {n}", "POST", "/v1/api-keys", enc(b)) for n, b in cases]


def viewer_tokens() -> list[dict[str, Any]]:
    """POST /v1/viewer-tokens (the corpus' key holds tokens:create, so each body reaches validation)."""
    ok = {"scopes": ["events:read"]}
    cases: list[tuple[str, Any]] = [
        ("scope outside the token set", {"scopes": ["events:write"]}),
        ("scope tokens:create", {"scopes": ["tokens:create"]}),
        ("scope keys:manage", {"scopes": ["events:read", "keys:manage"]}),
        ("scope star", {"scopes": ["*"]}),
        ("scopes empty", {"scopes": []}),
        ("scopes string", {"scopes": "events:read"}),
        ("read self without actor", {"scopes": ["events:read:self"]}),
        ("ttl 59", {**ok, "ttl_seconds": 59}),
        ("ttl 86401", {**ok, "ttl_seconds": 86_401}),
        ("ttl huge int", {**ok, "ttl_seconds": 10**30}),
        ("ttl negative", {**ok, "ttl_seconds": -900}),
        ("ttl float", {**ok, "ttl_seconds": 900.5}),
        ("ttl string", {**ok, "ttl_seconds": "900"}),
        ("ttl bool", {**ok, "ttl_seconds": True}),
        ("actor empty", {**ok, "actor_id": ""}),
        ("actor too long", {**ok, "actor_id": "a" * 257}),
        ("actor nul", {**ok, "actor_id": "u\x00"}),
        ("actor lone surrogate", {**ok, "actor_id": "\ud800"}),
        ("target without id", {**ok, "target": {"type": "asset"}}),
        ("target string", {**ok, "target": "asset:7"}),
        ("target list", {**ok, "target": [{"type": "asset", "id": "7"}]}),
        ("target extra field", {**ok, "target": {"type": "asset", "id": "7", "tenant": "other"}}),
        ("target id nul", {**ok, "target": {"type": "asset", "id": "\x00"}}),
        ("target type lone surrogate", {**ok, "target": {"type": "\udfff", "id": "7"}}),
        ("label empty", {**ok, "label": ""}),
        ("label too long", {**ok, "label": "x" * 201}),
        ("label nul", {**ok, "label": "a\x00b"}),
        ("tenant field", {**ok, "tenant": "other"}),
        ("token field", {**ok, "token": "vt_chosen"}),
        ("expires_at field", {**ok, "expires_at": "9999-12-31T00:00:00Z"}),
        ("empty object", {}),
    ]
    out = [entry(f"viewer-tokens: {n}", "POST", "/v1/viewer-tokens", enc(b)) for n, b in cases]
    for i, wrong in enumerate(WRONG_TYPES):
        out.append(
            entry(
                f"viewer-tokens: wrong type scopes={i}", "POST", "/v1/viewer-tokens", enc({"scopes": wrong})
            )
        )
    out.append(entry("viewer-tokens: deep nesting", "POST", "/v1/viewer-tokens", b'{"scopes":' + b"[" * 5000))
    out.append(
        entry(
            "viewer-tokens: invalid utf-8",
            "POST",
            "/v1/viewer-tokens",
            b'{"scopes":["events:read"],"label":"\xff"}',
        )
    )
    return out


def queries_and_paths() -> list[dict[str, Any]]:
    out = []
    queries = [
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=1e3",
        "limit=99999999999999999999",
        "limit=%00",
        "order=random",
        "outcome=%3D1%2B1",
        "action=%3D1%2B1",
        "action=..%2F..",
        "action=a%00",
        "from=yesterday",
        "from=2026-11-01T00:00:00",
        "to=2026-13-01T00:00:00Z",
        "from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
        "target_id=7",
        "q=a%00b",
        "cursor=%25%25%25",
        "cursor=eyJ2IjoxfQ",
        "cursor=" + "A" * 5000,
        "cursor=..%2F..%2F",
        "limit=ten",
        "from=9999-12-31T23:59:59-01:00",
        "to=0001-01-01T00:00:00%2B01:00",
        "from=1796207427",
    ]
    for q in queries:
        out.append(entry(f"list query {q[:40]}", "GET", f"/v1/events?{q}", None))
        if not q.startswith(("limit=", "order=")):  # count takes neither: ignored like any unknown parameter
            out.append(entry(f"count query {q[:40]}", "GET", f"/v1/events/count?{q}", None))
    for t in [t for t in TRAVERSALS if t != "%2F"]:  # /v1/events/%2F is /v1/events/ after decoding
        out.append(entry(f"event id path {t}", "GET", f"/v1/events/{t}", None))
        out.append(entry(f"export id path {t}", "GET", f"/v1/exports/{t}", None))
        out.append(entry(f"run path {t}", "GET", f"/v1/exports/{t}/runs/{t}", None))
        out.append(entry(f"download token path {t}", "GET", f"/v1/downloads/{t}", None))
        out.append(entry(f"delete key path {t}", "DELETE", f"/v1/api-keys/{t}", None))
        out.append(entry(f"delete export path {t}", "DELETE", f"/v1/exports/{t}", None))
    return out


def destinations() -> list[dict[str, Any]]:
    """/v1/destinations (the corpus' key holds streams:manage, so each body reaches validation):
    SSRF forms of webhook URLs, other tenants' external ids, traversal, bad types and ranges."""
    role = "arn:aws:iam::123456789012:role/writer"

    def hook(url: Any) -> dict[str, Any]:
        return {"name": "h", "type": "webhook", "url": url}

    urls = [
        "http://siem.example.com/hook",  # not https
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:a9fe:a9fe]/",
        "https://[fd00::1]/",
        "https://[fe80::1%25eth0]/",
        "https://0.0.0.0/",
        "https://[::]/",
        "https://10.0.0.1/",
        "https://192.168.1.1/",
        "https://172.16.0.1/",
        "https://100.64.0.1/",
        "https://224.0.0.1/",
        "https://2130706433/",
        "https://0x7f000001/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://user:pass@siem.example.com/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:25/",
        "https://",
        "https:///nohost",
        "https://siem.example.com\x00.evil/",
        "https://siem.example.com /x",
        "https://" + "a" * 2100 + ".example.com/",
        "http://127.0.0.1/no-port",
        "",
    ]
    cases: list[tuple[str, Any]] = [(f"url {i} {u[:40]}", hook(u)) for i, u in enumerate(urls)]
    s3 = {"name": "s", "type": "s3", "bucket": "acme-logs", "role_arn": role}
    cases += [
        ("s3 external id of another tenant", {**s3, "external_id": "activitylog:other"}),
        ("s3 external id without prefix", {**s3, "external_id": "other"}),
        ("s3 external id missing", s3),
        ("s3 prefix traversal", {**s3, "external_id": "activitylog:x", "prefix": "../../other"}),
        ("s3 prefix nul", {**s3, "external_id": "activitylog:x", "prefix": "a\x00b"}),
        ("s3 bucket uppercase", {**s3, "bucket": "ACME", "external_id": "activitylog:x"}),
        ("s3 bucket ip-like traversal", {**s3, "bucket": "../x", "external_id": "activitylog:x"}),
        ("s3 role not an arn", {**s3, "role_arn": "writer", "external_id": "activitylog:x"}),
        ("s3 with a url", {**s3, "external_id": "activitylog:x", "url": "https://a.example"}),
        ("eventbridge bus not an arn",
         {"name": "e", "type": "eventbridge", "event_bus_arn": "bus", "role_arn": role}),
        ("eventbridge without role", {"name": "e", "type": "eventbridge",
                                      "event_bus_arn": "arn:aws:events:eu-west-1:123456789012:event-bus/b"}),
        ("type unknown", {"name": "x", "type": "sns", "url": "https://a.example"}),
        ("type missing", {"name": "x", "url": "https://a.example"}),
        ("name empty", {**hook("https://10.0.0.1/"), "name": ""}),
        ("name too long", {**hook("https://10.0.0.1/"), "name": "n" * 201}),
        ("name bidi override", {**hook("https://10.0.0.1/"), "name": "a\u202eb"}),
        ("filters with from", {**hook("https://10.0.0.1/"), "filters": {"from": "2026-01-01T00:00:00Z"}}),
        ("filters unknown field", {**hook("https://10.0.0.1/"), "filters": {"tenant": "other"}}),
        ("filters action pattern", {**hook("https://10.0.0.1/"), "filters": {"actions": ["a*b"]}}),
        ("tenant field", {**hook("https://10.0.0.1/"), "tenant": "other"}),
        ("id field", {**hook("https://10.0.0.1/"), "id": "01AAAAAAAAAAAAAAAAAAAAAAAA"}),
        ("secret field", {**hook("https://10.0.0.1/"), "secret": "whsec_chosen"}),
        ("state field", {**hook("https://10.0.0.1/"), "state": "active"}),
        ("enabled string", {**hook("https://10.0.0.1/"), "enabled": "yes"}),
        ("empty object", {}),
    ]  # fmt: skip
    out = [entry(f"destinations: {n}", "POST", "/v1/destinations", enc(b)) for n, b in cases]
    for i, wrong in enumerate(WRONG_TYPES):
        out.append(entry(f"destinations: wrong type url={i}", "POST", "/v1/destinations", enc(hook(wrong))))
    out.append(entry("destinations: deep nesting", "POST", "/v1/destinations", b'{"filters":' + b"[" * 5000))
    out.append(
        entry("destinations: invalid utf-8", "POST", "/v1/destinations", b'{"name":"\xff","type":"webhook"}')
    )
    missing = "01AAAAAAAAAAAAAAAAAAAAAAAA"  # a well-formed id no tenant has
    replays = [
        ("from after to", {"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}),
        ("from equals to", {"from": "2026-12-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}),
        ("no to", {"from": "2026-12-01T00:00:00Z"}),
        ("not a time", {"from": "yesterday", "to": "today"}),
    ]
    for n, b in replays:
        out.append(entry(f"destinations: replay {n}", "POST", f"/v1/destinations/{missing}/replays", enc(b)))
    out.append(entry("destinations: put unknown", "PUT", f"/v1/destinations/{missing}", enc({"name": "x"})))
    out.append(entry("destinations: put type", "PUT", f"/v1/destinations/{missing}", enc({"type": "s3"})))
    for t in [t for t in TRAVERSALS if t != "%2F"]:
        out.append(entry(f"destination path {t}", "GET", f"/v1/destinations/{t}", None))
        out.append(entry(f"destination delete path {t}", "DELETE", f"/v1/destinations/{t}", None))
        out.append(entry(f"destination test path {t}", "POST", f"/v1/destinations/{t}/test", None))
        out.append(entry(f"destination deliveries path {t}", "GET", f"/v1/destinations/{t}/deliveries", None))
        out.append(
            entry(
                f"delivery retry path {t}", "POST", f"/v1/destinations/{missing}/deliveries/{t}/retry", None
            )
        )
        out.append(entry(f"replay path {t}", "GET", f"/v1/destinations/{missing}/replays/{t}", None))
    for q in ("limit=0", "limit=201", "cursor=%25%25", "cursor=eyJ2IjoxfQ"):
        out.append(entry(f"deliveries query {q}", "GET", f"/v1/destinations/{missing}/deliveries?{q}", None))
    return out


def alerts() -> list[dict[str, Any]]:
    """/v1/alerts (the corpus' key holds alerts:manage): thresholds, windows and cooldowns out of
    range or not durations, other tenants' destinations, recipients, filters with a range, fields
    the service owns, previews over bad ranges, traversal."""
    good = {"name": "a", "threshold": {"count": 3, "window": "PT10M"}}
    missing = "01AAAAAAAAAAAAAAAAAAAAAAAA"
    cases: list[tuple[str, Any]] = [
        ("count 0", {**good, "threshold": {"count": 0, "window": "PT10M"}}),
        ("count 1001", {**good, "threshold": {"count": 1001, "window": "PT10M"}}),
        ("count huge", {**good, "threshold": {"count": 10**40, "window": "PT10M"}}),
        ("count string", {**good, "threshold": {"count": "3", "window": "PT10M"}}),
        ("count float", {**good, "threshold": {"count": 2.5, "window": "PT10M"}}),
        ("window too short", {**good, "threshold": {"count": 3, "window": "PT59S"}}),
        ("window too long", {**good, "threshold": {"count": 3, "window": "P2D"}}),
        ("window months", {**good, "threshold": {"count": 3, "window": "P1M"}}),
        ("window negative", {**good, "threshold": {"count": 3, "window": "-PT10M"}}),
        ("window not a duration", {**good, "threshold": {"count": 3, "window": "10 minutes"}}),
        ("window huge", {**good, "threshold": {"count": 3, "window": "PT" + "9" * 400 + "S"}}),
        ("threshold missing", {"name": "a"}),
        ("cooldown too long", {**good, "cooldown": "P8D"}),
        ("cooldown negative", {**good, "cooldown": "-PT1H"}),
        ("group_by unknown", {**good, "group_by": "tenant"}),
        ("recipients 51", {**good, "recipients": [f"a{i}@example.com" for i in range(51)]}),
        ("recipient header injection", {**good, "recipients": ["a@example.com\r\nBcc: b@example.com"]}),
        ("recipient not an address", {**good, "recipients": ["not-an-address"]}),
        ("destination of nobody", {**good, "destination_ids": [missing]}),
        ("destination traversal", {**good, "destination_ids": ["../x"]}),
        ("destinations 11", {**good, "destination_ids": [f"d{i}" for i in range(11)]}),
        ("filters with from", {**good, "filters": {"from": "2026-01-01T00:00:00Z"}}),
        ("filters unknown field", {**good, "filters": {"tenant": "other"}}),
        ("filters target half", {**good, "filters": {"target_type": "asset"}}),
        ("name empty", {**good, "name": ""}),
        ("name bidi override", {**good, "name": "a\u202eb"}),
        ("tenant field", {**good, "tenant": "other"}),
        ("id field", {**good, "id": missing}),
        ("last_fired_at field", {**good, "last_fired_at": "2026-01-01T00:00:00Z"}),
        ("enabled string", {**good, "enabled": "yes"}),
        ("empty object", {}),
        ("array body", [good]),
    ]
    out = [entry(f"alerts: {n}", "POST", "/v1/alerts", enc(b)) for n, b in cases]
    out.append(entry("alerts: deep nesting", "POST", "/v1/alerts", b'{"filters":' + b"[" * 5000))
    out.append(entry("alerts: invalid utf-8", "POST", "/v1/alerts", b'{"name":"\xff"}'))
    previews: list[tuple[str, Any]] = [
        ("from after to", {"alert": good, "from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}),
        ("over 90 days", {"alert": good, "from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}),
        ("no alert", {"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}),
        ("bad alert", {"alert": {"name": "a"}, "from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}),
        ("not a time", {"alert": good, "from": "yesterday", "to": "today"}),
    ]
    for n, b in previews:
        out.append(entry(f"alerts: preview {n}", "POST", "/v1/alerts/preview", enc(b)))
    for q in ("cursor=%25%25", "cursor=eyJ2IjoxfQ", "cursor=" + "A" * 3000):
        body = {"alert": good, "from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}
        out.append(entry(f"alerts: preview query {q[:30]}", "POST", f"/v1/alerts/preview?{q}", enc(body)))
    out.append(entry("alerts: put unknown", "PUT", f"/v1/alerts/{missing}", enc({"name": "x"})))
    out.append(entry("alerts: put null name", "PUT", f"/v1/alerts/{missing}", enc({"name": None})))
    for t in [t for t in TRAVERSALS if t != "%2F"]:
        out.append(entry(f"alert path {t}", "GET", f"/v1/alerts/{t}", None))
        out.append(entry(f"alert delete path {t}", "DELETE", f"/v1/alerts/{t}", None))
        out.append(entry(f"alert firings path {t}", "GET", f"/v1/alerts/{t}/firings", None))
    for q in ("limit=0", "limit=201", "cursor=%25%25", "cursor=eyJ2IjoxfQ"):
        out.append(entry(f"firings query {q}", "GET", f"/v1/alerts/{missing}/firings?{q}", None))
    return out


def reports() -> list[dict[str, Any]]:
    """/v1/reports/activity and /heatmap (the corpus' key holds events:read): zones, intervals,
    groupings and ranges out of bounds, and the events' own hostile filters."""
    queries = [
        "tz=Mars%2FOlympus",
        "tz=..%2F..%2Fetc%2Fpasswd",
        "tz=%2Fetc%2Flocaltime",
        "tz=UTC%00",
        "tz=%20UTC",
        "tz=" + "A" * 65,
        "tz=",
        "interval=month",
        "interval=HOUR",
        "group_by=colour",
        "group_by=metadata.",
        "group_by=metadata.%00",
        "group_by=metadata." + "k" * 41,
        "group_by=metadata.a%0Ab",
        "top=0",
        "top=101",
        "top=ten",
        "top=1e2",
        "interval=hour&from=2000-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "interval=day&from=0001-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "interval=week&from=9999-12-01T00:00:00Z&to=9999-12-31T00:00:00Z",
        "from=2999-01-01T00:00:00Z",
        "to=0001-01-05T00:00:00Z",
        "limit=10",
        "cursor=abc",
        "order=asc",
        "action=%3D1%2B1",
        "from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
        "target_id=7",
        "q=a%00b",
    ]
    out = []
    for q in queries:
        out.append(entry(f"reports: activity {q[:50]}", "GET", f"/v1/reports/activity?{q}", None))
        if not q.startswith(("group_by", "top", "interval=month", "interval=HOUR")):
            out.append(entry(f"reports: heatmap {q[:50]}", "GET", f"/v1/reports/heatmap?{q}", None))
    return out


def main() -> None:
    corpus = events_envelope() + bad_events() + exports() + settings() + api_keys() + queries_and_paths()
    corpus += viewer_tokens() + destinations() + alerts() + reports()
    names = [c["name"] for c in corpus]
    assert len(names) == len(set(names)), "corpus names must be unique"
    OUT.write_text("".join(json.dumps(c, ensure_ascii=True) + "\n" for c in corpus))
    print(f"{len(corpus)} payloads -> {OUT}")


if __name__ == "__main__":
    main()
