"""Export files in S3 (moto in-process): multipart assembly, streaming reads, cleanup, presigned links."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from activitylog.dal import clients, export_files
from activitylog.dal.export_files import (
    S3MultipartSink,
    delete_prefix,
    presigned_get,
    stream_object,
)
from activitylog.logic.export_assembly import MIB, MIN_PART_SIZE, assemble
from activitylog.models.errors import NotFoundError
from activitylog_ops.local.service import LocalService

BUCKET = f"exports-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def s3(local_stack: LocalService) -> Iterator[object]:
    """The session's shared emulation (an in-process `mock_aws` would reset the local stack's state)."""
    client = boto3.client("s3", endpoint_url=local_stack.env["AWS_ENDPOINT_URL"])
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):  # each test starts empty
        for item in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=item["Key"])
    clients.reset_clients()
    export_files.presigner.cache_clear()
    yield client
    clients.reset_clients()
    export_files.presigner.cache_clear()


def put_object(bucket: str, key: str, body: bytes, content_type: str, s3_client: object) -> None:
    s3_client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)  # type: ignore[attr-defined]


def pieces(data: bytes, size: int = 300_001) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_assembled_file_round_trips_through_s3(s3: object) -> None:
    data = os.urandom(12 * MIB + 777)
    sink = S3MultipartSink(BUCKET, "t1/run-1/file.csv", "text/csv; charset=utf-8")  # lazy default client

    result = assemble(pieces(data), sink, gzip=False, part_size=MIN_PART_SIZE)

    assert result.parts == 3 and result.bytes == len(data)
    stored = b"".join(stream_object(BUCKET, "t1/run-1/file.csv", chunk_size=MIB))
    assert stored == data
    assert hashlib.sha256(stored).hexdigest() == result.sha256
    head = s3.head_object(Bucket=BUCKET, Key="t1/run-1/file.csv")  # type: ignore[attr-defined]
    assert head["ContentType"] == "text/csv; charset=utf-8" and "ContentEncoding" not in head


def test_gzip_file_is_stored_as_gzip_without_content_encoding(s3: object) -> None:
    text = b"".join(b"row %d, with text\r\n" % i for i in range(200_000))
    sink = S3MultipartSink(BUCKET, "t1/run-2/file.csv.gz", "application/gzip", s3_client=s3)
    result = assemble(pieces(text), sink, gzip=True)
    stored = b"".join(stream_object(BUCKET, "t1/run-2/file.csv.gz", s3_client=s3))
    assert gzip.decompress(stored) == text
    assert hashlib.sha256(stored).hexdigest() == result.sha256


def test_empty_file_completes_as_an_empty_object(s3: object) -> None:
    sink = S3MultipartSink(BUCKET, "t1/run-3/file.jsonl", "application/x-ndjson", s3_client=s3)
    result = assemble([], sink, gzip=False)
    assert result.bytes == 0
    assert b"".join(stream_object(BUCKET, "t1/run-3/file.jsonl", s3_client=s3)) == b""


def test_a_failure_aborts_the_upload_and_leaves_nothing(s3: object) -> None:
    def rows() -> Iterator[bytes]:
        yield os.urandom(6 * MIB)
        raise RuntimeError("slice failed")

    sink = S3MultipartSink(BUCKET, "t1/run-4/file.csv", "text/csv; charset=utf-8", s3_client=s3)
    with pytest.raises(RuntimeError):
        assemble(rows(), sink, gzip=False, part_size=MIN_PART_SIZE)
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []  # type: ignore[attr-defined]
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # type: ignore[attr-defined]


def test_delete_prefix_removes_only_that_prefix_in_batches(s3: object) -> None:
    for i in range(1005):
        put_object(BUCKET, f"t1/run-5/slices/{i:05d}", b"x", "application/octet-stream", s3_client=s3)
    put_object(BUCKET, "t1/run-50/keep", b"ab", "text/plain", s3_client=s3)

    assert delete_prefix(BUCKET, "t1/run-5/", s3_client=s3) == 1005

    left = s3.list_objects_v2(Bucket=BUCKET)["Contents"]  # type: ignore[attr-defined]
    assert [o["Key"] for o in left] == ["t1/run-50/keep"]
    assert b"".join(stream_object(BUCKET, "t1/run-50/keep", s3_client=s3)) == b"ab"
    with pytest.raises(ValueError):
        delete_prefix(BUCKET, "", s3_client=s3)


def test_missing_object_is_not_found(s3: object) -> None:
    with pytest.raises(NotFoundError):
        b"".join(stream_object(BUCKET, "nope", s3_client=s3))


def test_presigned_url_carries_expiry_and_attachment_name(s3: object) -> None:
    put_object(BUCKET, "t1/run-6/f.csv", b"a,b\r\n", "text/csv; charset=utf-8", s3_client=s3)
    url = presigned_get(BUCKET, "t1/run-6/f.csv", 900, "downloads-last-week-run-6.csv")
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["response-content-disposition"] == ['attachment; filename="downloads-last-week-run-6.csv"']
    with pytest.raises(ValueError):
        presigned_get(BUCKET, "t1/run-6/f.csv", 901, "f.csv", s3_client=s3)
