"""The base both event-source mappings share: counters, batching settings, the executor and the
on-failure destination, wired to what each source supplies (event shape, partial responses, record
times, on-failure record).

A source class implements the abstract methods below and drives the rest: it reads records into
:class:`~local_runtime.esm.batcher.Batcher` objects, puts due batches on a work queue, calls
``self._executor.step(queue)`` and moves its committed position over resolved records.
"""

from __future__ import annotations

import logging
import threading
import uuid
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from local_runtime.esm.batcher import Batcher
from local_runtime.esm.counters import MappingCounters
from local_runtime.esm.destinations import OnFailureSender
from local_runtime.esm.executor import BatchExecutor, SourceHooks, effective_max_retries
from local_runtime.esm.on_failure import FailureFields
from local_runtime.esm.poll_loop import PollLoop
from local_runtime.esm.records import PendingRecord
from local_runtime.esm.spec import MappingSpec

__all__ = ["EventSourceMapping", "mapping_uuid"]

log = logging.getLogger(__name__)

R = TypeVar("R", bound=PendingRecord)


def mapping_uuid(spec: MappingSpec) -> str:
    """A stable UUID for a mapping (AWS gives each ESM a UUID; Kafka uses it as the default group id).

    Derived from the function and event names so a restarted local stack finds its old offsets.
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"local-esm:{spec.function_logical_id}:{spec.name}"))


class EventSourceMapping(PollLoop, Generic[R]):
    """One emulated event-source mapping of one function (``start``, ``stop``, ``status``, ``poll_once``,
    ``run_until``, ``run_until_idle``). ``R`` is the source's :class:`PendingRecord` type."""

    # AWS caps MaximumRetryAttempts -1 at 10 when a destination is configured, for Kafka sources only.
    caps_infinite_retries = False

    def __init__(
        self,
        spec: MappingSpec,
        invoke: Callable[[dict[str, Any]], Any],
        function_arn: str,
        destination_clients: dict[str, Any],
        *,
        backoff: tuple[float, float],
        clock: Callable[[], float],
    ) -> None:
        """Set up what every mapping has. ``destination_clients`` are the keyword arguments of
        :class:`OnFailureSender` (``sqs_client``, ``sns_client``, ``s3_client``, ``kafka_producer_factory``).
        ``backoff`` is the first delay between retries of a failed batch (doubled each time) and the
        maximum delay, in seconds. ``clock`` (epoch seconds) is used for record ages."""
        self.spec = spec
        self.name = spec.name
        self.uuid = mapping_uuid(spec)
        self.function_arn = function_arn
        self.counters = MappingCounters()
        self._clock = clock
        self._batch_size = max(1, int(spec.batch_size))
        self._window = max(0.0, float(spec.maximum_batching_window_s))
        self._sender = OnFailureSender(spec.on_failure, mapping_id=self.uuid, **destination_clients)
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        hooks = SourceHooks(
            build_event=self._build_event,
            remaining_after_partial=self._remaining_after_partial,
            record_time_ms=self._record_time_ms,
            dispose=self._dispose,
        )
        self._executor: BatchExecutor[R] = BatchExecutor(
            name=self.name,
            spec=spec,
            invoke=invoke,
            hooks=hooks,
            counters=self.counters,
            max_retries=effective_max_retries(spec, cap_infinite_with_destination=self.caps_infinite_retries),
            stop=self._stop,
            backoff=backoff,
            clock=clock,
        )

    def _new_batcher(self, base_size: int = 256) -> Batcher[R]:
        """A batcher with this mapping's ``BatchSize`` and window; ``base_size`` is the event's overhead."""
        return Batcher(self._batch_size, self._window, base_size=base_size)

    # ------------------------------------------------------------------ what a source supplies

    @abstractmethod
    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling after the current invocation and save the position of resolved records; an
        invocation still running after ``timeout`` seconds is not waited for (see :class:`PollLoop`)."""

    @abstractmethod
    def _build_event(self, records: list[R]) -> dict[str, Any]:
        """The invocation event for ``records``."""

    @abstractmethod
    def _remaining_after_partial(self, response: Any, records: list[R]) -> list[R]:
        """Records to retry after a partial batch response (empty: none failed)."""

    @abstractmethod
    def _record_time_ms(self, record: R) -> float | None:
        """When ``record`` was created, in epoch milliseconds (``None``: unknown)."""

    @abstractmethod
    def _on_failure_record(self, records: list[R], fields: FailureFields, include_payload: bool) -> dict[str, Any]:
        """The on-failure document describing ``records``."""

    @abstractmethod
    def _source_part(self, records: list[R]) -> str:
        """The partition or shard ``records`` come from (part of S3 destination keys)."""

    @abstractmethod
    def _describe(self) -> dict[str, Any]:
        """The source-specific part of :meth:`status` (including ``running``)."""

    # ------------------------------------------------------------------ shared behaviour

    def _dispose(self, records: list[R], fields: FailureFields) -> None:
        """Send ``records`` to the destination (or discard them) and mark them resolved."""
        condition = fields.get("condition")
        if self._sender.configured:
            doc = self._on_failure_record(records, fields, self._sender.include_payload)
            self._sender.send(doc, source_part=self._source_part(records))
            self.counters.records_dead_lettered += len(records)
            log.warning("%s: %d record(s) sent to on-failure destination (%s)", self.name, len(records), condition)
        else:
            self.counters.records_discarded += len(records)
            log.warning("%s: %d record(s) discarded (%s, no destination)", self.name, len(records), condition)
        for r in records:
            r.resolved = True

    def status(self) -> dict[str, Any]:
        """A snapshot for a status display (safe to call from another thread)."""
        return {
            "name": self.name,
            "kind": self.spec.kind,
            "function": self.spec.function_logical_id,
            **self._describe(),
            **self.counters.snapshot(),
        }
