"""Email addresses as the service accepts them: for headers, so no CR/LF and a plain shape."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

# Deliberately plain (no quoted local parts, no IP literals): it goes into SMTP headers.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def check_email(value: str) -> str:
    if not _ADDRESS.fullmatch(value) or ".." in value:
        raise ValueError("not a valid email address")
    return value.lower() if value.isascii() else value


EmailAddress = Annotated[
    str, Field(max_length=254, examples=["auditor@example.com"]), AfterValidator(check_email)
]
