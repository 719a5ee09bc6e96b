"""A small hand-made pair of templates shaped like the CDK app's (cross-stack exports included)."""

from __future__ import annotations

from typing import Any

FN_URI_PREFIX = [
    "arn:",
    {"Ref": "AWS::Partition"},
    ":apigateway:",
    {"Ref": "AWS::Region"},
    ":lambda:path/2015-03-31/functions/",
]


def _uri(function: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [*FN_URI_PREFIX, {"Fn::GetAtt": [function, "Arn"]}, "/invocations"]]}


def _resource(parent: dict[str, Any], part: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGateway::Resource",
        "Properties": {"ParentId": parent, "PathPart": part, "RestApiId": {"Ref": "Api"}},
    }


def _method(verb: str, resource: dict[str, Any], function: str, *, auth: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "HttpMethod": verb,
        "ResourceId": resource,
        "RestApiId": {"Ref": "Api"},
        "AuthorizationType": "CUSTOM" if auth else "NONE",
        "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": _uri(function)},
    }
    if auth:
        props["AuthorizerId"] = {"Ref": "TokenAuthorizer"}
    return {"Type": "AWS::ApiGateway::Method", "Properties": props}


ROOT = {"Fn::GetAtt": ["Api", "RootResourceId"]}
EXPORT = "ActivityLog-Stateful:ExportsOutputRefControlTableD52CF5A1"


def templates() -> dict[str, dict[str, Any]]:
    env = {
        "Variables": {
            "CONTROL_TABLE": {"Fn::ImportValue": EXPORT},
            "EVENTS_TABLE": {"Fn::ImportValue": "ActivityLog-Stateful:EventsName"},
            "TABLE_ARN": {"Fn::Sub": "${AWS::Partition}:${AWS::Region}:${!Literal}"},
        }
    }
    stateful = {
        "Resources": {
            "ControlTable": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "AttributeDefinitions": [
                        {"AttributeName": "pk", "AttributeType": "S"},
                        {"AttributeName": "sk", "AttributeType": "S"},
                        {"AttributeName": "gpk", "AttributeType": "S"},
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                    "GlobalSecondaryIndexes": [
                        {
                            "IndexName": "by_owner",
                            "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}],
                            "Projection": {"ProjectionType": "ALL"},
                        }
                    ],
                    "TimeToLiveSpecification": {"AttributeName": "exp", "Enabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                },
            },
            "EventsTable1A2B": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                },
            },
        },
        "Outputs": {
            "ControlTableName": {"Value": {"Ref": "ControlTable"}},
            "EventsTableName": {"Value": {"Ref": "EventsTable1A2B"}},
            "ExportsOutputRefControlTableD52CF5A1": {
                "Value": {"Ref": "ControlTable"},
                "Export": {"Name": EXPORT},
            },
            "ExportEvents": {
                "Value": {"Ref": "EventsTable1A2B"},
                "Export": {"Name": {"Fn::Sub": "${AWS::StackName}:EventsName"}},
            },
            "ExportArn": {"Value": {"Fn::GetAtt": ["ControlTable", "Arn"]}, "Export": {"Name": "ControlArn"}},
        },
    }
    fn_props = {
        "Runtime": "python3.12",
        "Timeout": 10,
        "MemorySize": 256,
        "Environment": env,
        "Code": {"S3Bucket": "assets", "S3Key": "x.zip"},
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
    }
    stateless = {
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk"}},
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "AuthFn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {**fn_props, "Handler": "local_fake_handlers.authorizer"},
            },
            "EchoFn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {**fn_props, "Handler": "local_fake_handlers.echo"},
            },
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "api"}},
            "Stage": {
                "Type": "AWS::ApiGateway::Stage",
                "Properties": {"StageName": "prod", "RestApiId": {"Ref": "Api"}},
            },
            "TokenAuthorizer": {
                "Type": "AWS::ApiGateway::Authorizer",
                "Properties": {
                    "Type": "TOKEN",
                    "RestApiId": {"Ref": "Api"},
                    "AuthorizerUri": _uri("AuthFn"),
                    "IdentitySource": "method.request.header.Authorization",
                },
            },
            "V1": _resource(ROOT, "v1"),
            "V1Events": _resource({"Ref": "V1"}, "events"),
            "V1EventsId": _resource({"Ref": "V1Events"}, "{id}"),
            "V1EventsCount": _resource({"Ref": "V1Events"}, "count"),
            "V1Health": _resource({"Ref": "V1"}, "health"),
            "V1Files": _resource({"Ref": "V1"}, "files"),
            "V1FilesProxy": _resource({"Ref": "V1Files"}, "{path+}"),
            "GetEvents": _method("GET", {"Ref": "V1Events"}, "EchoFn", auth=True),
            "PostEvents": _method("POST", {"Ref": "V1Events"}, "EchoFn", auth=True),
            "GetEvent": _method("GET", {"Ref": "V1EventsId"}, "EchoFn", auth=True),
            "GetCount": _method("GET", {"Ref": "V1EventsCount"}, "EchoFn", auth=True),
            "GetHealth": _method("GET", {"Ref": "V1Health"}, "EchoFn", auth=False),
            "AnyFiles": _method("ANY", {"Ref": "V1FilesProxy"}, "EchoFn", auth=False),
            "OptionsEvents": {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "HttpMethod": "OPTIONS",
                    "ResourceId": {"Ref": "V1Events"},
                    "RestApiId": {"Ref": "Api"},
                    "AuthorizationType": "NONE",
                    "Integration": {"Type": "MOCK"},
                },
            },
        },
    }
    return {"ActivityLog-Stateful": stateful, "ActivityLog-Stateless": stateless}
