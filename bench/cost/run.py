"""DynamoDB cost per ingested event: a seeded simulation through the real mappings and handlers, metered by
the recording proxy, priced at on-demand rates.

What runs: the simulator's default mix (2% duplicates, 2% late, 1% poison), by default 3,000 events offered
in real time at 50 events/s (60 s) to the running platform. IngestFunction (both Kafka mappings),
NotifyFunction and LanesFunction (ShipmentsTable's stream, the latter in 60 s tumbling windows) run as on
Lambda; the run ends only after every open window had its final invocation, so the lanes' merges are counted.
Schedules are off (the outbox sweep and the estimate check cost per run, not per event).

The stack runs as deployed: the template's schema registry is on by default, so the simulator's events are
framed by the registry serializer (``local_runtime.simulator.registry.with_registry``, as ``make demo`` does);
its poison share is sent raw, refused by the ingest mappings and filed by DeadLettersFunction from the
failure topic. Plain JSON to a registry-validating mapping would be refused whole and measure nothing.

LanesTable's writes are also split by kind of item (the recorder's ``kind_of``): the lane aggregates
(``L#``/``C#``/``D#``/``M#``, merged once per window) and the per-shipment predictions (``P#``: the original,
once per shipment, and each revision told).

The pacing matters: ingest folds the events of one batch per entity and writes each shipment's state
once per batch. Produced first and consumed as fast as possible (``--rate 0``), batches hold 500 events
of the run's few dozen active journeys, so several events of a shipment share one state write and the
figure per event is far lower than in production, where a batch rarely holds two events of one shipment.
Real-time pacing gives small batches, closer to that; the report shows state writes per event so the
folding is visible.

Where it runs: on Amazon's DynamoDB Local (``local_runtime.services.dynamodb_local``, installed by
``make setup``), started here, with the recording proxy in front of it; SNS, SQS and S3 stay on the embedded
moto server. Without Java or the jar it falls back to moto for DynamoDB and says so. The report names the
DynamoDB it measured on.

How the functions reach the proxy: before the platform starts, ``AWS_ENDPOINT_URL_DYNAMODB`` is set to the
proxy and ``AWS_ENDPOINT_URL_DYNAMODB_STREAMS`` straight to DynamoDB Local (stream reads are not table reads:
they are billed per GetRecords request, free for Lambda triggers). The platform's ``choose_dynamodb`` takes
given endpoints as they are, deploys the tables through the proxy, gives the functions these variables, and
reads the streams from DynamoDB Local. Deploying and seeding go through the proxy too, before counting starts.

Prices (us-east-1, on-demand): $0.625 per million write request units, $0.125 per million read request
units. Global Tables: a replicated write is billed like an ordinary write in the replica's region, so one
replica doubles the write units; reads stay in their region.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.cost.recorder import DynamoDBRecorder

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "latest.json"
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"
STREAMS_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB_STREAMS"

USD_PER_MILLION_WRITE_UNITS = 0.625
USD_PER_MILLION_READ_UNITS = 0.125
REFERENCE_RATE_EPS = 10_000
SECONDS_PER_MONTH = 30 * 24 * 3600
DEFAULT_EVENTS = 3000  # 50 events/s x 60 s
DEFAULT_RATE = 50.0
DEFAULT_SEED = 7
LANES_SUFFIX = "-lanes"
AGGREGATES, PREDICTIONS, CURSORS = "aggregates", "predictions", "cursors"


def lanes_kind(table: str, key: Mapping[str, Any]) -> str | None:
    """The kind of a LanesTable item from its key (None for other tables): see the module's docstring."""
    if not table.endswith(LANES_SUFFIX):
        return None
    prefix = str((key.get("aggregate") or {}).get("S", ""))[:2]
    return {"P#": PREDICTIONS, "K#": CURSORS}.get(prefix, AGGREGATES)


def usd_per_million_events(write_units_per_event: float, read_units_per_event: float) -> float:
    """On-demand dollars per million events for the given units per event."""
    return write_units_per_event * USD_PER_MILLION_WRITE_UNITS + read_units_per_event * USD_PER_MILLION_READ_UNITS


def monthly_usd(write_units_per_event: float, read_units_per_event: float, *, replicas: int = 0,
                rate_eps: float = REFERENCE_RATE_EPS) -> float:
    """Dollars per 30 days at ``rate_eps``; each Global Tables replica adds the writes once more."""
    events_millions = rate_eps * SECONDS_PER_MONTH / 1e6
    return events_millions * usd_per_million_events(write_units_per_event * (1 + replicas), read_units_per_event)


def _row(write_units: float, read_units: float, events: int) -> dict[str, float]:
    wu, ru = write_units / events, read_units / events
    return {"write_units_per_event": wu, "read_units_per_event": ru,
            "usd_per_million_events": usd_per_million_events(wu, ru)}


def figures(snapshot: Mapping[str, Any], events: int, names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Per table (its own units and with its indexes), per index, and in total, from a meter snapshot.

    ``names`` maps physical table names to the template's logical ids (unknown names stay as they are).
    """
    names = names or {}
    tables: dict[str, Any] = {}
    total_w = total_r = 0.0
    for physical, tally in snapshot["tables"].items():
        indexes = {name: {**_row(i["write_units"], i["read_units"], events), "entries_written": i["items_written"],
                          "requests": i["requests"]}
                   for name, i in tally["indexes"].items()}
        w = tally["write_units"] + sum(i["write_units"] for i in tally["indexes"].values())
        r = tally["read_units"] + sum(i["read_units"] for i in tally["indexes"].values())
        total_w, total_r = total_w + w, total_r + r
        tables[names.get(physical, physical)] = {
            "physical_name": physical,
            **_row(w, r, events),
            "table_only": _row(tally["write_units"], tally["read_units"], events),
            "requests_per_event": tally["requests"] / events,
            "items_written_per_event": tally["items_written"] / events,
            "mean_item_bytes_written": round(tally["bytes_written"] / tally["items_written"])
            if tally["items_written"] else 0,
            "operations": tally["operations"],
            "indexes": indexes,
            "kinds": {kind: {"write_units_per_event": k["write_units"] / events,
                             "items_written_per_event": k["items_written"] / events,
                             "mean_item_bytes_written": round(k["bytes_written"] / k["items_written"])
                             if k["items_written"] else 0}
                      for kind, k in tally.get("kinds", {}).items()},
        }
    wu, ru = total_w / events, total_r / events
    lanes = next((t for t in tables.values() if t["physical_name"].endswith(LANES_SUFFIX)), None)
    kinds = lanes["kinds"] if lanes else {}
    return {
        "lanes": {"write_units_per_event": lanes["write_units_per_event"] if lanes else 0.0,
                  "read_units_per_event": lanes["read_units_per_event"] if lanes else 0.0,
                  **{f"{kind}_write_units_per_event": kinds.get(kind, {}).get("write_units_per_event", 0.0)
                     for kind in (AGGREGATES, PREDICTIONS)},
                  **{f"{kind}_items_written_per_event": kinds.get(kind, {}).get("items_written_per_event", 0.0)
                     for kind in (AGGREGATES, PREDICTIONS)}},
        "events": events,
        "prices": {"usd_per_million_write_units": USD_PER_MILLION_WRITE_UNITS,
                   "usd_per_million_read_units": USD_PER_MILLION_READ_UNITS, "region": "us-east-1",
                   "mode": "on-demand"},
        "tables": dict(sorted(tables.items(), key=lambda kv: -kv[1]["usd_per_million_events"])),
        "total": {**_row(total_w, total_r, events),
                  "monthly_usd_at_10k_eps": monthly_usd(wu, ru),
                  "monthly_usd_at_10k_eps_one_replica": monthly_usd(wu, ru, replicas=1)},
    }


def measure(events: int = DEFAULT_EVENTS, seed: int = DEFAULT_SEED, rate: float = DEFAULT_RATE,
            timeout_s: float = 900) -> dict[str, Any]:
    """Run the pipeline over ``events`` simulated events behind the recorder; returns :func:`figures`.

    ``rate``: events/s offered to the running platform; 0 produces everything first, then starts the
    mappings, which consume as fast as they go.
    """
    from local_runtime.demo.merchants import seed_merchants, start_webhook_sink
    from local_runtime.runtime import LocalPlatform, PlatformOptions
    from local_runtime.services.aws import EmbeddedAws, environ_overlay
    from local_runtime.simulator.producer import KafkaSink
    from local_runtime.simulator.registry import with_registry
    from local_runtime.simulator.run import simulate

    tag = uuid.uuid4().hex[:6]
    topics = (f"shipment-events-{tag}", f"warehouse-events-{tag}")
    emulator = EmbeddedAws()
    dynamodb: Any = None
    recorder: DynamoDBRecorder | None = None
    webhooks: Any = None
    platform: Any = None
    # Whatever the run sets of these two variables is put back at the end.
    restore = contextlib.ExitStack()
    variables = (ENDPOINT_VARIABLE, STREAMS_ENDPOINT_VARIABLE)
    restore.enter_context(environ_overlay({k: os.environ.get(k) for k in variables}))
    try:
        endpoint = emulator.start()
        dynamodb, upstream, measured_on = _start_dynamodb(endpoint)
        recorder = DynamoDBRecorder(upstream, kind_of=lanes_kind)
        # Given endpoints: the platform's choose_dynamodb takes them as they are, starts no DynamoDB of its own,
        # deploys through the proxy and hands both variables to the functions.
        os.environ[ENDPOINT_VARIABLE] = recorder.start()
        os.environ[STREAMS_ENDPOINT_VARIABLE] = upstream
        webhooks = start_webhook_sink()
        platform = LocalPlatform(PlatformOptions(
            template=ROOT / "template.yaml", stack_name=f"cost-{tag}", dashboard_port=None, aws_endpoint=endpoint,
            schedules=False, parameter_overrides={"ShipmentTopic": topics[0], "WarehouseTopic": topics[1],
                                                  "IngestConsumerGroupId": f"cost-{tag}"}))
        platform.start(mappings=False)
        _check_routing(platform, recorder.url, upstream)
        seed_merchants(platform, webhooks)
        producer = KafkaSink(platform.kafka.bootstrap_servers)
        sink = with_registry(producer, platform.template, platform.client("glue"))
        if rate > 0:
            platform.start_mappings()
            _wait_assigned(platform)  # a consumer group's first join takes seconds
            recorder.reset()
            recorder.recording = True
            started = time.monotonic()
            summary = simulate(sink, rate=rate, count=events, seed=seed, topics=topics, progress=False, truth=False)
            producer.close()
        else:
            summary = simulate(sink, rate=None, count=events, seed=seed, topics=topics, progress=False, truth=False)
            producer.close()
            recorder.reset()
            recorder.recording = True
            started = time.monotonic()
            platform.start_mappings()
        _wait_idle(platform, recorder, summary.produced, set(topics), timeout_s)
        elapsed = time.monotonic() - started
        recorder.recording = False
        snapshot = recorder.meter.snapshot()
        assert platform.deployment is not None
        names = {r.physical_id: logical for logical, r in platform.deployment.resources.items()}
        registry = sink is not producer
        errors = list(recorder.errors)
    finally:
        restore.close()
        for stop in (platform and platform.stop, recorder and recorder.stop, webhooks and webhooks.stop,
                     dynamodb and dynamodb.stop, emulator.stop):
            if stop:
                stop()
    result = figures(snapshot, summary.produced, names)
    if not any(t["physical_name"].endswith("-shipments") for t in result["tables"].values()):
        raise RuntimeError("nothing reached ShipmentsTable through the recorder: the functions' DynamoDB clients "
                           f"bypassed it ({ENDPOINT_VARIABLE} not honoured?)")
    pacing = (f"offered at {rate:g} events/s" if rate > 0
              else "produced first, then consumed as fast as the pipeline goes")
    result.update(schema_registry=registry, seed=seed, pacing=pacing,
                  mix="simulator default (2% duplicates, 2% late, 1% poison)",
                  pipeline_seconds=round(elapsed, 1), dynamodb=measured_on, commit=_commit(),
                  unrecorded_requests=snapshot["unrecorded"], costing_errors=errors)
    return result


def _start_dynamodb(moto_endpoint: str) -> tuple[Any, str, str]:
    """DynamoDB Local started here (its process, its endpoint, a description); moto's endpoint when it cannot run."""
    from local_runtime.services.dynamodb_local import EmbeddedDynamoDB, cannot_run_reason, find_dynamodb_local

    reason = cannot_run_reason()
    if reason is not None:
        print(f"[cost] WARNING: measuring on moto: {reason}", flush=True)
        return None, moto_endpoint, f"moto at {moto_endpoint} (DynamoDB Local unavailable: {reason})"
    embedded = EmbeddedDynamoDB()
    url = embedded.start()
    release = find_dynamodb_local()
    return embedded, url, f"DynamoDB Local ({release.name if release else 'jar'}) at {url}"


def _commit() -> str | None:
    """The short git commit measured (None outside a checkout)."""
    import subprocess

    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _check_routing(platform: Any, proxy_url: str, streams_url: str) -> None:
    """Fail early unless the functions reach DynamoDB through the proxy (and streams straight upstream)."""
    invoker = platform.invoker
    for name in ("IngestFunction", "NotifyFunction"):
        environment = invoker.function(name).environment  # the process's variables lie under it
        for variable, wanted in ((ENDPOINT_VARIABLE, proxy_url), (STREAMS_ENDPOINT_VARIABLE, streams_url)):
            got = environment.get(variable) or os.environ.get(variable)
            if got != wanted:
                raise RuntimeError(f"{name} gets {variable}={got}, not {wanted}: the platform did not take the "
                                   "given DynamoDB endpoints (see local_runtime/services/dynamodb.py)")


def _wait_assigned(platform: Any, timeout_s: float = 60) -> None:
    """Until every Kafka mapping's consumer has joined its group and holds partitions."""
    deadline = time.monotonic() + timeout_s
    while not all(m.status()["assigned"] for m in platform.kafka_mappings):
        if time.monotonic() > deadline:
            raise TimeoutError("the Kafka mappings did not join their groups")
        time.sleep(0.1)


def _wait_idle(platform: Any, recorder: DynamoDBRecorder, produced: int, topics: set[str], timeout_s: float,
               quiet_s: float = 2.0) -> None:
    """Until the mappings of the simulated ``topics`` committed every record, the other Kafka mappings (the
    failure topic's reader) have caught up, the stream mappings have nothing pending and no tumbling window open
    (LanesFunction's last merges are done), and no DynamoDB request went through the proxy for ``quiet_s`` (the
    notifier's last writes are done)."""
    deadline = time.monotonic() + timeout_s
    ingest = [m for m in platform.kafka_mappings if topics & set(m.spec.topics)]
    others = [m for m in platform.kafka_mappings if not topics & set(m.spec.topics)]
    while time.monotonic() < deadline:
        committed = sum(sum(m.committed_offsets().values()) for m in ingest)
        # lag is refreshed by the mapping's own loop (every 0.5 s or when idle): best effort, hence quiet_s too
        others_done = all(s["lag"] == 0 and s["buffered"] == 0 and s["retrying"] == 0
                          for s in (m.status() for m in others))
        statuses = [m.status() for m in platform.stream_mappings]
        pending = sum(s["pending"] for status in statuses for s in status["shards"].values())
        windows = sum(len(status.get("windows") or {}) for status in statuses)
        quiet = time.monotonic() - recorder.last_activity >= quiet_s
        if committed >= produced and others_done and pending == 0 and windows == 0 and quiet:
            return
        time.sleep(0.2)
    raise TimeoutError(f"the pipeline was not idle after {timeout_s}s")


def report(result: Mapping[str, Any]) -> list[str]:
    """The lines ``make bench`` prints."""
    total = result["total"]
    lines = [f"[cost] DynamoDB measured on: {result.get('dynamodb', 'unknown')}"
             + (f", commit {result['commit']}" if result.get("commit") else ""),
             f"[cost] {result['events']} events (seed {result['seed']}, {result['mix']}; {result['pacing']}, "
             f"{result['pipeline_seconds']}s) through IngestFunction + NotifyFunction + LanesFunction"
             f"{' + DeadLettersFunction' if result.get('schema_registry') else ''}, DynamoDB on-demand us-east-1",
             f"[cost] {'table / index':34} {'WRU/event':>10} {'RRU/event':>10} {'$/M events':>11}"
             f"   items written/event, mean billed size"]
    for name, t in result["tables"].items():
        lines.append(f"[cost] {name:34} {t['write_units_per_event']:10.2f} {t['read_units_per_event']:10.2f} "
                     f"{t['usd_per_million_events']:11.2f}   {t['items_written_per_event']:.2f} x "
                     f"{t['mean_item_bytes_written']} B")
        if t["indexes"]:
            own = t["table_only"]
            lines.append(f"[cost]   {'(table itself)':32} {own['write_units_per_event']:10.2f} "
                         f"{own['read_units_per_event']:10.2f} {own['usd_per_million_events']:11.2f}")
        for index, i in t["indexes"].items():
            lines.append(f"[cost]   {index:32} {i['write_units_per_event']:10.2f} {i['read_units_per_event']:10.2f} "
                         f"{i['usd_per_million_events']:11.2f}")
        for kind, k in t.get("kinds", {}).items():
            lines.append(f"[cost]   {'items: ' + kind:32} {k['write_units_per_event']:10.3f} {'':>10} {'':>11}   "
                         f"{k['items_written_per_event']:.3f} x {k['mean_item_bytes_written']} B")
    lines.append(f"[cost] {'total':34} {total['write_units_per_event']:10.2f} {total['read_units_per_event']:10.2f} "
                 f"{total['usd_per_million_events']:11.2f}")
    lines.append(f"[cost] at {REFERENCE_RATE_EPS:,} events/s for 30 days: "
                 f"${total['monthly_usd_at_10k_eps']:,.0f}/month in one region, "
                 f"${total['monthly_usd_at_10k_eps_one_replica']:,.0f}/month with one Global Tables replica "
                 "(writes x2)")
    lanes = result.get("lanes")
    if lanes:
        lines.append(f"[cost] lanes add {lanes['write_units_per_event']:.3f} write units per event: aggregates "
                     f"(LanesFunction's per-window merges) {lanes['aggregates_write_units_per_event']:.3f}, "
                     f"predictions (P#: originals and revisions told) {lanes['predictions_write_units_per_event']:.3f}")
    if result.get("costing_errors"):
        lines.append(f"[cost] WARNING: {len(result['costing_errors'])} requests could not be costed: "
                     f"{result['costing_errors'][:3]}")
    return lines


def write_results(result: Mapping[str, Any], path: Path = RESULTS) -> None:
    """Merge ``result`` into ``path`` under ``"cost"`` (other benches own the other keys)."""
    from bench.results import merge

    merge("cost", result, path)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="events to simulate (default 3000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE,
                        help="events/s offered to the running platform (default 50); 0: produce all first, then "
                             "consume as fast as possible (fewer writes per event: see the module's docstring)")
    parser.add_argument("--no-write", action="store_true", help="do not update bench/results/latest.json")
    args = parser.parse_args(argv)
    result = measure(args.events, args.seed, args.rate)
    for line in report(result):
        print(line)
    if not args.no_write:
        write_results(result)
    return result
