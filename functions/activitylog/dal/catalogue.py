"""The catalogue's items in the control table (docs/data-model.md, "Catalogue").

  action      pk=TENANT#<t>#CAT#A             sk=<action>
  actor       pk=TENANT#<t>#CAT#U             sk=<term>\\x00<h(actor id)>          one item per term
  target      pk=TENANT#<t>#CAT#T             sk=<term>\\x00<h(type, id)>          (every type)
              pk=TENANT#<t>#CAT#T#<h(type)>   sk=<term>\\x00<h(type, id)>          (one type)

`<term>` is a searchable value (actor id, name, email; target id, name) case-folded and cut to
TERM_BYTES, so a prefix search is one Query `begins_with(sk, fold(q))`. Every item of an entry
carries the whole entry (`i` id, `t` type, `n` name, `e` email, `s` last seen ms, `f` first seen
ms, `x` expiry of the latest event recorded, `exp` TTL): a search reads nothing else, and shows an
entry once, at the first of its items that matches (its smallest matching sort key). The entry's
own item is the one of its id, in the first partition of its kind: ingestion reads those
(BatchGetItem) to learn what is stored.

Only `UpdateItem` writes (ingestion has no PutItem/DeleteItem on the control table): an item an
entry no longer has (a changed name) is hidden at once (`exp` = now) and deleted by TTL.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.control_base import ControlBase, tenant_pk
from activitylog.models.catalogue import Entry, EntryData, EntryKey, Kind, fold
from activitylog.models.errors import BadRequestError

TERM_BYTES = 200  # of a folded term in a sort key (a key is at most 1,024 bytes; values reach 1,280)
BATCH_GET = 100
WRITE_THREADS = 8  # a new tenant's first batches write many entries: overlap the round trips
READS_PER_PAGE = 10  # Queries one page may take (expired or repeated items are skipped)
_PARTITION = {"action": "A", "actor": "U", "target": "T"}


def digest(*parts: str) -> str:
    """First 96 bits of SHA-256 of the parts (unambiguously joined), URL-safe base64: 16 characters."""
    raw = json.dumps(parts, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()[:12]).decode()


def cut(text: str, limit: int = TERM_BYTES) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, on a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def partitions(tenant: str, key: EntryKey) -> list[str]:
    """The partitions an entry's items live in; the first holds its own item."""
    first = f"{tenant_pk(tenant)}#CAT#{_PARTITION[key.kind]}"
    return [first, f"{first}#{digest(key.type)}"] if key.kind == "target" else [first]


def search_partition(tenant: str, kind: Kind, target_type: str | None = None) -> str:
    first = f"{tenant_pk(tenant)}#CAT#{_PARTITION[kind]}"
    return f"{first}#{digest(target_type)}" if target_type is not None else first


def sort_key(key: EntryKey, term: str) -> str:
    if key.kind == "action":
        return key.id  # one item per action: its name (byte order is the answer's order)
    suffix = digest(key.id) if key.kind == "actor" else digest(key.type, key.id)
    return f"{cut(fold(term))}\x00{suffix}"


def sort_keys(entry: Entry) -> list[str]:
    """The sort keys of an entry's items, its own (the id's) first."""
    keys = [sort_key(entry.key, term) for term in entry.terms()]
    return list(dict.fromkeys(keys))


def search_prefix(prefix: str) -> str:
    """The `begins_with` value for a folded query: cut as the terms are."""
    return cut(prefix)


def shown_at(entry: Entry, prefix: str) -> str | None:
    """The sort key of the one item an entry is shown at for `prefix` (folded): the smallest of
    those whose real value starts with it; None when none does (an item matched by the cut only)."""
    matching = [sort_key(entry.key, t) for t in entry.terms() if fold(t).startswith(prefix)]
    return min(matching) if matching else None


def _position_in(position: str, begins: str) -> bool:
    """A cursor's position can be a sort key of this query: its prefix, valid UTF-8, key-sized."""
    try:
        size = len(position.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return position.startswith(begins) and 0 < size <= 1024


def _item(entry: Entry) -> dict[str, Any]:
    values: dict[str, Any] = {
        ":i": {"S": entry.key.id},
        ":s": {"N": str(entry.seen_ms)},
        ":x": {"N": str(entry.expires)},
        ":exp": {"N": str(entry.until)},
    }
    typ = entry.key.type if entry.key.kind == "target" else entry.data.type
    optional = {":t": typ, ":n": entry.data.name, ":e": entry.data.email}
    optional[":f"] = str(entry.first_ms) if entry.first_ms is not None else None
    for name, value in optional.items():
        if value is not None:
            values[name] = {"N": value} if name == ":f" else {"S": value}
    return values


def _update(values: dict[str, Any]) -> tuple[str, dict[str, str]]:
    names = {"#i": "i", "#s": "s", "#x": "x", "#exp": "exp", "#t": "t", "#n": "n", "#e": "e", "#f": "f"}
    sets = [f"{n} = :{n[1:]}" for n in names if f":{n[1:]}" in values]
    removes = [n for n in names if f":{n[1:]}" not in values]
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return expression, names


def entry_of(kind: Kind, item: dict[str, Any]) -> Entry:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    def number(name: str) -> int | None:
        return int(item[name]["N"]) if name in item else None

    typ = text("t")
    key = EntryKey(kind, item["i"]["S"], (typ or "") if kind == "target" else "")
    data = EntryData(type=typ if kind == "actor" else None, name=text("n"), email=text("e"))
    until = number("exp") or 0
    expires = number("x")
    return Entry(
        key,
        data,
        seen_ms=number("s") or 0,
        expires=until if expires is None else expires,
        until=until,
        first_ms=number("f"),
    )


class CatalogueMixin(ControlBase):
    """The catalogue's part of the control table (`ControlTable` has it)."""

    # --- ingestion: read what is stored, write what changed ---------------------------------------
    def get_entries(self, tenant: str, keys: Iterable[EntryKey]) -> dict[EntryKey, Entry]:
        """The stored entries of `keys` (eventually consistent: a concurrent write is seen later)."""
        wanted = {(partitions(tenant, k)[0], sort_key(k, k.id)): k for k in keys}
        found: dict[EntryKey, Entry] = {}
        pending = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in wanted]
        for _ in range(8 * (len(pending) // BATCH_GET + 1)):  # unprocessed keys are asked again
            if not pending:
                break
            chunk, pending = pending[:BATCH_GET], pending[BATCH_GET:]
            try:  # BatchGetItem names its table in RequestItems
                answer = self._ddb.batch_get_item(RequestItems={self._table: {"Keys": chunk}})
            except ClientError as err:
                raise errors.unavailable(err) from err
            for item in answer.get("Responses", {}).get(self._table, []):
                key = wanted[(item["pk"]["S"], item["sk"]["S"])]
                found[key] = entry_of(key.kind, item)
            pending += answer.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
        return found  # a key still unprocessed is written again: harmless, idempotent

    def write_entries(self, tenant: str, writes: Sequence[tuple[Entry, Entry | None]], *, now: int) -> None:
        """Write each (new, stored) entry: every item of `new`, its own item last (so an entry whose
        writes were cut short is found stale and written again), and hide the items of `stored`
        that `new` no longer has."""
        if len(writes) <= 1:
            for new, old in writes:
                self._write(tenant, new, old, now)
            return
        with ThreadPoolExecutor(max_workers=min(WRITE_THREADS, len(writes))) as pool:
            for done in [pool.submit(self._write, tenant, new, old, now) for new, old in writes]:
                done.result()

    def _write(self, tenant: str, new: Entry, old: Entry | None, now: int) -> None:
        keys = sort_keys(new)
        gone = [sk for sk in sort_keys(old) if sk not in keys] if old else []
        expression, names = _update(values := _item(new))
        for pk in partitions(tenant, new.key):
            for sk in gone:
                self._conditional(
                    self._ddb.update_item,
                    Key={"pk": {"S": pk}, "sk": {"S": sk}},
                    UpdateExpression="SET #exp = :now",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeNames={"#exp": "exp"},
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                )
        for pk in reversed(partitions(tenant, new.key)):
            for sk in reversed(keys):
                self._call(
                    self._ddb.update_item,
                    Key={"pk": {"S": pk}, "sk": {"S": sk}},
                    UpdateExpression=expression,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                )

    # --- the routes: list and search ---------------------------------------------------------------
    def search(
        self,
        tenant: str,
        kind: Kind,
        *,
        prefix: str,
        after: str | None,
        limit: int,
        now: int,
        target_type: str | None = None,
    ) -> tuple[list[Entry], str | None]:
        """Up to `limit` entries of `kind` (their TTL not passed) with a value starting with
        `prefix` (folded), in sort-key order from strictly after the position `after`; and the
        position to go on from (None: no more). A page may hold fewer (expired and repeated items
        are skipped)."""
        pk = search_partition(tenant, kind, target_type)
        begins = search_prefix(prefix)
        if after is not None and not _position_in(after, begins):
            raise BadRequestError("invalid cursor")  # a forged position: outside this query's keys
        condition = "pk = :pk" + (" AND begins_with(sk, :b)" if begins else "")
        values: dict[str, Any] = {":pk": {"S": pk}, **({":b": {"S": begins}} if begins else {})}
        start = {"pk": {"S": pk}, "sk": {"S": after}} if after is not None else None
        found: list[Entry] = []
        position = after
        for _ in range(READS_PER_PAGE):
            answer = self._call(
                self._ddb.query,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                Limit=max(limit, 10) * (1 if kind == "action" else 2),
                **({"ExclusiveStartKey": start} if start else {}),
            )
            items = answer.get("Items", [])
            for n, item in enumerate(items):
                position = item["sk"]["S"]
                entry = entry_of(kind, item)
                if entry.until > now and (kind == "action" or shown_at(entry, prefix) == position):
                    found.append(entry)
                if len(found) == limit:
                    more = n + 1 < len(items) or "LastEvaluatedKey" in answer
                    return found, position if more else None
            if "LastEvaluatedKey" not in answer:
                return found, None
            start = answer["LastEvaluatedKey"]
        return found, position

    def all_actions(self, tenant: str, *, now: int) -> list[Entry]:
        """Every action entry (its TTL not passed), by name (a tenant has at most a few hundred)."""
        entries: list[Entry] = []
        position: str | None = None
        while True:
            page, position = self.search(tenant, "action", prefix="", after=position, limit=1000, now=now)
            entries += page
            if position is None:
                return entries
