"""schemathesis's own command line against the local service, from the document the service serves:
every phase (examples, coverage, fuzzing, stateful: coverage also sends methods a route does not
define, malformed content types, unknown parameters), checks `not_a_server_error` and
`response_schema_conformance`. This is how an outsider fuzzes the API, so its findings are ours first.

`make test` runs it on a small budget (FUZZ_SECONDS=60 for the whole run, FUZZ_EXAMPLES=20 per
operation and phase), `make fuzz` on a large one. A failure prints schemathesis's report, with the
`curl` command that reproduces each finding.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Keys

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
SECONDS = int(os.environ.get("FUZZ_SECONDS", "60"))
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
PHASES = "examples,coverage,fuzzing,stateful"
CHECKS = "not_a_server_error,response_schema_conformance"


def test_schemathesis_command_line_finds_nothing(local_stack: LocalService, tmp_path: Path) -> None:
    # Given a tenant's key with every scope, and the document the service serves
    api = Keys(local_stack).api(unthrottled=True)
    url = local_stack.env["ACTIVITYLOG_API_URL"]
    junit = tmp_path / "junit.xml"

    # When schemathesis runs every phase against it
    result = subprocess.run(  # noqa: S603 - the virtualenv's schemathesis, fixed arguments
        [
            str(SCHEMATHESIS),
            "run",
            f"{url}/v1/openapi.json",
            "--url",
            url,
            "--header",
            f"Authorization: Bearer {api.key}",
            "--phases",
            PHASES,
            "--checks",
            CHECKS,
            "--max-examples",
            str(EXAMPLES),
            "--max-time",
            str(SECONDS),
            "--seed",
            "20261123",
            "--max-redirects",
            "0",  # the download's 302 is the answer; its target is the emulated S3
            "--request-timeout",
            "30",
            "--report",
            "junit",
            "--report-junit-path",
            str(junit),
        ],
        cwd=tmp_path,  # its .hypothesis directory
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=SECONDS + 240,
        check=False,
    )

    # Then it found nothing, having tested every operation
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    suites = ET.parse(junit).getroot()  # noqa: S314 - the report schemathesis just wrote for us
    cases = suites.findall(".//testcase")
    assert len(cases) >= 20, result.stdout[-5000:]
    assert not [c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None]
    for phase in PHASES.split(","):
        assert phase.capitalize() in result.stdout, result.stdout[-5000:]
