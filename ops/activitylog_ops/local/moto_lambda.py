"""Routes moto's docker-free Lambda invocations to the in-process invoker.

The ONE place that touches moto internals (pinned: moto==5.2.5). moto runs Lambda code only in
Docker; its docker-free backend (`{"lambda": {"use_docker": False}}`) echoes the payload. We replace
`LambdaSimpleBackend.invoke` so that a function registered with the invoker runs our handler: the
Step Functions engine and boto3 `lambda.invoke` then behave as on AWS, including `FunctionError`
with `errorType` = the exception's class name (which Retry/Catch match on).
tests/integration/local/test_moto_lambda.py fails loudly when moto changes underneath.
"""

from __future__ import annotations

import inspect
import json
import logging
import traceback
from typing import Any

from activitylog_ops.local.invoker import InProcessInvoker

log = logging.getLogger(__name__)

SUPPORTED_MOTO = "5.2.5"
_EXPECTED_SIGNATURE = ["self", "function_name", "qualifier", "body", "headers", "response_headers"]

_invokers: list[InProcessInvoker] = []  # several local stacks may share moto's process-wide backends
_original: Any = None


class MotoChangedError(RuntimeError):
    """moto is not the version whose internals this module was written against."""


def _backend_class() -> Any:
    import moto
    from moto.awslambda_simple.models import LambdaSimpleBackend

    if moto.__version__ != SUPPORTED_MOTO:
        raise MotoChangedError(f"moto {moto.__version__} installed; local mode is pinned to {SUPPORTED_MOTO}")
    parameters = list(inspect.signature(LambdaSimpleBackend.invoke).parameters)
    if parameters != _EXPECTED_SIGNATURE:
        raise MotoChangedError(f"LambdaSimpleBackend.invoke{parameters} changed; re-check moto_lambda.py")
    return LambdaSimpleBackend


def install(invoker: InProcessInvoker) -> None:
    """Route invocations of the invoker's functions to it (the latest invoker first)."""
    global _original
    backend = _backend_class()
    if _original is None:
        _original = backend.invoke
        backend.invoke = _invoke
    _invokers.insert(0, invoker)


def uninstall(invoker: InProcessInvoker) -> None:
    """Stop routing to `invoker`; moto's own behaviour is restored when no invoker is left."""
    global _original
    if invoker in _invokers:
        _invokers.remove(invoker)
    if not _invokers and _original is not None:
        _backend_class().invoke = _original
        _original = None


def _error_payload(exc: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def _invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> str | bytes | None:
    invoker = next((i for i in list(_invokers) if function_name in i), None)
    if invoker is None:
        return _original(self, function_name, qualifier, body, headers, response_headers)
    self.get_function(function_name, qualifier)  # unknown to moto's Lambda → its own 404, as on AWS
    event = json.loads(body) if body else {}
    try:
        result = invoker.invoke(function_name, event)
    except Exception as exc:
        log.exception("function %s failed", function_name)
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(_error_payload(exc)).encode()
    return json.dumps(result).encode()
