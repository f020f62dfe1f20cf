"""The ``logistics`` command: the parser and :func:`main`. Thin: argument parsing and wiring; the work lives
in the modules the subcommands call.

Subcommands are data: :data:`COMMANDS` maps a name to a :class:`Command` (help, how to add its arguments,
what to run), one module per subcommand. To add one, write a module with ``configure`` / ``run`` and add a
row. This is also where the project's own setup (:mod:`local_runtime.demo`) is wired into ``up``: the
generic runtime never imports it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from local_runtime.cli import alarms, deploy, invoke, logs, simulate, up
from local_runtime.demo.session import DemoExtension

__all__ = ["COMMANDS", "UP_EXTENSIONS", "Command", "build_parser", "main"]


@dataclass(frozen=True)
class Command:
    """One subcommand: ``configure`` adds its arguments, ``run`` returns the exit code."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# The demo session starts only for a template that declares what it needs (see DemoExtension.session).
UP_EXTENSIONS: tuple[up.Extension, ...] = (DemoExtension(),)

COMMANDS: dict[str, Command] = {
    "invoke": Command(invoke.HELP, invoke.configure, invoke.run),
    "deploy": Command(deploy.HELP, deploy.configure, deploy.run),
    # `logistics up` ends its process itself once everything stopped (see up.run): Ctrl-C exits in seconds.
    "up": Command(up.HELP, partial(up.configure, extensions=UP_EXTENSIONS),
                  partial(up.run, extensions=UP_EXTENSIONS, end_process=True)),
    "simulate": Command(simulate.HELP, simulate.configure, simulate.run),
    "logs": Command(logs.HELP, logs.configure, logs.run),
    "alarms": Command(alarms.HELP, alarms.configure, alarms.run),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subparser per :data:`COMMANDS` entry."""
    parser = argparse.ArgumentParser(prog="logistics", description="Run the logistics platform locally.")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        command.configure(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``logistics`` console script."""
    from local_runtime.cloudformation import TemplateError

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command].run(args)
    except TemplateError as exc:
        print(f"template error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
