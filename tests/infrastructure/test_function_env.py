"""Each function's environment model (validated when its handler module loads) against what the
synthesized template gives that function: every variable the model requires is there, so no cold
start in AWS fails on a variable that only local mode or the tests happen to set, and nothing else is
there, so each function gets exactly the variables its model reads."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from activitylog.handlers import wiring
from activitylog.models.env import ConfigurationError, parse_env

HANDLER_PREFIX = "activitylog.handlers."
# Read by a model but set by local mode only (ops/activitylog_ops/local/service.py): optional, and
# never in a template (webhooks to loopback addresses must stay impossible in AWS).
LOCAL_ONLY = {"WEBHOOK_ALLOW_LOOPBACK"}


def _given(stateless: dict[str, Any], logical_id: str) -> dict[str, str]:
    variables = stateless["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    # Values are Refs and GetAtts here; what matters is which names each function gets.
    return {
        name: value if isinstance(value, str) else f"resolved-{name.lower()}"
        for name, value in variables.items()
    }


@pytest.fixture(scope="module")
def handler_modules(
    stateless: dict[str, Any], functions_by_module: dict[str, str], monkeypatch_module: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    # Importing a handler module validates its model against os.environ: give it every variable.
    for logical_id in functions_by_module.values():
        for name, value in _given(stateless, logical_id).items():
            monkeypatch_module.setenv(name, value)
    before = wiring.use(None)  # a container made earlier holds an earlier environment
    yield {module: importlib.import_module(HANDLER_PREFIX + module) for module in functions_by_module}
    wiring.use(before)  # the one made from these placeholders is forgotten


@pytest.fixture(scope="module")
def monkeypatch_module() -> Any:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_every_handler_declares_its_environment_model(handler_modules: dict[str, Any]) -> None:
    assert len(handler_modules) == 20
    for module in handler_modules.values():
        assert isinstance(module.ENVIRONMENT, type), module.__name__


def test_each_function_is_given_every_variable_its_model_requires(
    stateless: dict[str, Any], functions_by_module: dict[str, str], handler_modules: dict[str, Any]
) -> None:
    for module, logical_id in functions_by_module.items():
        model = handler_modules[module].ENVIRONMENT
        given = _given(stateless, logical_id)
        parse_env(model, given)  # raises ConfigurationError naming what is missing
        required = {str(f.alias) for f in model.model_fields.values() if f.is_required()}
        assert required <= set(given), (module, required - set(given))


def test_each_function_is_given_nothing_its_model_does_not_read(
    stateless: dict[str, Any], functions_by_module: dict[str, str], handler_modules: dict[str, Any]
) -> None:
    # A variable no model reads is either dead configuration or a resource a function must not use
    # (the signing secret on workflow steps, the idempotency table beyond ingest, ...).
    for module, logical_id in functions_by_module.items():
        declared = {str(f.alias) for f in handler_modules[module].ENVIRONMENT.model_fields.values()}
        assert set(_given(stateless, logical_id)) == declared - LOCAL_ONLY, module


def test_local_only_variables_are_optional_and_in_no_template(
    stateless: dict[str, Any], functions_by_module: dict[str, str], handler_modules: dict[str, Any]
) -> None:
    readers = 0
    for module, logical_id in functions_by_module.items():
        fields = {str(f.alias): f for f in handler_modules[module].ENVIRONMENT.model_fields.values()}
        for name in LOCAL_ONLY & set(fields):
            readers += 1
            assert not fields[name].is_required(), (module, name)
        assert not LOCAL_ONLY & set(_given(stateless, logical_id)), module
    assert readers == 2  # the deliverer and the destinations API (webhook deliveries and tests)


def test_a_missing_variable_fails_loudly_with_its_name(
    stateless: dict[str, Any], functions_by_module: dict[str, str], handler_modules: dict[str, Any]
) -> None:
    model = handler_modules["exports"].ENVIRONMENT
    given = _given(stateless, functions_by_module["exports"])
    del given["EXPORT_STATE_MACHINE"]
    with pytest.raises(ConfigurationError, match="EXPORT_STATE_MACHINE"):
        parse_env(model, given)
