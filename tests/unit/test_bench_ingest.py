"""The ingest benchmark drives the real handler and logic on in-memory storage (tiny sizes)."""

from __future__ import annotations

import os

from activitylog.handlers import wiring
from activitylog.handlers.routes import ingest as ingest_routes

from bench import ingest


def test_every_variant_measures_a_positive_cpu_time_per_event() -> None:
    results = ingest.measure(ingest.Config(events_per_size=4, repeats=1), batches=(1, 2))
    assert set(results) == {1, 2}
    for variants in results.values():
        assert set(variants) == {"handler", "logic", "floor", "resolver"}
        assert all(v >= 0 for v in variants.values())


def test_the_handler_runner_stores_every_event_and_restores_the_module_and_environment() -> None:
    # Given the process's container (the handler's storage) and environment
    before = wiring.use(None)
    wiring.use(before)
    env_before = {name: os.environ.get(name) for name in ingest.ENV}

    # When a batch goes through the real handler with the fakes in place
    runner = ingest.HandlerRunner()
    try:
        (body,) = ingest.bodies(3, 3, "t")
        runner(ingest.api_event(body))
        stored = len(runner.store.items)
        runner_container = wiring.container()
    finally:
        runner.close()

    # Then the events were stored in the fake, and nothing of the swap is left behind
    assert stored >= 3
    assert runner_container is not before
    assert wiring.use(before) is before  # the process container is the one from before the run
    assert {name: os.environ.get(name) for name in ingest.ENV} == env_before


def test_the_floor_builds_one_item_per_event() -> None:
    (body,) = ingest.bodies(5, 5, "f")
    assert ingest.floor(body) == 5


def test_the_resolver_runner_answers_without_ingesting_and_restores_the_handler() -> None:
    # Given the ingestion function the handler's route calls
    before = ingest_routes.ingest
    runner = ingest.ResolverRunner()
    try:
        # When a batch goes through the handler with ingestion replaced by a ready answer
        (body,) = ingest.bodies(3, 3, "r")
        assert runner(ingest.api_event(body)) == 1
        # Then nothing was stored: only the resolver and glue ran
        assert runner.store.items == {}
    finally:
        runner.close()
    assert ingest_routes.ingest is before
