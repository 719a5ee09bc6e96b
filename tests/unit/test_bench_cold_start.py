"""The cold-start probe times an import in a fresh process."""

from __future__ import annotations

from bench import cold_start


def test_an_import_is_timed_in_a_fresh_process() -> None:
    seconds, has_boto3 = cold_start.import_seconds("json")
    assert 0 < seconds < 10
    assert has_boto3 is False


def test_the_source_layer_holds_the_layer_packages_without_bytecode(tmp_path: object) -> None:
    from pathlib import Path

    # Given the layer's package names, When the benchmark copies them without bytecode
    dest = cold_start.source_layer(Path(str(tmp_path)))
    names = {p.name for p in dest.iterdir()}
    # Then the big ones are there as source, and an import from there compiles (no .pyc anywhere)
    assert {"aws_lambda_powertools", "pydantic", "pydantic_core"} <= names
    assert not list(dest.rglob("*.pyc"))
    seconds, _ = cold_start.import_seconds("pydantic", layer_source=str(dest))
    assert seconds > 0
    assert not list(dest.rglob("*.pyc"))
