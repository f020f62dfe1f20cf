"""The run's progress line on stderr, and the Kafka delivery reports it shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from local_runtime.simulator.producer import DeliveryStats, KafkaSink, RegistrySink, Sink, TeeSink
from local_runtime.simulator.summary import Summary


def delivery_stats(sink: Sink) -> DeliveryStats | None:
    """Delivery reports of the Kafka sink, also when it is one branch of a :class:`TeeSink`."""
    if isinstance(sink, KafkaSink):
        return sink.stats
    if isinstance(sink, TeeSink):
        return next((s for s in map(delivery_stats, sink.sinks) if s is not None), None)
    if isinstance(sink, RegistrySink):
        return delivery_stats(sink.inner)
    return None


class Progress:
    """One status line on stderr, rewritten in place on a terminal (every few seconds otherwise)."""

    def __init__(self, stream: IO[str] | None) -> None:
        self.stream = stream
        self.tty = bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())
        self.interval = 0.25 if self.tty else 5.0
        self.next_at = 0.0
        self.width = 0
        self.note: Callable[[], str] | None = None  # e.g. the backfill / live phase

    def line(self, s: Summary, elapsed: float, sink: Sink) -> str:
        rate = s.produced / elapsed if elapsed > 0 else 0.0
        stats = delivery_stats(sink)
        delivered = f"  delivered {stats.delivered:,}" if stats is not None else ""
        sim = f"  sim {s.sim_end:%Y-%m-%d %H:%MZ}" if s.sim_end else ""
        note = f"  {self.note()}" if self.note is not None else ""
        return (f"simulate: {s.produced:,} produced  {rate:,.0f}/s  dup {s.duplicates:,}  late {s.late:,}  "
                f"poison {s.poison:,}{delivered}{sim}{note}")

    def update(self, s: Summary, elapsed: float, sink: Sink, *, final: bool = False) -> None:
        if self.stream is None or (not final and elapsed < self.next_at):
            return
        self.next_at = elapsed + self.interval
        text = self.line(s, elapsed, sink)
        if self.tty:
            pad = max(0, self.width - len(text))
            self.width = len(text)
            self.stream.write("\r" + text + " " * pad + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
