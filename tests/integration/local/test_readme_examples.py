"""The README's "Using the API" example, run as a newcomer runs it: in a shell, against local mode,
after `source .local/env`. Every answer is JSON, and the time-filtered search finds the event the
example has just sent (the dates are relative to now, not fixed ones that age out)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from local_stack import RunningLocalService

README = Path(__file__).resolve().parents[3] / "README.md"


def using_the_api_block() -> str:
    section = README.read_text(encoding="utf-8").split("## Using the API", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_using_the_api_example_works_as_written(local_service: RunningLocalService) -> None:
    block = using_the_api_block()
    assert "source .local/env" in block and "from=" in block and "q=report" in block

    # When the block runs in bash where make local wrote .local/env (each answer on its own line)
    result = subprocess.run(  # noqa: S603 - bash running the README's own example
        ["/bin/bash", "-euo", "pipefail", "-c", 'curl() { command curl "$@"; echo; }\n' + block],
        cwd=local_service.workdir,
        env={k: v for k, v in os.environ.items() if not k.startswith(("ACTIVITYLOG_", "AWS_"))},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then every command answered JSON, and the search over the last 30 days found the event
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(answers) == block.count("curl -s")
    assert answers[0]["accepted"] == 1, answers[0]
    searched = answers[next(i for i, cmd in enumerate(block.split("curl -s")[1:]) if "q=report" in cmd)]
    assert "evt-1" in [e["id"] for e in searched["events"]], searched  # (the demo tenant may hold more)
