"""Build the Lambda layer with the project's third-party runtime dependencies, without Docker.

Reads `[project].dependencies` from pyproject.toml and installs them as manylinux wheels for the
Lambda platform (arm64, Python 3.12) into layers/runtime/python, the layout Lambda expects.
Our own code is not part of the layer: it is the functions/ code asset.

Fonts: the PDF export format draws with the Noto fonts of layers/fonts (npm packages, `npm ci` there
from its lockfile: `make fonts`); the files named in FONT_FILES are copied into the layer's fonts/
directory, /opt/fonts in Lambda, where logic/export_pdf.py looks first.

Bytecode: Lambda's /opt is read-only, so Python cannot cache what it compiles there, and a layer
without `.pyc` files is compiled from source on every cold start (measured: about doubles a
handler's import time, docs/benchmarks.md, Cold start). The bytecode must come from the runtime's
own Python version (3.12; `.pyc` files are per minor version), so this script compiles the layer
with a Python 3.12 when it finds one (`LAMBDA_PYTHON_BIN`, `python3.12` on PATH, or a pyenv
3.12), as unchecked-hash `.pyc` (valid whatever the files' times in the asset zip). Without one it
ships source only and says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "layers" / "runtime"
LAMBDA_PYTHON = "3.12"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
FONT_PACKAGES = ROOT / "layers" / "fonts" / "node_modules" / "@embedpdf"
# (npm package, file): the same files as logic/export_pdf.py FONT_FILES (a unit test compares them)
FONT_FILES: tuple[tuple[str, str], ...] = (
    ("fonts-latin", "NotoSans-Regular.ttf"),
    ("fonts-latin", "NotoSans-Bold.ttf"),
    ("fonts-arabic", "NotoNaskhArabic-Regular.ttf"),
    ("fonts-arabic", "NotoNaskhArabic-Bold.ttf"),
    ("fonts-hebrew", "NotoSansHebrew-Regular.ttf"),
    ("fonts-hebrew", "NotoSansHebrew-Bold.ttf"),
    ("fonts-sc", "NotoSansHans-Regular.otf"),
)


def runtime_dependencies() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


def _version_of(python: str) -> str | None:
    try:
        answer = subprocess.run(  # noqa: S603 - our own argv, no shell
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return answer.stdout.strip() if answer.returncode == 0 else None


def lambda_interpreter() -> str | None:
    """A Python of the Lambda runtime's minor version, to compile the layer's bytecode with."""
    candidates = [os.environ.get("LAMBDA_PYTHON_BIN", ""), f"python{LAMBDA_PYTHON}"]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(
        str(p) for p in pyenv_root.glob(f"versions/{LAMBDA_PYTHON}.*/bin/python{LAMBDA_PYTHON}")
    )
    for candidate in filter(None, candidates):
        found = shutil.which(candidate)
        if found and _version_of(found) == LAMBDA_PYTHON:
            return found
    return None


def compile_bytecode(site: Path, python: str) -> None:
    """Unchecked-hash `.pyc` beside every module: used as they are, never re-checked or rewritten."""
    cmd = [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(site)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - fixed argv, no shell


def copy_fonts(target: Path) -> int:
    """The PDF fonts (and their licence) into `target`; returns the bytes copied."""
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for package, file in FONT_FILES:
        source = FONT_PACKAGES / package / "fonts" / file
        if not source.is_file():
            raise SystemExit(f"{source} is missing: run `make fonts` (npm ci in layers/fonts)")
        copied += shutil.copyfile(source, target / file).stat().st_size
    shutil.copyfile(FONT_PACKAGES / "fonts-latin" / "LICENSE", target / "LICENSE-OFL.txt")
    return copied


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
    fonts = copy_fonts(TARGET / "fonts")
    print(f"PDF fonts: {fonts / 1e6:.1f} MB in {(TARGET / 'fonts').relative_to(ROOT)}")
    python = lambda_interpreter()
    if python:
        compile_bytecode(site, python)
        bytecode = f"bytecode for Python {LAMBDA_PYTHON} by {python}"
    else:
        bytecode = f"source only: no Python {LAMBDA_PYTHON} found, cold starts compile the layer"
        print(f"warning: {bytecode} (set LAMBDA_PYTHON_BIN; see layers/build.py)", file=sys.stderr)
    (TARGET / ".built").write_text(f"ok: {bytecode}\n")
    print(f"layer built in {TARGET.relative_to(ROOT)} ({bytecode})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
