"""The cost model sizes items with DynamoDB's rules and adds up a consistent breakdown."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench import cost


@pytest.mark.parametrize(
    ("number", "size"), [("0", 2), ("7", 2), ("1764000000", 3), ("1764000123", 6), ("-12.5", 3)]
)
def test_numbers_cost_a_byte_per_two_significant_digits_plus_one(number: str, size: int) -> None:
    assert cost.number_size(number) == size


def test_an_item_is_sized_by_attribute_names_and_values() -> None:
    item = {"pk": {"S": "t#1"}, "exp": {"N": "1764000123"}, "z": {"B": b"abc"}}
    assert cost.item_bytes(item) == (2 + 3) + (3 + 6) + (1 + 3)


def test_write_units_round_up_at_the_1_kb_boundary() -> None:
    assert [cost.write_units(n) for n in (1, 1024, 1025, 2048)] == [1, 1, 2, 2]


def test_the_layout_of_a_small_mix_has_one_entry_per_index_and_event() -> None:
    # Given what to_items writes for a few realistic events
    layout = cost.measure_layout(cost.records_of(40))

    # Then every event has its item and one by_time, by_actor and by_action entry
    assert layout.items >= 1.0 and layout.item_writes >= 1.0
    assert layout.entries["by_time"] == layout.entries["by_actor"] == layout.entries["by_action"] == 1.0
    assert 0 < layout.entries["by_target"] <= 2.0
    assert layout.document_bytes < layout.item_bytes / layout.items


def test_the_breakdown_adds_up_and_the_floor_is_not_above_the_layout() -> None:
    layout = cost.measure_layout(cost.records_of(40))
    base = cost.Scenario("current", layout, lambda_seconds=0.1)
    current = cost.cost(base)
    floor = cost.cost(replace(base, layout=cost.floor_layout(layout), idempotency_read=False, counter=False))
    assert current.total == pytest.approx(sum(current.lines.values()))
    assert 0 < floor.total <= current.total
    # Dropping an index saves exactly its writes and storage
    fewer = cost.cost(replace(base, drop_indexes=("by_time",)))
    assert fewer.writes == pytest.approx(current.writes - 1.0)
    assert fewer.total < current.total


def test_compressing_the_document_makes_it_smaller() -> None:
    records = cost.records_of(40)
    plain, packed = cost.measure_layout(records), cost.measure_layout(records, cost.compressed_document)
    assert packed.document_bytes < plain.document_bytes
