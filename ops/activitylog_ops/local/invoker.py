"""Runs a function's handler in this process, as Lambda would: import by handler string, fake context.

All functions share this process's environment, so their `Environment.Variables` are merged into
os.environ once; two functions that need different values for one variable cannot run in-process
together, and registering them fails loudly instead of letting one silently use the other's value.
The function timeout is not enforced (a thread cannot be stopped); overruns are logged.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from activitylog_ops.local.template import FunctionSpec

log = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]


class InvokerError(Exception):
    """A function cannot be registered or found."""


@dataclass
class LambdaContext:
    """The attributes and method of `awslambdaric`'s context that handlers and Powertools use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_s: int
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed_ms = int((time.monotonic() - self._started) * 1000)
        return max(0, self.timeout_s * 1000 - elapsed_ms)


def load_handler(handler: str) -> Handler:
    """`package.module.function` → the function (imported once, as Lambda does at cold start)."""
    module_name, _, attribute = handler.rpartition(".")
    if not module_name:
        raise InvokerError(f"handler {handler!r} is not of the form module.function")
    function: Handler = getattr(importlib.import_module(module_name), attribute)
    return function


class InProcessInvoker:
    def __init__(self, functions: Iterable[FunctionSpec] = ()) -> None:
        self._functions: dict[str, FunctionSpec] = {}
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        # One execution environment per function, as a Lambda container: it serves one request at a
        # time. Handlers keep per-container state (the resolver's current event, caches), so two
        # threads in one handler at once could mix requests up; different functions still overlap.
        self._busy: dict[str, threading.Lock] = {}
        for spec in functions:
            self.register(spec)

    def register(self, spec: FunctionSpec) -> None:
        with self._lock:
            for name, value in spec.environment.items():
                owner = next(
                    (f for f in self._functions.values() if f.environment.get(name, value) != value), None
                )
                if owner is not None:
                    raise InvokerError(
                        f"{spec.name} and {owner.name} need different values of {name} "
                        f"({value!r} vs {owner.environment[name]!r}); in-process functions share one env"
                    )
            os.environ.update(spec.environment)
            self._functions[spec.name] = spec
            self._functions[spec.arn] = spec

    def __contains__(self, name_or_arn: str) -> bool:
        return self._spec(name_or_arn) is not None

    def names(self) -> list[str]:
        return sorted({spec.name for spec in self._functions.values()})

    def _spec(self, name_or_arn: str) -> FunctionSpec | None:
        base = name_or_arn.removesuffix(":$LATEST")
        return self._functions.get(base)

    def handler(self, name_or_arn: str) -> tuple[FunctionSpec, Handler]:
        spec = self._spec(name_or_arn)
        if spec is None:
            raise InvokerError(f"no function {name_or_arn!r} is registered")
        with self._lock:
            if spec.name not in self._handlers:
                self._handlers[spec.name] = load_handler(spec.handler)
            return spec, self._handlers[spec.name]

    def invoke(self, name_or_arn: str, event: Any) -> Any:
        """Call the handler; its exceptions propagate (the caller decides what a failure means)."""
        spec, handler = self.handler(name_or_arn)
        context = LambdaContext(
            function_name=spec.name,
            invoked_function_arn=spec.arn,
            memory_limit_in_mb=spec.memory_mb,
            timeout_s=spec.timeout_s,
        )
        with self._lock:
            busy = self._busy.setdefault(spec.name, threading.Lock())
        started = time.monotonic()
        try:
            with busy:
                return handler(event, context)
        finally:
            elapsed = time.monotonic() - started
            if elapsed > spec.timeout_s:
                log.warning("%s ran %.1f s, over its %d s timeout", spec.name, elapsed, spec.timeout_s)
