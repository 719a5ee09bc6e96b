"""Assemble one export file from ordered chunks of bytes into a multipart upload (docs/exports.md).

Streaming: at most about one part (plus one staging block) is held in memory whatever the file's
size; every stored byte is hashed exactly once, in order, just before its part is uploaded (a
SHA-256 cannot be combined from per-part digests). Any failure aborts the multipart upload, so no
partial object and no orphaned parts are left behind, and the error propagates unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from activitylog.logic.ports import MultipartSink

MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB  # S3: every part except the last
MAX_PART_SIZE = 5 * 1024 * MIB
MAX_PARTS = 10_000
DEFAULT_PART_SIZE = 8 * MIB
# Parts beyond this many double in size each time, so a file never needs more than 10,000 parts
# (8 MiB parts alone would stop at 78 GiB). A whole tenant's export stays far below it.
PARTS_PER_SIZE_STEP = 1_000
# Small chunks (one row each) are gathered into blocks before compressing: one zlib call per row
# costs more than the compression itself.
STAGE_SIZE = 256 * 1024


@dataclass(frozen=True, slots=True)
class AssemblyResult:
    bytes: int  # stored size (after gzip)
    sha256: str  # hex digest of the stored bytes
    parts: int
    raw_bytes: int  # size before compression (equals `bytes` without gzip)


class _Parts:
    """Cuts the stored byte stream into parts, hashing each byte once, in order."""

    def __init__(self, sink: MultipartSink, part_size: int) -> None:
        self._sink = sink
        self._part_size = part_size
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self.size = 0
        self.uploaded: list[tuple[int, str]] = []

    def _current_part_size(self) -> int:
        return min(MAX_PART_SIZE, self._part_size << (len(self.uploaded) // PARTS_PER_SIZE_STEP))

    def write(self, data: bytes | bytearray) -> None:
        self._buffer += data
        while len(self._buffer) >= (size := self._current_part_size()):
            with memoryview(self._buffer) as view:  # one copy of the part, not two
                part = bytes(view[:size])
            del self._buffer[:size]
            self._upload(part)

    def _upload(self, part: bytes) -> None:
        number = len(self.uploaded) + 1
        if number > MAX_PARTS:
            raise ValueError("the file needs more than 10,000 parts")
        self._hash.update(part)
        self.size += len(part)
        self.uploaded.append((number, self._sink.upload_part(number, part)))

    def finish(self) -> str:
        # The last part may be short, even empty when it is the only one: a multipart upload needs
        # at least one part, and S3 has no minimum for the last part.
        if self._buffer or not self.uploaded:
            part = bytes(self._buffer)
            self._buffer.clear()
            self._upload(part)
        self._sink.complete(list(self.uploaded))
        return self._hash.hexdigest()


def assemble(
    chunks: Iterable[bytes],
    sink: MultipartSink,
    *,
    gzip: bool,
    part_size: int = DEFAULT_PART_SIZE,
    level: int = 6,
) -> AssemblyResult:
    """Write the concatenation of `chunks` (gzip-compressed if asked) as one object through `sink`.

    `chunks` should be small (rows, or blocks of rows): memory stays near `part_size` plus the
    largest chunk.
    """
    if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
        raise ValueError(f"part_size must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes")
    sink.start()
    try:
        parts = _Parts(sink, part_size)
        compressor = zlib.compressobj(level, zlib.DEFLATED, 31) if gzip else None  # 31: gzip container
        stage = bytearray()
        raw = 0

        def flush_stage() -> None:
            if compressor is not None:
                parts.write(compressor.compress(stage))
            else:
                parts.write(stage)
            stage.clear()

        for chunk in chunks:
            stage += chunk
            raw += len(chunk)
            if len(stage) >= STAGE_SIZE:
                flush_stage()
        flush_stage()
        if compressor is not None:
            parts.write(compressor.flush())
        digest = parts.finish()
    except BaseException:
        _abort_quietly(sink)
        raise
    return AssemblyResult(bytes=parts.size, sha256=digest, parts=len(parts.uploaded), raw_bytes=raw)


def _abort_quietly(sink: MultipartSink) -> None:
    """Abort, keeping the original error: a failed abort is cleaned up by the bucket's lifecycle rule
    (incomplete multipart uploads expire after a day)."""
    with contextlib.suppress(Exception):
        sink.abort()
