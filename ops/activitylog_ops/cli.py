"""The operator CLI, `activitylog`.

`activitylog keys create --tenant T --scopes a,b [--actor-id A] [--name N] [--stack S]`
`activitylog tenants set-quota T N [--stack S]`     the monthly quota of accepted events
`activitylog tenants set-mail-limit T N [--stack S]`  notification emails per UTC day (export runs)
`activitylog tenants set-shards T N [--stack S]`    write shards of a hot tenant (may only grow)
`activitylog tenants set-rate-limit T (--rate R --burst B | --default) [--api-stack S]`  requests/s
`activitylog tenants sync-rate-limits [--stack S] [--api-stack S]`  every tenant with a key gets its
                                                    rate-limit key (after an upgrade that added them)
`activitylog tenants show T [--stack S]`            settings, limits, this month's usage, today's mail

Targets the local stack when `.local/env` exists in the working directory (its emulation endpoint
and table names), or when the shell has sourced one (`ACTIVITYLOG_CONTROL_TABLE` and
`AWS_ENDPOINT_URL` set); otherwise the deployed stack of the current AWS credentials and region (the
control table from the `ControlTableName` output of `ActivityLog-Stateful`, or of `--stack`; the
tenants' usage plans from the `TenantUsagePlanId` output of `ActivityLog-Stateless`, or of
`--api-stack`). The new key is printed alone on the last line of stdout; everything before it is for
people.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from activitylog_ops.local.envfile import ENV_FILE, read_env_file

DEFAULT_STACK = "ActivityLog-Stateful"
DEFAULT_API_STACK = "ActivityLog-Stateless"
EXIT_USAGE = 2
EXIT_FAILURE = 1


API_STACK_HELP = f"deployed API stack, whose usage plans throttle tenants (default {DEFAULT_API_STACK})"


class CliError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Target:
    description: str
    control_table: str
    dynamodb: Any
    events_table: str = ""
    # The stack's tenants' rate limits (API Gateway usage plans), read only by the commands that need them.
    throttles: Callable[[], Any] | None = None

    def rate_limits(self) -> Any:
        if self.throttles is None:
            raise CliError(f"{self.description}: its API's usage plans are unknown")
        return self.throttles()


def local_target(env: dict[str, str]) -> Target:
    import boto3

    try:
        endpoint, table = env["AWS_ENDPOINT_URL"], env["ACTIVITYLOG_CONTROL_TABLE"]
    except KeyError as missing:
        raise CliError(f"{ENV_FILE} lacks {missing}; restart `make local`") from None
    dynamodb = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the local emulation's dummy credentials
    )
    description = f"local stack ({env.get('ACTIVITYLOG_API_URL', endpoint)})"

    def throttles() -> Any:
        from activitylog_ops.throttle import ENV_PLAN, local_throttles

        if ENV_PLAN not in env:
            raise CliError(f"{ENV_FILE} lacks {ENV_PLAN}; restart `make local`")
        return local_throttles(env)

    return Target(description, table, dynamodb, env.get("ACTIVITYLOG_EVENTS_TABLE", ""), throttles)


def no_target(missing: str) -> CliError:
    return CliError(
        f"no stack to work on: there is no {ENV_FILE} in {Path.cwd()} and {missing}.\n"
        f"  The local stack: run this where `make local` runs (it writes {ENV_FILE} there), or first "
        f"`source /path/to/the/project/{ENV_FILE}`.\n"
        "  A deployed stack: AWS credentials and a region, e.g. `AWS_PROFILE=prod AWS_REGION=eu-west-1 "
        f"activitylog ...` (--stack NAME if it is not {DEFAULT_STACK})."
    )


def _outputs(session: Any, stack: str) -> dict[str, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        described = session.client("cloudformation").describe_stacks(StackName=stack)
    except (BotoCoreError, ClientError) as err:
        raise CliError(f"cannot read stack {stack}: {err}") from None
    return {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}


def deployed_target(stack: str, api_stack: str = DEFAULT_API_STACK) -> Target:
    import boto3

    session = boto3.session.Session()
    if session.region_name is None:
        raise no_target("no AWS region is configured (AWS_REGION, or a profile's region)")
    if session.get_credentials() is None:
        raise no_target("no AWS credentials were found")
    outputs = _outputs(session, stack)
    if "ControlTableName" not in outputs:
        raise CliError(f"stack {stack} has no ControlTableName output")
    region = session.region_name or "default region"

    def throttles() -> Any:
        from activitylog_ops.throttle import TenantThrottles

        plan = _outputs(session, api_stack).get("TenantUsagePlanId")
        if not plan:
            raise CliError(f"stack {api_stack} has no TenantUsagePlanId output (--api-stack?)")
        from botocore.config import Config

        # API Gateway's control plane allows a few calls a second (CreateApiKey 5/s, UpdateUsagePlan one
        # per 20 s): the adaptive retry mode waits out its throttling (sync-rate-limits, many tenants).
        client = session.client("apigateway", config=Config(retries={"mode": "adaptive", "max_attempts": 10}))
        return TenantThrottles(client, default_plan_id=plan, namespace=api_stack)

    return Target(
        f"stack {stack} ({region})",
        outputs["ControlTableName"],
        session.client("dynamodb"),
        outputs.get("EventsTableName", ""),
        throttles,
    )


SOURCED = ("AWS_ENDPOINT_URL", "ACTIVITYLOG_CONTROL_TABLE")  # what `source .local/env` exports


def choose_target(stack: str | None, api_stack: str | None = None) -> Target:
    env = read_env_file()
    if stack is None and env is None and all(os.environ.get(name) for name in SOURCED):
        env = {name: value for name, value in os.environ.items() if name.startswith(("ACTIVITYLOG_", "AWS_"))}
    if env is not None and stack is None and api_stack is None:
        return local_target(env)
    return deployed_target(stack or DEFAULT_STACK, api_stack or DEFAULT_API_STACK)


def validate_tenant(tenant: str) -> None:
    import re

    from activitylog.models.auth import TENANT_PATTERN

    if not re.fullmatch(TENANT_PATTERN, tenant):
        raise CliError(
            f"invalid tenant {tenant!r}: lowercase letters, digits and '-', 1-63 characters, "
            "starting with a letter or digit",
            EXIT_USAGE,
        )


def validate(tenant: str, scopes: str) -> list[str]:
    """Checks before touching any stack, with the project's own rules."""

    from activitylog.logic.keys import parse_scopes
    from activitylog.models.errors import InvalidInputError

    validate_tenant(tenant)
    try:
        return [scope.value for scope in parse_scopes(scopes.split(","))]
    except InvalidInputError as err:
        from activitylog.models.auth import Scope

        allowed = ", ".join(scope.value for scope in Scope)
        raise CliError(f"invalid scopes: {err.message} (allowed: {allowed})", EXIT_USAGE) from None


def keys_create(args: argparse.Namespace) -> int:
    from activitylog.models.errors import ServiceError

    from activitylog_ops.local.service import create_key

    scopes = validate(args.tenant, args.scopes)
    target = choose_target(args.stack, args.api_stack)
    try:
        created = create_key(
            target.control_table,
            target.dynamodb,
            throttles=target.rate_limits(),
            tenant=args.tenant,
            scopes=scopes,
            actor_id=args.actor_id,
            name=args.name,
        )
    except ServiceError as err:
        raise CliError(err.message, EXIT_USAGE if err.status < 500 else EXIT_FAILURE) from None
    _audit_key_created(target, created)
    granted = " ".join(scope.value for scope in created.record.scopes)
    print(f"target: {target.description}")
    print(f"tenant: {args.tenant}  key id: {created.id}  prefix: {created.prefix}")
    print(f"scopes: {granted}" + (f"  actor: {args.actor_id}" if args.actor_id else ""))
    print("the key is shown once; store it now:")
    print(created.key)
    return 0


def _stores(target: Target) -> tuple[Any, Any]:
    """The target's control and events tables, wired as the functions wire them (one composition root)."""
    from activitylog.handlers.wiring import Container

    if not target.events_table:
        raise CliError(f"{target.description}: the events table name is unknown (no EventsTableName)")
    tables = {"CONTROL_TABLE": target.control_table, "EVENTS_TABLE": target.events_table}
    container = Container(environ=tables, clients={"dynamodb": target.dynamodb})
    return container.control, container.events


def _audit_key_created(target: Target, created: Any) -> None:
    """Keys made by the operator are part of the tenant's audit trail too."""
    from datetime import UTC, datetime

    from activitylog.logic import audit

    control, events = _stores(target)
    record = created.record
    audit.record(
        events,
        control,
        control.get_settings(record.tenant),
        tenant=record.tenant,
        action="activitylog.api_key.created",
        actor=audit.OPERATOR,
        now=datetime.now(UTC),
        targets=[{"type": "api_key", "id": record.id, "name": record.name or record.prefix}],
        metadata={"scopes": " ".join(s.value for s in record.scopes)},
    )


def tenants_set_quota(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from activitylog.logic.settings import set_monthly_quota

    validate_tenant(args.tenant)
    if args.quota < 0:
        raise CliError("the quota must be 0 or more", EXIT_USAGE)
    target = choose_target(args.stack)
    control, events = _stores(target)
    set_monthly_quota(control, events, args.tenant, args.quota, now=datetime.now(UTC))
    print(f"target: {target.description}")
    print(f"tenant {args.tenant}: monthly quota {args.quota:,} accepted events")
    return 0


def tenants_set_mail_limit(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from activitylog.logic.settings import set_daily_mail_limit

    validate_tenant(args.tenant)
    if args.limit < 0:
        raise CliError("the daily mail limit must be 0 or more", EXIT_USAGE)
    target = choose_target(args.stack)
    control, events = _stores(target)
    set_daily_mail_limit(control, events, args.tenant, args.limit, now=datetime.now(UTC))
    print(f"target: {target.description}")
    print(f"tenant {args.tenant}: at most {args.limit:,} notification emails per UTC day")
    return 0


def tenants_set_shards(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from activitylog.logic.settings import raise_shard_count
    from activitylog.models.errors import ConflictError, InvalidInputError

    validate_tenant(args.tenant)
    target = choose_target(args.stack)
    control, events = _stores(target)
    try:
        raise_shard_count(control, events, args.tenant, args.shards, now=datetime.now(UTC))
    except InvalidInputError as err:
        raise CliError(err.message, EXIT_USAGE) from None
    except ConflictError as err:
        raise CliError(err.message) from None
    print(f"target: {target.description}")
    print(f"tenant {args.tenant}: {args.shards} write shards (ingestion and queries use them within 60 s)")
    return 0


def _describe(limit: Any) -> str:
    where = "its own plan" if limit.custom else "the default plan"
    return f"{limit.rate:g} requests/s, burst {limit.burst:,} ({where} {limit.plan_name})"


def tenants_set_rate_limit(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from activitylog.logic.settings import record_rate_limit_change

    from activitylog_ops.throttle import RateLimitError

    validate_tenant(args.tenant)
    if args.default == (args.rate is not None or args.burst is not None):
        raise CliError("give --rate and --burst, or --default", EXIT_USAGE)
    if not args.default and (args.rate is None or args.burst is None):
        raise CliError("give both --rate and --burst", EXIT_USAGE)
    target = choose_target(args.stack, args.api_stack)
    throttles = target.rate_limits()
    try:
        limit = (
            throttles.reset(args.tenant)
            if args.default
            else throttles.set_limit(args.tenant, rate=args.rate, burst=args.burst)
        )
    except RateLimitError as err:
        raise CliError(str(err), EXIT_USAGE) from None
    control, events = _stores(target)
    record_rate_limit_change(
        control, events, args.tenant, rate=limit.rate, burst=limit.burst, now=datetime.now(UTC)
    )
    print(f"target: {target.description}")
    print(f"tenant {args.tenant}: {_describe(limit)}; API Gateway applies it within about a minute")
    return 0


def tenants_sync_rate_limits(args: argparse.Namespace) -> int:
    from activitylog_ops.throttle import tenants_with_keys

    target = choose_target(args.stack, args.api_stack)
    throttles = target.rate_limits()
    tenants = tenants_with_keys(target.dynamodb, target.control_table)
    print(f"target: {target.description}")
    for tenant in tenants:
        print(f"tenant {tenant}: {_describe(throttles.ensure(tenant))}")
    print(f"{len(tenants)} tenants have their rate-limit key")
    return 0


def tenants_show(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from activitylog.logic.settings import usage

    validate_tenant(args.tenant)
    target = choose_target(args.stack, args.api_stack)
    control, _ = _stores(target)
    settings = control.get_settings(args.tenant)
    now = datetime.now(UTC)
    print(f"target: {target.description}")
    print(settings.model_dump_json(indent=2))
    print(usage(control, settings.limits, args.tenant, now).model_dump_json())
    day = now.strftime("%Y-%m-%d")
    sent = control.mails_sent(args.tenant, day)
    print(f"notification emails {day} (UTC): {sent:,} of {settings.limits.daily_mail_limit:,}")
    limit = target.rate_limits().limit_of(args.tenant)
    print(f"rate limit: {_describe(limit) if limit else 'none (activitylog tenants sync-rate-limits)'}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="activitylog", description="Activity Log operator CLI")
    areas = root.add_subparsers(dest="area", required=True)
    keys = areas.add_parser("keys", help="API keys").add_subparsers(dest="command", required=True)
    create = keys.add_parser("create", help="create an API key and print it (last line of stdout)")
    create.add_argument("--tenant", required=True, help="tenant id, e.g. acme")
    create.add_argument("--scopes", required=True, help="comma-separated, e.g. events:write,events:read")
    create.add_argument("--actor-id", default=None, help="restrict the key to one actor's own events")
    create.add_argument("--name", default="", help="a label for people")
    create.add_argument("--stack", default=None, help=f"deployed stateful stack (default {DEFAULT_STACK})")
    create.add_argument("--api-stack", default=None, help=API_STACK_HELP)
    create.set_defaults(run=keys_create)
    tenants = areas.add_parser("tenants", help="tenant limits").add_subparsers(dest="command", required=True)
    quota = tenants.add_parser("set-quota", help="set a tenant's monthly quota of accepted events")
    quota.add_argument("tenant", help="tenant id, e.g. acme")
    quota.add_argument("quota", type=int, help="accepted events per calendar month (UTC)")
    quota.add_argument("--stack", default=None, help=f"deployed stateful stack (default {DEFAULT_STACK})")
    quota.set_defaults(run=tenants_set_quota)
    mail = tenants.add_parser("set-mail-limit", help="set a tenant's daily cap of notification emails")
    mail.add_argument("tenant", help="tenant id, e.g. acme")
    mail.add_argument("limit", type=int, help="export notification emails per UTC day (0: none)")
    mail.add_argument("--stack", default=None, help=f"deployed stateful stack (default {DEFAULT_STACK})")
    mail.set_defaults(run=tenants_set_mail_limit)
    shards = tenants.add_parser("set-shards", help="spread a hot tenant's writes over N shards (only grows)")
    shards.add_argument("tenant", help="tenant id, e.g. acme")
    shards.add_argument("shards", type=int, help="write shards, 1-64 (docs/data-model.md, 'Hot tenants')")
    shards.add_argument("--stack", default=None, help=f"deployed stateful stack (default {DEFAULT_STACK})")
    shards.set_defaults(run=tenants_set_shards)
    rate = tenants.add_parser("set-rate-limit", help="a tenant's own requests/s and burst, or the default")
    rate.add_argument("tenant", help="tenant id, e.g. acme")
    rate.add_argument("--rate", type=float, default=None, help="steady requests per second, e.g. 500")
    rate.add_argument("--burst", type=int, default=None, help="requests at once, e.g. 1000")
    rate.add_argument("--default", action="store_true", help="back to the default plan's limit")
    rate.add_argument("--stack", default=None, help=f"deployed stateful stack (default {DEFAULT_STACK})")
    rate.add_argument("--api-stack", default=None, help=API_STACK_HELP)
    rate.set_defaults(run=tenants_set_rate_limit)
    sync = tenants.add_parser("sync-rate-limits", help="give every tenant with a key its rate-limit key")
    sync.add_argument("--stack", default=None, help=f"deployed stateful stack (default {DEFAULT_STACK})")
    sync.add_argument("--api-stack", default=None, help=API_STACK_HELP)
    sync.set_defaults(run=tenants_sync_rate_limits)
    show = tenants.add_parser("show", help="a tenant's settings, limits and usage")
    show.add_argument("tenant", help="tenant id")
    show.add_argument("--stack", default=None, help=f"deployed stateful stack (default {DEFAULT_STACK})")
    show.add_argument("--api-stack", default=None, help=API_STACK_HELP)
    show.set_defaults(run=tenants_show)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except CliError as err:
        print(f"activitylog: error: {err}", file=sys.stderr)
        return err.exit_code
    return code


if __name__ == "__main__":
    sys.exit(main())
