"""Event-source mapping metrics in the embedded CloudWatch, as Lambda publishes them with ``MetricsConfig``.

Namespace ``AWS/Lambda``, dimension ``EventSourceMappingUUID`` (docs/SCHEMA_REGISTRY.md lists the pages):

* ``EventCount``: PolledEventCount, FilteredOutEventCount, InvokedEventCount, FailedInvokeEventCount,
  DroppedEventCount (given up without a destination), OnFailureDestinationDeliveredEventCount;
* ``ErrorCount`` (Kafka): the failure counts alone (FailedInvokeEventCount, DroppedEventCount,
  OnFailureDestinationDeliveredEventCount) when EventCount is not chosen;
* ``KafkaMetrics`` (Kafka): MaxOffsetLag and SumOffsetLag over the mapping's pollers;
* DynamoDB Streams mappings: IteratorAge (milliseconds) with EventCount.

:class:`MetricsPublisher` reads the mappings' counters every ``interval_s`` and puts the increase since the
last publication (counts) or the current value (lags, age). Call :meth:`publish_now` for a final flush.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["NAMESPACE", "MetricsPublisher", "deployed_mapping_ids", "mapping_metric_data"]

log = logging.getLogger(__name__)

NAMESPACE = "AWS/Lambda"
_COUNTS = {  # AWS metric name -> counter field
    "PolledEventCount": "records_polled",
    "FilteredOutEventCount": "records_filtered",
    "InvokedEventCount": "records_invoked",
    "FailedInvokeEventCount": "records_failed_invoke",
    "DroppedEventCount": "records_discarded",
    "OnFailureDestinationDeliveredEventCount": "records_dead_lettered",
}
_ERRORS = ("FailedInvokeEventCount", "DroppedEventCount", "OnFailureDestinationDeliveredEventCount")


def mapping_metric_data(spec: Any, uuid: str, totals: dict[str, int], previous: dict[str, int],
                        lags: Sequence[int], iterator_age_ms: int, now: datetime) -> list[dict[str, Any]]:
    """The ``MetricData`` of one mapping: counts as increases over ``previous``, gauges as they are."""
    chosen = set(spec.metrics)
    names: list[str] = []
    if "EventCount" in chosen:
        names += list(_COUNTS)
    elif "ErrorCount" in chosen:
        names += list(_ERRORS)
    dims = [{"Name": "EventSourceMappingUUID", "Value": uuid}]
    data = [{"MetricName": n, "Dimensions": dims, "Timestamp": now, "Unit": "Count",
             "Value": float(totals[_COUNTS[n]] - previous.get(_COUNTS[n], 0))} for n in names]
    if "KafkaMetrics" in chosen and spec.kind != "DynamoDB":
        data += [{"MetricName": "MaxOffsetLag", "Dimensions": dims, "Timestamp": now, "Unit": "Count",
                  "Value": float(max(lags, default=0))},
                 {"MetricName": "SumOffsetLag", "Dimensions": dims, "Timestamp": now, "Unit": "Count",
                  "Value": float(sum(lags))}]
    if spec.kind == "DynamoDB" and "EventCount" in chosen:
        data.append({"MetricName": "IteratorAge", "Dimensions": dims, "Timestamp": now, "Unit": "Milliseconds",
                     "Value": float(iterator_age_ms)})
    return data


class MetricsPublisher:
    """Publishes the metrics of mappings whose spec has ``MetricsConfig``, and IteratorAge of every stream
    mapping per ``FunctionName`` (Lambda publishes that one for stream sources whatever the configuration)."""

    def __init__(self, cloudwatch: Any, mappings: Iterable[Any] = (), interval_s: float = 10.0, *,
                 uuids: Mapping[str, str] | None = None) -> None:
        """``mappings`` are event-source mappings (``spec``, ``uuid``, ``counters``; ``function_arn`` for
        IteratorAge); several pollers of one mapping (same UUID) are summed. ``uuids`` maps a mapping's name
        (the logical id of an ``AWS::Lambda::EventSourceMapping``) to the UUID its ``!Ref`` resolved to when
        deployed, so the template's alarms find the dimension they name (:func:`deployed_mapping_ids`)."""
        self._cloudwatch = cloudwatch
        self._mappings: list[Any] = []
        self._uuids = dict(uuids or {})
        # What was published last, per mapping object: a restarted mapping is a new object counting from 0.
        self._previous: dict[int, dict[str, int]] = {}
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        for m in mappings:
            self.add(m)

    def add(self, mapping: Any) -> None:
        """Publish ``mapping``'s metrics too (a poller of a mapping already added joins its sums). Several
        pollers shown as one (``pollers``) are added one by one."""
        for poller in getattr(mapping, "pollers", None) or [mapping]:
            if not hasattr(poller, "uuid"):
                continue  # a mapping run by an emulator (MiniStack, LocalStack) publishes its own
            if poller.spec.metrics or poller.spec.kind == "DynamoDB":
                with self._lock:
                    self._mappings.append(poller)

    def uuid_of(self, mapping: Any) -> str:
        """The ``EventSourceMappingUUID`` dimension of ``mapping``."""
        return self._uuids.get(mapping.spec.name, mapping.uuid)

    def publish_now(self) -> int:
        """Put what changed since the last call; returns the number of data points sent."""
        with self._lock:
            groups: dict[str, list[Any]] = {}
            for m in self._mappings:
                groups.setdefault(self.uuid_of(m), []).append(m)
            sent = 0
            now = datetime.now(UTC)
            for uuid, pollers in groups.items():
                current = {id(p): {f: int(getattr(p.counters, f)) for f in _COUNTS.values()} for p in pollers}
                increase = {f: sum(c[f] - self._previous.get(key, {}).get(f, 0) for key, c in current.items())
                            for f in _COUNTS.values()}
                lags = [int(p.counters.lag) for p in pollers]
                age = max(int(getattr(p.counters, "iterator_age_ms", 0)) for p in pollers)
                spec = pollers[0].spec
                data = mapping_metric_data(spec, uuid, increase, {}, lags, age, now) if spec.metrics else []
                function = _function_name(pollers[0])
                if spec.kind == "DynamoDB" and function:
                    data.append({"MetricName": "IteratorAge", "Timestamp": now, "Unit": "Milliseconds",
                                 "Dimensions": [{"Name": "FunctionName", "Value": function}],
                                 "Value": float(age)})
                for start in range(0, len(data), 20):  # PutMetricData's limit per call
                    self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start:start + 20])
                self._previous.update(current)
                sent += len(data)
            return sent

    def start(self) -> None:
        """Publish every ``interval_s`` in a daemon thread until :meth:`stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="esm-metrics", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.publish_now()
            except Exception as exc:  # CloudWatch down: keep the totals, publish the increase next time
                log.warning("mapping metrics not published: %s", exc)

    def stop(self) -> None:
        """Stop the thread and publish a last time."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.publish_now()


def _function_name(mapping: Any) -> str | None:
    arn = str(getattr(mapping, "function_arn", "") or "")
    parts = arn.split(":")
    return parts[6] if len(parts) >= 7 and parts[5] == "function" else None


def deployed_mapping_ids(template: Any) -> dict[str, str]:
    """Logical id -> UUID (what its ``!Ref`` resolves to) of every ``AWS::Lambda::EventSourceMapping`` of a
    deployed template (``Template``; ``None`` gives none)."""
    if template is None:
        return {}
    return {logical_id: str(template.resource_info(logical_id).ref)
            for logical_id, resource in template.resources.items()
            if resource.type == "AWS::Lambda::EventSourceMapping"}
