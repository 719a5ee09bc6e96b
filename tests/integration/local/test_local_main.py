"""`make local` as a user runs it (`python -m activitylog_ops.local` in a subprocess, in a fresh
working directory): a port in use is refused at once and says what to do; when ready it prints what
to open and what to try, `.local/env` works with `source`; an export run logs no error; Ctrl-C stops
it without a traceback."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

READY = "Local mode is ready"


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ACTIVITYLOG_", "MOTO_"))}
    env.pop("PORT", None)
    return {**env, **extra}


def local_mode(cwd: Path, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "activitylog_ops.local"],
        cwd=cwd,
        env=environment(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the test's "Ctrl-C" reaches all of it
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def test_a_port_in_use_is_refused_at_once_with_what_to_do(tmp_path: Path, busy_port: int) -> None:
    for variable in ("PORT", "MOTO_PORT_REQUEST"):
        started = time.monotonic()
        process = local_mode(tmp_path, **{variable: str(busy_port), "PORT": "0"} | {variable: str(busy_port)})
        out, err = process.communicate(timeout=60)

        assert process.returncode == 2, (out, err)
        assert time.monotonic() - started < 10  # before synthesizing
        assert f"port {busy_port}" in err and "in use" in err and f"{variable}=" in err, err
        assert "Traceback" not in err and not (tmp_path / ".local").exists()


def read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """stdout up to `marker` and what follows it in the same write (a thread reads: pipe reads block)."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True).start()
    seen, deadline = "", time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline and process.poll() is None, seen
        with contextlib.suppress(queue.Empty):
            seen += lines.get(timeout=1)
    while True:
        try:
            seen += lines.get(timeout=1)
        except queue.Empty:
            return seen


def test_make_local_says_what_to_open_sources_and_stops_cleanly(tmp_path: Path) -> None:
    process = local_mode(tmp_path, PORT="0")
    try:
        # Given local mode is ready
        out = read_until(process, READY, timeout=180)
        env_file = tmp_path / ".local" / "env"
        url = next(line.split("=", 1)[1] for line in out.splitlines() if "ACTIVITYLOG_API_URL=" in line)

        # Then it says what to open, what to try next, and that a restart loses everything
        for text in (f"{url}/v1/docs", f"{url}/_local/mail", f"{url}/v1/health", "source .local/env"):
            assert text in out, out
        assert "memory only" in out and "new demo key" in out

        # and a shell that sources .local/env passes the variables on to the programs it runs
        shown = subprocess.run(
            ["/bin/bash", "-c", "source .local/env && exec env"],
            cwd=tmp_path,
            env=environment(),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"ACTIVITYLOG_API_URL={url}" in shown.splitlines()
        key = next(v for v in shown.splitlines() if v.startswith("ACTIVITYLOG_API_KEY=")).split("=", 1)[1]
        assert key in env_file.read_text()

        # When an export runs to the end
        auth = {"Authorization": f"Bearer {key}"}
        requests.post(
            f"{url}/v1/events",
            json={"events": [{"action": "a.b", "actor": {"id": "u"}}]},
            headers=auth,
            timeout=30,
        ).raise_for_status()
        run = requests.post(
            f"{url}/v1/exports", json={"name": "n", "format": "csv"}, headers=auth, timeout=30
        )
        path = f"{url}/v1/exports/{run.json()['export']['id']}/runs/{run.json()['run']['id']}"
        for _ in range(300):
            status = requests.get(path, headers=auth, timeout=30).json()["status"]
            if status in ("succeeded", "failed"):
                break
            time.sleep(0.1)
        assert status == "succeeded"
    finally:
        # When Ctrl-C reaches the whole foreground process group, as a terminal sends it
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)

    # Then it stops, removes .local/env, and nothing reads like a failure
    assert process.returncode == 0, err[-3000:]
    assert not env_file.exists()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err[-3000:]
    assert "NoSuchJsonPathError" not in err and "ERROR" not in err, err[-3000:]
