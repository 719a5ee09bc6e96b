"""The download-token signing key, read from Secrets Manager on first use and kept by its adapter."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.clients import ClientOf


class SigningKey:
    """Call it for the key's bytes (one GetSecretValue per adapter, so per container)."""

    _secrets = ClientOf("secretsmanager")

    def __init__(self, secret_id: str, secretsmanager: Any = None) -> None:
        self._secret_id = secret_id
        self._client = secretsmanager
        self._key: bytes | None = None

    def __call__(self) -> bytes:
        if self._key is None:
            try:
                answer = self._secrets.get_secret_value(SecretId=self._secret_id)
            except ClientError as err:
                raise errors.unavailable(err, "the secret store") from err
            self._key = str(answer["SecretString"]).encode("utf-8")
        return self._key
