"""Customer messages go to an SNS topic; subscribers (email, SMS, push senders) filter on attributes."""

from __future__ import annotations

import json
from typing import Any


class SnsCustomerChannel:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def send(self, message: dict[str, Any]) -> str:
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(message, sort_keys=True),
            MessageAttributes={
                "merchant_id": {"DataType": "String", "StringValue": message["merchant_id"]},
                "status": {"DataType": "String", "StringValue": message["status"]},
                "channels": {"DataType": "String.Array", "StringValue": json.dumps(message["channels"])},
            },
        )
        return response["MessageId"]
