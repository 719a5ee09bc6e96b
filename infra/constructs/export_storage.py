"""Stateful export resources: the exports bucket, the download-token signing secret, the SES sender."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ses as ses
from constructs import Construct

from infra.nag import acknowledge

FILE_DAYS = 7  # API.md: files stay downloadable for 7 days
SENDER_CONTEXT = "activitylog:senderEmail"
# A placeholder: set a real, verifiable address before deploying (cdk.json or -c activitylog:senderEmail=...).
DEFAULT_SENDER = "exports@example.com"


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
        sender = str(self.node.try_get_context(SENDER_CONTEXT) or DEFAULT_SENDER)
        self.sender = sender
        self.identity = ses.EmailIdentity(self, "SenderIdentity", identity=ses.Identity.email(sender))
        # The tenants' export schedules live in this group: it is state (the control table holds the
        # matching schedule records), so it stays with the data when the stateless stack is replaced.
        self.schedule_group = scheduler.ScheduleGroup(
            self, "ScheduleGroup", removal_policy=RemovalPolicy.RETAIN
        )
