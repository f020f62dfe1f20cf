"""Failed API-key checks slow the client down: per client address, in process memory, bounded.

An address may fail ``free`` times; after that each further attempt must wait ``2 ** (n - free)``
seconds (capped at ``max_delay_s``) after its latest failure, or it gets a 429 with ``Retry-After``
before the key is even looked up. A success does not wipe the count (otherwise one valid key of the
attacker's own would reset it between guesses); the count is forgotten ``window_s`` after the latest
failure. At most ``max_entries`` addresses are tracked (least recently failing go first).

The address is API Gateway's ``requestContext.identity.sourceIp`` (the connection's peer as API
Gateway saw it), never ``X-Forwarded-For``, which the client writes. Each Lambda instance counts on
its own: this slows a guesser down; a global cap belongs in front of the API (an AWS WAF rate rule).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FREE_FAILURES = 10
WINDOW_S = 15 * 60
MAX_DELAY_S = 15 * 60
MAX_ENTRIES = 10_000


@dataclass
class _Record:
    failures: int
    last_failure: float


class FailureThrottle:
    def __init__(self, free: int = FREE_FAILURES, window_s: float = WINDOW_S, max_delay_s: float = MAX_DELAY_S,
                 max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic) -> None:
        self.free = free
        self.window_s = window_s
        self.max_delay_s = max_delay_s
        self.max_entries = max_entries
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def _current(self, address: str, now: float) -> _Record | None:
        record = self._records.get(address)
        if record is not None and now - record.last_failure >= self.window_s:
            del self._records[address]
            return None
        return record

    def retry_after(self, address: str) -> int:
        """Seconds this address must still wait before its next attempt (0: it may try now)."""
        now = self._clock()
        with self._lock:
            record = self._current(address, now)
            if record is None or record.failures < self.free:
                return 0
            delay = min(2.0 ** min(record.failures - self.free, 32), self.max_delay_s)
            wait = record.last_failure + delay - now
            return math.ceil(wait) if wait > 0 else 0

    def failed(self, address: str) -> None:
        now = self._clock()
        with self._lock:
            record = self._current(address, now)
            if record is None:
                record = self._records[address] = _Record(0, now)
            record.failures += 1
            record.last_failure = now
            self._records.move_to_end(address)
            while len(self._records) > self.max_entries:
                self._records.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        return len(self._records)
