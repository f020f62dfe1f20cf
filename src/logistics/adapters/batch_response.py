"""The partial batch response every batch handler returns, built by Powertools' BatchProcessor.

The services report which records failed by their transport identity; this turns that set into
AWS's ``{"batchItemFailures": [...]}``: for Kafka each item names ``{"partition": "<topic>-<partition>",
"offset": n}``, for DynamoDB Streams the record's SequenceNumber. An empty list means the whole batch
succeeded (docs/AWS_EVENT_SOURCES.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEventRecord

from logistics.adapters.kafka_records import record_id

BatchResponse = PartialItemFailureResponse  # {"batchItemFailures": [{"itemIdentifier": ...}, ...]}


class RecordFailed(Exception):
    """A record the service reported as failed; the event source must deliver it again."""


def _partial_response(
    event: dict[str, Any],
    context: Any,
    event_type: EventType,
    failed: Collection[Hashable],
    identity: Callable[[Any], Hashable],
) -> BatchResponse:
    if not failed:
        # Nothing to name (also an event with no records, e.g. {"records": {}}, which Powertools refuses).
        return {"batchItemFailures": []}

    def check(record: Any) -> None:
        # The work is already done; raising here is how BatchProcessor learns a record failed.
        ident = identity(record)
        if ident in failed:
            raise RecordFailed(f"record {ident} failed; see the log")

    # raise_on_entire_batch_failure=False: a batch whose every record failed is still reported item by
    # item, so the event source retries exactly those records instead of treating it as a function error.
    return process_partial_response(
        event=event,
        record_handler=check,
        processor=BatchProcessor(event_type, raise_on_entire_batch_failure=False),
        context=context,
    )


def _kafka_identity(record: KafkaEventRecord) -> Hashable:
    return record_id(record.topic, record.partition, record.offset)


def _stream_identity(record: DynamoDBRecord) -> Hashable:
    return record.dynamodb.sequence_number if record.dynamodb else None


def kafka_batch_response(event: dict[str, Any], context: Any, failed: Collection[Hashable]) -> BatchResponse:
    """The Kafka (MSK or self-managed) partial batch response naming the records whose ``record_id`` is failed."""
    return _partial_response(event, context, EventType.Kafka, failed, _kafka_identity)


def stream_batch_response(event: dict[str, Any], context: Any, failed: Collection[Hashable]) -> BatchResponse:
    """The DynamoDB Streams partial batch response naming the records whose SequenceNumber is in ``failed``."""
    return _partial_response(event, context, EventType.DynamoDBStreams, failed, _stream_identity)
