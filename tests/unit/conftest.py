"""Unit tests run in the same process as the integration tests, whose local service writes its
settings into os.environ (local mode turns Powertools metrics off): each unit test starts without it."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _metrics_as_in_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
