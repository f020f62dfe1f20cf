"""Send customer messages that quiet hours deferred, once their time has come."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from logistics.domain.ports import CustomerChannel, DeferredQueue, OnceGuard


def send_due(
    queue: DeferredQueue,
    once: OnceGuard,
    customers: CustomerChannel,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Publish every deferred message that is due; returns how many went out.

    The notifier's own guard for the change recorded the deferral; sending has a guard of its own, so
    a message is never sent twice even if this runs concurrently or the log update fails after the publish.
    """
    now = clock().isoformat(timespec="seconds")
    sent = 0
    for entry in queue.due(now):
        message = json.loads(entry["message"])
        result = once.run_once(f"{entry['change_key']}#customer#deferred", lambda m=message: {
            "outcome": "sent", "detail": customers.send(m)})
        queue.mark_sent(entry, result.get("detail", ""), now)
        sent += 1
    return sent
