"""bench.cost.capacity against the rules and worked examples of AWS's DynamoDB documentation.

Sources (developer guide unless said otherwise):
* "DynamoDB item sizes and formats" (CapacityUnitCalculations): the size of each data type;
* "DynamoDB read and write operations" (read-write-operations): the 3,500-byte / 8 KB reads, GetItem of
  3.5 KB and 10 KB, BatchGetItem of 1.5 KB + 6.5 KB = 12 KB, Query summed then rounded, BatchWriteItem of
  500 bytes + 3.5 KB = 5 KB, the larger of before/after for PutItem/UpdateItem, failed conditional writes;
* the on-demand pricing page: 8 KB read = 2 / 1 / 4 units (strong / eventual / transactional), 3 KB
  write = 3 units, 6 transactional;
* "Provisioned throughput considerations for global secondary indexes": put / delete / delete+put / one
  write for projected attributes / nothing when the item is not in the index.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from bench.cost.capacity import (
    IndexSchema,
    TableSchema,
    attribute_size,
    batch_get_units,
    get_units,
    item_size,
    number_size,
    query_units,
    read_units,
    value_size,
    write_cost,
    write_units,
)

KB = 1024


def blob(name: str, total: int) -> dict[str, Any]:
    """An item of exactly ``total`` bytes: one string attribute ``name`` padded to size."""
    return {name: {"S": "x" * (total - len(name))}}


# -- item sizes --------------------------------------------------------------------------------------


def test_string_is_name_plus_utf8_bytes() -> None:
    assert attribute_size("name", {"S": "abc"}) == 4 + 3
    assert attribute_size("città", {"S": "naïve"}) == 6 + 6  # à and ï are 2 bytes each in UTF-8
    assert attribute_size("k", {"S": "€"}) == 1 + 3


@pytest.mark.parametrize(("number", "size"), [
    ("1", 2),            # 1 significant digit -> 1 byte + 1
    ("12", 2),           # 2 digits -> 1 byte + 1
    ("123", 3),          # 3 digits -> 2 bytes + 1
    ("1234", 3),
    ("12345", 4),
    ("-12345", 4),       # the sign is not a digit
    ("1000", 2),         # trailing zeroes trimmed
    ("0.0012", 2),       # leading zeroes trimmed
    ("123.4500", 4),     # 12345
    ("1.5E+3", 2),       # exponent notation: 15
    ("0", 1),            # no significant digit
    ("9" * 38, 20),      # 38 digits, DynamoDB's maximum precision
])
def test_number_is_one_byte_per_two_significant_digits_plus_one(number: str, size: int) -> None:
    assert number_size(number) == size
    assert value_size({"N": number}) == size


def test_binary_counts_raw_bytes_not_base64() -> None:
    raw = b"\x00\x01\x02\x03\x04"
    wire = base64.b64encode(raw).decode()  # 8 characters on the wire
    assert attribute_size("bin", {"B": wire}) == 3 + 5
    assert attribute_size("bin", {"B": raw}) == 3 + 5  # as a boto3 client returns it


def test_null_and_boolean_are_one_byte() -> None:
    assert attribute_size("flag", {"BOOL": True}) == 5
    assert attribute_size("gone", {"NULL": True}) == 5


def test_list_and_map_overhead() -> None:
    # 3 bytes for the container, 1 per element, plus the elements (map entries include their names).
    assert attribute_size("l", {"L": []}) == 1 + 3
    assert attribute_size("m", {"M": {}}) == 1 + 3
    assert attribute_size("l", {"L": [{"S": "ab"}, {"N": "7"}]}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert attribute_size("m", {"M": {"a": {"S": "xy"}, "bb": {"BOOL": False}}}) == 1 + 3 + (1 + 1 + 2) + (1 + 2 + 1)
    nested = {"M": {"in": {"L": [{"M": {}}]}}}
    assert value_size(nested) == 3 + (1 + 2 + (3 + (1 + 3)))


def test_sets_are_the_sum_of_their_members() -> None:
    assert value_size({"SS": ["a", "bc", "déf"]}) == 1 + 2 + 4
    assert value_size({"NS": ["1", "123", "12345"]}) == 2 + 3 + 4
    assert value_size({"BS": [base64.b64encode(b"abc").decode(), b"de"]}) == 3 + 2


def test_item_size_sums_attributes() -> None:
    item = {"merchant_id": {"S": "m-1"}, "version": {"N": "12"}, "active": {"BOOL": True}}
    assert item_size(item) == (11 + 3) + (7 + 2) + (6 + 1)
    assert item_size(None) == 0
    assert item_size(blob("pad", 1500)) == 1500


def test_unknown_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown"):
        value_size({"X": 1})


# -- reads -------------------------------------------------------------------------------------------


def test_read_unit_examples() -> None:
    # "reading a 3,500-byte item consumes the same throughput as reading a 4 KB item"
    assert read_units(3500, consistent=True) == 1
    # pricing page: an 8 KB item is 2 units strongly consistent, 1 eventually, 4 transactional
    assert read_units(8 * KB, consistent=True) == 2
    assert read_units(8 * KB, consistent=False) == 1
    assert read_units(8 * KB, transactional=True) == 4
    assert read_units(4 * KB + 1, consistent=True) == 2


def test_get_item_rounds_up_to_4_kb() -> None:
    # "If you read a 3.5 KB item, DynamoDB rounds the item size to 4 KB. If you read a 10 KB item, ... 12 KB."
    assert get_units(blob("a", 3584), consistent=True) == 1
    assert get_units(blob("a", 10 * KB), consistent=True) == 3
    assert get_units(blob("a", 10 * KB)) == 1.5  # eventually consistent is the default: half
    assert get_units(None, consistent=True) == 1  # a missing item still costs the minimum


def test_batch_get_item_rounds_each_item() -> None:
    # "if BatchGetItem reads a 1.5 KB item and a 6.5 KB item, DynamoDB calculates the size as 12 KB
    # (4 KB + 8 KB), not 8 KB (1.5 KB + 6.5 KB)"
    items = [blob("a", 1536), blob("b", 6656)]
    assert batch_get_units(items, consistent=True) == 3
    assert batch_get_units(items) == 1.5
    assert batch_get_units(items, transactional=True) == 6  # TransactGetItems: double


def test_query_sums_items_then_rounds_once() -> None:
    # Query: "the sum of all items read, rounded up to the next 4 KB boundary" - 10 items of 4,180 bytes
    # (40.8 KB) are read as 44 KB: 11 units, where 10 GetItems would cost 20.
    items = [blob("a", 4180)] * 10
    assert query_units(items, consistent=True) == 11
    assert query_units(items) == 5.5
    assert batch_get_units(items, consistent=True) == 20
    assert query_units([blob("a", 100)] * 40, consistent=True) == 1  # 40 small items in one unit
    assert query_units([], consistent=True) == 1  # an empty page still costs the minimum


# -- writes on the table -----------------------------------------------------------------------------

PLAIN = TableSchema("t", ("pk",))


def item(pk: str, **attributes: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, **{k: {"S": v} for k, v in attributes.items()}}


def sized(pk: str, total: int, **attributes: str) -> dict[str, Any]:
    """``item(pk, **attributes)`` padded with a ``pad`` attribute to exactly ``total`` bytes."""
    base = item(pk, **attributes)
    pad = total - item_size(base) - len("pad")
    assert pad > 0
    return {**base, "pad": {"S": "p" * pad}}


def test_write_unit_examples() -> None:
    assert write_units(1) == 1
    assert write_units(KB) == 1
    assert write_units(KB + 1) == 2
    assert write_units(0) == 1  # any write costs at least one unit
    # pricing page: a 3 KB item is 3 write request units, 6 in a transaction
    assert write_units(3 * KB) == 3
    assert write_units(3 * KB, transactional=True) == 6


def test_put_update_delete_use_the_larger_of_before_and_after() -> None:
    small, large = sized("a", 500), sized("a", 2500)
    assert write_cost(PLAIN, None, small).total == 1  # new item
    assert write_cost(PLAIN, small, large).total == 3  # grows: the new size
    assert write_cost(PLAIN, large, small).total == 3  # shrinks: still the old, larger size
    assert write_cost(PLAIN, large, None).total == 3  # delete: the deleted item's size
    assert write_cost(PLAIN, None, None).total == 1  # delete of a missing item: the minimum


def test_batch_write_counts_each_item() -> None:
    # "if BatchWriteItem writes a 500-byte item and a 3.5 KB item, DynamoDB calculates the size as 5 KB
    # (1 KB + 4 KB), not 4 KB (500 bytes + 3.5 KB)"
    assert sum(write_cost(PLAIN, None, i).total for i in (sized("a", 500), sized("b", 3584))) == 5


def test_failed_condition_costs_the_existing_item_and_no_index() -> None:
    table = TableSchema("t", ("pk",), (IndexSchema("g", ("gk",)),))
    existing = sized("a", 2100, gk="x")
    cost = write_cost(table, existing, existing, succeeded=False)
    assert (cost.table_units, cost.index_units) == (3, {})
    assert write_cost(table, None, None, succeeded=False).total == 1


def test_transactional_doubles_the_table_write() -> None:
    table = TableSchema("t", ("pk",), (IndexSchema("g", ("gk",)),))
    cost = write_cost(table, None, sized("a", 1500, gk="x"), transactional=True)
    assert cost.table_units == 4
    assert cost.index_units == {"g": 2}


# -- writes on global secondary indexes --------------------------------------------------------------

SHOP = TableSchema("orders", ("pk", "sk"), (
    IndexSchema("all", ("status", "updated"), "ALL"),
    IndexSchema("keys", ("customer",), "KEYS_ONLY"),
    IndexSchema("some", ("customer", "updated"), "INCLUDE", ("total",)),
    IndexSchema("sparse", ("flagged",), "ALL"),
))


def order(**attributes: str) -> dict[str, Any]:
    return {"pk": {"S": "p1"}, "sk": {"S": "s1"}, **{k: {"S": v} for k, v in attributes.items()}}


def test_projection_of_each_type() -> None:
    o = order(status="new", updated="t1", customer="c", total="9", note="long" * 10)
    all_, keys, some, sparse = SHOP.indexes
    assert SHOP.projected(o, all_) == o
    assert SHOP.projected(o, keys) == {k: o[k] for k in ("pk", "sk", "customer")}
    assert SHOP.projected(o, some) == {k: o[k] for k in ("pk", "sk", "customer", "updated", "total")}
    assert SHOP.projected(o, sparse) is None  # no "flagged": not in the sparse index


def test_new_item_is_put_into_every_index_it_belongs_to() -> None:
    o = {**order(status="new", updated="t1", customer="c", total="9"), "pad": {"S": "p" * 1700}}
    size = item_size(o)
    assert 2 * KB > size > KB
    cost = write_cost(SHOP, None, o)
    assert cost.table_units == 2
    # ALL: the whole item (2 units); KEYS_ONLY / INCLUDE: a few bytes (1 unit each); sparse: absent.
    assert cost.index_units == {"all": 2, "keys": 1, "some": 1}
    assert cost.index_writes == {"all": 1, "keys": 1, "some": 1}
    assert cost.total == 6


def test_update_of_a_non_projected_attribute_writes_no_keys_only_index() -> None:
    before = order(status="new", updated="t1", customer="c", total="9", note="a")
    after = {**before, "note": {"S": "b"}}
    cost = write_cost(SHOP, before, after)
    assert cost.index_units == {"all": 1}  # ALL projects "note"; KEYS_ONLY and INCLUDE do not
    assert cost.table_units == 1


def test_update_of_an_included_attribute_is_one_write() -> None:
    before = order(status="new", updated="t1", customer="c", total="9")
    after = {**before, "total": {"S": "10"}}
    cost = write_cost(SHOP, before, after)
    assert cost.index_writes == {"all": 1, "some": 1}


def test_index_key_change_is_a_delete_and_a_put() -> None:
    before = order(status="new", updated="t1", customer="c", total="9")
    after = {**before, "status": {"S": "shipped"}, "updated": {"S": "t2"}}
    cost = write_cost(SHOP, before, after)
    assert cost.index_writes == {"all": 2, "some": 2}  # "some" is keyed on updated too
    assert cost.index_units == {"all": 2, "some": 2}
    assert "keys" not in cost.index_units  # customer unchanged, nothing it projects changed


def test_index_key_change_costs_old_and_new_sizes() -> None:
    before = {**order(status="new", updated="t1"), "pad": {"S": "p" * 1500}}  # ~1.5 KB: 2 units
    after = {**order(status="done", updated="t2"), "pad": {"S": "p" * 100}}  # small: 1 unit
    assert write_cost(SHOP, before, after).index_units["all"] == 2 + 1


def test_sparse_index_entered_and_left() -> None:
    plain = order(status="new", updated="t1")
    flagged = {**plain, "flagged": {"S": "yes"}}
    assert write_cost(SHOP, plain, flagged).index_writes.get("sparse") == 1  # enters: a put
    assert write_cost(SHOP, flagged, plain).index_writes.get("sparse") == 1  # leaves: a delete
    assert "sparse" not in write_cost(SHOP, plain, {**plain, "x": {"S": "1"}}).index_writes  # never in it


def test_delete_removes_the_item_from_each_index_it_was_in() -> None:
    o = order(status="new", updated="t1", customer="c")
    cost = write_cost(SHOP, o, None)
    assert cost.index_writes == {"all": 1, "keys": 1, "some": 1}


def test_identical_overwrite_writes_no_index() -> None:
    o = order(status="new", updated="t1", customer="c")
    cost = write_cost(SHOP, o, dict(o))
    assert (cost.table_units, cost.index_units) == (1, {})


def test_schema_from_describe_table() -> None:
    description = {
        "TableName": "t",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {"IndexName": "a", "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n"]}},
            {"IndexName": "b", "KeySchema": [{"AttributeName": "y", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}},
        ],
        "LocalSecondaryIndexes": [
            {"IndexName": "c", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                             {"AttributeName": "z", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
        ],
    }
    schema = TableSchema.from_description(description)
    assert schema.key_attributes == ("pk", "sk")
    assert schema.indexes == (IndexSchema("a", ("x",), "INCLUDE", ("n",)), IndexSchema("b", ("y",), "KEYS_ONLY"),
                              IndexSchema("c", ("pk", "z"), "ALL"))
    assert schema.key_of({"pk": {"S": "1"}, "sk": {"S": "2"}, "x": {"S": "3"}}) == {"pk": {"S": "1"},
                                                                                  "sk": {"S": "2"}}
