"""The logistics platform's own local setup on top of the generic runtime: merchants with API keys
and webhooks pointing at a local, signature-verifying sink."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from local_runtime.demo.webhook_sink import WebhookSink
from local_runtime.simulator.world import merchant_records

if TYPE_CHECKING:
    from local_runtime.runtime import LocalPlatform


def seed_merchants(platform: LocalPlatform, sink: WebhookSink | None) -> list[dict[str, Any]]:
    """Write the simulator's merchants to MerchantsTable; returns them with their (local) API keys."""
    assert platform.template is not None
    table = platform.template.physical_name("MerchantsTable")
    dynamodb = platform.client("dynamodb")
    merchants = merchant_records()
    for m in merchants:
        item = {
            "merchant_id": {"S": m["merchant_id"]},
            "name": {"S": m["name"]},
            "webhook_secret": {"S": m["webhook_secret"]},
            "api_key_hash": {"S": hashlib.sha256(m["api_key"].encode()).hexdigest()},
        }
        if sink is not None:
            item["webhook_url"] = {"S": sink.url_for(m["merchant_id"])}
        dynamodb.put_item(TableName=table, Item=item)
    return merchants


def start_webhook_sink() -> WebhookSink:
    """A sink that knows every simulated merchant's secret."""
    return WebhookSink({m["merchant_id"]: m["webhook_secret"] for m in merchant_records()}).start()
