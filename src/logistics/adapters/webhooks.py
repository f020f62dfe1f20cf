"""Merchant webhooks: HMAC-signed POSTs, retried with exponential backoff (stdlib HTTP only).

These are the quick retries inside one invocation; a delivery that still fails waits in the outbox for
later attempts (``service.notify``, ``service.deferred``). Each request is signed when it is made, so a
redelivery carries the same body with a fresh signature timestamp.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from logistics.adapters.retry import Backoff
from logistics.webhook_signature import HEADER, sign

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookError(Exception):
    """The receiver did not accept the webhook."""


class HttpWebhookSender:
    """Delivers signed webhooks; a 2xx answer is success, other answers and network errors fail.

    ``attempts`` requests at most, with backoff between them; an answer that retrying cannot change (a 4xx
    other than 408/425/429) ends them early. Returns ``{"http_status", "tries"}``; raises ``WebhookError``.
    """

    def __init__(
        self,
        attempts: int = 3,
        timeout_s: float = 5.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts = attempts
        self.timeout_s = timeout_s
        self.backoff = backoff or Backoff(base_s=0.2, cap_s=2.0)
        self.sleep = sleep

    def deliver(self, url: str, secret: str, body: bytes) -> dict[str, Any]:
        """POST ``body`` to ``url`` signed with ``secret`` (signed at each request)."""
        last = ""
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(
                url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", HEADER: sign(secret, body),
                         "User-Agent": "logistics-webhooks/1"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    return {"http_status": response.status, "tries": attempt}
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code} from {url}"
                if exc.code not in RETRYABLE_STATUS:
                    break
            except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, garbled answer
                last = f"{url} unreachable: {getattr(exc, 'reason', exc)}"
            if attempt < self.attempts:
                self.sleep(self.backoff.delay(attempt))
        raise WebhookError(f"{last} after {attempt} attempt(s)")
