"""Where the DynamoDB Streams mapping keeps its per-shard position across restarts."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol

__all__ = ["CheckpointStore", "JsonFileCheckpointStore", "MemoryCheckpointStore"]


class CheckpointStore(Protocol):
    """Where a mapping keeps its per-shard position across restarts."""

    def load(self, key: str) -> dict[str, Any] | None:
        """The saved value for ``key`` or ``None``."""
        ...

    def save(self, key: str, value: dict[str, Any]) -> None:
        """Persist ``value`` for ``key`` (must be durable when it returns)."""
        ...


class MemoryCheckpointStore:
    """A :class:`CheckpointStore` in a dict (share one instance to survive a mapping restart in-process)."""

    def __init__(self) -> None:
        """Start empty."""
        self.data: dict[str, dict[str, Any]] = {}

    def load(self, key: str) -> dict[str, Any] | None:
        """The saved value for ``key`` or ``None``."""
        value = self.data.get(key)
        return dict(value) if value is not None else None

    def save(self, key: str, value: dict[str, Any]) -> None:
        """Keep ``value`` for ``key``."""
        self.data[key] = dict(value)


class JsonFileCheckpointStore:
    """A :class:`CheckpointStore` in one JSON file, rewritten atomically (temp file + rename)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Use ``path``; it is created on the first save."""
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Any]:
        try:
            return json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}

    def load(self, key: str) -> dict[str, Any] | None:
        """The saved value for ``key`` or ``None``."""
        with self._lock:
            return self._read().get(key)

    def save(self, key: str, value: dict[str, Any]) -> None:
        """Persist ``value`` for ``key`` (fsync + atomic rename, so a crash keeps the old or new file)."""
        with self._lock:
            data = self._read()
            data[key] = value
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, indent=1, sort_keys=True)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
