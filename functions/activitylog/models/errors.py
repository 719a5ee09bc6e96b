"""Domain errors. The HTTP mapping lives in one place: activitylog.handlers.http.

For Step Functions tasks the exception class name is the error name that Retry/Catch match on,
so these names are part of the contract: keep them stable.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ServiceError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class BadRequestError(ServiceError):
    status = 400
    code = "bad_request"


class InvalidInputError(ServiceError):
    status = 422
    code = "validation_error"


class DestinationNotAllowedError(ServiceError):
    """A webhook URL whose host is, or resolves to, an address the service never connects to."""

    status = 422
    code = "destination_not_allowed"


class UnauthorizedError(ServiceError):
    status = 401
    code = "unauthorized"


class ForbiddenError(ServiceError):
    status = 403
    code = "forbidden"


class NotFoundError(ServiceError):
    status = 404
    code = "not_found"


class ConflictError(ServiceError):
    status = 409
    code = "conflict"


class GoneError(ServiceError):
    status = 410
    code = "gone"


class PayloadTooLargeError(ServiceError):
    status = 413
    code = "payload_too_large"


class QuotaExceededError(ServiceError):
    status = 429
    code = "quota_exceeded"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StorageUnavailableError(ServiceError):
    """The data store kept refusing (throttling) after retries: the client may retry."""

    status = 503
    code = "unavailable"


class TooManyRowsForPdfError(ServiceError):
    """A PDF export's selection holds more events than a PDF holds (API.md, "Reports", PDF): the run
    fails with this code and a message that suggests CSV."""

    status = 422
    code = "too_many_rows_for_pdf"


class MailNotSentError(ServiceError):
    """The mail service refused or failed a message (SES MessageRejected, throttling after the SDK's
    retries, any other error of the mailer): the message is lost, the caller records that it was."""

    status = 503
    code = "unavailable"
