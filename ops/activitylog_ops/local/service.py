"""The whole local service: emulation + deployed template + in-process functions + HTTP gateway."""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from activitylog_ops.local import moto_lambda, sqs_delays
from activitylog_ops.local.console_files import DIST, ConsoleFiles
from activitylog_ops.local.deploy import create_resources, output, synth_templates
from activitylog_ops.local.envfile import ENV_FILE, write_env_file
from activitylog_ops.local.gateway import Gateway
from activitylog_ops.local.invoker import InProcessInvoker
from activitylog_ops.local.moto_server import DUMMY_CREDENTIALS, EmbeddedMoto, apply_environment
from activitylog_ops.local.queues import SqsPoller, queue_mappings
from activitylog_ops.local.rate_limits import LocalRateLimits
from activitylog_ops.local.schedule_clock import ScheduleClock
from activitylog_ops.local.schedules import LocalScheduler
from activitylog_ops.local.streams import StreamPoller, stream_mappings
from activitylog_ops.local.template import Deployment
from activitylog_ops.throttle import ENV_NAMESPACE, ENV_PLAN, TenantThrottles

log = logging.getLogger(__name__)

STATEFUL = "ActivityLog-Stateful"
DEMO_TENANT = "demo"
DEMO_SCOPES = (
    "events:write",
    "events:read",
    "events:read:self",
    "exports:manage",
    "logging:manage",
    "keys:manage",
    "alerts:manage",  # Part 2 (API.md): "a key for tenant demo with every scope"
    "streams:manage",
    "tokens:create",
)

Templates = Mapping[str, Mapping[str, Any]]
_running: LocalService | None = None


def create_key(
    control_table: str,
    dynamodb: Any,
    *,
    throttles: TenantThrottles,
    tenant: str,
    scopes: list[str],
    actor_id: str | None = None,
    name: str = "",
) -> Any:
    """A new API key through the project's own logic (the secret is in `.key`). The tenant's rate
    limit key is made with its first credential (`throttles`: the stack's usage plans); without it
    API Gateway would refuse every request of the tenant."""
    from activitylog.handlers.wiring import Container
    from activitylog.logic.keys import create_api_key

    throttles.ensure(tenant)
    return create_api_key(
        Container(environ={"CONTROL_TABLE": control_table}, clients={"dynamodb": dynamodb}).control,
        tenant=tenant,
        scopes=scopes,
        actor_id=actor_id,
        name=name,
        now=datetime.now(UTC),
    )


METRICS_DISABLED = "POWERTOOLS_METRICS_DISABLED"  # Powertools' own switch (docs/components.md, "Metrics")
# Webhook destinations may point at http://127.0.0.1:<port> locally (API.md; models/env.py WebhookEnv).
WEBHOOK_ALLOW_LOOPBACK = "WEBHOOK_ALLOW_LOOPBACK"
# The web console's address in firing emails (models/env.py ConsoleEnv): CloudFront's in the template.
CONSOLE_URL = "CONSOLE_URL"


def console_url(gateway_url: str) -> str:
    """Where the local gateway serves the console (console_files.py), as the template's `console.url`
    ends: `<base>/console/`."""
    return gateway_url.rstrip("/") + "/console/"


@dataclass
class LocalService:
    """Start with `start()`; `env` then holds what `.local/env` holds. Stop with `stop()`."""

    port: int = 8080
    moto_port: int = 0
    env_file: Path | None = ENV_FILE
    templates: Callable[[], Templates] | None = None  # default: synthesize the CDK app
    moto: EmbeddedMoto = field(default_factory=EmbeddedMoto)
    env: dict[str, str] = field(default_factory=dict)
    gateway: Gateway | None = None
    deployment: Deployment | None = None
    _environ_before: dict[str, str] | None = None
    _invoker: InProcessInvoker | None = None
    _delays_installed: bool = False
    # Fire due schedules by themselves (make local); tests fire them explicitly instead.
    auto_fire: bool = True
    clock: ScheduleClock | None = None
    streams: list[StreamPoller] = field(default_factory=list)  # the template's stream mappings
    queues: list[SqsPoller] = field(default_factory=list)  # the template's SQS mappings

    def start(self) -> dict[str, str]:
        # moto's backends and os.environ (the functions' variables) are process-wide: a second
        # stack would collide with the first (same table names) or silently share its state.
        global _running
        if _running is not None:
            raise RuntimeError("a local stack is already running in this process; reuse it")
        _running = self
        self.moto = EmbeddedMoto(port=self.moto_port)
        self.moto.start()
        self.moto.reset()  # a stack stopped earlier in this process left its resources behind
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> dict[str, str]:
        self._environ_before = dict(os.environ)
        apply_environment(self.moto.client_environment())
        # The functions' EMF metric lines (handlers/metrics.py) would flood the console of `make local`
        # and nothing reads them locally; a test that wants them sets the variable before starting.
        os.environ.setdefault(METRICS_DISABLED, "true")
        os.environ[WEBHOOK_ALLOW_LOOPBACK] = "true"  # local mode only; never in a template
        _forget_cached_configuration()
        templates = self.templates() if self.templates else _synthesize()
        # Refs of queues are their URLs on the emulation (DELIVERY_QUEUE_URL), as GetQueueUrl answers.
        self.deployment = Deployment(templates, endpoint_url=self.moto.url)
        invoker = InProcessInvoker(self.deployment.functions())
        self._invoker = invoker
        moto_lambda.install(invoker)
        # Delays on the functions' clock (tests move it): RollupWork's hops need no wall-clock wait.
        sqs_delays.install()
        self._delays_installed = True
        created = create_resources(self.deployment, _client_factory(self.moto.url))
        plan_stack, plan_id = _tenant_plan(created)
        throttles = TenantThrottles(
            _client_factory(self.moto.url)("apigateway"), default_plan_id=plan_id, namespace=plan_stack
        )
        local_scheduler = LocalScheduler(lambda: _client_factory(self.moto.url)("scheduler"), invoker.invoke)
        self.gateway = Gateway(
            self.deployment.routes(),
            invoker,
            stage=self.deployment.stage_name(),
            mail=self.moto.mail.messages,
            fire=local_scheduler.fire,
            rate_limits=LocalRateLimits(throttles),
            console=ConsoleFiles(DIST),  # console/dist at /console/, headers as CloudFront's
            port=self.port,
        )
        self.gateway.start()
        self.streams = [
            StreamPoller(mapping, functools.cache(_client_factory(self.moto.url)), invoker.invoke)
            for mapping in stream_mappings(self.deployment)
        ]
        for poller in self.streams:
            poller.start()
        clients = functools.cache(_client_factory(self.moto.url))
        for mapping in queue_mappings(self.deployment):
            if not mapping.enabled:
                log.info("SQS mapping %s is disabled: not polled", mapping.logical_id)
                continue
            queue_poller = SqsPoller(mapping, clients, invoker.invoke, release=sqs_delays.release_due)
            self.queues.append(queue_poller)
            queue_poller.start()
        self.clock = ScheduleClock(local_scheduler.scheduler, local_scheduler.fire)
        if self.auto_fire:
            self.clock.start()
        # Links in emails point at the API and the console; locally both are this gateway
        # (configuration, as on AWS, where they are the stage's and CloudFront's URLs).
        os.environ["API_BASE_URL"] = self.gateway.url
        os.environ[CONSOLE_URL] = console_url(self.gateway.url)
        _forget_cached_configuration()
        control = output(self.deployment, STATEFUL, "ControlTableName")
        events = output(self.deployment, STATEFUL, "EventsTableName")
        dynamodb = _client_factory(self.moto.url)("dynamodb")
        demo = create_key(
            control,
            dynamodb,
            throttles=throttles,
            tenant=DEMO_TENANT,
            scopes=list(DEMO_SCOPES),
            name="local demo key",
        )
        self.env = {
            "ACTIVITYLOG_API_URL": self.gateway.url,
            "ACTIVITYLOG_API_KEY": demo.key,
            "AWS_ENDPOINT_URL": self.moto.url,
            "ACTIVITYLOG_CONTROL_TABLE": control,
            "ACTIVITYLOG_EVENTS_TABLE": events,
            ENV_PLAN: plan_id,
            ENV_NAMESPACE: plan_stack,
        }
        if self.env_file is not None:
            write_env_file(self.env, self.env_file)
        return self.env

    def stop(self) -> None:
        global _running
        if self.env_file is not None and self.env:
            self.env_file.unlink(missing_ok=True)
        if self.clock is not None:
            self.clock.stop()
            self.clock = None
        for poller in self.streams:
            poller.stop()
        self.streams = []
        for queue_poller in self.queues:
            queue_poller.stop()
        self.queues = []
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self._invoker is not None:
            moto_lambda.uninstall(self._invoker)
            self._invoker = None
        if self._delays_installed:
            sqs_delays.uninstall()
            self._delays_installed = False
        self.moto.stop()
        if self._environ_before is not None:
            _restore(self._environ_before)
            self._environ_before = None
            _forget_cached_configuration()
        if _running is self:
            _running = None

    def drain_streaming(self, timeout: float = 60.0) -> None:
        """Wait until the streaming pipeline is quiet (tests): every stream record written so far
        handled and every polled queue empty (Deliveries, AlertWork, RollupWork: no message visible
        or in flight), in passes (stream pollers, then queue pollers) until a whole pass invoked no
        function, since each stage may feed the other (the router fills the queues, the evaluator
        writes a firing's event to the stream and its deliveries to Deliveries, the rollup worker
        sends work not yet due back to its queue).

        A delayed message is work scheduled for later (the router's announcement of an hour, due
        when the hour is sealable), not waited for, unless it is due on the functions' clock: each
        pass first releases those (`sqs_delays.release_due`), so a test that moves
        `activitylog.logic.clock.now` past an hour's sealing time and drains gets the hour
        computed. TimeoutError if it is not quiet within `timeout` (a message whose visibility a
        function pushed out, a later retry, counts as in flight until then). Dead-letter queues
        have no poller: what reaches them is not waited for."""
        deadline = time.monotonic() + timeout

        def left() -> float:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the streaming pipeline was not quiet within {timeout} s")
            return remaining

        while True:
            before = self._streaming_invocations()
            for poller in self.streams:
                poller.drain(left())
            for queue_poller in self.queues:
                sqs_delays.release_due(queue_poller.mapping.queue_arn)
                queue_poller.drain(left(), delayed=False)
            if self._streaming_invocations() == before:
                return

    def _streaming_invocations(self) -> int:
        return sum(p.invocations for p in self.streams) + sum(q.invocations for q in self.queues)


def _tenant_plan(created: Mapping[str, str]) -> tuple[str, str]:
    """(the API's stack, the emulation's id of its default tenant plan): the stack's only usage plan."""
    plans = sorted(created.items())
    if len(plans) != 1:
        raise RuntimeError(
            f"expected one usage plan (the tenants' default) in the template, found {len(plans)}"
        )
    ((where, plan_id),) = plans
    return where.split("/", 1)[0], plan_id


def _restore(before: dict[str, str]) -> None:
    """Undo what local mode set in os.environ (credentials, endpoint, the functions' variables)."""
    for name in set(os.environ) - set(before):
        del os.environ[name]
    for name, value in before.items():
        if os.environ.get(name) != value:
            os.environ[name] = value


def _forget_cached_configuration() -> None:
    """The functions keep their adapters, clients and validated environment in one container per
    process (`activitylog.handlers.wiring`); local mode changes the environment, so it starts anew."""
    from activitylog.handlers import wiring

    wiring.reset()


def _synthesize() -> Templates:
    with tempfile.TemporaryDirectory(prefix="activitylog-synth-") as outdir:
        return synth_templates(outdir)


def _client_factory(endpoint: str) -> Callable[[str], Any]:
    def make(service: str) -> Any:
        import boto3

        return boto3.session.Session().client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    return make
