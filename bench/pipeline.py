"""Ingest throughput and end-to-end latency on the embedded stack (one run, figures on stdout).

(a) events/s through the emulated Kafka mapping and the ingest handler, next to the same DynamoDB's raw
    BatchWriteItem items/s and a naive consumer doing one PutItem per event (the original small repo's
    design), as ratios measured in the same process;
(b) latency p50/p95/p99 from produce to the state being written and to the notification being logged,
    at a fixed offered rate.

DynamoDB is whatever ``LocalPlatform`` chooses (local_runtime/services/dynamodb.py): DynamoDB Local when it
can run, a given ``AWS_ENDPOINT_URL_DYNAMODB``, else moto; the first line printed names it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from confluent_kafka import Consumer

from local_runtime.demo.merchants import seed_merchants, start_webhook_sink
from local_runtime.deploy import create_kafka_topics
from local_runtime.esm.spec import MappingSpec
from local_runtime.runtime import LocalPlatform, PlatformOptions
from local_runtime.simulator.noise import NoiseShares
from local_runtime.simulator.producer import KafkaSink, MemorySink, TeeSink
from local_runtime.simulator.run import simulate

ROOT = Path(__file__).resolve().parents[1]
CLEAN = NoiseShares(duplicates=0.0, late=0.0, poison=0.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


class TimedPlatform(LocalPlatform):
    """Records when each Kafka record's invocation completed (its state is then written and readable)."""

    def __init__(self, options: PlatformOptions) -> None:
        super().__init__(options)
        self.completed: list[tuple[float, list[int]]] = []  # (wall time, record timestamps ms)
        self._lock = threading.Lock()

    def _invoke_function(self, spec: MappingSpec) -> Callable[[dict[str, Any]], Any]:
        inner = super()._invoke_function(spec)
        if spec.kind == "DynamoDB":
            return inner

        def timed(event: dict[str, Any]) -> Any:
            response = inner(event)
            failed = {(f["itemIdentifier"]["partition"], f["itemIdentifier"]["offset"])
                      for f in (response or {}).get("batchItemFailures", [])}
            stamps = [r["timestamp"] for key, records in event["records"].items() for r in records
                      if (key, r["offset"]) not in failed]
            with self._lock:
                self.completed.append((time.time(), stamps))
            return response

        return timed


def _platform(endpoint: str | None, bootstrap: str | None, tag: str, **kw: Any) -> TimedPlatform:
    topics = (f"shipment-events-{tag}", f"warehouse-events-{tag}")
    platform = TimedPlatform(PlatformOptions(
        template=ROOT / "template.yaml", stack_name=f"bench-{tag}", aws_endpoint=endpoint,
        kafka_bootstrap=bootstrap, parameter_overrides={"ShipmentTopic": topics[0], "WarehouseTopic": topics[1],
                                                        "IngestConsumerGroupId": f"bench-{tag}",
                                                        "KafkaSchemaRegistry": "Disabled"},  # plain JSON
        **{"dashboard_port": None, **kw}))
    platform.topics = topics  # type: ignore[attr-defined]
    return platform


def wait_committed(platform: LocalPlatform, total: int, timeout_s: float) -> float:
    """Seconds until the Kafka mappings committed ``total`` records (offsets start at 0 per partition)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        committed = sum(sum(m.committed_offsets().values()) for m in platform.kafka_mappings)
        if committed >= total:
            return time.monotonic() - started
        time.sleep(0.05)
    raise TimeoutError(f"only part of {total} records committed after {timeout_s}s")


def wait_assigned(platform: LocalPlatform, timeout_s: float = 60) -> None:
    """Wait until every Kafka mapping's consumer has joined its group and holds partitions."""
    deadline = time.monotonic() + timeout_s
    while not all(m.status()["assigned"] for m in platform.kafka_mappings):
        if time.monotonic() > deadline:
            raise TimeoutError("the Kafka mappings did not join their groups")
        time.sleep(0.1)


def dynamodb_description(platform: LocalPlatform) -> str:
    return platform.dynamodb.description if platform.dynamodb is not None else "unknown"


def raw_batch_write_rate(client: Any, table: str, items: list[dict[str, Any]]) -> float:
    """Items/s of plain BatchWriteItem (25 per call) of ``items`` into ``table``."""
    started = time.perf_counter()
    for start in range(0, len(items), 25):
        client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": i}} for i in items[start:start + 25]]})
    return len(items) / (time.perf_counter() - started)


def naive_consumer_rate(bootstrap: str, topic: str, client: Any, table: str, count: int) -> float:
    """What the original repo did: consume, then one PutItem per event overwriting the record."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"naive-{uuid.uuid4().hex[:6]}",
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    consumer.subscribe([topic])
    done, started = 0, None
    while done < count:
        message = consumer.poll(1.0)
        if message is None or message.error():
            continue
        started = started or time.perf_counter()
        event = json.loads(message.value())
        entity = event.get("shipment_id") or event.get("warehouse_id") or "-"
        client.put_item(TableName=table, Item={
            "pk": {"S": f"{event['merchant_id']}#{entity}"},
            "status": {"S": event.get("status") or event["event_type"]}, "event": {"S": message.value().decode()}})
        done += 1
    consumer.close()
    return done / (time.perf_counter() - (started or time.perf_counter()))


def bench_ingest(events: int, naive_events: int) -> dict[str, Any]:
    """(a): the three rates on one DynamoDB and one broker."""
    tag = uuid.uuid4().hex[:6]
    platform = _platform(None, None, tag)
    try:
        platform.start(mappings=False)
        bootstrap = platform.kafka.bootstrap_servers
        print(f"[ingest] DynamoDB: {dynamodb_description(platform)}", flush=True)
        sink = KafkaSink(bootstrap)
        recorded = MemorySink()
        summary = simulate(TeeSink(sink, recorded), rate=None, count=events, seed=5, shares=CLEAN,
                           topics=platform.topics, progress=False, truth=False)  # type: ignore[attr-defined]
        sink.close()
        platform.start_mappings(kinds=("MSK", "SelfManagedKafka"))  # ingest alone: notify would compete
        elapsed = wait_committed(platform, summary.produced, timeout_s=600)
        ingest_rate = summary.produced / elapsed

        client = platform.client("dynamodb")
        table = f"bench-raw-{tag}"
        client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        items = [{"pk": {"S": f"{i}"}, "body": {"S": r.value.decode()}} for i, r in enumerate(recorded.records)]
        raw_rate = raw_batch_write_rate(client, table, items)

        naive_topic = f"naive-{tag}"
        create_kafka_topics(bootstrap, [naive_topic], partitions=3)
        naive_sink = KafkaSink(bootstrap)
        for r in recorded.records[:naive_events]:
            naive_sink.send(naive_topic, r.key, r.value, list(r.headers))
        naive_sink.close()
        naive_rate = naive_consumer_rate(bootstrap, naive_topic, client, table, naive_events)
    finally:
        platform.stop()
    return {"events": summary.produced, "ingest_eps": ingest_rate, "raw_batch_write_ips": raw_rate,
            "naive_put_eps": naive_rate, "dynamodb": dynamodb_description(platform)}


class _StampingSink(MemorySink):
    """Forwards to Kafka and remembers when each event id was handed to the producer."""

    def __init__(self, sink: Any) -> None:
        super().__init__()
        self.sink = sink
        self.sent_at: dict[str, float] = {}

    def send(self, topic: str, key: bytes | None, value: bytes, headers: Any) -> None:
        now = time.time()
        self.sink.send(topic, key, value, headers)
        with contextlib.suppress(ValueError, KeyError, TypeError):  # poison has no event id
            self.sent_at[json.loads(value)["event_id"]] = now

    def poll(self, timeout: float = 0.0) -> None:
        self.sink.poll(timeout)

    def flush(self, timeout: float = 30.0) -> int:
        return self.sink.flush(timeout)


class DashboardPoller:
    """An open dashboard: every ``every_s`` each merchant's browser polls the live endpoints (the overview's
    KPIs and the live feed of changes), as the dashboard's script does, through the served API events."""

    def __init__(self, base_url: str, api_keys: list[str], every_s: float = 2.0) -> None:
        self.base_url, self.api_keys, self.every_s = base_url, api_keys, every_s
        self.latencies: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(key,), daemon=True, name="dashboard-poller")
                         for key in api_keys]

    def start(self) -> DashboardPoller:
        for thread in self._threads:
            thread.start()
        return self

    def _run(self, key: str) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        since: str | None = None
        while not self._stop.wait(self.every_s):
            for path in ("/api/v1/kpis", "/api/v1/changes" + (f"?since={since}" if since else "")):
                started = time.perf_counter()
                try:
                    response = session.get(self.base_url + path, timeout=10)
                    ok = response.status_code == 200
                    if ok and "changes" in path:
                        since = response.json().get("next_since") or since
                except requests.RequestException:
                    ok = False
                self.latencies.append(time.perf_counter() - started)
                self.errors += not ok

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)


def _tree_rss_mb() -> float:
    """Resident memory of this process and every process it started (workers, broker, JVM, moto), in MB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        parents[pid] = int(fields.get("PPid", "0").strip())
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    tree, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(rss.get(pid, 0) for pid in tree) / 1024


class Sampler:
    """Kafka lag and resident memory, sampled once a second while the load runs."""

    def __init__(self, platform: LocalPlatform) -> None:
        self.platform = platform
        self.lag: list[tuple[float, int]] = []
        self.rss_mb: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sampler")

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.lag.append((time.monotonic(), int(self.platform.counters()["kafka_lag"])))
            self.rss_mb.append(_tree_rss_mb())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def lag_growth_last(self, seconds: float) -> int:
        """Lag at the end minus the lag ``seconds`` before (positive: the pipeline falls behind)."""
        if not self.lag:
            return 0
        end_t, end_lag = self.lag[-1]
        before = [lag for t, lag in self.lag if t <= end_t - seconds]
        return end_lag - (before[-1] if before else self.lag[0][1])


def bench_latency(rate: float, duration: float, *, shares: NoiseShares = CLEAN,
                  concurrency: int | None = None, label: str = "latency") -> dict[str, Any]:
    """(b): offered load at ``rate`` for ``duration`` seconds through the whole running platform, with an open
    dashboard per merchant polling its live endpoints every 2 s."""
    tag = uuid.uuid4().hex[:6]
    platform = _platform(None, None, tag, dashboard_port=0)
    webhooks = start_webhook_sink()
    poller: DashboardPoller | None = None
    sampler: Sampler | None = None
    try:
        platform.start()
        print(f"[{label}] DynamoDB: {dynamodb_description(platform)}", flush=True)
        merchants = seed_merchants(platform, webhooks)
        wait_assigned(platform)  # a consumer group's first join takes seconds: not part of the latency
        assert platform.dashboard_url is not None
        poller = DashboardPoller(platform.dashboard_url, [m["api_key"] for m in merchants]).start()
        sampler = Sampler(platform).start()
        sink = _StampingSink(KafkaSink(platform.kafka.bootstrap_servers))
        summary = simulate(sink, rate=rate, duration=duration, seed=9, shares=shares, concurrency=concurrency,
                           topics=platform.topics, progress=False, truth=False)  # type: ignore[attr-defined]
        sampler.stop()
        wait_committed(platform, summary.produced, timeout_s=300)
        time.sleep(3)  # let the last notifications go out
        state_latency = [done - stamp / 1000 for done, stamps in platform.completed for stamp in stamps]
        assert platform.template is not None
        table = platform.template.physical_name("NotificationsTable")
        client = platform.client("dynamodb")
        notify_latency = []
        for item in _scan_all(client, table):
            event_id = item["change_key"]["S"].rsplit("#", 1)[1]
            if event_id in sink.sent_at and item["channel"]["S"] == "webhook":
                logged = datetime.fromisoformat(item["created_at"]["S"]).timestamp()
                notify_latency.append(logged - sink.sent_at[event_id])
    finally:
        if poller is not None:
            poller.stop()
        if sampler is not None:
            sampler.stop()
        platform.stop()
        webhooks.stop()
    assert sampler is not None and poller is not None
    figures: dict[str, Any] = {"offered_eps": rate, "duration_s": duration, "produced": summary.produced,
                               "notifications": len(notify_latency), "dynamodb": dynamodb_description(platform),
                               "lag_max": max((lag for _, lag in sampler.lag), default=0),
                               "lag_growth_last_30s": sampler.lag_growth_last(30),
                               "rss_max_mb": max(sampler.rss_mb, default=0.0),
                               "dashboard_polls": len(poller.latencies), "dashboard_errors": poller.errors,
                               "dashboard_p99_s": percentile(poller.latencies, 99)}
    for name, values in (("state", state_latency), ("notify", notify_latency)):
        for q in (50, 95, 99):
            figures[f"{name}_p{q}_s"] = percentile(values, q)
        figures[f"{name}_mean_s"] = statistics.fmean(values) if values else float("nan")
    return figures


def _scan_all(client: Any, table: str) -> list[dict[str, Any]]:
    """Every notification log item (the table has no per-merchant index; a bench may Scan its own table)."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _print_latency(label: str, f: dict[str, Any]) -> None:
    print(f"[{label}] offered {f['offered_eps']:.0f} events/s for {f['duration_s']:.0f}s "
          f"({f['produced']} events, {f['notifications']} webhook notifications)")
    print(f"[{label}] produce -> state written: p50 {f['state_p50_s']:.3f}s  p95 {f['state_p95_s']:.3f}s  "
          f"p99 {f['state_p99_s']:.3f}s (target p99 <= 1.0s)")
    print(f"[{label}] produce -> notification logged: p50 {f['notify_p50_s']:.3f}s  "
          f"p95 {f['notify_p95_s']:.3f}s  p99 {f['notify_p99_s']:.3f}s (target p99 <= 1.5s)")
    print(f"[{label}] Kafka lag: max {f['lag_max']}, growth over the last 30 s {f['lag_growth_last_30s']:+d} "
          f"(target: no growth); resident memory of the whole stack: max {f['rss_max_mb']:.0f} MB "
          f"(target <= 1536 MB)")
    print(f"[{label}] dashboard live polls: {f['dashboard_polls']} (p99 {f['dashboard_p99_s']:.3f}s, "
          f"{f['dashboard_errors']} errors)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--naive-events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["ingest", "latency", "demo"])
    parser.add_argument("--no-write", action="store_true", help="do not update bench/results/latest.json")
    args = parser.parse_args(argv)
    measured: dict[str, Any] = {}
    if "ingest" not in args.skip:
        f = measured["ingest"] = bench_ingest(args.events, args.naive_events)
        print(f"[ingest] {f['events']} events through the emulated MSK mapping + IngestFunction: "
              f"{f['ingest_eps']:.0f} events/s")
        print(f"[ingest] same DynamoDB, raw BatchWriteItem: {f['raw_batch_write_ips']:.0f} items/s; "
              f"naive consumer (1 PutItem/event): {f['naive_put_eps']:.0f} events/s")
        print(f"[ingest] ratio vs raw batch write: {f['ingest_eps'] / f['raw_batch_write_ips']:.2f}x (target >= 0.5x); "
              f"vs naive consumer: {f['ingest_eps'] / f['naive_put_eps']:.1f}x (target >= 10x)")
    if "latency" not in args.skip:
        f = measured["latency"] = bench_latency(args.rate, args.duration)
        _print_latency("latency", f)
    if "demo" not in args.skip:
        # What `make demo` offers: the default simulator (its noise and concurrency) at its default 50 events/s.
        f = measured["demo"] = bench_latency(50.0, args.duration, shares=NoiseShares(), label="demo")
        _print_latency("demo", f)
    if measured and not args.no_write:
        from bench.results import merge

        merge("pipeline", measured)


if __name__ == "__main__":
    main()
