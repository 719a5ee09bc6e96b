"""The download-token signing key's versions, read from Secrets Manager.

Rotation (docs/exports.md, "Download links"): a new secret value (`put-secret-value`) becomes
AWSCURRENT and the value before it AWSPREVIOUS. Tokens are signed with the current value and
verified against the current, then the previous one, so links emailed before one rotation keep
working. The composition root keeps what this reads for a short time (`wiring.KEY_CACHE_SECONDS`).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.clients import ClientOf

CURRENT, PREVIOUS = "AWSCURRENT", "AWSPREVIOUS"


class SigningKey:
    """`read(stage)`: one GetSecretValue of that version stage (no caching here)."""

    _secrets = ClientOf("secretsmanager")

    def __init__(self, secret_id: str, secretsmanager: Any = None) -> None:
        self._secret_id = secret_id
        self._client = secretsmanager

    def read(self, stage: str = CURRENT) -> bytes | None:
        """The key's bytes of `stage`; None for AWSPREVIOUS when the secret was never rotated."""
        try:
            answer = self._secrets.get_secret_value(SecretId=self._secret_id, VersionStage=stage)
        except ClientError as err:
            if stage != CURRENT and errors.is_missing(err):
                return None
            raise errors.unavailable(err, "the secret store") from err
        return str(answer["SecretString"]).encode("utf-8")

    def __call__(self) -> bytes:
        """The current key (what signs new tokens)."""
        key = self.read(CURRENT)
        assert key is not None  # a missing current version raises in `read`
        return key
