"""`.local/env`: how the CLI and people find a running local stack.

`export NAME=value` lines, so that `source .local/env` (or `. .local/env`) sets the variables for the
commands a shell runs next (curl in a script, the generated client); the values are shell-quoted.
`read_env_file` also takes plain `NAME=value` lines.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path

ENV_FILE = Path(".local") / "env"


def write_env_file(values: dict[str, str], path: Path = ENV_FILE) -> Path:
    """Write atomically: a reader sees the previous file or the whole new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".env-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(render(values))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def render(values: dict[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in values.items())


def read_env_file(path: Path = ENV_FILE) -> dict[str, str] | None:
    if not path.is_file():
        return None
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and name.strip() and not name.lstrip().startswith("#"):
            words = shlex.split(value.strip()) or [""]
            values[name.strip()] = words[0]
    return values
