"""Fixtures for local mode.

`local_service` (session scope) is the whole local stack running in this process on free ports:
the synthesized CDK app "deployed" on the embedded emulation, the real handlers behind the local
gateway, a demo key, and a working directory holding its `.local/env` (for the CLI). It reuses the
`local_stack` session fixture of a parent conftest when one exists, since only one local stack can
run per process; otherwise it starts one (`local_stack.running_local_service`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from activitylog_ops.local.envfile import write_env_file
from activitylog_ops.local.moto_server import EmbeddedMoto, apply_environment, restore_environment
from activitylog_ops.local.service import LocalService
from local_stack import RunningLocalService, running_local_service


@pytest.fixture(scope="session")
def local_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningLocalService]:
    workdir = tmp_path_factory.mktemp("local-mode")
    # Only one local stack can run per process (moto's state and os.environ are process-wide):
    # reuse the session stack of tests/integration/conftest.py when there is one.
    try:
        shared: LocalService = request.getfixturevalue("local_stack")
    except pytest.FixtureLookupError:
        with running_local_service(workdir) as running:
            yield running
        return
    write_env_file(shared.env, workdir / ".local" / "env")
    env = dict(shared.env)
    yield RunningLocalService(env["ACTIVITYLOG_API_URL"], env["ACTIVITYLOG_API_KEY"], env, workdir, shared)


@pytest.fixture
def moto_server() -> Iterator[EmbeddedMoto]:
    """A bare embedded emulation, with this process's boto3 pointed at it for the test."""
    server = EmbeddedMoto()
    server.start()
    previous = apply_environment(server.client_environment())
    try:
        yield server
    finally:
        restore_environment(previous)
        server.stop()


@pytest.fixture
def boto_client(moto_server: EmbeddedMoto) -> Callable[[str], Any]:
    import boto3

    def make(service: str) -> Any:
        return boto3.session.Session().client(service, endpoint_url=moto_server.url, region_name="us-east-1")

    return make
