"""Backoff for DynamoDB's partial batch answers (UnprocessedItems / UnprocessedKeys)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full-jitter exponential backoff. `sleep` is injectable so tests do not wait in real time."""

    attempts: int = 8
    base_seconds: float = 0.05
    cap_seconds: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def delays(self) -> Iterator[float]:
        """The waits before each retry, drawn only when a retry happens (most writes need none)."""
        for n in range(self.attempts - 1):
            yield random.uniform(0, min(self.cap_seconds, self.base_seconds * 2**n))  # noqa: S311 - jitter
