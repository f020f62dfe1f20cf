"""A template's DynamoDB Streams triggers as real event-source mappings on an emulator: ``CreateEventSourceMapping``
with the template's batch size, batching window, retries, record age, bisect, parallelization, filters, partial
batch responses and on-failure destination, so the emulator's own poller invokes the function.

Kafka triggers are not created there: neither LocalStack's free tier nor MiniStack has a Kafka poller, so the
runtime keeps emulating those and invokes the function through the emulator's ``Invoke`` API
(:mod:`local_runtime.remote.lambda_invoke`).

:class:`EmulatorMapping` lets the platform stop and start such a mapping like its own (``Enabled`` false/true:
the emulator keeps the mapping's position, as Lambda does for a disabled mapping).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from local_runtime.esm.spec import MappingSpec

__all__ = ["EmulatorMapping", "create_stream_mapping", "mapping_request"]

log = logging.getLogger(__name__)

_STATE_TIMEOUT_S = 30.0


def mapping_request(spec: MappingSpec, function_name: str) -> dict[str, Any]:
    """The ``CreateEventSourceMapping`` parameters of a DynamoDB Streams mapping (every intrinsic resolved)."""
    if spec.kind != "DynamoDB" or not spec.stream_arn:
        raise ValueError(f"{spec.name}: not a DynamoDB Streams mapping with a resolved stream ARN")
    request: dict[str, Any] = {
        "FunctionName": function_name,
        "EventSourceArn": spec.stream_arn,
        "StartingPosition": spec.starting_position,
        "BatchSize": spec.batch_size,
        "MaximumBatchingWindowInSeconds": int(spec.maximum_batching_window_s),
        "MaximumRetryAttempts": spec.maximum_retry_attempts,
        "MaximumRecordAgeInSeconds": spec.maximum_record_age_s,
        "BisectBatchOnFunctionError": spec.bisect_batch_on_function_error,
        "ParallelizationFactor": spec.parallelization_factor,
        "Enabled": spec.enabled,
    }
    if spec.starting_position == "AT_TIMESTAMP" and spec.starting_position_timestamp is not None:
        request["StartingPositionTimestamp"] = spec.starting_position_timestamp
    if spec.report_batch_item_failures:
        request["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if spec.tumbling_window_s:
        request["TumblingWindowInSeconds"] = spec.tumbling_window_s
    if spec.filter_patterns:
        request["FilterCriteria"] = {"Filters": [{"Pattern": json.dumps(p)} for p in spec.filter_patterns]}
    if spec.on_failure is not None:
        if spec.on_failure.kind not in ("sqs", "sns", "s3"):
            raise ValueError(f"{spec.name}: a {spec.on_failure.kind} on-failure destination is not a stream's")
        request["DestinationConfig"] = {"OnFailure": {"Destination": spec.on_failure.target}}
    return request


def create_stream_mapping(spec: MappingSpec, function_name: str, lambda_client: Any, *,
                          enabled: bool | None = None) -> str:
    """Create the mapping, or update the one this function already has on this stream; returns its UUID.
    ``enabled`` overrides the template's ``Enabled`` (the platform creates mappings disabled, then starts them)."""
    request = mapping_request(spec, function_name)
    if enabled is not None:
        request["Enabled"] = enabled
    existing = lambda_client.list_event_source_mappings(
        FunctionName=function_name, EventSourceArn=request["EventSourceArn"]).get("EventSourceMappings", [])
    if existing:
        uuid = str(existing[0]["UUID"])
        updatable = {k: v for k, v in request.items()
                     if k not in ("EventSourceArn", "StartingPosition", "StartingPositionTimestamp")}
        lambda_client.update_event_source_mapping(UUID=uuid, **updatable)
        return uuid
    return str(lambda_client.create_event_source_mapping(**request)["UUID"])


class _NoCounters:
    """The emulator counts nothing the platform can read: zeros, so the platform's totals stay sums."""

    def snapshot(self) -> dict[str, Any]:
        return {}


class EmulatorMapping:
    """A mapping that runs inside the emulator, seen by the platform as one of its own (see
    ``local_runtime.runtime.RunningMapping``): start/stop toggle ``Enabled``."""

    def __init__(self, spec: MappingSpec, uuid: str, lambda_client: Any) -> None:
        self._spec = spec
        self.uuid = uuid
        self._client = lambda_client
        self._counters = _NoCounters()

    @property
    def name(self) -> str:
        return self._spec.name

    @property
    def spec(self) -> MappingSpec:
        return self._spec

    @property
    def counters(self) -> _NoCounters:
        return self._counters

    def start(self) -> None:
        """Enable the mapping (its poller resumes where it stopped)."""
        self._set_enabled(True)

    def request_stop(self) -> None:
        """Disable the mapping; the emulator finishes the batch in flight."""
        self._set_enabled(False, wait=False)

    def stop(self, timeout: float = _STATE_TIMEOUT_S) -> None:
        """Disable the mapping and wait until the emulator says it is disabled."""
        self._set_enabled(False, timeout=timeout)

    def status(self) -> dict[str, Any]:
        answer = self._client.get_event_source_mapping(UUID=self.uuid)
        return {"name": self.name, "uuid": self.uuid, "state": answer.get("State"),
                "last_result": answer.get("LastProcessingResult")}

    def _set_enabled(self, enabled: bool, *, wait: bool = True, timeout: float = _STATE_TIMEOUT_S) -> None:
        state = self._client.get_event_source_mapping(UUID=self.uuid).get("State")
        target = "Enabled" if enabled else "Disabled"
        if state != target and state != ("Enabling" if enabled else "Disabling"):
            self._client.update_event_source_mapping(UUID=self.uuid, Enabled=enabled)
        if not wait:
            return
        deadline = time.monotonic() + timeout
        while self._client.get_event_source_mapping(UUID=self.uuid).get("State") != target:
            if time.monotonic() > deadline:
                log.warning("%s: still not %s after %.1fs", self.name, target, timeout)
                return
            time.sleep(0.1)
