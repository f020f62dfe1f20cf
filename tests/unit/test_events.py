"""events/: the sample events parse with Powertools' models (as AWS shapes them) and their
payloads follow the event contracts (docs/AWS_EVENT_SOURCES.md, docs/ARCHITECTURE.md)."""

from __future__ import annotations

import base64
import binascii
import importlib.util
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamModel,
    EventBridgeModel,
    KafkaMskEventModel,
    KafkaSelfManagedEventModel,
)
from boto3.dynamodb.types import TypeDeserializer
from jsonschema import Draft7Validator
from pydantic import ValidationError

from logistics.domain.folding import RECENT_IDS

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
SCHEMAS = ROOT / "src" / "logistics" / "contracts" / "schemas"
INGEST = sorted((EVENTS / "ingest").glob("*.json"))
NOTIFY = sorted((EVENTS / "notify").glob("*.json"))

WAREHOUSE_TYPES = set(
    "received putaway picked packed staged loaded dispatched adjusted cycle_counted return_received".split()
)
SHIPMENT_TYPES = {"tracking_update", "correction"}
STATUSES = set(
    "CREATED PROCESSING READY_TO_SHIP PICKED_UP IN_TRANSIT OUT_FOR_DELIVERY AVAILABLE_FOR_PICKUP "
    "DELIVERY_ATTEMPTED RETURNING DELIVERED RETURNED CANCELLED LOST EXCEPTION EXPIRED".split()
)
SHIPMENT_FIELDS = set(
    "event_id schema_version event_type merchant_id shipment_id order_ref carrier tracking_number status "
    "sub_status occurred_at location eta exception customer correction_of".split()
)
POISON_CASES = ("not-base64", "not-json", "schema-invalid")
MSK_CLUSTER_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/logistics/11111111-2222-3333-4444-555555555555-1"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def records(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for batch in event["records"].values() for r in batch]


def sample_case(record: dict[str, Any]) -> str | None:
    for header in record["headers"]:
        if "sample-case" in header:
            return bytes(header["sample-case"]).decode()
    return None


def contract_errors(payload: dict[str, Any]) -> list[str]:
    kind = "warehouse" if payload.get("event_type") in WAREHOUSE_TYPES else "shipment"
    schema = json.loads((SCHEMAS / f"{kind}-event.v{payload.get('schema_version')}.json").read_text())
    return [e.message for e in Draft7Validator(schema).iter_errors(payload)]


def decoded(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(record["value"], validate=True))


# ------------------------------------------------------------------------------------ generator
def test_events_are_the_generator_output() -> None:
    spec = importlib.util.spec_from_file_location("gen_events", ROOT / "scripts" / "gen_events.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0, "events/ is stale: run python scripts/gen_events.py"


def test_expected_files_exist() -> None:
    names = {p.relative_to(EVENTS).as_posix() for p in EVENTS.rglob("*.json")}
    for name in (
        "ingest/msk.json",
        "ingest/self-managed.json",
        "ingest/mixed-poison.json",
        "notify/status-change.json",
        "notify/no-status-change.json",
        "notify/insert.json",
    ):
        assert name in names, name


# ------------------------------------------------------------------------------------ Kafka
@pytest.mark.parametrize("path", INGEST, ids=lambda p: p.name)
def test_kafka_event_envelope(path: Path) -> None:
    event = load(path)
    if event["eventSource"] == "aws:kafka":
        assert event["eventSourceArn"] == MSK_CLUSTER_ARN
    else:
        assert event["eventSource"] == "SelfManagedKafka"
        assert "eventSourceArn" not in event, "self-managed events carry no eventSourceArn"
    servers = event["bootstrapServers"].split(",")
    assert servers and all(s.rsplit(":", 1)[1].isdigit() for s in servers)
    for batch_key, batch in event["records"].items():
        offsets = []
        for record in batch:
            assert batch_key == f"{record['topic']}-{record['partition']}"
            assert isinstance(record["partition"], int) and isinstance(record["offset"], int)
            assert isinstance(record["timestamp"], int) and record["timestamp"] > 1_600_000_000_000  # epoch ms
            assert record["timestampType"] in ("CREATE_TIME", "LOG_APPEND_TIME")
            assert record.get("key", "absent") is not None, "a missing key is an absent field, never null"
            assert isinstance(record["headers"], list)
            for header in record["headers"]:
                assert len(header) == 1, "each header is a one-entry object"
                (value,) = header.values()
                assert isinstance(value, list) and all(isinstance(b, int) and 0 <= b <= 255 for b in value)
            offsets.append(record["offset"])
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets), batch_key


@pytest.mark.parametrize("path", INGEST, ids=lambda p: p.name)
def test_kafka_event_parses_with_powertools(path: Path) -> None:
    event = load(path)
    model = KafkaMskEventModel if event["eventSource"] == "aws:kafka" else KafkaSelfManagedEventModel
    corrupt = [r for r in records(event) if sample_case(r) == "not-base64"]
    if corrupt:
        # The parser rejects the whole batch because of one corrupt value: this is why the ingest
        # handler decodes records one by one instead of parsing the event with the model.
        with pytest.raises(ValidationError):
            model.model_validate(event)
        for batch in event["records"].values():
            batch[:] = [r for r in batch if sample_case(r) != "not-base64"]
    parsed = model.model_validate(event)
    flat = [r for batch in parsed.records.values() for r in batch]
    assert len(flat) == len(records(event))
    for raw, record in zip(records(event), flat, strict=True):
        if "key" in raw:
            assert record.key == base64.b64decode(raw["key"])
        else:
            assert record.key is None
        assert all(isinstance(v, bytes) for h in record.headers for v in h.values())


def test_a_record_without_key_is_sampled() -> None:
    without = [r for p in INGEST for r in records(load(p)) if "key" not in r]
    assert without, "msk.json should hold a record published without a key"


@pytest.mark.parametrize("path", [p for p in INGEST if p.name != "mixed-poison.json"], ids=lambda p: p.name)
def test_payloads_follow_the_contract(path: Path) -> None:
    kinds = Counter()
    for record in records(load(path)):
        payload = decoded(record)
        assert contract_errors(payload) == [], payload["event_id"]
        assert payload["schema_version"] == 1
        if payload["event_type"] in SHIPMENT_TYPES:
            kinds["shipment"] += 1
            assert set(payload) == SHIPMENT_FIELDS, "every contract field present, null where not applicable"
            assert payload["status"] in STATUSES
            assert record["topic"] == "shipment-events"
            entity = payload["shipment_id"]
            if payload["event_type"] == "correction":
                assert payload["correction_of"]
            if payload["status"] == "EXCEPTION":
                assert set(payload["exception"]) == {"reason", "responsible_party", "action_required"}
        else:
            kinds["warehouse"] += 1
            assert payload["event_type"] in WAREHOUSE_TYPES
            assert record["topic"] == "warehouse-events"
            entity = payload["warehouse_id"]
        if "key" in record:  # the key is the entity id, so its events keep their order (docs/ARCHITECTURE.md)
            assert base64.b64decode(record["key"]).decode() == entity
        assert payload["occurred_at"][-6] in "+-", "occurred_at carries the local offset"
    assert kinds["shipment"] and kinds["warehouse"], path.name


def test_mixed_poison_holds_each_case_once_between_valid_records() -> None:
    event = load(EVENTS / "ingest" / "mixed-poison.json")
    cases = Counter(sample_case(r) for r in records(event))
    assert cases == Counter({"valid": 2, **dict.fromkeys(POISON_CASES, 1)})
    for record in records(event):
        case = sample_case(record)
        if case == "not-base64":
            with pytest.raises(binascii.Error):
                base64.b64decode(record["value"], validate=True)
            continue
        raw = base64.b64decode(record["value"], validate=True)
        if case == "not-json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(raw)
            continue
        payload = json.loads(raw)
        if case == "schema-invalid":
            assert contract_errors(payload), "the schema-invalid sample must break the contract"
        else:
            assert contract_errors(payload) == []


# ------------------------------------------------------------------------------------ DynamoDB
_deserializer = TypeDeserializer()


def plain(image: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in image.items()}


@pytest.mark.parametrize("path", NOTIFY, ids=lambda p: p.name)
def test_stream_event_parses_with_powertools(path: Path) -> None:
    event = load(path)
    parsed = DynamoDBStreamModel.model_validate(event)
    assert parsed.Records
    for raw in event["Records"]:
        assert raw["eventVersion"] == "1.1", "AWS sends 1.1 (moto sends 1.0)"
        assert raw["eventSource"] == "aws:dynamodb"
        assert raw["awsRegion"] and raw["eventSourceARN"].startswith("arn:aws:dynamodb:")
        assert "/stream/" in raw["eventSourceARN"]
        change = raw["dynamodb"]
        assert change["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert change["SequenceNumber"].isdigit()
        keys = plain(change["Keys"])
        assert set(keys) == {"merchant_id", "shipment_id"}
        assert raw["eventName"] in ("INSERT", "MODIFY"), "REMOVE never reaches notify (FilterCriteria)"
        assert ("OldImage" in change) == (raw["eventName"] == "MODIFY")
        for name in ("NewImage", "OldImage"):
            if name in change:
                item = plain(change[name])
                assert {k: item[k] for k in keys} == keys
                check_shipment_item(item)


def check_shipment_item(item: dict[str, Any]) -> None:
    """The derived index keys of a ShipmentsTable item (docs/ARCHITECTURE.md)."""
    m = item["merchant_id"]
    assert item["status"] in STATUSES
    assert "updated_key" not in item and "ingested_at" not in item  # derived by readers, not stored
    assert item["status_key"] == f"{item['status_changed_at']}#{item['shipment_id']}"
    assert item["created_key"] == f"{min(item['milestones'].values())}#{item['shipment_id']}"
    assert item["ingested_key"].endswith(f"#{item['shipment_id']}")
    assert len(item["recent_event_ids"]) <= RECENT_IDS
    assert item["merchant_status"] == f"{m}#{item['status']}"
    assert item["high_water"].startswith(item["updated_at"]) or item["late_count"]
    if item.get("geo"):
        assert item["merchant_geo"] == f"{m}#{item['geo']}"
    if item.get("tracking_number"):
        assert item["merchant_tracking"] == f"{m}#{item['tracking_number']}"
    else:
        assert "merchant_tracking" not in item, "sparse GSI keys are absent, never null"
    assert ("attention_merchant" in item) == bool(item["needs_attention"])
    for attribute in ("written_region", "tracking_token", "version", "customer", "recent_event_ids"):
        assert attribute in item, attribute


def images(path: Path) -> list[tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]]:
    return [
        (
            plain(r["dynamodb"]["NewImage"]),
            plain(r["dynamodb"]["OldImage"]) if "OldImage" in r["dynamodb"] else None,
            r,
        )
        for r in load(path)["Records"]
    ]


def test_status_change_changes_status() -> None:
    ((new, old, record),) = images(EVENTS / "notify" / "status-change.json")
    assert old is not None and old["status"] != new["status"]
    assert new["written_region"] == record["awsRegion"]
    assert new["version"] == old["version"] + 1


def test_no_status_change_keeps_status() -> None:
    changes = images(EVENTS / "notify" / "no-status-change.json")
    assert len(changes) >= 2
    for new, old, _ in changes:
        assert old is not None and old["status"] == new["status"] and old != new
    assert any(new["late_count"] > old["late_count"] for new, old, _ in changes), "a late event is sampled"


def test_insert_has_only_a_new_image() -> None:
    ((new, old, record),) = images(EVENTS / "notify" / "insert.json")
    assert old is None and record["eventName"] == "INSERT" and new["version"] == 1


def test_replica_change_was_written_elsewhere() -> None:
    path = EVENTS / "notify" / "replica-status-change.json"
    for new, _, record in images(path):
        assert new["written_region"] != record["awsRegion"]


def test_deferred_schedule_event() -> None:
    for path in (EVENTS / "deferred").glob("*.json"):
        assert EventBridgeModel.model_validate(load(path)).detail_type == "Scheduled Event"
