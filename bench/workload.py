"""A realistic event mix, shared by the ingest, query, cost and export benchmarks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

ACTIONS = [
    "user.login",
    "user.logout",
    "asset.downloaded",
    "asset.edited",
    "asset.viewed",
    "asset.shared",
    "search",
    "settings.updated",
]


def raw_event(
    i: int, at: datetime, *, actors: int = 300, assets: int = 500, prefix: str = "evt"
) -> dict[str, Any]:
    """One event as a product sends it: actor with name and email, 0-2 targets, context, metadata.

    Every 10th event has two targets, every 20th none; every 7th failed; a third carry a description;
    `settings.updated` events carry one change.
    """
    action = ACTIONS[i % len(ACTIONS)]
    event: dict[str, Any] = {
        "id": f"{prefix}-{i:08d}",
        "action": action,
        "occurred_at": at.isoformat(),
        "actor": {
            "id": f"user-{i % actors}",
            "name": f"Ada Lovelace {i % actors}",
            "email": f"ada{i % actors}@example.com",
        },
        "context": {
            "ip": f"203.0.113.{i % 250}",
            "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0",
            "session_id": f"sess-{i % 1000:04d}",
        },
        "metadata": {"plan": "enterprise", "size_bytes": 100_000 + i},
    }
    if i % 20 != 0:
        event["targets"] = [
            {"type": "asset", "id": str(7000 + i % assets), "name": f"Q{i % 4 + 1} report.pdf"}
        ]
        if i % 10 == 5:
            event["targets"].append({"type": "folder", "id": str(i % 40), "name": "Finance"})
    if i % 7 == 0:
        event["outcome"] = "failure"
    if i % 3 == 0:
        event["description"] = "Downloaded the quarterly report"
    if action == "settings.updated":
        event["changes"] = [{"field": "retention_days", "before": 90, "after": 180}]
    return event


def raw_events(count: int, start: datetime, step: timedelta, **kwargs: Any) -> list[dict[str, Any]]:
    return [raw_event(i, start + step * i, **kwargs) for i in range(count)]
