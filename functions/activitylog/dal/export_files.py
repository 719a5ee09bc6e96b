"""Export files in S3: the multipart sink the assembly writes through, and the workflow's helpers.

Objects are stored with the file's Content-Type and no Content-Encoding (a gzip export downloads as
the .gz file itself). Clients are created lazily (cold start; tests start moto after import).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.clients import SIGV4, ClientOf, client, new_client
from activitylog.models.errors import NotFoundError

MAX_PRESIGN_SECONDS = 900  # API.md: download redirects are valid for at most 15 minutes
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys


def storage_error(err: ClientError, what: str) -> Exception:
    """A domain error for the codes that mean something to callers; anything else stays a bug."""
    if errors.is_missing(err):
        return NotFoundError(f"{what} does not exist")
    return errors.unavailable(err, "the file store")


def _s3(s3_client: Any) -> Any:
    return s3_client if s3_client is not None else client("s3")


class S3MultipartSink:
    """activitylog.logic.export_assembly.MultipartSink over one S3 multipart upload."""

    def __init__(self, bucket: str, key: str, content_type: str, s3_client: Any = None) -> None:
        self.bucket = bucket
        self.key = key
        self.content_type = content_type
        self._client = s3_client
        self.upload_id: str | None = None

    _s3 = ClientOf("s3")

    def start(self) -> None:
        try:
            answer = self._s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=self.content_type
            )
        except ClientError as err:
            raise storage_error(err, f"bucket {self.bucket}") from err
        self.upload_id = answer["UploadId"]

    def upload_part(self, number: int, data: bytes) -> str:
        try:
            answer = self._s3.upload_part(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id(), PartNumber=number, Body=data
            )
        except ClientError as err:
            raise storage_error(err, f"upload of {self.key}") from err
        return str(answer["ETag"])

    def complete(self, parts: list[tuple[int, str]]) -> None:
        try:
            self._s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self._upload_id(),
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
            )
        except ClientError as err:
            raise storage_error(err, f"upload of {self.key}") from err

    def abort(self) -> None:
        if self.upload_id is None:
            return
        try:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        except ClientError as err:
            if not errors.is_missing(err):  # already gone: nothing left to clean up
                raise storage_error(err, f"upload of {self.key}") from err
        self.upload_id = None

    def _upload_id(self) -> str:
        if self.upload_id is None:
            raise RuntimeError("start() the multipart upload first")
        return self.upload_id


def stream_object(
    bucket: str, key: str, chunk_size: int = 1024 * 1024, s3_client: Any = None
) -> Iterator[bytes]:
    """The object's bytes in chunks of at most `chunk_size`, without holding the object in memory."""
    try:
        answer = _s3(s3_client).get_object(Bucket=bucket, Key=key)
    except ClientError as err:
        raise storage_error(err, f"object {key}") from err
    body = answer["Body"]
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def delete_prefix(bucket: str, prefix: str, s3_client: Any = None) -> int:
    """Delete every object under `prefix` (batches of 1,000); returns how many were deleted."""
    if not prefix:
        raise ValueError("refusing to delete a whole bucket: give a non-empty prefix")
    s3 = _s3(s3_client)
    deleted = 0
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            for start in range(0, len(keys), DELETE_BATCH):
                batch = keys[start : start + DELETE_BATCH]
                answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
                if answer.get("Errors"):  # per-key failures of a call that itself succeeded
                    first = answer["Errors"][0]
                    if first.get("Code", "") in errors.BUSY:
                        raise errors.busy("the file store")
                    raise RuntimeError(
                        f"S3 did not delete {len(answer['Errors'])} objects under {prefix}: {first}"
                    )
                deleted += len(batch)
    except ClientError as err:
        raise storage_error(err, f"bucket {bucket}") from err
    return deleted


@cache
def presigner() -> Any:
    """The shared SigV4 signing client of callers that bring none."""
    return new_client("s3", SIGV4)


def _disposition(file_name: str) -> str:
    # export_format.file_name makes ASCII names without quotes or backslashes; strip them anyway so a
    # caller's name can never break out of the quoted string.
    safe = "".join(c for c in file_name if 32 < ord(c) < 127 and c not in '"\\;') or "export"
    return f'attachment; filename="{safe}"'


def presigned_get(bucket: str, key: str, expires_in: int, file_name: str, s3_client: Any = None) -> str:
    """A short-lived SigV4 download URL that makes the browser save the file under `file_name`.

    Never store or email it: it dies with the credentials that signed it. It does not check that the
    object exists (the caller knows from the run record); a missing object answers 404 from S3.
    """
    if not 1 <= expires_in <= MAX_PRESIGN_SECONDS:
        raise ValueError(f"expires_in must be between 1 and {MAX_PRESIGN_SECONDS} seconds")
    url: str = (s3_client or presigner()).generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": _disposition(file_name)},
        ExpiresIn=expires_in,
    )
    return url


class ExportFiles:
    """The exports bucket as the export functions use it, on the clients it is given."""

    def __init__(self, bucket: str, s3: Any = None, signer: Callable[[], Any] | None = None) -> None:
        self.bucket = bucket
        self._s3 = s3
        self._signer = signer  # makes the SigV4 client on first use (default: the shared one)

    def sink(self, key: str, content_type: str) -> S3MultipartSink:
        return S3MultipartSink(self.bucket, key, content_type, s3_client=self._s3)

    def read(self, key: str) -> Iterator[bytes]:
        return stream_object(self.bucket, key, s3_client=self._s3)

    def delete_prefix(self, prefix: str) -> int:
        return delete_prefix(self.bucket, prefix, s3_client=self._s3)

    def presigned_get(self, key: str, expires_in: int, file_name: str) -> str:
        return presigned_get(self.bucket, key, expires_in, file_name, s3_client=(self._signer or presigner)())
