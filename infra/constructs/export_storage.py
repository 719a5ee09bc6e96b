"""Stateful export resources: the exports bucket, the download-token signing secret, the SES sender
identity and the schedule group of the tenants' export schedules."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra.config import Sender
from infra.nag import acknowledge

FILE_DAYS = 7  # API.md: files stay downloadable for 7 days


class ExportStorage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "ExportsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=False,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-export-files",
                    enabled=True,
                    expiration=Duration.days(FILE_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        acknowledge(
            self.bucket,
            rule="AwsSolutions-S1",
            reason="Export files live 7 days and every download goes through our API, whose access logs "
            "record tenant, key and route; S3 server access logs would need a second bucket for no "
            "additional audit value.",
        )
        self.signing_secret = secretsmanager.Secret(
            self,
            "DownloadSigningSecret",
            description="HMAC-SHA256 key of the emailed download tokens (Activity Log exports)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.signing_secret,
            rule="AwsSolutions-SMG4",
            reason="Rotating the signing key would invalidate every emailed download link before its "
            "7-day life ends; it is rotated by hand (docs/exports.md) when it must be.",
        )
        self.sender = Sender.of(self)
        if self.sender.create_identity:
            self._sender_identity(self.sender)
        # The tenants' export schedules live in this group, next to the control table's schedule
        # records. No fixed name (CloudFormation generates a unique one: recreating the stack after a
        # teardown cannot collide with a group still being deleted), and deleted with the stack, which
        # deletes its schedules: after a teardown nothing fires at functions that are gone
        # (docs/operations.md, "Tearing down").
        group = scheduler.CfnScheduleGroup(self, "ScheduleGroup")
        group.apply_removal_policy(RemovalPolicy.DESTROY)
        self.schedule_group = scheduler.ScheduleGroup.from_schedule_group_name(
            self,
            "ScheduleGroupByName",
            group.ref,  # Ref of a schedule group is its name
        )

    def _sender_identity(self, sender: Sender) -> None:
        """The SES identity to verify: the address (a confirmation link is mailed to it) or the domain
        (Easy DKIM: publish the three CNAME records of the outputs). Referred to by value (its ARN is
        built from the name), never exported: changing the sender replaces it."""
        if sender.is_domain:
            identity = ses.EmailIdentity(
                self, "SenderIdentity", identity=ses.Identity.domain(sender.identity)
            )
            for n in (1, 2, 3):
                name = getattr(identity, f"dkim_dns_token_name{n}")
                value = getattr(identity, f"dkim_dns_token_value{n}")
                CfnOutput(
                    self, f"SenderDkimRecord{n}", value=f"{name} CNAME {value}", description="DNS record"
                )
        else:
            ses.EmailIdentity(self, "SenderIdentity", identity=ses.Identity.email(sender.identity))
