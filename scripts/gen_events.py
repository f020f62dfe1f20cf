"""Generate the sample events in events/ (for `sam local invoke -e`, tests and the docs).

    python scripts/gen_events.py            # (re)write events/
    python scripts/gen_events.py --check    # exit 1 if events/ differs from what this script writes

Stdlib only and deterministic, so the committed JSON is exactly this script's output.
Shapes follow what AWS sends (docs/AWS_EVENT_SOURCES.md) and the payloads follow the event contracts
(src/logistics/contracts/schemas; Kafka keys are the entity id, docs/ARCHITECTURE.md); the DynamoDB images
follow the ShipmentsTable item of docs/ARCHITECTURE.md (index keys derived the way adapters/codec.py derives them).
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RECENT_IDS = 4  # logistics.domain.folding.RECENT_IDS: a state remembers its last 4 event ids

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"

ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER_ARN = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/logistics/11111111-2222-3333-4444-555555555555-1"
MSK_BOOTSTRAP = ",".join(f"b-{n}.logistics.a1b2c3.c2.kafka.{REGION}.amazonaws.com:9098" for n in (1, 2, 3))
SELF_MANAGED_BOOTSTRAP = "kafka-1.logistics.internal:9096,kafka-2.logistics.internal:9096"
SHIPMENT_TOPIC = "shipment-events"
WAREHOUSE_TOPIC = "warehouse-events"
SHIPMENTS_STREAM_ARN = (
    f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/logistics-dev-shipments/stream/2026-11-01T00:00:00.000"
)
MERCHANT = "m_acme"
TRACKING_TOKEN = "q3Zk9vL2xWm8Tn4Rb7Yc1dPe"  # secrets.token_urlsafe(18) is 24 characters

CUSTOMER = {
    "contact_ref": "cust_7f3a91",
    "channels": ["email", "sms"],
    "timezone": "Europe/Berlin",
    "quiet_hours": {"start": "21:00", "end": "08:00"},
}
LEIPZIG_HUB = {
    "city": "Leipzig",
    "region": "Saxony",
    "country": "DE",
    "lat": 51.4239,
    "lon": 12.2364,
    "facility_id": "DHL-LEJ-HUB",
}
BERLIN_DEPOT = {
    "city": "Berlin",
    "region": "Berlin",
    "country": "DE",
    "lat": 52.5208,
    "lon": 13.4095,
    "facility_id": "DHL-BER-D12",
}
HALLE_WAREHOUSE = {
    "city": "Halle",
    "region": "Saxony-Anhalt",
    "country": "DE",
    "lat": 51.4969,
    "lon": 11.9688,
    "facility_id": "WH-HAL-1",
}


# ------------------------------------------------------------------------------- payloads
def shipment_event(
    event_id: str,
    shipment_id: str,
    status: str,
    occurred_at: str,
    *,
    sub_status: str | None = None,
    location: dict[str, Any] | None = None,
    eta: dict[str, Any] | None = None,
    exception: dict[str, Any] | None = None,
    event_type: str = "tracking_update",
    correction_of: str | None = None,
    order_ref: str = "ORD-2026-000123",
    tracking_number: str = "JD014600003828471234",
) -> dict[str, Any]:
    """A shipment event with every contract field present (null where it does not apply)."""
    return {
        "event_id": event_id,
        "schema_version": 1,
        "event_type": event_type,
        "merchant_id": MERCHANT,
        "shipment_id": shipment_id,
        "order_ref": order_ref,
        "carrier": "dhl",
        "tracking_number": tracking_number,
        "status": status,
        "sub_status": sub_status,
        "occurred_at": occurred_at,
        "location": location,
        "eta": eta,
        "exception": exception,
        "customer": CUSTOMER,
        "correction_of": correction_of,
    }


def warehouse_event(
    event_id: str,
    event_type: str,
    occurred_at: str,
    items: list[dict[str, Any]],
    *,
    zone: str | None,
    bin_: str | None,
    shipment_id: str | None = None,
    order_ref: str | None = None,
    actor: str | None = "picker-042",
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "schema_version": 1,
        "event_type": event_type,
        "merchant_id": MERCHANT,
        "warehouse_id": "wh_halle_1",
        "zone": zone,
        "bin": bin_,
        "occurred_at": occurred_at,
        "items": items,
        "shipment_id": shipment_id,
        "order_ref": order_ref,
        "actor": actor,
        "location": HALLE_WAREHOUSE,
    }


# ------------------------------------------------------------------------------- Kafka
def epoch_ms(iso: str, delay_ms: int = 1500) -> int:
    """Broker timestamp: the event's occurrence plus the feed's delay."""
    return int(datetime.fromisoformat(iso).timestamp() * 1000) + delay_ms


def header(name: str, value: str) -> dict[str, list[int]]:
    """Kafka header as Lambda sends it: a one-entry object whose value is a list of byte integers."""
    return {name: list(value.encode())}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kafka_record(
    topic: str,
    partition: int,
    offset: int,
    value: bytes | str,
    *,
    key: str | None,
    timestamp: int,
    timestamp_type: str = "CREATE_TIME",
    headers: list[dict[str, list[int]]] | None = None,
) -> dict[str, Any]:
    """One record; ``value`` bytes are base64-encoded, a str is used verbatim (to fake corruption)."""
    record: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp": timestamp,
        "timestampType": timestamp_type,
    }
    if key is not None:  # AWS leaves "key" out entirely when the message has none
        record["key"] = b64(key.encode())
    record["value"] = b64(value) if isinstance(value, bytes) else value
    record["headers"] = headers if headers is not None else []
    return record


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def payload_record(
    topic: str,
    partition: int,
    offset: int,
    payload: dict[str, Any],
    *,
    key: str | None,
    trace: str,
    timestamp_type: str = "CREATE_TIME",
) -> dict[str, Any]:
    return kafka_record(
        topic,
        partition,
        offset,
        json_bytes(payload),
        key=key,
        timestamp=epoch_ms(payload["occurred_at"]),
        timestamp_type=timestamp_type,
        headers=[header("traceparent", trace), header("content-type", "application/json")],
    )


def kafka_event(records: list[dict[str, Any]], *, self_managed: bool = False) -> dict[str, Any]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(f"{record['topic']}-{record['partition']}", []).append(record)
    for batch in grouped.values():
        offsets = [r["offset"] for r in batch]
        assert offsets == sorted(offsets), "records of one partition arrive in offset order"
    if self_managed:
        return {"eventSource": "SelfManagedKafka", "bootstrapServers": SELF_MANAGED_BOOTSTRAP, "records": grouped}
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": CLUSTER_ARN,
        "bootstrapServers": MSK_BOOTSTRAP,
        "records": grouped,
    }


def trace(n: int) -> str:
    return f"00-4bf92f3577b34da6a3ce929d0e0e{n:04x}-00f067aa0ba902b7-01"


def msk_event() -> dict[str, Any]:
    eta = {"date": "2026-11-20", "window_start": "13:00", "window_end": "17:00"}
    return kafka_event(
        [
            payload_record(
                SHIPMENT_TOPIC,
                0,
                41,
                shipment_event(
                    "evt_01JD0S0000000000000000041",
                    "shp_10001",
                    "IN_TRANSIT",
                    "2026-11-20T05:40:00+01:00",
                    sub_status="departed_facility",
                    location=LEIPZIG_HUB,
                    eta=eta,
                ),
                key="shp_10001",
                trace=trace(1),
            ),
            payload_record(
                SHIPMENT_TOPIC,
                0,
                42,
                shipment_event(
                    "evt_01JD0S0000000000000000042",
                    "shp_10001",
                    "OUT_FOR_DELIVERY",
                    "2026-11-20T09:15:00+01:00",
                    sub_status="with_courier",
                    location=BERLIN_DEPOT,
                    eta=eta,
                ),
                key="shp_10001",
                trace=trace(2),
            ),
            payload_record(
                SHIPMENT_TOPIC,
                1,
                7,
                shipment_event(
                    "evt_01JD0S0000000000000000107",
                    "shp_10002",
                    "EXCEPTION",
                    "2026-11-20T10:02:13+01:00",
                    sub_status="address_issue",
                    location=BERLIN_DEPOT,
                    exception={
                        "reason": "address_incomplete",
                        "responsible_party": "customer",
                        "action_required": "Confirm the apartment number on the tracking page.",
                    },
                    order_ref="ORD-2026-000124",
                    tracking_number="JD014600003828479999",
                ),
                key="shp_10002",
                trace=trace(3),
                timestamp_type="LOG_APPEND_TIME",
            ),
            payload_record(
                SHIPMENT_TOPIC,
                1,
                8,
                shipment_event(
                    "evt_01JD0S0000000000000000108",
                    "shp_10003",
                    "DELIVERED",
                    "2026-11-19T16:20:00+01:00",
                    sub_status="left_with_neighbour",
                    location=BERLIN_DEPOT,
                    event_type="correction",
                    correction_of="evt_01JD0S0000000000000000099",
                    order_ref="ORD-2026-000125",
                    tracking_number="JD014600003828470001",
                ),
                key="shp_10003",
                trace=trace(4),
            ),
            payload_record(
                WAREHOUSE_TOPIC,
                0,
                310,
                warehouse_event(
                    "evt_01JD0W0000000000000000310",
                    "picked",
                    "2026-11-19T14:05:00+01:00",
                    [{"sku": "TENT-2P-GRN", "qty": -1}, {"sku": "STAKE-AL-10", "qty": -2}],
                    zone="A",
                    bin_="A-03-2",
                    shipment_id="shp_10004",
                    order_ref="ORD-2026-000126",
                ),
                key="wh_halle_1",
                trace=trace(5),
            ),
            # A legacy scanner publishes without a key: the record then has no "key" field at all.
            payload_record(
                WAREHOUSE_TOPIC,
                0,
                311,
                warehouse_event(
                    "evt_01JD0W0000000000000000311",
                    "packed",
                    "2026-11-19T14:21:30+01:00",
                    [],
                    zone="PACK",
                    bin_=None,
                    shipment_id="shp_10004",
                    order_ref="ORD-2026-000126",
                    actor="packer-007",
                ),
                key=None,
                trace=trace(6),
            ),
        ]
    )


def self_managed_event() -> dict[str, Any]:
    return kafka_event(
        [
            payload_record(
                SHIPMENT_TOPIC,
                2,
                1200,
                shipment_event(
                    "evt_01JD0S0000000000000001200",
                    "shp_10005",
                    "CREATED",
                    "2026-11-18T18:00:00-05:00",
                    order_ref="ORD-2026-000127",
                    tracking_number=None,
                ),
                key="shp_10005",
                trace=trace(7),
            ),
            payload_record(
                SHIPMENT_TOPIC,
                2,
                1201,
                shipment_event(
                    "evt_01JD0S0000000000000001201",
                    "shp_10005",
                    "PICKED_UP",
                    "2026-11-19T08:30:00-05:00",
                    sub_status="carrier_pickup",
                    location={
                        "city": "Columbus",
                        "region": "Ohio",
                        "country": "US",
                        "lat": 39.9612,
                        "lon": -82.9988,
                        "facility_id": "UPS-CMH-3",
                    },
                    eta={"date": "2026-11-22", "window_start": None, "window_end": None},
                    order_ref="ORD-2026-000127",
                    tracking_number="1Z999AA10123456784",
                ),
                key="shp_10005",
                trace=trace(8),
            ),
            payload_record(
                WAREHOUSE_TOPIC,
                1,
                77,
                warehouse_event(
                    "evt_01JD0W0000000000000000077",
                    "received",
                    "2026-11-18T07:45:00+01:00",
                    [{"sku": "TENT-2P-GRN", "qty": 24}, {"sku": "STAKE-AL-10", "qty": 200}],
                    zone="INBOUND",
                    bin_="DOCK-2",
                    actor="receiver-003",
                ),
                key="wh_halle_1",
                trace=trace(9),
            ),
        ],
        self_managed=True,
    )


def mixed_poison_event() -> dict[str, Any]:
    """Valid records around the three kinds of poison; each record says which case it is in a header."""

    def case(name: str) -> dict[str, list[int]]:
        return header("sample-case", name)

    valid_shipment = shipment_event(
        "evt_01JD0S0000000000000000200",
        "shp_10006",
        "IN_TRANSIT",
        "2026-11-20T11:00:00+01:00",
        sub_status="arrived_at_facility",
        location=LEIPZIG_HUB,
        order_ref="ORD-2026-000128",
        tracking_number="JD014600003828470202",
    )
    schema_invalid = {
        **shipment_event(
            "evt_01JD0S0000000000000000203",
            "shp_10007",
            "IN_TRANSIT",
            "2026-11-20T11:03:00+01:00",
        ),
        "status": "TELEPORTED",  # not a status of the contract
    }
    del schema_invalid["shipment_id"]  # a required field
    valid_warehouse = warehouse_event(
        "evt_01JD0W0000000000000000055",
        "adjusted",
        "2026-11-20T11:05:00+01:00",
        [{"sku": "STAKE-AL-10", "qty": -3}],
        zone="A",
        bin_="A-07-1",
        actor="inventory-bot",
    )
    at = epoch_ms("2026-11-20T11:04:00+01:00")
    return kafka_event(
        [
            kafka_record(
                SHIPMENT_TOPIC,
                0,
                200,
                json_bytes(valid_shipment),
                key="shp_10006",
                timestamp=epoch_ms(valid_shipment["occurred_at"]),
                headers=[case("valid")],
            ),
            kafka_record(
                SHIPMENT_TOPIC,
                0,
                201,
                "%%% not base64 at all %%%",
                key="shp_10008",
                timestamp=at,
                headers=[case("not-base64")],
            ),
            kafka_record(
                SHIPMENT_TOPIC,
                0,
                202,
                b"shipment shp_10009 DELIVERED 2026-11-20 11:03",
                key="shp_10009",
                timestamp=at,
                headers=[case("not-json")],
            ),
            kafka_record(
                SHIPMENT_TOPIC,
                0,
                203,
                json_bytes(schema_invalid),
                key="shp_10007",
                timestamp=at,
                headers=[case("schema-invalid")],
            ),
            kafka_record(
                WAREHOUSE_TOPIC,
                0,
                55,
                json_bytes(valid_warehouse),
                key="wh_halle_1",
                timestamp=epoch_ms(valid_warehouse["occurred_at"]),
                headers=[case("valid")],
            ),
        ]
    )


# ------------------------------------------------------------------------------- DynamoDB
def typed(value: Any) -> dict[str, Any]:
    """DynamoDB attribute value JSON (what boto3's TypeSerializer produces for JSON-like data)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {k: typed(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [typed(v) for v in value]}
    raise TypeError(f"cannot type {value!r}")


def image(item: dict[str, Any]) -> dict[str, Any]:
    """Top-level None attributes are absent from an item (sparse GSI keys); nested None is NULL."""
    return {k: typed(v) for k, v in item.items() if v is not None}


def utc(iso: str) -> str:
    """The storage form of a time: UTC, millisecond precision, fixed width (sorts in time order)."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


GEO = {"DE": "EU", "US": "NA"}
RANK = {
    "CREATED": 0,
    "PROCESSING": 1,
    "READY_TO_SHIP": 2,
    "PICKED_UP": 3,
    "IN_TRANSIT": 4,
    "OUT_FOR_DELIVERY": 5,
    "AVAILABLE_FOR_PICKUP": 5,
    "DELIVERY_ATTEMPTED": 5,
    "RETURNING": 6,
}
ATTENTION = {"EXCEPTION": "exception", "DELIVERY_ATTEMPTED": "delivery attempted", "LOST": "lost"}


def shipment_item(
    shipment_id: str,
    status: str,
    *,
    status_event: tuple[str, str],
    last_event: tuple[str, str],
    sub_status: str | None,
    location: dict[str, Any] | None,
    origin: dict[str, Any] | None,
    eta: dict[str, Any] | None,
    milestones: dict[str, str],
    recent_event_ids: list[str],
    version: int,
    late_count: int = 0,
    written_region: str = REGION,
    warehouse_id: str | None = None,
    tracking_number: str | None = "JD014600003828471234",
) -> dict[str, Any]:
    """A ShipmentsTable item (docs/ARCHITECTURE.md) with its derived index keys."""
    m = MERCHANT
    updated_at = utc(last_event[1])
    geo = GEO.get((location or {}).get("country", ""))
    order_ref = "ORD-2026-000123"
    reason = ATTENTION.get(status)
    return {
        "merchant_id": m,
        "shipment_id": shipment_id,
        "status": status,
        "sub_status": sub_status,
        "rank": RANK.get(status),
        "status_event_id": status_event[0],
        "status_changed_at": utc(status_event[1]),
        "updated_at": updated_at,
        "high_water": f"{updated_at}#{last_event[0]}",
        "carrier": "dhl",
        "tracking_number": tracking_number,
        "order_ref": order_ref,
        "location": location,
        "geo": geo,
        "origin": origin,
        "eta": eta,
        "exception": None,
        "customer": CUSTOMER,
        "warehouse_id": warehouse_id,
        "milestones": milestones,
        "needs_attention": reason is not None,
        "attention_reason": reason,
        "event_count": len(milestones) + late_count,
        "late_count": late_count,
        "corrections": 0,
        "recent_event_ids": recent_event_ids,
        "version": version,
        "written_region": written_region,
        "tracking_token": TRACKING_TOKEN,
        # index keys (absent when their source is absent: sparse GSIs); updated_key is derived by readers
        "ingested_key": f"{updated_at}#{shipment_id}",
        "status_key": f"{utc(status_event[1])}#{shipment_id}",
        "created_key": f"{min(milestones.values())}#{shipment_id}",
        "merchant_status": f"{m}#{status}",
        "merchant_geo": f"{m}#{geo}" if geo else None,
        "merchant_carrier": f"{m}#dhl",
        "merchant_warehouse": f"{m}#{warehouse_id}" if warehouse_id else None,
        "merchant_tracking": f"{m}#{tracking_number}" if tracking_number else None,
        "merchant_order": f"{m}#{order_ref}",
        "attention_merchant": m if reason else None,
    }


def stream_record(
    n: int,
    event_name: str,
    new: dict[str, Any] | None,
    old: dict[str, Any] | None,
    *,
    at: str,
    aws_region: str = REGION,
) -> dict[str, Any]:
    source = new or old
    assert source is not None
    keys = {"merchant_id": typed(source["merchant_id"]), "shipment_id": typed(source["shipment_id"])}
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": float(int(datetime.fromisoformat(at).timestamp())),
        "Keys": keys,
    }
    if new is not None:
        change["NewImage"] = image(new)
    if old is not None:
        change["OldImage"] = image(old)
    change["SequenceNumber"] = f"{4421584500000000017450439000 + n}"
    change["SizeBytes"] = len(json.dumps([keys, change.get("NewImage"), change.get("OldImage")]))
    change["StreamViewType"] = "NEW_AND_OLD_IMAGES"
    return {
        "eventID": f"{n:08x}c4ca4238a0b923820dcc509a6f75",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": aws_region,
        "eventSourceARN": SHIPMENTS_STREAM_ARN,
        "dynamodb": change,
    }


E_CREATED = ("evt_01JD0S0000000000000000001", "2026-11-18T16:00:00+01:00")
E_PICKED = ("evt_01JD0S0000000000000000020", "2026-11-19T17:45:00+01:00")
E_TRANSIT = ("evt_01JD0S0000000000000000041", "2026-11-20T05:40:00+01:00")
E_TRANSIT_2 = ("evt_01JD0S0000000000000000043", "2026-11-20T07:10:00+01:00")
E_OFD = ("evt_01JD0S0000000000000000042", "2026-11-20T09:15:00+01:00")
E_LATE = ("evt_01JD0S0000000000000000044", "2026-11-20T04:55:00+01:00")
ETA = {"date": "2026-11-20", "window_start": "13:00", "window_end": "17:00"}
MILESTONES_TRANSIT = {"CREATED": utc(E_CREATED[1]), "PICKED_UP": utc(E_PICKED[1]), "IN_TRANSIT": utc(E_TRANSIT[1])}


def in_transit(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "status_event": E_TRANSIT,
        "last_event": E_TRANSIT,
        "sub_status": "departed_facility",
        "location": LEIPZIG_HUB,
        "origin": HALLE_WAREHOUSE,
        "eta": ETA,
        "milestones": MILESTONES_TRANSIT,
        "recent_event_ids": [E_CREATED[0], E_PICKED[0], E_TRANSIT[0]],
        "version": 3,
    }
    fields.update(overrides)
    return shipment_item("shp_10001", "IN_TRANSIT", **fields)


def status_change_event() -> dict[str, Any]:
    old = in_transit()
    new = shipment_item(
        "shp_10001",
        "OUT_FOR_DELIVERY",
        status_event=E_OFD,
        last_event=E_OFD,
        sub_status="with_courier",
        location=BERLIN_DEPOT,
        origin=HALLE_WAREHOUSE,
        eta=ETA,
        milestones={**MILESTONES_TRANSIT, "OUT_FOR_DELIVERY": utc(E_OFD[1])},
        recent_event_ids=[E_CREATED[0], E_PICKED[0], E_TRANSIT[0], E_OFD[0]],
        version=4,
    )
    return {"Records": [stream_record(1, "MODIFY", new, old, at=E_OFD[1])]}


def no_status_change_event() -> dict[str, Any]:
    """Two MODIFYs that change the item but not its status: a new scan, then a late event."""
    old = in_transit()
    scanned = in_transit(
        last_event=E_TRANSIT_2,
        sub_status="departed_facility",
        location={**LEIPZIG_HUB, "facility_id": "DHL-LEJ-HUB-OUT"},
        recent_event_ids=[*old["recent_event_ids"], E_TRANSIT_2[0]][-RECENT_IDS:],
        version=4,
    )
    scanned["event_count"] = old["event_count"] + 1
    late = dict(scanned)
    late.update(
        late_count=1,
        event_count=scanned["event_count"] + 1,
        recent_event_ids=[*scanned["recent_event_ids"], E_LATE[0]][-RECENT_IDS:],
        version=5,
    )
    return {
        "Records": [
            stream_record(2, "MODIFY", scanned, old, at=E_TRANSIT_2[1]),
            stream_record(3, "MODIFY", late, scanned, at="2026-11-20T07:12:00+01:00"),
        ]
    }


def insert_event() -> dict[str, Any]:
    new = shipment_item(
        "shp_10001",
        "CREATED",
        status_event=E_CREATED,
        last_event=E_CREATED,
        sub_status=None,
        location=HALLE_WAREHOUSE,
        origin=HALLE_WAREHOUSE,
        eta=None,
        milestones={"CREATED": utc(E_CREATED[1])},
        recent_event_ids=[E_CREATED[0]],
        version=1,
        warehouse_id="wh_halle_1",
        tracking_number=None,
    )
    return {"Records": [stream_record(4, "INSERT", new, None, at=E_CREATED[1])]}


def replica_status_change_event() -> dict[str, Any]:
    """The same change as status-change.json arriving on this region's replica stream, written in
    eu-west-1: with Global Tables only the writing region notifies, so this one must not."""
    event = status_change_event()
    record = event["Records"][0]
    for image_name in ("NewImage", "OldImage"):
        record["dynamodb"][image_name]["written_region"] = {"S": "eu-west-1"}
    record["eventID"] = "00000005c4ca4238a0b923820dcc509a6f75"
    record["dynamodb"]["SequenceNumber"] = "4421584500000000017450439005"
    return event


# ------------------------------------------------------------------------------- schedule
def deferred_schedule_event() -> dict[str, Any]:
    """What EventBridge Scheduler/rules deliver for DeferredNotifyFunction's rate(5 minutes)."""
    return {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2026-11-20T07:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/logistics-dev-DeferredNotifyFunctionSweep"],
        "detail": {},
    }


FILES = {
    "ingest/msk.json": msk_event,
    "ingest/self-managed.json": self_managed_event,
    "ingest/mixed-poison.json": mixed_poison_event,
    "notify/status-change.json": status_change_event,
    "notify/no-status-change.json": no_status_change_event,
    "notify/insert.json": insert_event,
    "notify/replica-status-change.json": replica_status_change_event,
    "deferred/schedule.json": deferred_schedule_event,
}


_INT_LIST = re.compile(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]")
_SCALAR_ATTRIBUTE = re.compile(r'\{\s*"(S|N|BOOL|NULL)": ("(?:[^"\\]|\\.)*"|true|false)\s*\}')


def to_json(document: Any) -> str:
    """Indented JSON; Kafka header byte lists and scalar DynamoDB attribute values stay on one line."""
    text = json.dumps(document, indent=2)
    text = _INT_LIST.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text)
    return _SCALAR_ATTRIBUTE.sub(r'{"\1": \2}', text) + "\n"


def render() -> dict[str, str]:
    return {name: to_json(build()) for name, build in FILES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if events/ is not up to date")
    parser.add_argument("--out", type=Path, default=EVENTS, help="output folder (default: events/)")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if stale:
        print("out of date (run python scripts/gen_events.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
