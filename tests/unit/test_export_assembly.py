"""Streaming assembly of one export file into a multipart upload (with a fake sink)."""

from __future__ import annotations

import gzip as gzip_module
import hashlib
import os
import tracemalloc
from collections.abc import Iterator

import pytest
from activitylog.logic import export_assembly
from activitylog.logic.export_assembly import MIB, MIN_PART_SIZE, assemble


class FakeSink:
    def __init__(self, keep: bool = True, fail_on_part: int | None = None) -> None:
        self.keep = keep
        self.fail_on_part = fail_on_part
        self.started = self.completed = self.aborted = False
        self.sizes: list[int] = []
        self.data: list[bytes] = []
        self.completed_parts: list[tuple[int, str]] = []

    def start(self) -> None:
        self.started = True

    def upload_part(self, number: int, data: bytes) -> str:
        assert self.started and number == len(self.sizes) + 1
        if number == self.fail_on_part:
            raise ConnectionError("network gone")
        self.sizes.append(len(data))
        if self.keep:
            self.data.append(data)
        return f'"etag-{number}"'

    def complete(self, parts: list[tuple[int, str]]) -> None:
        self.completed = True
        self.completed_parts = parts

    def abort(self) -> None:
        self.aborted = True

    @property
    def body(self) -> bytes:
        return b"".join(self.data)


def chunks_of(data: bytes, sizes: tuple[int, ...] = (1, 700, 65_536, 3, 1_000_000)) -> Iterator[bytes]:
    """Uneven chunk sizes, so part boundaries fall inside chunks."""
    pos = i = 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        yield data[pos : pos + size]
        pos, i = pos + size, i + 1


DATA = os.urandom(12 * MIB + 12_345)


def test_parts_are_at_least_5_mib_except_the_last_and_the_hash_covers_every_byte() -> None:
    sink = FakeSink()
    result = assemble(chunks_of(DATA), sink, gzip=False, part_size=MIN_PART_SIZE)
    assert sink.sizes == [MIN_PART_SIZE, MIN_PART_SIZE, len(DATA) - 2 * MIN_PART_SIZE]
    assert sink.body == DATA
    assert sink.completed and not sink.aborted
    assert sink.completed_parts == [(1, '"etag-1"'), (2, '"etag-2"'), (3, '"etag-3"')]
    assert result.sha256 == hashlib.sha256(DATA).hexdigest()
    assert (result.bytes, result.parts, result.raw_bytes) == (len(DATA), 3, len(DATA))


def test_gzip_output_decompresses_to_the_input_and_the_hash_is_of_the_stored_bytes() -> None:
    text = b"".join(
        b"evt-%d,2026-11-23T10:00:00.000Z,asset.downloaded,user-%d\r\n" % (i, i % 97) for i in range(400_000)
    )
    sink = FakeSink()
    result = assemble(chunks_of(text), sink, gzip=True, part_size=MIN_PART_SIZE)
    assert gzip_module.decompress(sink.body) == text
    assert sink.body[:2] == b"\x1f\x8b"
    assert result.sha256 == hashlib.sha256(sink.body).hexdigest()
    assert result.bytes == len(sink.body) < len(text) == result.raw_bytes
    assert all(size >= MIN_PART_SIZE for size in sink.sizes[:-1])


def test_incompressible_gzip_input_still_cuts_5_mib_parts() -> None:
    sink = FakeSink()
    result = assemble(chunks_of(DATA), sink, gzip=True, part_size=MIN_PART_SIZE)
    assert result.parts == 3 and sink.sizes[:2] == [MIN_PART_SIZE, MIN_PART_SIZE]
    assert gzip_module.decompress(sink.body) == DATA


def test_memory_stays_near_one_part_whatever_the_size() -> None:
    def rows() -> Iterator[bytes]:
        block = os.urandom(4096)
        for _ in range(40 * MIB // 4096):  # 40 MiB streamed, never held
            yield block

    sink = FakeSink(keep=False)
    tracemalloc.start()
    try:
        result = assemble(rows(), sink, gzip=False, part_size=MIN_PART_SIZE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.bytes == 40 * MIB and result.parts == 8
    assert peak < 2.5 * MIN_PART_SIZE  # the part being built and the one being uploaded


@pytest.mark.parametrize("fail_on_part", [1, 2])
def test_a_failing_upload_aborts_and_reraises(fail_on_part: int) -> None:
    sink = FakeSink(fail_on_part=fail_on_part)
    with pytest.raises(ConnectionError, match="network gone"):
        assemble(chunks_of(DATA), sink, gzip=False, part_size=MIN_PART_SIZE)
    assert sink.aborted and not sink.completed


def test_a_failing_source_aborts_and_reraises_the_same_error() -> None:
    boom = RuntimeError("slice 3 failed")

    def rows() -> Iterator[bytes]:
        yield b"a" * MIB
        raise boom

    sink = FakeSink()
    with pytest.raises(RuntimeError) as caught:
        assemble(rows(), sink, gzip=True, part_size=MIN_PART_SIZE)
    assert caught.value is boom
    assert sink.aborted and not sink.completed


def test_a_failing_abort_does_not_hide_the_original_error() -> None:
    class BadAbort(FakeSink):
        def abort(self) -> None:
            raise OSError("abort failed too")

    with pytest.raises(ConnectionError):
        assemble(chunks_of(DATA), BadAbort(fail_on_part=1), gzip=False, part_size=MIN_PART_SIZE)


def test_empty_input_is_one_empty_part() -> None:
    sink = FakeSink()
    result = assemble(iter(()), sink, gzip=False)
    assert sink.sizes == [0] and sink.completed
    assert result.sha256 == hashlib.sha256(b"").hexdigest() and result.bytes == 0 and result.parts == 1


def test_empty_input_with_gzip_is_a_valid_empty_gzip_file() -> None:
    sink = FakeSink()
    result = assemble([], sink, gzip=True)
    assert gzip_module.decompress(sink.body) == b""
    assert result.parts == 1 and result.bytes == len(sink.body) > 0


def test_an_exact_multiple_of_the_part_size_adds_no_empty_part() -> None:
    sink = FakeSink()
    assemble([b"x" * (2 * MIN_PART_SIZE)], sink, gzip=False, part_size=MIN_PART_SIZE)
    assert sink.sizes == [MIN_PART_SIZE, MIN_PART_SIZE]


def test_parts_grow_so_the_10000_part_limit_is_never_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_assembly, "PARTS_PER_SIZE_STEP", 2)
    sink = FakeSink(keep=False)
    assemble([b"y" * (12 * MIN_PART_SIZE)], sink, gzip=False, part_size=MIN_PART_SIZE)
    assert [s // MIN_PART_SIZE for s in sink.sizes] == [1, 1, 2, 2, 4, 2]


@pytest.mark.parametrize("part_size", [MIN_PART_SIZE - 1, 6 * 1024 * MIB])
def test_part_sizes_outside_s3_limits_are_refused(part_size: int) -> None:
    sink = FakeSink()
    with pytest.raises(ValueError, match="part_size"):
        assemble([b"x"], sink, gzip=False, part_size=part_size)
    assert not sink.started
