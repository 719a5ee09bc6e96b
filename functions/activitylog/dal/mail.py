"""Email through SES (API v2): one message with a plain-text and an HTML part."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.clients import ClientOf
from activitylog.models.errors import MailNotSentError


class SesMailer:
    _ses = ClientOf("sesv2")

    def __init__(self, sender: str, ses: Any = None) -> None:
        self._sender = sender
        self._client = ses

    def send(self, to: Sequence[str], subject: str, text: str, html: str) -> None:
        content = {
            "Simple": {
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": text, "Charset": "UTF-8"},
                    "Html": {"Data": html, "Charset": "UTF-8"},
                },
            }
        }
        try:
            self._ses.send_email(
                FromEmailAddress=self._sender, Destination={"ToAddresses": list(to)}, Content=content
            )
        except ClientError as err:
            # Any refusal (MessageRejected, an unverified sender, throttling after botocore's own
            # retries, ...) loses this message: the callers record that, nothing retries it here.
            raise MailNotSentError(
                f"the mail service refused the message ({errors.code(err)}: {errors.message(err)})"
            ) from err
