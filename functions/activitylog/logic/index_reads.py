"""Reading index streams in `ts` order: a k-way merge of one or more streams of an index."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from activitylog.logic.ports import EventStore
from activitylog.models.query import IndexEntry, IndexRead, Stream, TimeWindow

MAX_READ = 1_000  # entries one Query asks for at most (~100 B each: well under DynamoDB's 1 MB page)


@dataclass(slots=True)
class _Cursor:
    """One stream's read position inside a request: its buffered entries and where to go on."""

    stream: Stream
    position: str | None  # the last entry read: the next read goes on strictly beyond it
    buffer: deque[IndexEntry] = field(default_factory=deque)
    more: bool = True
    reads: int = 0
    taken: int = 0  # entries of this stream the merge has yielded


def merged_entries(
    events: EventStore,
    tenant: str,
    streams: Sequence[Stream],
    *,
    window: TimeWindow,
    descending: bool,
    boundary: str | None,
    chunk: int,
    now_s: int,
) -> Iterator[IndexEntry]:
    """Index entries of all streams in `ts` order, strictly beyond `boundary`: a k-way merge.

    Every read of a stream goes on strictly after the last entry it read (the store's exclusive
    start), so no entry is read twice within a request and the boundary entry is not read again. The consumer
    takes entries `chunk` at a time (a page); to yield the `chunk`-th entry the merge needs every
    stream read up to it, plus the next entry of each other stream that has more (to know that
    entry comes later). Reads are sized to that: each stream's first read asks for an even share,
    `chunk / k` rounded up; a stream that runs dry while entries are still wanted asks for its share
    so far of what is still wanted, rounded up (so at least one: its next entry), and never for
    more than is still wanted (that covers every outcome: all of the rest from this stream, or fewer
    and then its next entry). A page of k evenly interleaved streams so reads `chunk` entries plus
    at most k - 1; a single stream reads exactly `chunk`.
    """
    if not streams:
        return
    chunk = max(1, chunk)
    k = len(streams)
    cursors = [_Cursor(stream, boundary) for stream in streams]
    left = chunk  # entries the consumer is expected to take before it stops
    yielded = 0

    def read_size(c: _Cursor) -> int:
        if c.reads == 0:
            return -(-left // k)
        return min(left, -(-(c.taken + 1) * left // (yielded + k)))  # ceil(left * its share), >= 1

    def fill(c: _Cursor) -> None:
        size = 0
        while not c.buffer and c.more:
            # A read that kept nothing (expired entries TTL has not deleted yet, which still count
            # against Limit) is followed by one twice its size: a run of n of them costs log2(n)
            # Queries, not n, and what was read past the run is at most the run's size again.
            size = read_size(c) if size == 0 else min(2 * size, MAX_READ)
            read = IndexRead(window, c.position, now_s, descending=descending, limit=size)
            page = events.query_index(tenant, c.stream, read)
            c.reads += 1
            c.buffer.extend(page.entries)
            c.more = page.last_ts is not None
            if page.last_ts is not None:  # go on strictly beyond where the store stopped
                c.position = page.last_ts

    pick = max if descending else min
    while True:
        if left == 0:  # the consumer goes on past a page (residual filters, counts, exports)
            left = chunk
        for c in cursors:
            fill(c)
        cursors = [c for c in cursors if c.buffer]
        if not cursors:
            return
        best = pick(cursors, key=lambda c: c.buffer[0].ts)
        best.taken += 1
        yielded += 1
        left -= 1
        yield best.buffer.popleft()
