"""Email addresses as the service accepts them (export recipients, notification emails).

A deliberately strict address grammar (RFC 5321 dot-atom local part, LDH domain labels, an
alphabetic or punycode top-level label): no quoted local parts, comments, IP literals or spaces,
and so never a CR, LF or anything else that could smuggle a header into a message.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_TLD = re.compile(r"^([A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$")
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def check_email(value: str) -> str:
    if CONTROL_CHARS.search(value):
        raise ValueError("an email address must not contain control characters (CR, LF, ...)")
    if len(value) > 254 or value.count("@") != 1:
        raise ValueError(f"not a valid email address: {value!r}")
    local, domain = value.split("@")
    labels = domain.split(".")
    valid = (
        0 < len(local) <= 64
        and _LOCAL.fullmatch(local) is not None
        and len(labels) >= 2
        and all(_LABEL.fullmatch(label) for label in labels)
        and _TLD.fullmatch(labels[-1]) is not None
    )
    if not valid:
        raise ValueError(f"not a valid email address: {value!r}")
    return value


EmailAddress = Annotated[
    str, Field(max_length=254, examples=["auditor@example.com"]), AfterValidator(check_email)
]
