"""The Kafka event-source mapping (Amazon MSK and self-managed Apache Kafka): what differs from the
DynamoDB Streams mapping, on top of the shared core in :mod:`local_runtime.esm`.

``events`` builds the AWS event and on-failure record shapes, ``mapping`` runs the group consumer and
commits offsets, ``partitions`` keeps the per-partition offsets, ``consumer`` holds the confluent-kafka
settings and ``filtering`` applies ``FilterCriteria`` to record values.
"""

from local_runtime.esm.kafka.events import KafkaMessage, build_kafka_event, build_kafka_on_failure_record
from local_runtime.esm.kafka.mapping import KafkaEventSourceMapping

__all__ = ["KafkaEventSourceMapping", "KafkaMessage", "build_kafka_event", "build_kafka_on_failure_record"]
