"""The embedded AWS emulation: moto's server on 127.0.0.1, with DynamoDB requests serialised.

moto's backends take no locks, so two concurrent conditional updates of one item can both succeed
(a lost update). AWS applies conditional writes atomically; to keep quota and idempotency logic
honest locally, every DynamoDB request is dispatched under one lock. Lambda invocations are not
serialised: an in-process handler invoked through moto calls DynamoDB on this same server, and would
deadlock behind its own invocation.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from activitylog_ops.local import moto_index
from activitylog_ops.local.loopback import ListeningServer
from activitylog_ops.local.mail import MailRecorder

log = logging.getLogger(__name__)

# moto's server-side settings (the `mock_aws(config=...)` equivalent), see DESIGN §4a.
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
_DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810."
# moto's Step Functions engine logs every exception of every component it evaluates, at ERROR, before
# the enclosing component decides what it means.
STEPFUNCTIONS_COMPONENT_LOGGER = "moto.stepfunctions.parser.asl.component.eval_component"


class AbsentPathIsNotAnError(logging.Filter):
    """Drops the one record that is no error: a JSONPath that matches nothing (`NoSuchJsonPathError`).
    An `IsPresent` Choice (the export workflow's "has a settle time?", `$.not_before`) asks exactly
    that, and moto's `Variable` catches it and answers false, yet the path's own evaluation logged
    `Exception=NoSuchJsonPathError` as an ERROR first: every export run printed it. Where a missing
    path is a real failure (an InputPath, a `.$` parameter), the state turns it into `States.Runtime`,
    and that failure, and the execution's end, are still logged at ERROR by moto (the enclosing state
    and program): only this first, context-free record is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (args and str(args[0]).startswith("Exception=NoSuchJsonPathError,"))


ABSENT_PATH_FILTER = AbsentPathIsNotAnError()

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialisedDynamoDB:
    """WSGI middleware: DynamoDB requests one at a time, everything else concurrently."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith(_DYNAMODB_TARGET_PREFIX):
            return self._app(environ, start_response)
        with self._lock:
            # The response is materialised inside the lock: a lazy iterable would escape it.
            result = self._app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


class EmbeddedMoto(ListeningServer):
    """moto's server in a background thread of this process.

    moto's backends are process-wide: two servers in one process serve the same state (tests use
    unique resource names for that reason).
    """

    what = "the emulation"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._requested_port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._previous_moto_port: str | None = None
        self._index_patched = False
        self.mail = MailRecorder()

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = self.mail.wrap(SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app)))
        self._server = make_server(
            self._host, self._requested_port, app, threaded=True, request_handler=MotoRequestHandler
        )
        # Index Queries in time proportional to the page, with moto's own answers (see moto_index).
        moto_index.install()
        self._index_patched = True
        # moto's Step Functions engine reaches Lambda and SES through MOTO_PORT (default 5000).
        self._previous_moto_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(self.port)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        logging.getLogger(STEPFUNCTIONS_COMPONENT_LOGGER).addFilter(ABSENT_PATH_FILTER)  # idempotent
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        self._post("/moto-api/config", MOTO_CONFIG)
        log.info("moto server on %s", self.url)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._previous_moto_port is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = self._previous_moto_port
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
        if self._index_patched:
            moto_index.uninstall()
            self._index_patched = False

    def reset(self) -> None:
        """Forget every emulated resource (moto's state outlives a server in the same process)."""
        self._post("/moto-api/reset", {})

    def config(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/moto-api/config", timeout=10) as response:  # noqa: S310
            config: dict[str, Any] = json.load(response)
        return config

    def _post(self, path: str, body: Any) -> None:
        request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def client_environment(self) -> dict[str, str]:
        """What a process needs so that its boto3 clients talk to this emulation."""
        return {**DUMMY_CREDENTIALS, "AWS_ENDPOINT_URL": self.url, "MOTO_PORT": str(self.port)}


def apply_environment(values: dict[str, str]) -> dict[str, str | None]:
    """Set `values` in os.environ (dropping a profile that could reach a real account).

    Returns the previous values, for `restore_environment`.
    """
    previous: dict[str, str | None] = {name: os.environ.get(name) for name in [*values, "AWS_PROFILE"]}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(values)
    return previous


def restore_environment(previous: dict[str, str | None]) -> None:
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
