"""DynamoDB's billing rules: item sizes, and the read and write request units an operation consumes.

Pure and stdlib-only, so the rules can be unit-tested against the examples of AWS's documentation:

* item sizes: "DynamoDB item sizes and formats" (CapacityUnitCalculations);
* reads and writes: "DynamoDB read and write operations" (read-write-operations) and the on-demand
  pricing page (read request unit 4 KB, eventually consistent half, transactional double; write request
  unit 1 KB, transactional double);
* global secondary indexes: "Provisioned throughput considerations for global secondary indexes"
  (a put into the index when an item enters it, a delete when it leaves, a delete plus a put when an index
  key changes, one write when only projected attributes change, nothing when the item is in the index
  neither before nor after).

Items are DynamoDB-JSON attribute maps (``{"name": {"S": "x"}}``), either as they travel on the wire
(binary as base64 text) or as a low-level boto3 client returns them (binary as ``bytes``).

Approximations, all documented by AWS as such or chosen here: a number's size is the documented
"1 byte per two significant digits + 1" (the real encoding pairs digits around the decimal point, which can
differ by a byte); the 100 bytes of per-item overhead count towards storage only, not towards request units;
index writes inside a transaction are billed as standard writes (only the table's own writes are
transactional).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "READ_UNIT_BYTES",
    "WRITE_UNIT_BYTES",
    "IndexSchema",
    "TableSchema",
    "WriteCost",
    "attribute_size",
    "batch_get_units",
    "get_units",
    "item_size",
    "number_size",
    "query_units",
    "read_units",
    "value_size",
    "write_cost",
    "write_units",
]

WRITE_UNIT_BYTES = 1024  # one write request unit: a standard write of up to 1 KB
READ_UNIT_BYTES = 4096  # one read request unit: a strongly consistent read of up to 4 KB

Item = Mapping[str, Mapping[str, Any]]


# -- sizes -------------------------------------------------------------------------------------------


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def number_size(text: str) -> int:
    """Bytes of a number: 1 per two significant digits (leading and trailing zeroes trimmed), plus 1.

    ``text`` is DynamoDB's wire form of a number ("-12.50", "1E+3"). Zero has no significant digit: 1 byte.
    """
    mantissa = text.strip().lstrip("+-").lower().split("e", 1)[0]
    digits = mantissa.replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def _binary_size(value: Any) -> int:
    # The raw byte length counts, not the base64 text that carries it on the wire.
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    return len(base64.b64decode(value))


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value (without its name): ``{"S": ...}``, ``{"N": ...}``, ``{"M": {...}}``..."""
    ((kind, data),) = value.items()
    if kind == "S":
        return _utf8(data)
    if kind == "N":
        return number_size(data)
    if kind == "B":
        return _binary_size(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(_utf8(s) for s in data)
    if kind == "NS":
        return sum(number_size(n) for n in data)
    if kind == "BS":
        return sum(_binary_size(b) for b in data)
    if kind == "L":
        # 3 bytes for the list, 1 per element, plus the elements' own sizes.
        return 3 + sum(1 + value_size(v) for v in data)
    if kind == "M":
        # A map's entries are sized like attributes (name + value), plus 1 each and 3 for the map.
        return 3 + sum(1 + attribute_size(k, v) for k, v in data.items())
    raise ValueError(f"unknown attribute value type {kind!r}")


def attribute_size(name: str, value: Mapping[str, Any]) -> int:
    """UTF-8 bytes of the attribute name plus the value's size."""
    return _utf8(name) + value_size(value)


def item_size(item: Item | None) -> int:
    """Bytes DynamoDB bills an item for: the sum of its attributes' sizes (0 for no item)."""
    return sum(attribute_size(k, v) for k, v in (item or {}).items())


# -- units -------------------------------------------------------------------------------------------


def write_units(size: int, *, transactional: bool = False) -> int:
    """Write request units for writing ``size`` bytes: 1 per KB started (at least 1), doubled in a transaction."""
    units = max(1, math.ceil(size / WRITE_UNIT_BYTES))
    return units * 2 if transactional else units


def read_units(size: int, *, consistent: bool = False, transactional: bool = False) -> float:
    """Read request units for reading ``size`` bytes in one go: 1 per 4 KB started (at least 1) when strongly
    consistent, half that when eventually consistent (DynamoDB's default), double in a transaction."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    if transactional:
        return float(units * 2)
    return float(units) if consistent else units / 2


def get_units(item: Item | None, *, consistent: bool = False, transactional: bool = False) -> float:
    """GetItem: the item's size rounded up to 4 KB (a missing item still costs the minimum)."""
    return read_units(item_size(item), consistent=consistent, transactional=transactional)


def batch_get_units(items: Iterable[Item | None], *, consistent: bool = False,
                    transactional: bool = False) -> float:
    """BatchGetItem / TransactGetItems: each item is a GetItem of its own, rounded up separately."""
    return sum(get_units(i, consistent=consistent, transactional=transactional) for i in items)


def query_units(items: Iterable[Item], *, consistent: bool = False) -> float:
    """Query / Scan (one call, one page): the *sum* of the sizes of the items read, rounded up once."""
    return read_units(sum(item_size(i) for i in items), consistent=consistent)


# -- schemas -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexSchema:
    """A global (or local) secondary index: its key attributes and what it projects."""

    name: str
    key_attributes: tuple[str, ...]
    projection: str = "ALL"  # ALL | KEYS_ONLY | INCLUDE
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSchema:
    """A table's primary key attributes and its secondary indexes."""

    name: str
    key_attributes: tuple[str, ...]
    indexes: tuple[IndexSchema, ...] = ()

    @classmethod
    def from_description(cls, table: Mapping[str, Any]) -> TableSchema:
        """From DescribeTable's ``Table`` (or a CreateTable request / a template's table properties)."""
        indexes = []
        for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            for index in table.get(kind) or []:
                projection = index.get("Projection") or {}
                indexes.append(IndexSchema(
                    name=index["IndexName"],
                    key_attributes=tuple(k["AttributeName"] for k in index["KeySchema"]),
                    projection=projection.get("ProjectionType", "ALL"),
                    non_key_attributes=tuple(projection.get("NonKeyAttributes") or ())))
        return cls(name=table["TableName"], key_attributes=tuple(k["AttributeName"] for k in table["KeySchema"]),
                   indexes=tuple(indexes))

    def key_of(self, item: Item) -> dict[str, Any]:
        """The primary key of ``item``."""
        return {k: item[k] for k in self.key_attributes}

    def projected(self, item: Item | None, index: IndexSchema) -> dict[str, Any] | None:
        """What ``index`` holds for ``item``; None when the item is not in the index (sparse: an index key
        attribute is missing)."""
        if item is None or any(k not in item for k in index.key_attributes):
            return None
        if index.projection == "ALL":
            return dict(item)
        wanted = {*self.key_attributes, *index.key_attributes}
        if index.projection == "INCLUDE":
            wanted.update(index.non_key_attributes)
        return {k: v for k, v in item.items() if k in wanted}


# -- writes ------------------------------------------------------------------------------------------


@dataclass
class WriteCost:
    """Write request units one item write consumes, on the table and on each index it touched."""

    table_units: int = 0
    index_units: dict[str, int] = field(default_factory=dict)
    index_writes: dict[str, int] = field(default_factory=dict)  # index entries put or deleted

    @property
    def total(self) -> int:
        """Table plus indexes."""
        return self.table_units + sum(self.index_units.values())


def _index_cost(table: TableSchema, index: IndexSchema, old: Item | None, new: Item | None) -> tuple[int, int]:
    """(units, entry writes) for one index when the table's item goes from ``old`` to ``new``."""
    before, after = table.projected(old, index), table.projected(new, index)
    if before is None and after is None:
        return 0, 0  # in the index neither before nor after: nothing to maintain
    if before is None:
        return write_units(item_size(after)), 1  # the item enters the index: a put
    if after is None:
        return write_units(item_size(before)), 1  # it leaves (deleted, or an index key removed): a delete
    if any(before[k] != after[k] for k in index.key_attributes):
        # A new index key is another index item: delete the old entry, put the new one.
        return write_units(item_size(before)) + write_units(item_size(after)), 2
    if before == after:
        return 0, 0  # nothing the index projects changed
    return write_units(max(item_size(before), item_size(after))), 1  # projected attributes updated in place


def write_cost(table: TableSchema, old: Item | None, new: Item | None, *, transactional: bool = False,
               succeeded: bool = True) -> WriteCost:
    """What writing one item costs: ``old`` is the item before (None: it did not exist), ``new`` after
    (None: deleted).

    PutItem, UpdateItem and DeleteItem consume the larger of the item's sizes before and after, 1 KB
    rounded up, at least 1 unit. A write whose condition failed (``succeeded=False``) still consumes the
    existing item's size (at least 1) on the table, and nothing on the indexes.
    """
    if not succeeded:
        return WriteCost(table_units=write_units(item_size(old), transactional=transactional))
    cost = WriteCost(table_units=write_units(max(item_size(old), item_size(new)), transactional=transactional))
    for index in table.indexes:
        units, writes = _index_cost(table, index, old, new)
        if writes:
            cost.index_units[index.name] = units
            cost.index_writes[index.name] = writes
    return cost
