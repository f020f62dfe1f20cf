"""The logistics status line of ``logistics up``: produced, ingested, dead-lettered, notified, lag."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_runtime.demo.webhook_sink import WebhookSink
    from local_runtime.runtime import LocalPlatform

__all__ = ["DEAD_LETTER_TABLE", "NOTIFICATIONS_TABLE", "DemoStatusLine"]

DEAD_LETTER_TABLE = "DeadLetterTable"
NOTIFICATIONS_TABLE = "NotificationsTable"


class DemoStatusLine:
    """Counters of the platform's mappings plus item counts of this project's tables and the webhook sink."""

    def __init__(self, platform: LocalPlatform, sink: WebhookSink | None, producer: Any = None) -> None:
        self.platform = platform
        self.sink = sink
        self.producer = producer
        self._dynamodb = platform.client("dynamodb")  # where the platform runs DynamoDB (DynamoDB Local or moto)

    def _items(self, logical_id: str) -> int | str:
        assert self.platform.template is not None
        if logical_id not in (self.platform.deployment.resources if self.platform.deployment else {}):
            return "-"
        table = self.platform.template.physical_name(logical_id)
        try:  # moto keeps ItemCount current; on AWS it lags by hours, which is fine for a local display
            return int(self._dynamodb.describe_table(TableName=table)["Table"]["ItemCount"])
        except Exception:
            return "?"

    def render(self) -> str:
        """One line of counters ('-' where there is nothing to count)."""
        counters = self.platform.counters()
        produced = self.producer.stats.delivered if self.producer is not None else "-"
        return (f"produced {produced} | ingested {counters['kafka_records_delivered']} "
                f"| dead-lettered {self._items(DEAD_LETTER_TABLE)} "
                f"| webhooks {len(self.sink.deliveries) if self.sink else '-'} "
                f"| notifications logged {self._items(NOTIFICATIONS_TABLE)} "
                f"| lag {counters['kafka_lag']} | failures {counters['kafka_failures'] + counters['stream_failures']}")
