"""Local emulation of Lambda event-source mappings (ESM) for Kafka and DynamoDB Streams.

The core, shared by both sources (AWS's rules are summarised in docs/AWS_EVENT_SOURCES.md):

* ``spec`` - what a mapping declares (:class:`MappingSpec`, :class:`OnFailureDestination`);
* ``mapping`` - :class:`EventSourceMapping`, the base both mappings derive from;
* ``poll_loop`` - driving a mapping: background thread, ``run_until`` and ``run_until_idle``;
* ``batcher`` - closing batches by size, bytes and batching window;
* ``executor`` - invoking a batch: retries with backoff, bisect, partial batch responses, record age;
* ``responses`` - reading ``batchItemFailures``;
* ``on_failure`` / ``destinations`` - the on-failure record envelope and SQS / SNS / S3 / Kafka delivery;
* ``records``, ``counters``, ``payload`` - a pending record, status counters, the payload limit;
* ``filtering`` - ``FilterCriteria`` patterns; ``schedules`` - ``Schedule`` events (not an ESM, run alike).

What differs per source lives in ``kafka`` (consumer, offsets, Kafka event shape) and ``dynamodb``
(shards, checkpoints, stream record shape). Submodules are imported explicitly; this package imports
nothing so that ``spec`` stays cheap to import.
"""
