"""Dead-letter filer: the ingest mappings' Kafka on-failure destination -> DeadLetterTable.

Each message on the failure topic is one record a Kafka trigger gave up on (the schema registry refused it,
or the ingest function failed on it until its retries ran out), in AWS's format: the failure metadata and
the record itself. Its dead letter gets the condition as reason and the record's original bytes, so the
dashboard lists and replays it like a dead letter the ingest function wrote itself. Filing is idempotent:
the letter's key comes from the failed record's (topic, partition, offset) and timestamp.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from logistics.adapters.batch_response import BatchResponse, kafka_batch_response
from logistics.adapters.dead_letter import DynamoDBDeadLetters, letters_from_failure_message
from logistics.adapters.kafka_records import record_id
from logistics.domain.ports import DeadLetter
from logistics.service.ingest import DEFAULT_MAX_EVENT_BYTES

logger = Logger()
metrics = Metrics()
dead_letters = DynamoDBDeadLetters(boto3.client("dynamodb"), os.environ["DEAD_LETTER_TABLE"])
# The ingest function's size limit: a larger value could never be ingested, so only its prefix is kept.
MAX_EVENT_BYTES = int(os.environ.get("MAX_EVENT_BYTES") or DEFAULT_MAX_EVENT_BYTES)


def _unreadable(record: dict[str, Any], error: Exception) -> DeadLetter:
    """A message that is not an on-failure record is kept as a dead letter of the failure topic itself."""
    return DeadLetter(
        source=f"{record['topic']}-{record['partition']}@{record['offset']}",
        reason=f"unreadable on-failure record: {error}",
        value=base64.b64decode(record["value"]) if record.get("value") is not None else None,
        key=base64.b64decode(record["key"]) if record.get("key") is not None else None,
        timestamp_ms=int(record.get("timestamp") or 0),
        headers={},
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> BatchResponse:
    """File every failure message's record as a dead letter; names the messages to deliver again."""
    letters: list[DeadLetter] = []
    owners: list[Any] = []  # the failure message each letter comes from
    for records in event.get("records", {}).values():
        for record in records:
            ident = record_id(record["topic"], record["partition"], record["offset"])
            try:
                found = letters_from_failure_message(base64.b64decode(record.get("value") or ""),
                                                     max_event_bytes=MAX_EVENT_BYTES)
            except (ValueError, KeyError, TypeError) as exc:
                logger.warning("not an on-failure record", extra={"record": ident, "error": str(exc)})
                found = [_unreadable(record, exc)]
            letters.extend(found)
            owners.extend([ident] * len(found))
    errors = dead_letters.put(letters) if letters else {}
    failed = {owners[position] for position in errors}
    for position, error in errors.items():
        logger.error("dead letter not stored", extra={"source": letters[position].source, "error": str(error)})
    metrics.add_metric("EventsDeadLettered", MetricUnit.Count, len(letters) - len(errors))
    return kafka_batch_response(event, context, failed)
