"""The schema registry on, end to end on the suite's Tansu and moto: the repository template with
KafkaSchemaRegistry=Enabled, run by the local platform. A raw bad body and an unframed (plain JSON) event are
refused by the ingest mapping's registry step, go to the kafka:// failure topic with their bytes, and
DeadLettersFunction files them into DeadLetterTable with DESERIALIZATION_ERROR; the framed event beside them
lands in the state table; IngestFunction never sees the refused ones.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from local_runtime.runtime import LocalPlatform, PlatformOptions
from logistics import contracts
from logistics.adapters.registry_serializer import RegistrySerializer
from tests.e2e.faults.support import eventually

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "events" / "ingest" / "msk.json"


def _event() -> dict[str, Any]:
    records = json.loads(SAMPLE.read_text())["records"]
    payload = json.loads(base64.b64decode(next(iter(records.values()))[0]["value"]))
    payload = copy.deepcopy(payload) | {"event_id": f"e-{uuid.uuid4().hex[:10]}",
                                        "shipment_id": f"s-{uuid.uuid4().hex[:8]}"}
    contracts.validate(payload)
    return payload


def test_registry_refusals_are_filed_as_dead_letters_with_their_bytes(moto_endpoint: str, kafka_bootstrap: str,
                                                                       tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:6]
    topics = {"ShipmentTopic": f"shipments-{suffix}", "WarehouseTopic": f"warehouse-{suffix}",
              "IngestFailureTopic": f"ingest-failures-{suffix}"}
    platform = LocalPlatform(PlatformOptions(
        template=ROOT / "template.yaml", stack_name=f"reg-dlq-{suffix}", dashboard_port=None, state_dir=tmp_path,
        aws_endpoint=moto_endpoint, kafka_bootstrap=kafka_bootstrap, schedules=False, partitions=1,
        parameter_overrides={**topics, "KafkaSchemaRegistry": "Enabled", "IngestConsumerGroupId": f"g-{suffix}"},
        consumer_config={"session.timeout.ms": 6000}, delete_registries_on_stop=True))
    platform.start()
    try:
        assert platform.template is not None
        registry = platform.template.physical_name("EventSchemaRegistry")
        serializer = RegistrySerializer(platform.client("glue"), registry)
        valid, unframed = _event(), _event()
        bad_body = b'{"event_id": "e-broken", "merchant_id": "m-1", "status": '  # not even JSON
        unframed_bytes = json.dumps(unframed).encode()
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        for key, value in ((b"s-bad", bad_body), (unframed["shipment_id"].encode(), unframed_bytes),
                           (valid["shipment_id"].encode(), serializer.serialize(valid))):
            producer.produce(topics["ShipmentTopic"], key=key, value=value)
        assert producer.flush(10) == 0

        dynamodb = platform.client("dynamodb")
        letters_table = platform.template.physical_name("DeadLetterTable")
        state_table = platform.template.physical_name("ShipmentsTable")

        def filed() -> list[dict[str, Any]]:
            items = [item for merchant in ("_unattributed", unframed["merchant_id"])  # not JSON: unattributed
                     for item in dynamodb.query(TableName=letters_table, KeyConditionExpression="merchant_id = :m",
                                                ExpressionAttributeValues={":m": {"S": merchant}})["Items"]
                     if item["topic_partition"]["S"].startswith(topics["ShipmentTopic"])]
            assert len(items) == 2, items
            return items

        letters = eventually(filed, 60)
        by_value = {base64.b64decode(i["value_b64"]["S"]): i for i in letters}
        assert set(by_value) == {bad_body, unframed_bytes}  # the exact bytes each producer sent
        for item in letters:
            assert item["reason"]["S"].startswith("DESERIALIZATION_ERROR: "), item["reason"]
            assert item["topic_partition"]["S"] == f"{topics['ShipmentTopic']}-0"
        assert by_value[unframed_bytes]["merchant_id"]["S"] == unframed["merchant_id"]  # listed for its merchant
        offsets = sorted(int(i["offset"]["N"]) for i in letters)
        assert offsets == [0, 1]

        def stored() -> None:
            got = dynamodb.get_item(TableName=state_table, Key={
                "merchant_id": {"S": valid["merchant_id"]}, "shipment_id": {"S": valid["shipment_id"]}})
            assert "Item" in got

        eventually(stored, 60)
        ingest = next(m for m in platform.kafka_mappings if m.spec.function_logical_id == "IngestFunction"
                      and topics["ShipmentTopic"] in m.spec.topics)
        counts = ingest.counters.snapshot()
        assert counts["records_dead_lettered"] == 2 and counts["records_invoked"] == 1, counts  # never invoked
    finally:
        platform.stop()
