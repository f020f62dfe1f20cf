"""Event contracts: every schema version parses, old versions keep parsing, and errors name what and where."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
from jsonschema import Draft7Validator

from logistics.contracts import (
    SHIPMENT,
    WAREHOUSE,
    ContractError,
    is_id,
    kind_of,
    parse,
    schema,
    to_domain,
    validate,
    versions,
)
from logistics.domain.events import ShipmentEvent, StockLine, WarehouseEvent
from logistics.domain.status import Status

SHIPMENT_V1 = {
    "event_id": "evt-0001",
    "schema_version": 1,
    "event_type": "tracking_update",
    "merchant_id": "m-1",
    "shipment_id": "s-1",
    "order_ref": "order-77",
    "carrier": "DHL",
    "tracking_number": "JD0001",
    "status": "IN_TRANSIT",
    "sub_status": "departed_facility",
    "occurred_at": "2024-05-01T10:00:00.250+02:00",
    "location": {"city": "Berlin", "region": "BE", "country": "DE", "lat": 52.52, "lon": 13.4, "facility_id": "BER1"},
    "eta": {"date": "2024-05-03", "window_start": "09:00", "window_end": "12:00"},
    "exception": None,
    "customer": {
        "contact_ref": "cust-9",
        "channels": ["email", "sms"],
        "timezone": "Europe/Berlin",
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "locale": "de-DE",
    },
    "correction_of": None,
}
SHIPMENT_V2 = {
    **SHIPMENT_V1,
    "event_id": "evt-0002",
    "schema_version": 2,
    "service_level": "express",
    "parcel": {"pieces": 2, "weight_kg": 3.5, "dimensions_cm": [30, 20, 10]},
}
MINIMAL_V1 = {
    "event_id": "evt-min",
    "schema_version": 1,
    "event_type": "tracking_update",
    "merchant_id": "m-1",
    "shipment_id": "s-1",
    "status": "CREATED",
    "occurred_at": "2024-05-01T08:00:00Z",
}
WAREHOUSE_V1 = {
    "event_id": "wh-0001",
    "schema_version": 1,
    "event_type": "picked",
    "merchant_id": "m-1",
    "warehouse_id": "w-1",
    "zone": "A",
    "bin": "A-01-3",
    "occurred_at": "2024-05-01T07:30:00-04:00",
    "items": [{"sku": "sku-1", "qty": 2}, {"sku": "sku-2", "qty": 1}],
    "shipment_id": "s-1",
    "order_ref": "order-77",
    "actor": "picker-12",
    "location": {"city": "Newark", "country": "US"},
}


def with_(base: dict, **changes) -> dict:
    payload = copy.deepcopy(base)
    for key, value in changes.items():
        payload[key] = value
    return payload


def without(base: dict, *keys: str) -> dict:
    return {k: v for k, v in copy.deepcopy(base).items() if k not in keys}


def error_of(payload) -> str:
    with pytest.raises(ContractError) as caught:
        validate(payload)
    return str(caught.value)


# --- schema files -------------------------------------------------------------------------------------


def test_versions_on_disk():
    assert versions(SHIPMENT) == [1, 2]
    assert versions(WAREHOUSE) == [1]


@pytest.mark.parametrize(("kind", "version"), [(SHIPMENT, 1), (SHIPMENT, 2), (WAREHOUSE, 1)])
def test_every_schema_is_a_valid_draft_07_schema(kind: str, version: int):
    document = schema(kind, version)
    Draft7Validator.check_schema(document)
    assert document["$id"].endswith(f"{kind}-event.v{version}.json")
    assert document["properties"]["schema_version"] == {"const": version}
    name = f"{kind}-event.v{version}.json"
    on_disk = json.loads(resources.files("logistics.contracts").joinpath("schemas", name).read_text())
    assert on_disk == document


def test_status_enum_matches_the_domain():
    for version in versions(SHIPMENT):
        assert set(schema(SHIPMENT, version)["properties"]["status"]["enum"]) == {s.value for s in Status}


def test_schema_of_an_unknown_version_is_a_contract_error():
    with pytest.raises(ContractError, match="unknown schema_version 9 for shipment events"):
        schema(SHIPMENT, 9)


# --- valid events -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "kind"),
    [(SHIPMENT_V1, SHIPMENT), (SHIPMENT_V2, SHIPMENT), (MINIMAL_V1, SHIPMENT), (WAREHOUSE_V1, WAREHOUSE)],
    ids=["shipment-v1", "shipment-v2", "shipment-v1-minimal", "warehouse-v1"],
)
def test_every_schema_version_parses(payload: dict, kind: str):
    assert kind_of(payload) == kind
    assert validate(payload) == kind


def test_v1_shipment_to_domain():
    event = to_domain(SHIPMENT_V1)
    assert event == ShipmentEvent(
        event_id="evt-0001",
        merchant_id="m-1",
        shipment_id="s-1",
        status=Status.IN_TRANSIT,
        occurred_at="2024-05-01T10:00:00.250+02:00",
        event_type="tracking_update",
        sub_status="departed_facility",
        order_ref="order-77",
        carrier="DHL",
        tracking_number="JD0001",
        location=SHIPMENT_V1["location"],
        eta=SHIPMENT_V1["eta"],
        exception=None,
        customer=SHIPMENT_V1["customer"],
        correction_of=None,
    )
    assert event.extra == {}
    assert event.occurred_utc == "2024-05-01T08:00:00.250Z"
    assert event.warehouse_id is None and event.source_event_type is None


def test_v2_shipment_to_domain_carries_the_new_fields_in_extra():
    event = to_domain(SHIPMENT_V2)
    assert event.extra == {"service_level": "express", "parcel": SHIPMENT_V2["parcel"]}
    assert event.status is Status.IN_TRANSIT
    assert event == to_domain(with_(SHIPMENT_V1, event_id="evt-0002"))  # extra does not take part in equality


def test_a_v1_event_still_parses_after_v2_exists():
    assert max(versions(SHIPMENT)) > 1
    assert validate(MINIMAL_V1) == SHIPMENT
    assert to_domain(MINIMAL_V1) == ShipmentEvent(
        event_id="evt-min",
        merchant_id="m-1",
        shipment_id="s-1",
        status=Status.CREATED,
        occurred_at="2024-05-01T08:00:00Z",
    )
    # ... and v1 stays strict: v2's fields are not allowed in it
    message = error_of(with_(SHIPMENT_V1, parcel={"pieces": 1}))
    assert message.startswith("shipment event v1 invalid at (root): Additional properties are not allowed")
    assert "'parcel' was unexpected" in message


def test_warehouse_to_domain():
    assert to_domain(WAREHOUSE_V1) == WarehouseEvent(
        event_id="wh-0001",
        merchant_id="m-1",
        warehouse_id="w-1",
        event_type="picked",
        occurred_at="2024-05-01T07:30:00-04:00",
        items=(StockLine("sku-1", 2), StockLine("sku-2", 1)),
        zone="A",
        bin="A-01-3",
        shipment_id="s-1",
        order_ref="order-77",
        actor="picker-12",
        location={"city": "Newark", "country": "US"},
    )
    bare = to_domain(without(WAREHOUSE_V1, "items", "zone", "bin", "shipment_id", "order_ref", "actor", "location"))
    assert (bare.items, bare.zone, bare.shipment_id, bare.location) == ((), None, None, None)


@pytest.mark.parametrize(
    "event_type",
    [
        "received",
        "putaway",
        "picked",
        "packed",
        "staged",
        "loaded",
        "dispatched",
        "adjusted",
        "cycle_counted",
        "return_received",
    ],
)
def test_every_warehouse_event_type_parses(event_type: str):
    assert validate(with_(WAREHOUSE_V1, event_type=event_type)) == WAREHOUSE


def test_correction_and_exception_events_parse():
    fix = to_domain(with_(MINIMAL_V1, event_type="correction", correction_of="evt-0001", status="DELIVERED"))
    assert fix.is_correction and fix.correction_of == "evt-0001" and fix.status is Status.DELIVERED
    info = {"reason": "address unknown", "responsible_party": "customer", "action_required": "call"}
    exc = to_domain(with_(MINIMAL_V1, status="EXCEPTION", exception=info))
    assert exc.exception == info


@pytest.mark.parametrize(
    "occurred_at",
    ["2024-05-01T10:00Z", "2024-05-01T10:00:00+05:45", "2024-05-01T10:00:00.123456789-09:30", "2024-05-01T23:59:59Z"],
)
def test_occurred_at_forms_that_parse(occurred_at: str):
    assert validate(with_(MINIMAL_V1, occurred_at=occurred_at)) == SHIPMENT


# --- errors name what and where -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "shown"),
    [("teleported", "'teleported'"), (None, "None"), (["picked"], "['picked']"), ({"x": 1}, "{'x': 1}"), (7, "7")],
)
def test_unknown_event_type(event_type, shown):
    assert error_of(with_(MINIMAL_V1, event_type=event_type)) == f"unknown event_type {shown}"


def test_missing_event_type():
    assert error_of(without(MINIMAL_V1, "event_type")) == "unknown event_type None"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (with_(MINIMAL_V1, schema_version=3), "unknown schema_version 3 for shipment events"),
        (with_(MINIMAL_V1, schema_version=0), "unknown schema_version 0 for shipment events"),
        (with_(WAREHOUSE_V1, schema_version=2), "unknown schema_version 2 for warehouse events"),
        (with_(MINIMAL_V1, schema_version="1"), "schema_version must be an integer, got '1'"),
        (with_(MINIMAL_V1, schema_version=1.0), "schema_version must be an integer, got 1.0"),
        (with_(MINIMAL_V1, schema_version=True), "schema_version must be an integer, got True"),
        (without(MINIMAL_V1, "schema_version"), "schema_version must be an integer, got None"),
    ],
)
def test_wrong_schema_version(payload, message):
    assert error_of(payload) == message


def test_a_v2_only_field_with_a_v1_version_and_vice_versa():
    v2_as_v1 = with_(SHIPMENT_V2, schema_version=1)
    assert "'parcel', 'service_level' were unexpected" in error_of(v2_as_v1)
    assert validate(with_(SHIPMENT_V1, schema_version=2)) == SHIPMENT  # v2 only adds optional fields


@pytest.mark.parametrize("field", ["event_id", "merchant_id", "shipment_id", "status", "occurred_at"])
def test_missing_required_shipment_field(field: str):
    assert error_of(without(MINIMAL_V1, field)) == (
        f"shipment event v1 invalid at (root): '{field}' is a required property"
    )


@pytest.mark.parametrize("field", ["event_id", "merchant_id", "warehouse_id", "occurred_at"])
def test_missing_required_warehouse_field(field: str):
    assert error_of(without(WAREHOUSE_V1, field)) == (
        f"warehouse event v1 invalid at (root): '{field}' is a required property"
    )


def test_several_missing_fields_are_counted():
    message = error_of(without(MINIMAL_V1, "merchant_id", "shipment_id", "status"))
    assert message.startswith("shipment event v1 invalid at (root): ")
    assert message.endswith("(+2 more)")


@pytest.mark.parametrize("status", ["TELEPORTED", "in_transit", "", None, 4])
def test_bad_status(status):
    message = error_of(with_(MINIMAL_V1, status=status))
    assert message.startswith("shipment event v1 invalid at status: ")
    assert "is not one of" in message


@pytest.mark.parametrize(
    "occurred_at",
    ["2024-05-01T10:00:00", "2024-05-01 10:00:00Z", "2024-05-01", "yesterday", "2024-05-01T10:00:00+0200"],
)
def test_occurred_at_without_offset_or_malformed(occurred_at: str):
    message = error_of(with_(MINIMAL_V1, occurred_at=occurred_at))
    assert message.startswith("shipment event v1 invalid at occurred_at: ")
    assert "does not match" in message


def test_occurred_at_that_matches_the_pattern_but_is_no_date():
    assert error_of(with_(MINIMAL_V1, occurred_at="2024-02-30T10:00:00Z")) == (
        "occurred_at: day is out of range for month"
    )
    assert error_of(with_(WAREHOUSE_V1, occurred_at="0000-05-01T10:00:00Z")) == "occurred_at: year 0 is out of range"


@pytest.mark.parametrize("occurred_at", ["2024-05-01T25:00:00Z", "2024-13-01T10:00Z", "2024-05-01T10:00:60Z",
                                         "2024-05-01T10:00+24:00", "2024-05-01T10:00Z\n", "٢٠٢٤-05-01T10:00Z"])
def test_the_pattern_admits_only_real_fields(occurred_at: str):
    """Months 01-12, hours 00-23, offsets up to ±23:59; ``$`` is the very end and ``[0-9]`` is ASCII."""
    assert "does not match" in error_of(with_(WAREHOUSE_V1, occurred_at=occurred_at))


@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:00+00:01", "9999-12-31T23:59-00:01"])
def test_an_offset_that_leaves_years_1_to_9999_in_utc_is_no_date(occurred_at: str):
    assert error_of(with_(MINIMAL_V1, occurred_at=occurred_at)).startswith("occurred_at: ")


@pytest.mark.parametrize("occurred_at,utc", [
    ("0001-01-01T00:00Z", "0001-01-01T00:00:00.000Z"),  # padded: every UTC key has the same width
    ("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999Z"),
    ("2024-05-01T00:30+23:59", "2024-04-30T00:31:00.000Z"),
])
def test_the_edges_that_are_dates(occurred_at: str, utc: str):
    assert to_domain(with_(MINIMAL_V1, occurred_at=occurred_at)).occurred_utc == utc


def test_eta_date_must_be_a_calendar_date():
    eta = {"date": "2024-02-30"}
    assert error_of(with_(MINIMAL_V1, eta=eta)) == "eta/date: day is out of range for month"
    assert "does not match" in error_of(with_(MINIMAL_V1, eta={"date": "2024-13-01"}))


@pytest.mark.parametrize("field", ["merchant_id", "shipment_id", "event_id"])
@pytest.mark.parametrize("value", ["a#b", "a" * 129, "s1\n", "-s1", "s 1", "\uff531", ""])
def test_ids_that_could_break_a_key_are_refused(field: str, value: str):
    assert f"invalid at {field}" in error_of(with_(MINIMAL_V1, **{field: value}))


def test_ids_up_to_128_characters_are_ids():
    assert is_id("a" * 128) and not is_id("a" * 129)
    assert to_domain(with_(MINIMAL_V1, shipment_id="S/2024:a.b-c_" + "9" * 115)).shipment_id.startswith("S/")


def parse_error(value: bytes) -> str:
    with pytest.raises(ContractError) as info:
        parse(value)
    return str(info.value)


@pytest.mark.parametrize("value,message", [
    (b"NaN", "NaN is not a number JSON allows"),
    (b'{"lat": -Infinity}', "-Infinity is not a number JSON allows"),
    (b"1e-131", "out of the range DynamoDB can store"),
    (b"1e126", "out of the range DynamoDB can store"),
    (b"9.99999999999999999999e125", "out of the range"),  # fine as text, 1e126 as a float
    (b"1e400", "out of the range"),
    (b"1." + b"1" * 38, "more than 38 significant digits"),
    (b"1" * 39, "more than 38 digits"),
    (b"1" * 5000, "more than 38 digits"),  # not Python's 4,300-digit ValueError
    (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
    (b'["\\ud800"]', "lone surrogate"),
    (b'{"\\udfff": 1}', "lone surrogate"),
    (b"[" * 33 + b"]" * 33, "nested more than 32 levels deep"),
    (b"[" * 100_000, "nested more than 32 levels deep"),  # not a RecursionError
    (b"\xff\xfe", "not UTF-8"),
    (b"{", "value is not JSON"),
])
def test_parse_refuses_what_the_store_cannot_hold(value: bytes, message: str):
    assert message in parse_error(value)


def test_parse_reads_what_the_store_can_hold():
    assert parse(b'[1e125, 1e-130, -0.0, 0, 12345678901234567890123456789012345678, "\\ud83d\\ude00", "\\u0000"]') == [
        1e125, 1e-130, -0.0, 0, 12345678901234567890123456789012345678, "\U0001f600", "\x00"]
    assert parse(b"[" * 32 + b"]" * 32) is not None


def test_a_long_input_makes_a_short_reason():
    message = error_of(with_(MINIMAL_V1, sub_status="x" * 60_000))
    assert len(message) < 600


def test_additional_property():
    assert error_of(with_(MINIMAL_V1, colour="blue")) == (
        "shipment event v1 invalid at (root): Additional properties are not allowed ('colour' was unexpected)"
    )
    assert error_of(with_(WAREHOUSE_V1, colour="blue")) == (
        "warehouse event v1 invalid at (root): Additional properties are not allowed ('colour' was unexpected)"
    )


def test_exception_status_needs_its_exception_info():
    assert error_of(with_(MINIMAL_V1, status="EXCEPTION")) == (
        "shipment event v1 invalid at (root): 'exception' is a required property"
    )
    assert error_of(with_(SHIPMENT_V2, status="EXCEPTION")) == (  # present but null
        "shipment event v2 invalid at exception: None is not of type 'object'"
    )
    message = error_of(with_(MINIMAL_V1, status="EXCEPTION", exception={"responsible_party": "carrier"}))
    assert message == "shipment event v1 invalid at exception: 'reason' is a required property"
    message = error_of(with_(MINIMAL_V1, status="EXCEPTION", exception={"reason": "x", "responsible_party": "god"}))
    assert message.startswith("shipment event v1 invalid at exception/responsible_party: 'god' is not one of")


def test_correction_needs_correction_of():
    correction = with_(MINIMAL_V1, event_type="correction")
    assert error_of(correction) == "shipment event v1 invalid at (root): 'correction_of' is a required property"
    assert error_of(with_(correction, correction_of=None)) == (
        "shipment event v1 invalid at correction_of: None is not of type 'string'"
    )
    assert error_of(with_(correction, correction_of="")).startswith("shipment event v1 invalid at correction_of: ")


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        (with_(WAREHOUSE_V1, items=[{"sku": "a", "qty": "2"}]), "items/0/qty"),
        (with_(WAREHOUSE_V1, items=[{"sku": "a", "qty": 1}, {"qty": 1}]), "items/1"),
        (with_(MINIMAL_V1, eta={"date": "tomorrow"}), "eta/date"),
        (with_(MINIMAL_V1, customer={"contact_ref": "c", "channels": ["pigeon"]}), "customer/channels/0"),
        (with_(MINIMAL_V1, event_id="has space"), "event_id"),
        (with_(MINIMAL_V1, location={"city": "Berlin", "country": "de"}), "location"),
        (with_(SHIPMENT_V2, parcel={"pieces": 0}), "parcel/pieces"),
    ],
)
def test_nested_errors_name_their_path(payload, where):
    assert f" invalid at {where}: " in error_of(payload)


@pytest.mark.parametrize("payload", [[], "event", 42, None])
def test_not_an_object(payload):
    assert error_of(payload) == f"event must be a JSON object, got {type(payload).__name__}"


def test_to_domain_raises_the_same_errors():
    with pytest.raises(ContractError, match="unknown event_type 'teleported'"):
        to_domain(with_(MINIMAL_V1, event_type="teleported"))
    with pytest.raises(ContractError, match=r"invalid at \(root\): 'status' is a required property"):
        to_domain(without(MINIMAL_V1, "status"))


def test_contract_error_is_a_value_error():
    assert issubclass(ContractError, ValueError)
