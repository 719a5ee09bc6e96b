"""A small per-container cache with a time limit (settings reach ingestion within `ttl` seconds)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass
class TtlCache(Generic[V]):
    ttl: float
    clock: Callable[[], float] = field(default=time.monotonic)
    _items: dict[str, tuple[float, V]] = field(default_factory=dict)

    def get(self, key: str, load: Callable[[], V]) -> V:
        hit = self._items.get(key)
        now = self.clock()
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        self._items[key] = (now + self.ttl, value)
        return value

    def clear(self) -> None:
        self._items.clear()
