"""bench/results/latest.json: the record of the last run, one key per benchmark (each owns its key)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def merge(key: str, value: Any, path: Path = RESULTS) -> None:
    """Set ``key`` to ``value`` in ``path``, keeping the other benchmarks' keys; written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        existing = {}
    if not isinstance(existing, dict):
        existing = {}
    existing[key] = value
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(existing, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: a reader never sees half a file
