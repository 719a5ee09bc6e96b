"""`python -m bench`: run every benchmark and write its section of docs/benchmarks.md."""

from __future__ import annotations

import sys

from bench import export_writer


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        return export_writer.child(argv[1:])
    export_writer.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
