"""A function's environment variables, and the whole environment of its worker process.

:func:`function_environment` is what Lambda gives the function: the template's ``Environment``, then the
runtime's ``base_env`` (local endpoint, dummy credentials, region), then Lambda's reserved variables, each
winning over the one before (on Lambda the reserved ones cannot be set; locally the endpoint must not be
bypassed). :func:`worker_environment` adds what the worker process needs around it, and nothing else of the
runtime's own environment: a few variables any program needs (``PATH``, ``HOME``, locale, ``TZ``...) and the
per-service endpoint variables ``AWS_ENDPOINT_URL_<SERVICE>`` the runtime itself routes by (DynamoDB Local
is published that way), under everything the function sets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from local_runtime.cloudformation import FunctionSpec

__all__ = ["PASSTHROUGH", "function_environment", "worker_environment"]

PASSTHROUGH = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "SSL_CERT_FILE",
               "SSL_CERT_DIR", "SYSTEMROOT")
_PASSTHROUGH_PREFIXES = ("LC_", "AWS_ENDPOINT_URL_")
DEFAULT_RUNTIME = "python3.12"


def function_environment(spec: FunctionSpec, *, region: str, base_env: Mapping[str, str], log_group: str,
                         log_stream: str, task_root: Path | str | None = None) -> dict[str, str]:
    """The variables the function sees (template, then ``base_env``, then Lambda's reserved variables)."""
    reserved = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime or DEFAULT_RUNTIME}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(task_root if task_root is not None else spec.code_uri or ""),
    }
    return {**spec.environment, **base_env, **reserved}


def worker_environment(function_env: Mapping[str, str], *, runtime_api: str, runtime_dir: Path | str,
                       python_path: Sequence[Path | str], parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """The worker process's whole environment: a few of ``parent``'s (default ``os.environ``) variables,
    the function's, and the Runtime API address, runtime directory and ``PYTHONPATH``."""
    parent = os.environ if parent is None else parent
    inherited = {k: v for k, v in parent.items() if k in PASSTHROUGH or k.startswith(_PASSTHROUGH_PREFIXES)}
    return {
        **inherited,
        **function_env,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "PYTHONPATH": os.pathsep.join(str(p) for p in python_path),
    }
