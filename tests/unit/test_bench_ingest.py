"""The ingest benchmark drives the real handler and logic on in-memory storage (tiny sizes)."""

from __future__ import annotations

import os

from activitylog.handlers import ingest as handler_module

from bench import ingest


def test_every_variant_measures_a_positive_cpu_time_per_event() -> None:
    results = ingest.measure(ingest.Config(events_per_size=4, repeats=1), batches=(1, 2))
    assert set(results) == {1, 2}
    for variants in results.values():
        assert set(variants) == {"handler", "logic", "floor", "resolver"}
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


def test_the_resolver_runner_answers_without_ingesting_and_restores_the_handler() -> None:
    # Given the handler's own ingestion function
    before = handler_module._run
    runner = ingest.ResolverRunner()
    try:
        # When a batch goes through the handler with ingestion replaced by a ready answer
        (body,) = ingest.bodies(3, 3, "r")
        assert runner(ingest.api_event(body)) == 1
        # Then nothing was stored: only the resolver and glue ran
        assert runner.store.items == {}
    finally:
        runner.close()
    assert handler_module._run is before
