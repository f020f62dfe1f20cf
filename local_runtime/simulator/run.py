"""The simulator driver: :func:`simulate` is the API; :func:`main` is the CLI (``logistics simulate``).

This module gathers them under one import path: the run loop lives in :mod:`.driver`, the simulated
clock and event stream in :mod:`.stream`, the summary and ground truth in :mod:`.summary`, the
progress line in :mod:`.progress` and the command line in :mod:`.cli`. ``python -m
local_runtime.simulator.run`` runs the CLI.

Determinism: same seed, same clock base and same concurrency give the same messages, byte for byte,
whatever the pacing (see :mod:`.driver`).
"""

from __future__ import annotations

from local_runtime.simulator.cli import DESCRIPTION, add_arguments, build_parser, main, run_from_args
from local_runtime.simulator.driver import (
    DEFAULT_TOPICS,
    DEVICE_EVENTS_PER_DAY,
    EVENTS_PER_JOURNEY,
    SLOT_EVENTS_PER_DAY,
    default_concurrency,
    default_lookback,
    simulate,
)
from local_runtime.simulator.progress import Progress, delivery_stats
from local_runtime.simulator.stream import EventStream, SimClock
from local_runtime.simulator.summary import PoisonRecord, Summary

__all__ = [
    "DEFAULT_TOPICS",
    "DESCRIPTION",
    "DEVICE_EVENTS_PER_DAY",
    "EVENTS_PER_JOURNEY",
    "SLOT_EVENTS_PER_DAY",
    "EventStream",
    "PoisonRecord",
    "Progress",
    "SimClock",
    "Summary",
    "add_arguments",
    "build_parser",
    "default_concurrency",
    "default_lookback",
    "delivery_stats",
    "main",
    "run_from_args",
    "simulate",
]

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
