from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from activitylog.logic.download_tokens import DownloadGrant, issue, verify
from activitylog.models.errors import GoneError, NotFoundError

KEY = b"k" * 64
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
GRANT = DownloadGrant(
    "acme", "01JD0000000000000000000000", "01JD0000000000000000000001", int(NOW.timestamp()) + 60
)


def test_a_genuine_token_names_its_file() -> None:
    assert verify(KEY, issue(KEY, GRANT), now=NOW) == GRANT


def test_an_expired_token_is_gone() -> None:
    with pytest.raises(GoneError):
        verify(KEY, issue(KEY, GRANT), now=NOW + timedelta(seconds=60))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1],  # truncated signature
        lambda t: t[: len(t) // 2],  # truncated body
        lambda t: t.replace(".", ""),  # no separator
        lambda t: ("B" if t[0] != "B" else "C") + t[1:],  # altered body
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # altered signature
        lambda t: "",
        lambda t: "x" * 5000,
        lambda t: "é." + t.split(".")[1],
    ],
)
def test_altered_or_truncated_tokens_are_not_found(mangle: object) -> None:
    token = issue(KEY, GRANT)
    with pytest.raises(NotFoundError):
        verify(KEY, mangle(token), now=NOW)  # type: ignore[operator]


def test_a_token_signed_with_another_key_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        verify(KEY, issue(b"other key", GRANT), now=NOW)


def test_a_forged_token_for_another_tenant_is_not_found() -> None:
    # Given a genuine token's signature moved onto a body naming another tenant
    body, signature = issue(KEY, GRANT).split(".")
    forged_body = issue(KEY, DownloadGrant("evil", GRANT.export_id, GRANT.run_id, GRANT.expires)).split(".")[
        0
    ]
    with pytest.raises(NotFoundError):
        verify(KEY, f"{forged_body}.{signature}", now=NOW)
    # And an expired token cannot be extended by editing its expiry
    longer = issue(KEY, DownloadGrant(GRANT.tenant, GRANT.export_id, GRANT.run_id, GRANT.expires + 10**6))
    with pytest.raises(NotFoundError):
        verify(KEY, f"{longer.split('.')[0]}.{signature}", now=NOW)
    assert body != forged_body


def _spellings(token: str) -> list[str]:
    """Other encodings of the same bytes that a lenient base64 decoder accepts."""
    body, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 32 signature bytes = 43 characters; the last one carries 2 unused bits: 3 other spellings
    last = alphabet.index(signature[-1])
    same_bytes = [signature[:-1] + alphabet[(last & ~0b11) | bits] for bits in range(4)]
    found = [f"{body}.{s}" for s in same_bytes if s != signature]
    found += [f"{body}.{signature}==", f"{body}=.{signature}", f"{body}.{signature}="]
    standard = signature.replace("-", "+").replace("_", "/")
    if standard != signature:
        found.append(f"{body}.{standard}")
    found.append(f"{body}.{signature[:10]}\n{signature[10:]}")
    return found


def test_only_the_canonical_spelling_of_a_token_works() -> None:
    # Given a genuine token (re-issued until its signature has a - or _ to respell with + or /)
    grants = (
        DownloadGrant(GRANT.tenant, GRANT.export_id, f"01JD00000000000000000000{n:02d}", GRANT.expires)
        for n in range(100)
    )
    token = next(t for t in (issue(KEY, g) for g in grants) if {"-", "_"} & set(t.split(".")[1]))
    assert verify(KEY, token, now=NOW)
    # Then every other spelling of its bytes is refused as not ours
    spellings = _spellings(token)
    assert len(spellings) >= 8
    for spelling in spellings:
        with pytest.raises(NotFoundError):
            verify(KEY, spelling, now=NOW)
