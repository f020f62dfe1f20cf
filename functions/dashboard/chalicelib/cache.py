"""A small in-process cache with a size cap (least recently used goes first) and a time to live.

Lambda keeps a process warm for many requests, and ``chalice local`` serves them from threads: every
per-process map the dashboard keeps is one of these, so no request pattern can grow it without bound.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """At most ``maxsize`` entries, each valid for ``ttl_s`` seconds after it was stored."""

    def __init__(self, maxsize: int, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if maxsize < 1 or ttl_s <= 0:
            raise ValueError("maxsize must be >= 1 and ttl_s > 0")
        self.maxsize = maxsize
        self.ttl_s = ttl_s
        self._clock = clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> tuple[V] | None:
        """``(value,)`` when ``key`` is cached and fresh (the value itself may be None), else None."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None:
                return None
            stored_at, value = entry
            if self._clock() - stored_at >= self.ttl_s:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return (value,)

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = (self._clock(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

