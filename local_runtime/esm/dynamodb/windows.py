"""Tumbling windows (``TumblingWindowInSeconds``) of a DynamoDB Streams mapping, as AWS documents them
(docs/AWS_EVENT_SOURCES.md, "Tumbling windows").

* A record belongs to the window ``[floor(t / W) * W, + W)`` of the time ``t`` it entered the stream
  (epoch-aligned, so windows of one mapping never overlap); a batch never mixes windows.
* Every invocation of a window gets ``window {start, end}``, ``state`` (what the previous successful
  invocation of the window returned, ``{}`` at its start), ``shardId``, ``eventSourceARN``,
  ``isFinalInvokeForWindow`` and ``isWindowTerminatedEarly``.
* The response must hold a ``state`` object, else the invocation failed (not a function error: no bisect);
  a failed invocation leaves the state as it was, a partial batch response keeps the returned state.
* When the window is over (a record of a later window was read, the shard ended, or the clock passed the
  window's end plus ``close_delay_s`` with nothing left of it to read) the function gets a final
  invocation with no records and ``isFinalInvokeForWindow`` true, retried until it succeeds; only then is
  the shard checkpointed past the window's records. A restart mid-window replays the window from its first
  record with a fresh state (at least once).
* A state above 1 MB ends the window early: the next invocation is a final one with
  ``isWindowTerminatedEarly`` true, after which the same window goes on with a fresh state.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_runtime.esm.batcher import Batcher
from local_runtime.esm.counters import MappingCounters
from local_runtime.esm.dynamodb.shards import Shard, StreamRecord
from local_runtime.esm.responses import MalformedBatchResponse, batch_item_identifiers

__all__ = [
    "MAX_STATE_BYTES",
    "MissingWindowState",
    "OpenWindow",
    "TumblingWindows",
    "WindowedBatcher",
    "insertion_time",
    "window_start",
]

log = logging.getLogger(__name__)

MAX_STATE_BYTES = 1024 * 1024  # "Your state can be a maximum of 1 MB per shard"


class MissingWindowState(MalformedBatchResponse):
    """A windowed invocation answered without a ``state`` object: AWS counts it as a failed invocation."""


def window_start(t: float, length_s: int) -> int:
    """Start (epoch seconds) of the ``length_s`` tumbling window holding time ``t``."""
    return math.floor(t / length_s) * length_s


def iso_z(epoch_s: int) -> str:
    """``2020-07-30T17:00:00Z``, the format of ``window.start`` / ``window.end``."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def insertion_time(created_s: float | None, read_at: float) -> float:
    """When a record entered the stream, as best known when it is read at ``read_at`` (epoch seconds).

    ``ApproximateCreationDateTime`` is rounded down: to the second on AWS, to the minute on DynamoDB Local.
    The true time lies in ``[created, created + resolution)`` and not after the read, so a record read
    live gets (almost) its true time and a backlog record stays inside its rounding interval. A value that
    is a whole minute is taken as minute-rounded.
    """
    if created_s is None:
        return read_at
    resolution = 60.0 if created_s % 60 == 0 else 1.0
    return max(created_s, min(read_at, created_s + resolution - 0.001))


def _parse(response: Any) -> Any:
    if isinstance(response, bytes | bytearray):
        response = response.decode("utf-8", "replace")
    if isinstance(response, str):
        try:
            return json.loads(response)
        except ValueError:
            return response
    return response


@dataclass
class OpenWindow:
    """The window a shard is aggregating: its bounds and the state of its last successful invocation."""

    start: int
    end: int
    state: dict[str, Any] = field(default_factory=dict)
    terminate_early: bool = False  # the state passed 1 MB: the next invocation is an early final one


class WindowedBatcher(Batcher[StreamRecord]):
    """A :class:`Batcher` whose batches never mix windows: a batch is due as soon as a record of a later
    window is buffered behind it, and :meth:`take` stops at the window boundary."""

    def due(self, *, flush: bool = False) -> bool:
        """As :meth:`Batcher.due`, and True when the buffered records span two windows."""
        items = list(self)
        if items and items[0].window_start != items[-1].window_start:
            return True
        return super().due(flush=flush)

    def take(self) -> list[StreamRecord]:
        """The next batch, all of the head record's window."""
        items = list(self)
        if not items:
            return []
        head = items[0].window_start
        same = next((i for i, r in enumerate(items) if r.window_start != head), len(items))
        saved = self.batch_size
        self.batch_size = min(saved, same)
        try:
            return super().take()
        finally:
            self.batch_size = saved


class TumblingWindows:
    """The window bookkeeping of one mapping, per shard: assigns records to windows, adds the window
    fields to events, checks responses, runs final invocations and bounds the checkpoint."""

    def __init__(
        self,
        length_s: int,
        *,
        invoke: Callable[[dict[str, Any]], Any],
        event_source_arn: str,
        counters: MappingCounters,
        report_batch_item_failures: bool,
        sleep_backoff: Callable[[int], None],
        stop: threading.Event,
        clock: Callable[[], float],
        close_delay_s: float = 2.0,
    ) -> None:
        """``invoke`` is the function (an exception is a function error); ``sleep_backoff(failures)`` waits
        before a final invocation is retried; ``clock`` gives epoch seconds; ``close_delay_s`` is how long
        after a window's end a window with no newer record is considered over (AWS: up to 2 minutes)."""
        self.length_s = int(length_s)
        self.close_delay_s = close_delay_s
        self._invoke = invoke
        self._arn = event_source_arn
        self._counters = counters
        self._report = report_batch_item_failures
        self._sleep_backoff = sleep_backoff
        self._stop = stop
        self._clock = clock
        self._open: dict[str, OpenWindow] = {}
        self._floor: dict[str, int] = {}  # per shard: windows never go back, a closed window takes nothing more

    # ------------------------------------------------------------------ records and events

    def assign(self, shard_id: str, record: StreamRecord) -> None:
        """Put a record just read into its window (never one before the shard's latest)."""
        created = record.record["dynamodb"].get("ApproximateCreationDateTime")
        t = insertion_time(None if created is None else float(created), self._clock())
        start = max(window_start(t, self.length_s), self._floor.get(shard_id, -(2**62)))
        self._floor[shard_id] = start
        record.window_start = start

    def open_window(self, shard_id: str) -> OpenWindow | None:
        """The window ``shard_id`` is aggregating, if any."""
        return self._open.get(shard_id)

    def _fields(self, shard_id: str, w: OpenWindow, *, final: bool, early: bool) -> dict[str, Any]:
        return {
            "window": {"start": iso_z(w.start), "end": iso_z(w.end)},
            "state": w.state,
            "shardId": shard_id,
            "eventSourceARN": self._arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": early,
        }

    def decorate(self, event: dict[str, Any], shard_id: str, records: list[StreamRecord]) -> dict[str, Any]:
        """``event`` (``{"Records": [...]}`` of one window) with the window fields; opens the window."""
        start = records[0].window_start
        assert start is not None  # assign() ran when the record was read
        w = self._open.get(shard_id)
        if w is None or w.start != start:
            w = self._open[shard_id] = OpenWindow(start, start + self.length_s)
        return {**event, **self._fields(shard_id, w, final=False, early=False)}

    def checked_invoke(self, event: dict[str, Any]) -> Any:
        """Invoke the function with a windowed event and keep the state it returns (see :meth:`accept`)."""
        response = self._invoke(event)
        if "window" in event:
            self.accept(event, response)
        return response

    def accept(self, event: Mapping[str, Any], response: Any) -> dict[str, Any]:
        """Validate a windowed response and keep its state for the window's next invocation.

        Raises :class:`MissingWindowState` without a ``state`` object, and :class:`MalformedBatchResponse`
        for a partial batch response AWS rejects (the invocation failed: the state is not kept)."""
        doc = _parse(response)
        state = doc.get("state") if isinstance(doc, Mapping) else None
        if not isinstance(state, Mapping):
            raise MissingWindowState("a tumbling-window response must hold a state object")
        if self._report and event.get("Records"):
            seqs = {r["dynamodb"]["SequenceNumber"] for r in event["Records"]}
            for ident in batch_item_identifiers(doc):
                if ident not in seqs:
                    raise MalformedBatchResponse(f"itemIdentifier is not a sequence number of the batch: {ident!r}")
        w = self._open.get(str(event.get("shardId")))
        if w is not None and not event.get("isFinalInvokeForWindow"):
            w.state = dict(state)
            if len(json.dumps(w.state, separators=(",", ":")).encode("utf-8")) > MAX_STATE_BYTES:
                w.terminate_early = True
        return dict(state)

    # ------------------------------------------------------------------ closing windows

    def maybe_close(self, shard: Shard, *, pending: bool) -> bool:
        """Run the final invocation of ``shard``'s window when it is over; True when one was run (or
        interrupted by a stop: then the window stays open and is not checkpointed).

        ``pending`` is True while records of the shard are being invoked or retried (the window is not
        over before they are resolved). Blocks until the final invocation succeeded or the mapping stops.
        """
        w = self._open.get(shard.shard_id)
        if w is None:
            return False
        if w.terminate_early:
            self._final(shard.shard_id, w, early=True)
            return True
        if pending:
            return False
        head = next(iter(shard.batcher), None)
        if head is not None and head.window_start == w.start:
            return False  # more records of this window to invoke
        if head is not None or shard.ended or self._clock() >= w.end + self.close_delay_s:
            # True even when a stop interrupted it: no batch of a later window may start while this one is open.
            self._final(shard.shard_id, w, early=False)
            return True
        return False

    def _final(self, shard_id: str, w: OpenWindow, *, early: bool) -> bool:
        """Invoke the window's final invocation until it succeeds (False: the mapping stopped first)."""
        event = {"Records": [], **self._fields(shard_id, w, final=True, early=early)}
        failures = 0
        while not self._stop.is_set():
            self._counters.invocations += 1
            self._counters.last_invoke_at = self._clock()
            try:
                self.accept(event, self._invoke(json.loads(json.dumps(event))))
            except Exception as exc:
                failures += 1
                self._counters.failures += 1
                if not isinstance(exc, MalformedBatchResponse):
                    self._counters.function_errors += 1
                self._counters.retries += 1
                self._counters.last_error = f"final window invocation: {type(exc).__name__}: {exc}"
                log.info("%s: final invocation of window %s failed: %s", shard_id, event["window"], exc)
                self._sleep_backoff(failures)
                continue
            if early:
                w.state, w.terminate_early = {}, False  # the same window goes on with a fresh state
            else:
                del self._open[shard_id]
                self._floor[shard_id] = max(self._floor.get(shard_id, w.end), w.end)
            return True
        return False

    # ------------------------------------------------------------------ checkpoints

    def advance(self, shard: Shard) -> bool:
        """:meth:`Shard.advance` that stops at the open window: its records are checkpointed only after
        its final invocation succeeded. True when the checkpoint moved past the saved one."""
        w = self._open.get(shard.shard_id)
        while shard.unresolved and shard.unresolved[0].resolved:
            start = shard.unresolved[0].window_start
            if w is not None and start is not None and start >= w.start:
                break
            shard.checkpoint = shard.unresolved.popleft().sequence_number
        return bool(shard.checkpoint) and shard.checkpoint != shard.saved_checkpoint

    def describe(self) -> dict[str, Any]:
        """The open window per shard, for :meth:`status`."""
        return {sid: {"start": iso_z(w.start), "end": iso_z(w.end)} for sid, w in list(self._open.items())}
