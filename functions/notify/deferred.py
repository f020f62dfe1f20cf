"""Deferred notify function (scheduled): publishes customer messages held back by quiet hours."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from logistics.bootstrap import build_deferred_sender

logger = Logger()
send = build_deferred_sender()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Send every deferred message that is due (the EventBridge schedule event carries nothing we need)."""
    return {"sent": send()}
