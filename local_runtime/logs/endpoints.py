"""Where a running ``logistics up`` serves AWS: ``<state_dir>/endpoints.json``, written by ``up``, read by ``logs``.

``{"aws_endpoint": "http://127.0.0.1:PORT", "region": "us-east-1"}``. A file left by an ``up`` that has stopped
names an endpoint nobody answers on; readers say so when they cannot connect.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENDPOINTS_FILE", "RecordedEndpoints", "read_endpoints", "record_endpoints"]

ENDPOINTS_FILE = "endpoints.json"


@dataclass(frozen=True)
class RecordedEndpoints:
    """What ``up`` recorded: its AWS endpoint and region, and the file they came from."""

    aws_endpoint: str
    region: str
    path: Path


def record_endpoints(state_dir: str | Path, aws_endpoint: str, region: str) -> Path:
    """Write ``<state_dir>/endpoints.json`` (atomically: a reader never sees half a file). Returns its path."""
    directory = Path(state_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ENDPOINTS_FILE
    tmp = path.with_name(f".{ENDPOINTS_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps({"aws_endpoint": aws_endpoint, "region": region}) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_endpoints(state_dir: str | Path) -> RecordedEndpoints | None:
    """What ``up`` recorded in ``state_dir``, or None when there is no readable record."""
    path = Path(state_dir) / ENDPOINTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RecordedEndpoints(str(data["aws_endpoint"]), str(data["region"]), path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
