"""Scheduled triggers (SAM ``Schedule`` / ``ScheduleV2`` events with ``rate(...)``), fired locally with
EventBridge's scheduled-event shape, so timer-driven functions run in ``logistics up`` too."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local_runtime.cloudformation.template import Template

log = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class ScheduleSpec:
    """One ``Schedule`` / ``ScheduleV2`` event of a function with a ``rate(...)`` expression."""

    name: str
    function_logical_id: str
    expression: str
    every_s: float
    input: Any = None


def every_seconds(expression: str) -> float | None:
    """Seconds between runs of a ``rate(N unit)`` expression; None for ``cron(...)`` (not emulated)."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_S[match.group(2).rstrip("s")]


def schedules(template: Template) -> list[ScheduleSpec]:
    """Every enabled rate schedule of the template's functions."""
    found = []
    for logical_id, resource in template.resources.items():
        if resource.type != "AWS::Serverless::Function":
            continue
        # Only the schedule events are resolved: others may reference what exists only after deploy.
        for name, event in (resource.raw_properties.get("Events") or {}).items():
            if event.get("Type") not in ("Schedule", "ScheduleV2"):
                continue
            props = template.resolve(event.get("Properties") or {}, f"Resources.{logical_id}.Events.{name}")
            expression = props.get("Schedule") or props.get("ScheduleExpression") or ""
            if props.get("Enabled") is False or props.get("State") == "DISABLED":
                continue
            every = every_seconds(expression)
            if every is None:
                log.warning("%s.%s: %r is not emulated locally (only rate(...))", logical_id, name, expression)
                continue
            found.append(ScheduleSpec(name, logical_id, expression, every, props.get("Input")))
    return found


def scheduled_event(spec: ScheduleSpec, region: str, account_id: str, now: datetime | None = None) -> dict[str, Any]:
    """The event EventBridge sends a function on schedule."""
    when = now or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account_id}:rule/{spec.function_logical_id}{spec.name}"],
        "detail": {},
    }


class ScheduleRunner:
    """Fires each schedule every ``every_s`` seconds (first run one period after start, as EventBridge)."""

    def __init__(
        self,
        specs: list[ScheduleSpec],
        invoke: Callable[[str, dict[str, Any]], Any],
        region: str,
        account_id: str,
        speedup: float = 1.0,
    ) -> None:
        """``invoke(function_logical_id, event)`` runs a function; ``region`` and ``account_id`` go in the
        events; ``speedup`` > 1 runs the clock faster."""
        self.specs = specs
        self.invoke = invoke
        self.region = region
        self.account_id = account_id
        self.speedup = speedup  # >1 runs the clock faster (tests, demos)
        self.fired: dict[str, int] = {s.name: 0 for s in specs}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Fire the schedules from a daemon thread (nothing to do without schedules)."""
        if self.specs:
            self._thread = threading.Thread(target=self._run, name="schedules", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        due = {s.name: time.monotonic() + s.every_s / self.speedup for s in self.specs}
        while not self._stop.is_set():
            now = time.monotonic()
            for spec in self.specs:
                if self._stop.is_set():
                    break
                if now < due[spec.name]:
                    continue
                due[spec.name] = now + spec.every_s / self.speedup
                try:
                    self.invoke(spec.function_logical_id, scheduled_event(spec, self.region, self.account_id))
                except Exception:  # a failed run is logged; the next period runs again, as on AWS
                    log.exception("scheduled run of %s failed", spec.function_logical_id)
                self.fired[spec.name] += 1
            self._stop.wait(max(0.05, min(due.values()) - time.monotonic()))

    def request_stop(self) -> None:
        """Stop firing (a run in progress finishes); returns at once."""
        self._stop.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop firing and wait up to ``timeout`` seconds for a run in progress (a scheduled run has no
        position to save: one cut short is simply the period's run)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(0.0, timeout))
            self._thread = None
