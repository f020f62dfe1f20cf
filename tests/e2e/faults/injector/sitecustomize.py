"""Crash injection inside an IngestFunction worker process, for the e2e fault tests.

Loaded by Python at start-up through ``exec_wrapper`` (the function's ``AWS_LAMBDA_EXEC_WRAPPER``), only when
``FAULT_INJECTION_DIR`` is set. The test process arms crashes by creating files in ``<dir>/armed``; the next
state save with something to write claims one (an atomic rename, so two workers never take the same one) and
crashes: alternately after the timeline write and before any state write, or after writing the first half
of the batch's entities. Each crash is recorded as a file in ``<dir>/crashes`` named after its kind.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

FAULT_DIR = os.environ.get("FAULT_INJECTION_DIR")


class InjectedCrash(RuntimeError):
    """Raised in the middle of an ingest invocation."""


def _claim(root: Path) -> bool:
    for token in sorted((root / "armed").iterdir()):
        try:
            token.rename(root / "taken" / token.name)
            return True
        except FileNotFoundError:  # another worker took it first
            continue
    return False


def _install(root: Path) -> None:
    from logistics.adapters.dynamodb_store import DynamoDBStateStore

    original_save = DynamoDBStateStore.save

    def save(store: Any, writes: Any) -> Any:
        writes = list(writes)
        if not writes or not _claim(root):
            return original_save(store, writes)
        done = len(list((root / "crashes").iterdir()))
        kind = "after_timeline" if done % 2 == 0 or len(writes) < 2 else "after_half_of_the_states"
        (root / "crashes" / f"{kind}.{uuid.uuid4().hex}").touch()
        if kind == "after_half_of_the_states":
            original_save(store, writes[: len(writes) // 2])
        raise InjectedCrash(f"injected crash {kind} ({len(writes)} entities to save)")

    DynamoDBStateStore.save = save  # type: ignore[method-assign]


if FAULT_DIR:
    _install(Path(FAULT_DIR))
