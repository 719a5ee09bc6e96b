"""The Lambda layer ships bytecode of the runtime's Python, valid whatever the asset zip's file times."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BUILD = Path(__file__).resolve().parents[2] / "layers" / "build.py"


def _build_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layer_build", BUILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_interpreter_of_another_version_is_never_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given only a Python of another version on offer: no python3.12 on PATH, no pyenv
    build = _build_module()
    other = tmp_path / "python-other"
    other.write_text("#!/bin/sh\necho 3.9\n")  # answers the version probe like a Python 3.9
    other.chmod(0o755)
    monkeypatch.setenv("LAMBDA_PYTHON_BIN", str(other))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))
    # Then none is chosen (the layer ships source rather than bytecode Lambda would ignore)
    assert build.lambda_interpreter() is None


def test_the_layer_bytecode_is_unchecked_hash_pyc_of_the_lambda_python(tmp_path: Path) -> None:
    build = _build_module()
    python = build.lambda_interpreter()
    if python is None:
        pytest.skip(f"no Python {build.LAMBDA_PYTHON} on this machine: the layer ships source only")
    # Given a package as pip installs it
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("VALUE = 42\n")
    # When the build compiles it
    build.compile_bytecode(tmp_path, python)
    # Then a .pyc for the runtime's version sits beside it, flagged hash-based and unchecked
    tag = build.LAMBDA_PYTHON.replace(".", "")
    pyc = tmp_path / "pkg" / "__pycache__" / f"mod.cpython-{tag}.pyc"
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    assert flags == 0b01  # PEP 552: bit 0 hash-based, bit 1 (check the source) off


def test_the_layer_ships_exactly_the_fonts_the_pdf_renderer_loads() -> None:
    from activitylog.logic.export_pdf import FONT_FILES

    build = _build_module()
    assert [(package, file) for _family, _style, package, file in FONT_FILES] == list(build.FONT_FILES)


def test_the_fonts_are_copied_into_the_layer_with_their_licence(tmp_path: Path) -> None:
    # needs `make fonts` (make install does it): a checkout without the fonts fails here, not in Lambda
    build = _build_module()
    copied = build.copy_fonts(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([file for _package, file in build.FONT_FILES] + ["LICENSE-OFL.txt"])
    assert copied == sum((tmp_path / file).stat().st_size for _package, file in build.FONT_FILES) > 5_000_000
