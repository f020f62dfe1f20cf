"""``logistics simulate``: the simulator's own command line (:mod:`local_runtime.simulator.run`)."""

from __future__ import annotations

import argparse

__all__ = ["configure", "run"]

HELP = "produce simulated shipment, warehouse and device events to Kafka"


def configure(parser: argparse.ArgumentParser) -> None:
    """The simulator's options."""
    from local_runtime.simulator.run import add_arguments

    add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Simulate with the parsed options; returns the exit code."""
    from local_runtime.simulator.run import run_from_args

    return run_from_args(args)
