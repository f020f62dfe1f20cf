"""Backoff for the retries boto3 does not do itself (unprocessed batch items, cancelled transactions)."""

from __future__ import annotations

import random
import time

from botocore.config import Config

# Throttling and 5xx errors are retried by botocore with exponential backoff and jitter.
# The pool is sized for the writes the adapters keep in flight at once (thread pools of 4-8).
BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 6}, connect_timeout=5, read_timeout=30,
                     max_pool_connections=32)


class Backoff:
    def __init__(self, base_s: float = 0.05, cap_s: float = 2.0) -> None:
        self.base_s = base_s
        self.cap_s = cap_s

    def delay(self, attempt: int = 1) -> float:
        """Full-jitter exponential delay for the given attempt (1-based)."""
        return random.uniform(0, min(self.cap_s, self.base_s * 2 ** (attempt - 1)))

    def sleep_once(self, attempt: int = 1) -> None:
        time.sleep(self.delay(attempt))


with_backoff = Backoff()
