"""`python -m activitylog_ops.local.synth OUTDIR`: local mode's synthesis, in a process of its own.

The CDK runs on jsii's Node.js child process. A Ctrl-C in the terminal reaches that child too; had
the long-running local service loaded the CDK itself, jsii would then write to the dead child's pipe
at exit and print a BrokenPipeError traceback. Here the CDK lives only as long as the synthesis.
"""

from __future__ import annotations

import sys


def main(outdir: str) -> None:
    from infra.app_builder import synth_templates
    from infra.constructs.function_factory import LOCAL_PLACEHOLDER_LAYER_CONTEXT

    # The placeholder layer: the functions run in-process here, with the virtualenv's packages.
    synth_templates(outdir, context={LOCAL_PLACEHOLDER_LAYER_CONTEXT: True})


if __name__ == "__main__":
    main(sys.argv[1])
