"""The download-token signing key, read from Secrets Manager on first use and cached per container."""

from __future__ import annotations

from functools import lru_cache

from botocore.exceptions import ClientError

from activitylog.dal.clients import client
from activitylog.models.errors import StorageUnavailableError


@lru_cache(maxsize=4)
def signing_key(secret_id: str) -> bytes:
    try:
        answer = client("secretsmanager").get_secret_value(SecretId=secret_id)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ThrottlingException":
            raise StorageUnavailableError("the secret store is busy, retry later") from err
        raise
    return str(answer["SecretString"]).encode("utf-8")
