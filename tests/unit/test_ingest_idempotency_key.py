"""Idempotency records are found across deploys: the record key's prefix is the one Powertools made
before the ingest route moved to `handlers/routes/ingest.py` (`<function name>.<module>.<name>`), so
a replay after a deploy is still answered from its record and a reused key still refused."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from activitylog.handlers.routes import ingest as routes
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

CONFIGURE = BasePersistenceLayer.configure


def record_key(monkeypatch: pytest.MonkeyPatch, function_name: str | None) -> str:
    if function_name is None:
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    else:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", function_name)
    layer = DynamoDBPersistenceLayer(table_name="idempotency", boto3_client=mock.MagicMock())
    routes._idempotent_run.cache_clear()
    _, run = routes._idempotent_run(layer)
    captured: dict[str, str] = {}

    def configure(self: BasePersistenceLayer, *args: Any, **kwargs: Any) -> None:
        CONFIGURE(self, *args, **kwargs)  # Powertools works out the prefix here
        captured["prefix"] = self.function_name
        raise RuntimeError("stop before any storage call")

    monkeypatch.setattr(BasePersistenceLayer, "configure", configure)
    with pytest.raises(RuntimeError, match="stop before"):
        run(request={"tenant": "t1", "key": "k", "body_sha256": "x", "events": []})
    routes._idempotent_run.cache_clear()
    return captured["prefix"]


def test_the_record_prefix_is_the_one_of_the_records_made_before_the_move(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the function name Lambda sets / Then the prefix is what Powertools derived before:
    # `<AWS_LAMBDA_FUNCTION_NAME>.activitylog.handlers.ingest._run_cacheable`
    deployed = "ActivityLog-Stateless-FunctionsIngest1A2B3C"
    assert record_key(monkeypatch, deployed) == f"{deployed}.activitylog.handlers.ingest._run_cacheable"
    assert record_key(monkeypatch, None) == "test-func.activitylog.handlers.ingest._run_cacheable"
