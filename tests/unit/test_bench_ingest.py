"""The ingest benchmark drives the real handler and logic on in-memory storage (tiny sizes)."""

from __future__ import annotations

import os

from activitylog.handlers import ingest as handler_module

from bench import ingest


def test_every_variant_measures_a_positive_cpu_time_per_event() -> None:
    results = ingest.measure(ingest.Config(events_per_size=4, repeats=1), batches=(1, 2))
    assert set(results) == {1, 2}
    for variants in results.values():
        assert set(variants) == {"handler", "logic", "floor"}
        assert all(v >= 0 for v in variants.values())


def test_the_handler_runner_stores_every_event_and_restores_the_module_and_environment() -> None:
    # Given the handler's own storage getters and environment
    before = (handler_module._events, handler_module._control)
    env_before = {name: os.environ.get(name) for name in ingest.ENV}

    # When a batch goes through the real handler with the fakes in place
    runner = ingest.HandlerRunner()
    try:
        (body,) = ingest.bodies(3, 3, "t")
        runner(ingest.api_event(body))
        stored = len(runner.store.items)
    finally:
        runner.close()

    # Then the events were stored in the fake, and nothing of the swap is left behind
    assert stored >= 3
    assert (handler_module._events, handler_module._control) == before
    assert {name: os.environ.get(name) for name in ingest.ENV} == env_before


def test_the_floor_builds_one_item_per_event() -> None:
    (body,) = ingest.bodies(5, 5, "f")
    assert ingest.floor(body) == 5
