"""`python -m activitylog_ops.local` (`make local`): run the service until SIGINT/SIGTERM.

PORT (default 8080) is the gateway's port; MOTO_PORT_REQUEST (default: any free port) the
emulation's. Both are checked before anything starts (synthesis takes seconds).
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
import threading
from types import FrameType

from activitylog_ops.local.envfile import ENV_FILE, render
from activitylog_ops.local.service import LocalService

HOST = "127.0.0.1"


class PortInUse(Exception):
    def __init__(self, variable: str, port: int, reason: str) -> None:
        super().__init__(variable, port, reason)
        self.variable, self.port, self.reason = variable, port, reason

    def advice(self) -> str:
        other = free_port()
        make = (
            f"{self.variable}={other} make local" if self.variable == "PORT" else f"{self.variable}={other}"
        )
        return (
            f"local mode: port {self.port} on {HOST} ({self.variable}) is {self.reason}"
            f"{' (is another `make local` running?)' if self.reason == 'in use' else ''}.\n"
            f"Pick another one, e.g. `{make}`.\n"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def check_port(variable: str, port: int) -> None:
    """Bind as the servers will (address reuse, as http.server and werkzeug set it) and let go."""
    if port == 0:
        return
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as err:
            reason = "in use" if err.errno == errno.EADDRINUSE else f"not available ({err.strerror})"
            raise PortInUse(variable, port, reason) from None


def ready_message(env: dict[str, str]) -> str:
    url = env["ACTIVITYLOG_API_URL"]
    return f"""
Local mode is ready (Ctrl-C stops it). Open:
  Console      {url}/console/  (sign in with the ACTIVITYLOG_API_KEY above)
  API          {url}/v1/health  (every route: {url}/v1/openapi.json)
  Swagger UI   {url}/v1/docs  (Authorize with the ACTIVITYLOG_API_KEY above)
  Mail         {url}/_local/mail  (what the service sent, newest first)
Next, in another shell:
  source {ENV_FILE}
  curl -s -H "Authorization: Bearer $ACTIVITYLOG_API_KEY" "$ACTIVITYLOG_API_URL/v1/events/count"
State is kept in memory only: stopping loses every event, export and key, and the next start has a
new demo key (the old one then gets 401). Source {ENV_FILE} again after a restart.
"""


def main() -> int:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s: %(message)s"
    )
    port, moto_port = int(os.environ.get("PORT", "8080")), int(os.environ.get("MOTO_PORT_REQUEST", "0"))
    try:
        check_port("PORT", port)
        check_port("MOTO_PORT_REQUEST", moto_port)
    except PortInUse as refused:
        sys.stderr.write(refused.advice())
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    service = LocalService(port=port, moto_port=moto_port)
    try:
        try:
            env = service.start()
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                raise
            # taken by someone else between the check and the start
            sys.stderr.write(f"local mode: a port was taken while starting ({err.strerror}); start again\n")
            return 2
        sys.stdout.write(render(env) + ready_message(env))
        sys.stdout.flush()
        logging.getLogger(__name__).info("local mode ready (Ctrl-C to stop); %s written", ENV_FILE)
        while not stop.wait(0.5):  # a timed wait lets the signal handler run promptly
            pass
    finally:
        service.stop()
        logging.getLogger(__name__).info("local mode stopped; %s removed", ENV_FILE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
