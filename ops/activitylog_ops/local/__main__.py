"""`python -m activitylog_ops.local` (`make local`): run the service until SIGINT/SIGTERM.

PORT (default 8080) is the gateway's port; MOTO_PORT_REQUEST (default: any free port) the
emulation's.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

from activitylog_ops.local.envfile import render
from activitylog_ops.local.service import LocalService


def main() -> int:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    service = LocalService(
        port=int(os.environ.get("PORT", "8080")), moto_port=int(os.environ.get("MOTO_PORT_REQUEST", "0"))
    )
    try:
        env = service.start()
        sys.stdout.write(render(env))
        sys.stdout.flush()
        logging.getLogger(__name__).info("local mode ready (Ctrl-C to stop); .local/env written")
        while not stop.wait(0.5):  # a timed wait lets the signal handler run promptly
            pass
    finally:
        service.stop()
        logging.getLogger(__name__).info("local mode stopped; .local/env removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
