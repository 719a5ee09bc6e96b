"""The import contract (pyproject.toml, `[tool.importlinter]`; `make lint` runs it) fails on a planted
violation: a copy of the functions' package with one forbidden import added is checked with the
project's own contracts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# The contracts about the functions' package alone (the others also name ops and infra).
CONTRACTS = ("layers", "logic-pure", "models-leaf")


def _config(target: Path) -> Path:
    settings = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = [c for c in settings["contracts"] if c["id"] in CONTRACTS]
    assert [c["id"] for c in contracts] == list(CONTRACTS), "a contract this test relies on is gone"
    lines = ["[tool.importlinter]", 'root_packages = ["activitylog"]', "include_external_packages = true"]
    for contract in contracts:
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in contract.items()]
    path = target / "contracts.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _lint(copy: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(copy)}  # the copy, ahead of the editable install
    return subprocess.run(  # noqa: S603 - the project's own tool on a copy of its own files
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", str(_config(copy))],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "functions" / "activitylog", tmp_path / "activitylog")
    return tmp_path


def plant(copy: Path, module: str, line: str) -> None:
    path = copy / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_unchanged_package_keeps_every_contract(copy: Path) -> None:
    answer = _lint(copy)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "3 kept, 0 broken" in answer.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("activitylog.logic.clock", "import boto3  # noqa", "logic depends on"),
        (
            "activitylog.logic.query",
            "from activitylog.dal import events  # noqa",
            "logic depends on its ports",
        ),
        ("activitylog.dal.retry", "from activitylog.logic import clock  # noqa", "handlers -> logic -> dal"),
        ("activitylog.models.text", "from activitylog.handlers import wiring  # noqa", "models import none"),
    ],
)
def test_a_planted_violation_breaks_its_contract(copy: Path, module: str, line: str, broken: str) -> None:
    plant(copy, module, line)
    answer = _lint(copy)
    assert answer.returncode != 0, answer.stdout
    assert f"{broken}" in answer.stdout and "BROKEN" in answer.stdout, answer.stdout
