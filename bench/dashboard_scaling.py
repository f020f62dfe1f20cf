"""Dashboard list latency with 1,000 vs 100,000 shipments in the table (goal: at most 1.5x slower).

    python -m bench.dashboard_scaling [--sizes 1000,100000] [--runs 30]

Tables come from template.yaml (local_runtime.deploy.deployer) on in-process moto (``mock_aws``); shipments are
written straight into ShipmentsTable with BatchWriteItem (``codec.shipment_item``), all for one merchant
(the worst case: its partition grows with the table). Each request goes through the whole app: the
Chalice test client, the auth middleware (API key), the Query, the JSON rendering.

Three figures per case, because the emulator is not DynamoDB:

* ``total`` - wall-clock per request;
* ``in_dynamodb`` - time inside DynamoDB calls (botocore before-call/after-call). moto's Query walks and
  sorts every item of the table for each call (``moto/dynamodb/models/table.py``), so this part grows
  with the table on moto; DynamoDB's Query reads only the items it returns (key-ordered partitions);
* ``app`` - total minus in_dynamodb: the dashboard's own cost;
* ``items_read`` - ScannedCount summed over the request's Queries: what DynamoDB would bill and read.

The dashboard scales if ``items_read`` and ``app`` stay flat; the ``total`` ratio on moto is reported
as measured.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "functions" / "dashboard"
MERCHANT = "m-bench"
STATUSES = ("IN_TRANSIT", "OUT_FOR_DELIVERY", "PICKED_UP", "DELIVERED", "CREATED", "EXCEPTION")
COUNTRIES = ("DE", "FR", "US", "JP", "BR", "AE", "GB", "CA")
CASES = (
    ("list (limit 50)", "/api/v1/shipments?limit=50"),
    ("list, status filter", "/api/v1/shipments?limit=50&status=IN_TRANSIT"),
    ("list, country filter", "/api/v1/shipments?limit=50&country=DE"),
    ("changes since", "/api/v1/changes?since={since}"),
)


def _env(tables: dict[str, str]) -> None:
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_REGION": "us-east-1", "AUTH_MODE": "api_key",
                       "DASHBOARD_SESSION_SECRET": "bench", "TRACKING_BASE_URL": "http://bench/track", **tables})
    os.environ.pop("AWS_ENDPOINT_URL", None)


def _deploy(stack: str) -> dict[str, str]:
    import boto3

    from local_runtime.cloudformation import load_template
    from local_runtime.deploy import CreateTable, Plan, apply, plan

    template = load_template(ROOT / "template.yaml", config_env="local", stack_name=stack)
    full = plan(template)
    # Tables only, and no stream: the benchmark only reads, and moto would JSON-encode a stream record
    # for each of the 100,000 loading writes.
    tables = tuple(replace(i, stream_view_type=None) for i in full.instructions if isinstance(i, CreateTable))
    tables_only = Plan(full.stack_name, full.region, full.account_id, tables)
    deployment = apply(tables_only, endpoint_url=None, region="us-east-1",
                       clients={"dynamodb": boto3.client("dynamodb", region_name="us-east-1")})
    ids = deployment.physical_ids()
    names = {"ShipmentsTable": "SHIPMENTS_TABLE", "TimelineTable": "TIMELINE_TABLE",
             "WarehousesTable": "WAREHOUSES_TABLE", "DeadLetterTable": "DEAD_LETTER_TABLE",
             "NotificationsTable": "NOTIFICATIONS_TABLE", "MerchantsTable": "MERCHANTS_TABLE"}
    return {env: ids[logical] for logical, env in names.items()}


def _shipments(count: int) -> Iterator[dict[str, Any]]:
    from logistics.adapters.codec import shipment_item
    from logistics.domain.shipment import ShipmentState
    from logistics.domain.status import Status

    base = 1_763_600_000  # 2025-11-20
    for n in range(count):
        at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(base + n * 13))
        country = COUNTRIES[n % len(COUNTRIES)]
        state = ShipmentState(
            merchant_id=MERCHANT, shipment_id=f"s-{n:07d}", status=Status(STATUSES[n % len(STATUSES)]),
            status_event_id=f"e-{n}", status_changed_at=at, updated_at=at, high_water=f"{at}#e-{n}",
            carrier=("DHL", "UPS", "FedEx")[n % 3], tracking_number=f"TRK{n:09d}", order_ref=f"order-{n}",
            location={"city": "City", "country": country, "lat": 50.0, "lon": 8.0},
            origin={"city": "Origin", "country": "DE"}, eta={"date": "2025-11-25"},
            milestones={"PICKED_UP": at}, event_count=3, recent_event_ids=(f"e-{n}",),
        )
        item = shipment_item(state)
        item.update(version=1, tracking_token=f"tok{n:021d}", written_region="us-east-1")
        yield item


@contextmanager
def _unchecked_item_size() -> Iterator[None]:
    """moto re-measures the whole item for every attribute it sets (its 400 KB check is O(attributes^2));
    skip that while loading our own, known-small items."""
    from moto.dynamodb.models import dynamo_type

    original = dynamo_type.LimitedSizeDict.__setitem__
    dynamo_type.LimitedSizeDict.__setitem__ = dict.__setitem__  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        dynamo_type.LimitedSizeDict.__setitem__ = original  # type: ignore[method-assign]


def _load(count: int, table: str) -> float:
    """BatchWriteItem (25 per call, through the platform's own batch writer) of codec-built items."""
    import boto3

    from logistics.adapters.dynamodb_timeline import batch_write

    client = boto3.client("dynamodb", region_name="us-east-1")
    started = time.perf_counter()
    chunk: list[dict[str, Any]] = []
    gc.disable()  # 100,000 items of nested dicts: the collector would rescan them all, again and again
    with _unchecked_item_size():
        for item in _shipments(count):
            chunk.append(item)
            if len(chunk) == 1000:
                assert not batch_write(client, table, chunk)
                chunk = []
        if chunk:
            assert not batch_write(client, table, chunk)
    gc.enable()
    gc.collect()
    gc.freeze()  # what was loaded stays put: keep the collector off it during the measurements
    return time.perf_counter() - started


def _app() -> Any:
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


@contextmanager
def _stack(size: int) -> Iterator[tuple[Any, str, float]]:
    from moto import mock_aws

    with mock_aws():
        tables = _deploy(f"bench{size}")
        _env(tables)
        loaded = _load(size, tables["SHIPMENTS_TABLE"])
        yield tables, tables["MERCHANTS_TABLE"], loaded


def measure(size: int, runs: int) -> dict[str, Any]:
    from chalice.test import Client

    with _stack(size) as (_, merchants_table, load_s):
        module = sys.modules.get("dashboard_app") or _app()
        from chalicelib import deps
        from chalicelib.auth import issue_api_key

        deps.reset()
        key = issue_api_key(merchants_table, MERCHANT, "bench", deps.dynamodb())
        meter = CallMeter(deps.dynamodb())
        client = Client(module.app, project_dir=tempfile.mkdtemp())
        headers = {"Authorization": f"Bearer {key}"}
        since = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1_763_600_000 + (size - 30) * 13))
        results: dict[str, Any] = {"size": size, "load_s": load_s, "cases": {}}
        for name, path in CASES:
            path = path.format(since=since)
            assert client.http.get(path, headers=headers).status_code == 200  # warm: auth cache, imports
            totals, inside, reads, calls = [], [], [], []
            for _ in range(runs):
                meter.reset()
                started = time.perf_counter()
                response = client.http.get(path, headers=headers)
                totals.append(time.perf_counter() - started)
                assert response.status_code == 200, response.body[:200]
                inside.append(meter.seconds)
                reads.append(meter.items_read)
                calls.append(meter.calls)
            app = [t - i for t, i in zip(totals, inside, strict=True)]
            results["cases"][name] = {
                "total_ms": statistics.median(totals) * 1000, "in_dynamodb_ms": statistics.median(inside) * 1000,
                "app_ms": statistics.median(app) * 1000, "items_read": statistics.median(reads),
                "calls": statistics.median(calls),
            }
        deps.reset()
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    measured = []
    for size in sizes:
        print(f"loading {size:,} shipments into one merchant's partition ...", flush=True)
        result = measure(size, args.runs)
        print(f"  loaded in {result['load_s']:.1f}s", flush=True)
        measured.append(result)
    print()
    print(f"{'case':<22} {'shipments':>10} {'total ms':>9} {'in moto ms':>11} {'app ms':>7} {'items read':>11} "
          f"{'calls':>6}")
    for result in measured:
        for name, c in result["cases"].items():
            print(f"{name:<22} {result['size']:>10,} {c['total_ms']:>9.1f} {c['in_dynamodb_ms']:>11.1f} "
                  f"{c['app_ms']:>7.1f} {c['items_read']:>11.0f} {c['calls']:>6.0f}")
    if len(measured) >= 2:
        small, large = measured[0], measured[-1]
        print()
        print(f"ratio {large['size']:,} / {small['size']:,} shipments (median of {args.runs} requests; goal <= 1.5x "
              "for what the dashboard controls):")
        for name in small["cases"]:
            a, b = small["cases"][name], large["cases"][name]
            print(f"  {name:<22} app {b['app_ms'] / a['app_ms']:.2f}x   items read "
                  f"{b['items_read'] / max(a['items_read'], 1):.2f}x   total on moto "
                  f"{b['total_ms'] / a['total_ms']:.1f}x (moto's Query is O(table))")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
