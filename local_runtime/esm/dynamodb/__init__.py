"""The DynamoDB Streams event-source mapping: what differs from the Kafka mapping, on top of the shared
core in :mod:`local_runtime.esm`.

``events`` builds the AWS stream record, event and on-failure record shapes, ``mapping`` polls the
shards and checkpoints, ``shards`` holds the per-shard state and ``checkpoints`` the stores that keep
positions across restarts.
"""

from local_runtime.esm.dynamodb.checkpoints import CheckpointStore, JsonFileCheckpointStore, MemoryCheckpointStore
from local_runtime.esm.dynamodb.events import build_stream_event, build_stream_on_failure_record, build_stream_record
from local_runtime.esm.dynamodb.mapping import DynamoDBStreamMapping

__all__ = [
    "CheckpointStore",
    "DynamoDBStreamMapping",
    "JsonFileCheckpointStore",
    "MemoryCheckpointStore",
    "build_stream_event",
    "build_stream_on_failure_record",
    "build_stream_record",
]
