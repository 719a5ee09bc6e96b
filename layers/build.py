"""Build the Lambda layer with the project's third-party runtime dependencies, without Docker.

Reads `[project].dependencies` from pyproject.toml and installs them as manylinux wheels for the
Lambda platform (arm64, Python 3.12) into layers/runtime/python, the layout Lambda expects.
Our own code is not part of the layer: it is the functions/ code asset.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "layers" / "runtime"
LAMBDA_PYTHON = "3.12"
LAMBDA_PLATFORM = "manylinux2014_aarch64"


def runtime_dependencies() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


def main() -> int:
    shutil.rmtree(TARGET, ignore_errors=True)
    site = TARGET / "python"
    site.mkdir(parents=True)
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--only-binary=:all:", "--implementation", "cp",
        "--platform", LAMBDA_PLATFORM, "--python-version", LAMBDA_PYTHON,
        "--target", str(site), *runtime_dependencies(),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)  # noqa: S603 - fixed argv, no shell
    for cache in site.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    (TARGET / ".built").write_text("ok\n")
    print(f"layer built in {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
