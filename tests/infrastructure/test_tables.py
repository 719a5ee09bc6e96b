"""Stateful stack: the tables of docs/components.md, with their logical IDs pinned."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match
from infra_support import Synth, resources_of

# A changed logical ID makes CloudFormation replace the table, i.e. delete the data (RETAIN only
# keeps an orphan). These IDs must never change.
PINNED_TABLE_IDS = {"EventsTable", "ControlTable", "IdempotencyTable"}

EVENTS_GSIS = {"by_time": "tpk", "by_actor": "apk", "by_action": "xpk", "by_target": "gpk"}


def _table(stateful: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return stateful["Resources"][logical_id]


def test_stateful_stack_holds_exactly_the_three_pinned_tables(stateful: dict[str, Any]) -> None:
    # Given the synthesized stateful template / Then its tables have exactly the pinned logical IDs
    assert set(resources_of(stateful, "AWS::DynamoDB::Table")) == PINNED_TABLE_IDS
    export_storage = {
        "ExportsExportsBucketAF6E3739",
        "ExportsExportsBucketPolicyFF2CB7F5",
        "ExportsDownloadSigningSecretAE0494BC",
        "ExportsSenderIdentity98421466",
        "ExportsScheduleGroup7C853BBF",
    }
    assert set(stateful["Resources"]) == PINNED_TABLE_IDS | export_storage


@pytest.mark.parametrize("logical_id", sorted(PINNED_TABLE_IDS))
def test_every_table_is_durable_and_encrypted(stateful: dict[str, Any], logical_id: str) -> None:
    table = _table(stateful, logical_id)
    props = table["Properties"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}  # AWS-managed KMS key
    assert props["DeletionProtectionEnabled"] is True
    assert "TableName" not in props  # no physical names


def test_events_table_keys_ttl_and_gsis(stateful: dict[str, Any]) -> None:
    props = _table(stateful, "EventsTable")["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "exp", "Enabled": True}
    gsis = {g["IndexName"]: g for g in props["GlobalSecondaryIndexes"]}
    assert set(gsis) == set(EVENTS_GSIS)
    for name, pk in EVENTS_GSIS.items():
        assert gsis[name]["KeySchema"] == [
            {"AttributeName": pk, "KeyType": "HASH"},
            {"AttributeName": "ts", "KeyType": "RANGE"},
        ], name
        assert gsis[name]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["exp"]}, name
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert types == {"pk": "S", "ts": "S", "tpk": "S", "apk": "S", "xpk": "S", "gpk": "S"}


def test_control_table_keys_ttl_and_owner_index(stateful: dict[str, Any]) -> None:
    props = _table(stateful, "ControlTable")["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "exp", "Enabled": True}
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "by_owner",
            "KeySchema": [
                {"AttributeName": "gpk", "KeyType": "HASH"},
                {"AttributeName": "gsk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]


def test_idempotency_table_uses_powertools_defaults(stateful: dict[str, Any]) -> None:
    props = _table(stateful, "IdempotencyTable")["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert "GlobalSecondaryIndexes" not in props


def test_stateful_outputs_name_the_tables(synth: Synth) -> None:
    synth.stateful.has_output("EventsTableName", {"Value": {"Ref": "EventsTable"}})
    synth.stateful.has_output("ControlTableName", {"Value": {"Ref": "ControlTable"}})


def test_assertions_library_sees_the_same_table(synth: Synth) -> None:
    # Cross-check with aws_cdk.assertions: exactly one table has the events TTL and four GSIs
    synth.stateful.resource_properties_count_is(
        "AWS::DynamoDB::Table",
        {
            "TimeToLiveSpecification": {"AttributeName": "exp", "Enabled": True},
            "GlobalSecondaryIndexes": Match.array_with([Match.object_like({"IndexName": "by_target"})]),
        },
        1,
    )
