"""Dashboard list latency with 1,000 vs 100,000 shipments in the table (goal: at most 1.5x slower).

    python -m bench.dashboard_scaling [--sizes 1000,100000] [--runs 30] [--no-write]

Runs on Amazon's DynamoDB Local (started here; ``AWS_ENDPOINT_URL_DYNAMODB`` names another one), which keeps
items in key order like DynamoDB, so a Query reads what it returns rather than the whole table. One stack
per size is deployed from template.yaml (tables only, without streams) into the same DynamoDB Local, and
the shipments are written with BatchWriteItem, all for one merchant (the worst case: its partitions grow
with the table), each item built as the ingest builds it (``DynamoDBStateStore``'s put: ``codec.shipment_item``
plus the store's own attributes), with the synthetic event time as its store time.

Each request goes through the whole app: the Chalice test client, the auth middleware (API key), the
Queries, the JSON rendering. The sizes are measured interleaved (one request on each, in alternating order,
per run) after warm-up, so JIT state and background load are the same for both. Per case and size:

* ``total`` - wall-clock per request (median of the runs), the figure the 1.5x goal is about;
* ``in_dynamodb`` - time inside DynamoDB calls (botocore before-call/after-call);
* ``app`` - total minus in_dynamodb: the dashboard's own cost;
* ``items_read`` - ScannedCount summed over the request's Queries (what DynamoDB reads and bills).

Figures go to stdout and into bench/results/latest.json under ``"dashboard_scaling"``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "functions" / "dashboard"
RESULTS = ROOT / "bench" / "results" / "latest.json"
REGION = "us-east-1"
MERCHANT = "m-bench"
GOAL = 1.5
BASE_TIME = 1_763_600_000  # 2025-11-20; shipment n's events happen at BASE_TIME + 13 n
STATUSES = ("IN_TRANSIT", "OUT_FOR_DELIVERY", "PICKED_UP", "DELIVERED", "CREATED", "EXCEPTION")
COUNTRIES = ("DE", "FR", "US", "JP", "BR", "AE", "GB", "CA")
CASES = (
    ("list (limit 50)", "/api/v1/shipments?limit=50"),
    ("list, status filter", "/api/v1/shipments?limit=50&status=IN_TRANSIT"),
    ("list, country filter", "/api/v1/shipments?limit=50&country=DE"),
    ("changes since", "/api/v1/changes?since={since}"),
)
TABLE_VARIABLES = {"ShipmentsTable": "SHIPMENTS_TABLE", "TimelineTable": "TIMELINE_TABLE",
                   "WarehousesTable": "WAREHOUSES_TABLE", "DeadLetterTable": "DEAD_LETTER_TABLE",
                   "NotificationsTable": "NOTIFICATIONS_TABLE", "MerchantsTable": "MERCHANTS_TABLE"}
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"


def _at(n: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(BASE_TIME + n * 13))


# -- DynamoDB -----------------------------------------------------------------------------------------


@contextmanager
def _dynamodb() -> Iterator[tuple[str, str]]:
    """(endpoint, description): the given ``AWS_ENDPOINT_URL_DYNAMODB``, else DynamoDB Local started here."""
    given = os.environ.get(ENDPOINT_VARIABLE)
    if given:
        yield given, f"{given} (given)"
        return
    from local_runtime.services.dynamodb_local import EmbeddedDynamoDB, find_dynamodb_local

    embedded = EmbeddedDynamoDB(max_heap="1g")  # 100,000 items and their index entries
    url = embedded.start()  # raises, saying what to install, when java or the jar is missing
    release = find_dynamodb_local()
    try:
        yield url, f"DynamoDB Local ({release.name if release else 'jar'}) at {url}"
    finally:
        embedded.stop()


def _client(endpoint: str) -> Any:
    from local_runtime.services import aws

    return aws.client("dynamodb", endpoint, REGION, max_pool_connections=16)


def _deploy(client: Any, stack: str) -> dict[str, str]:
    """The template's tables (no streams: nothing here reads them), as ``{ENV_VARIABLE: physical name}``."""
    from local_runtime.cloudformation import load_template
    from local_runtime.deploy import CreateTable, Plan, apply, plan

    template = load_template(ROOT / "template.yaml", config_env="local", stack_name=stack, region=REGION)
    full = plan(template)
    tables = tuple(replace(i, stream_view_type=None) for i in full.instructions if isinstance(i, CreateTable))
    deployment = apply(Plan(full.stack_name, full.region, full.account_id, tables), endpoint_url=None,
                       region=REGION, clients={"dynamodb": client})
    ids = deployment.physical_ids()
    return {env: ids[logical] for logical, env in TABLE_VARIABLES.items()}


def _delete(client: Any, tables: dict[str, str]) -> None:
    for name in tables.values():
        with contextlib.suppress(Exception):  # best effort; DynamoDB Local is stopped afterwards anyway
            client.delete_table(TableName=name)


# -- the items ----------------------------------------------------------------------------------------


def _state(n: int) -> Any:
    from logistics.domain.shipment import ShipmentState
    from logistics.domain.status import Status

    at = _at(n)
    return ShipmentState(
        merchant_id=MERCHANT, shipment_id=f"s-{n:07d}", status=Status(STATUSES[n % len(STATUSES)]),
        status_event_id=f"e-{n}", status_changed_at=at, updated_at=at, high_water=f"{at}#e-{n}",
        carrier=("DHL", "UPS", "FedEx")[n % 3], tracking_number=f"TRK{n:09d}", order_ref=f"order-{n}",
        location={"city": "City", "country": COUNTRIES[n % len(COUNTRIES)], "lat": 50.0, "lon": 8.0},
        origin={"city": "Origin", "country": "DE"}, eta={"date": "2025-11-25"},
        milestones={"PICKED_UP": at}, event_count=3, recent_event_ids=(f"e-{n}",),
    )


class ItemBuilder:
    """ShipmentsTable items (DynamoDB attribute values) exactly as the ingest's state store puts them, with the
    store time (``ingested_key``) set to the shipment's event time instead of the loading wall clock."""

    def __init__(self, table: str) -> None:
        from logistics.adapters.dynamodb_store import DynamoDBStateStore

        self.store = DynamoDBStateStore(None, table, "-", REGION)

    def __call__(self, n: int) -> dict[str, Any]:
        from logistics.adapters import index_keys

        state = _state(n)
        item: dict[str, Any] = self.store._put(state, None)["Item"]  # the ingest's own item
        if "ingested_key" in item:
            item["ingested_key"] = {"S": index_keys.ingested_key(_at(n), state.shipment_id)}
        return item

    def close(self) -> None:
        pool = getattr(self.store, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)


def _batch_write(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    """BatchWriteItem of attribute-valued items, 25 a call, resending what comes back unprocessed."""
    for start in range(0, len(items), 25):
        pending = [{"PutRequest": {"Item": i}} for i in items[start:start + 25]]
        for attempt in range(20):
            response = client.batch_write_item(RequestItems={table: pending})
            pending = response.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
            time.sleep(0.05 * (attempt + 1))
        else:
            raise RuntimeError(f"BatchWriteItem left {len(pending)} items unprocessed")


def _load(client: Any, table: str, count: int, workers: int = 4) -> float:
    """Write ``count`` shipments (several BatchWriteItem calls in flight); returns the seconds it took."""
    from concurrent.futures import ThreadPoolExecutor

    build = ItemBuilder(table)
    started = last = time.perf_counter()
    done = 0
    chunk = 1000
    gc.disable()  # 100,000 items of nested dicts: the collector would rescan them again and again
    try:
        with ThreadPoolExecutor(workers) as pool:
            for start in range(0, count, chunk * workers):
                batches = [[build(n) for n in range(s, min(s + chunk, count))]
                           for s in range(start, min(start + chunk * workers, count), chunk)]
                list(pool.map(lambda items: _batch_write(client, table, items), batches))
                done += sum(len(b) for b in batches)
                if time.perf_counter() - last >= 5 or done == count:
                    last = time.perf_counter()
                    print(f"  {done:,}/{count:,} written ({done / (last - started):,.0f} items/s)", flush=True)
    finally:
        build.close()
        gc.enable()
    return time.perf_counter() - started


# -- the app ------------------------------------------------------------------------------------------


def _app() -> Any:
    if "dashboard_app" in sys.modules:
        return sys.modules["dashboard_app"]
    sys.path.insert(0, str(DASHBOARD))
    spec = importlib.util.spec_from_file_location("dashboard_app", DASHBOARD / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["dashboard_app"] = module
    spec.loader.exec_module(module)
    return module


class CallMeter:
    """Time spent inside DynamoDB calls and items they evaluated, via botocore event hooks."""

    def __init__(self, client: Any) -> None:
        self.seconds = 0.0
        self.items_read = 0
        self.calls = 0
        self._start = 0.0
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def _before(self, **_: Any) -> None:
        self._start = time.perf_counter()

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        self.seconds += time.perf_counter() - self._start
        self.calls += 1
        self.items_read += int(parsed.get("ScannedCount", 0))

    def reset(self) -> None:
        self.seconds, self.items_read, self.calls = 0.0, 0, 0


@dataclass
class Stack:
    """One size: its tables, the dashboard's dependencies on them, an API key, and the samples taken."""

    size: int
    tables: dict[str, str]
    load_s: float
    deps: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def _environment(endpoint: str) -> None:
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                       "AUTH_MODE": "api_key", "DASHBOARD_SESSION_SECRET": "bench",
                       "TRACKING_BASE_URL": "http://bench/track", ENDPOINT_VARIABLE: endpoint})
    os.environ.pop("AWS_ENDPOINT_URL", None)


def _wire(stack: Stack, client: Any) -> None:
    """The dashboard's settings, reader and key lookup for this stack's tables (swapped in per request)."""
    from chalicelib.auth import MerchantKeys, issue_api_key
    from chalicelib.queries import Reader
    from chalicelib.settings import Settings

    os.environ.update(stack.tables)
    settings = Settings.from_env()
    stack.deps = {"settings": settings, "dynamodb": client, "reader": Reader(client, settings),
                  "merchants": MerchantKeys(client, settings.merchants_table)}
    key = issue_api_key(settings.merchants_table, MERCHANT, "bench", client)
    stack.headers = {"Authorization": f"Bearer {key}"}


def _sample(http: Any, deps: Any, meter: CallMeter, stack: Stack, name: str, path: str) -> None:
    deps.override(**stack.deps)
    meter.reset()
    started = time.perf_counter()
    response = http.get(path, headers=stack.headers)
    total = time.perf_counter() - started
    assert response.status_code == 200, (path, response.status_code, response.body[:300])
    rows = stack.samples.setdefault(name, {"total": [], "in_dynamodb": [], "items_read": [], "calls": []})
    rows["total"].append(total)
    rows["in_dynamodb"].append(meter.seconds)
    rows["items_read"].append(meter.items_read)
    rows["calls"].append(meter.calls)


def _since(size: int) -> str:
    """An ingested_key position 30 shipments before the newest one stored."""
    return _at(size - 30)


def measure(sizes: list[int], runs: int, warmup: int = 10) -> dict[str, Any]:
    """Deploy and load one stack per size, then time every case on every size, interleaved."""
    from chalice.test import Client

    saved = dict(os.environ)
    stacks: list[Stack] = []
    try:
        with _dynamodb() as (endpoint, described):
            print(f"[dashboard] DynamoDB: {described}", flush=True)
            _environment(endpoint)
            client = _client(endpoint)
            try:
                for size in sizes:
                    tables = _deploy(client, f"dash{size}")
                    print(f"[dashboard] loading {size:,} shipments into one merchant's partition ...", flush=True)
                    stacks.append(Stack(size, tables, _load(client, tables["SHIPMENTS_TABLE"], size)))
                gc.collect()
                gc.freeze()  # what was built stays put: keep the collector off it during the measurements
                module = _app()
                from chalicelib import deps

                deps.reset()
                for stack in stacks:
                    _wire(stack, client)
                meter = CallMeter(client)
                http = Client(module.app, project_dir=tempfile.mkdtemp()).http
                paths = {(name, s.size): template.format(since=_since(s.size)) for name, template in CASES
                         for s in stacks}
                for _ in range(warmup):  # every case on every size first: imports, auth cache, both JITs
                    for (_name, size), path in paths.items():
                        _sample(http, deps, meter, next(s for s in stacks if s.size == size), "warm-up", path)
                for name, _ in CASES:
                    for run in range(runs):
                        for stack in stacks if run % 2 == 0 else reversed(stacks):
                            _sample(http, deps, meter, stack, name, paths[(name, stack.size)])
                deps.reset()
            finally:
                for stack in stacks:
                    _delete(client, stack.tables)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        gc.unfreeze()
    return _figures(stacks, runs, described)


def _figures(stacks: list[Stack], runs: int, described: str) -> dict[str, Any]:
    results: dict[str, Any] = {"dynamodb": described, "runs": runs, "goal_ratio": GOAL, "sizes": {}}
    for stack in stacks:
        cases = {}
        for name, _ in CASES:
            rows = stack.samples[name]
            app = [t - i for t, i in zip(rows["total"], rows["in_dynamodb"], strict=True)]
            cases[name] = {"total_ms": statistics.median(rows["total"]) * 1000,
                           "total_p90_ms": _quantile(rows["total"], 0.9) * 1000,
                           "in_dynamodb_ms": statistics.median(rows["in_dynamodb"]) * 1000,
                           "app_ms": statistics.median(app) * 1000,
                           "items_read": statistics.median(rows["items_read"]),
                           "calls": statistics.median(rows["calls"])}
        results["sizes"][str(stack.size)] = {"load_s": round(stack.load_s, 1),
                                             "load_items_per_s": round(stack.size / stack.load_s), "cases": cases}
    if len(stacks) >= 2:
        small, large = results["sizes"][str(stacks[0].size)], results["sizes"][str(stacks[-1].size)]
        ratios = {}
        for name, _ in CASES:
            a, b = small["cases"][name], large["cases"][name]
            ratios[name] = {"total": b["total_ms"] / a["total_ms"], "in_dynamodb": b["in_dynamodb_ms"] /
                            a["in_dynamodb_ms"], "app": b["app_ms"] / a["app_ms"],
                            "items_read": b["items_read"] / max(a["items_read"], 1)}
        results["ratios"] = {"of": f"{stacks[-1].size} / {stacks[0].size}", "cases": ratios,
                             "within_goal": all(r["total"] <= GOAL for r in ratios.values())}
    return results


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(results: dict[str, Any]) -> list[str]:
    lines = [f"[dashboard] DynamoDB measured on: {results['dynamodb']}; median of {results['runs']} requests "
             "per case and size (interleaved, after warm-up)",
             f"[dashboard] {'case':<22} {'shipments':>10} {'total ms':>9} {'p90 ms':>7} {'in DynamoDB ms':>15} "
             f"{'app ms':>7} {'items read':>11} {'calls':>6}"]
    for size, result in results["sizes"].items():
        for name, c in result["cases"].items():
            lines.append(f"[dashboard] {name:<22} {int(size):>10,} {c['total_ms']:>9.1f} {c['total_p90_ms']:>7.1f} "
                         f"{c['in_dynamodb_ms']:>15.1f} {c['app_ms']:>7.1f} {c['items_read']:>11.0f} "
                         f"{c['calls']:>6.0f}")
    for size, result in results["sizes"].items():
        lines.append(f"[dashboard] {int(size):,} shipments loaded in {result['load_s']}s "
                     f"({result['load_items_per_s']:,} items/s)")
    if "ratios" in results:
        r = results["ratios"]
        lines.append(f"[dashboard] ratio {r['of']} shipments (goal: total within {GOAL}x):")
        for name, c in r["cases"].items():
            verdict = "ok" if c["total"] <= GOAL else "OVER GOAL"
            lines.append(f"[dashboard]   {name:<22} total {c['total']:.2f}x ({verdict})   in DynamoDB "
                         f"{c['in_dynamodb']:.2f}x   app {c['app']:.2f}x   items read {c['items_read']:.2f}x")
        lines.append(f"[dashboard] every case within {GOAL}x: {'yes' if r['within_goal'] else 'NO'}")
    return lines


def write_results(results: dict[str, Any], path: Path = RESULTS) -> None:
    """Merge ``results`` into ``path`` under ``"dashboard_scaling"`` (other benches own the other keys)."""
    from bench.results import merge

    merge("dashboard_scaling", results, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard_scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-write", action="store_true", help="do not update bench/results/latest.json")
    args = parser.parse_args(argv)
    results = measure([int(s) for s in args.sizes.split(",")], args.runs)
    for line in report(results):
        print(line)
    if not args.no_write:
        write_results(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
