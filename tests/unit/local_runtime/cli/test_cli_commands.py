"""local_runtime.cli: the parser, the generic ``up`` pieces, and the demo wired in only for its own template."""

from __future__ import annotations

import io
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from local_runtime.cli import COMMANDS, build_parser
from local_runtime.cli.up import banner, platform_status, show_status
from local_runtime.demo.session import DemoExtension, declares_demo


class FakePlatform:
    """What ``up`` reads of a platform, without starting one."""

    def __init__(self, resources: dict[str, Any] | None = None) -> None:
        self.deployment = SimpleNamespace(resources=resources or {})

    def counters(self) -> dict[str, int]:
        return {"kafka_records_delivered": 7, "stream_records_delivered": 3, "kafka_lag": 2,
                "kafka_failures": 1, "stream_failures": 1}

    def describe(self) -> list[tuple[str, str]]:
        return [("AWS endpoint", "http://127.0.0.1:1 (moto)"), ("Dashboard", "http://127.0.0.1:2")]


def test_every_subcommand_parses() -> None:
    assert set(COMMANDS) == {"invoke", "deploy", "up", "simulate", "logs", "alarms"}
    args = build_parser().parse_args(["up", "--simulate", "--rate", "5", "--port", "0"])
    assert (args.command, args.simulate, args.rate, args.port, args.template) == ("up", True, 5.0, 0, "template.yaml")
    args = build_parser().parse_args(["invoke", "Fn", "--parameter-overrides", "A=1", "B=2"])
    assert (args.function, args.parameter_overrides) == ("Fn", ["A=1", "B=2"])


def test_demo_is_wired_in_only_for_a_template_with_a_merchants_table(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["up", "--simulate"])
    generic = FakePlatform({"OrdersTable": object()})
    assert not declares_demo(generic)  # type: ignore[arg-type]
    assert DemoExtension().session(generic, args, threading.Event()) is None  # type: ignore[arg-type]
    assert "--simulate ignored" in capsys.readouterr().err
    assert declares_demo(FakePlatform({"MerchantsTable": object()}))  # type: ignore[arg-type]


def test_generic_banner_and_status_line() -> None:
    platform = FakePlatform()
    text = banner(platform, ["", "extra line"])  # type: ignore[arg-type]
    assert "AWS endpoint" in text and "Dashboard" in text and text.index("Dashboard") < text.index("extra line")
    assert platform_status(platform) == "ingested 7 | stream records 3 | lag 2 | failures 2"  # type: ignore[arg-type]
    out = io.StringIO()
    show_status("a line", out)
    assert out.getvalue() == "a line\n"
