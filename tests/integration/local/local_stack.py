"""The running local stack as tests see it (shared by conftest's `local_service` fixture and tests)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from activitylog_ops.local.service import LocalService


@dataclass(frozen=True)
class RunningLocalService:
    url: str
    key: str  # the demo key: tenant "demo", every scope
    env: dict[str, str]  # what .local/env holds
    workdir: Path  # holds .local/env: run the CLI here to target this stack
    service: LocalService


@contextmanager
def running_local_service(workdir: Path) -> Iterator[RunningLocalService]:
    """Synthesize the CDK app and run it locally on free ports until the block ends."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    service = LocalService(port=0, env_file=workdir / ".local" / "env", auto_fire=False)
    env = service.start()
    try:
        yield RunningLocalService(
            env["ACTIVITYLOG_API_URL"], env["ACTIVITYLOG_API_KEY"], env, workdir, service
        )
    finally:
        service.stop()
