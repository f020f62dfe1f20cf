"""Speed-ups for moto's DynamoDB that keep its behaviour: what the emulator answers stays the same, only
how long it takes changes.

1. Item writes in O(attributes) instead of O(attributes²) (the 400 KB check).
2. A Query on a table's own key reads that partition instead of sorting the whole table.

On 1:
moto checks the 400 KB item limit by re-measuring the whole item every time one attribute is set
(``LimitedSizeDict.__setitem__``), nested maps included, so writing an item of 35 attributes measures
it ~35 times. Here each attribute's size is measured once, when it is set, and the running total is
checked against the same limit. The limit check stays (the same exception, at the same size); only its
cost changes. A nested value mutated in place afterwards is not re-measured until it is set again,
which only matters for items within a few bytes of 400 KB.
"""

from __future__ import annotations

from typing import Any

_LIMIT = 405000  # moto's own threshold (between AWS's documented 400 KB and the measured ~409 KB)


def install() -> None:
    """Patch moto in this process (idempotent)."""
    _linear_item_size()
    _partition_query()


def _partition_query() -> None:
    """moto answers every Query by sorting *all* items of the table, then keeping the partition's.

    For a Query on the table's own hash key, hand it only that partition (in range-key order), so the
    cost follows the partition, not the table. Index Queries are left as they are.
    """
    import inspect
    import threading

    from moto.dynamodb.models.table import Table

    if getattr(Table, "_logistics_fast_query", False):
        return
    local = threading.local()
    query, all_items = Table.query, Table.all_items
    signature = inspect.signature(query)

    def partition_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        if bound.arguments.get("index_name") or bound.arguments.get("hash_key") is None or not self.range_key_attr:
            return query(self, *args, **kwargs)
        local.only = (self, bound.arguments["hash_key"])
        try:
            return query(self, *args, **kwargs)
        finally:
            local.only = None

    def partition_items(self: Any) -> Any:
        only = getattr(local, "only", None)
        if only is not None and only[0] is self:
            return sorted(self.items.get(only[1], {}).values(), key=lambda item: item.range_key)
        return all_items(self)

    # setattr: mypy rightly refuses assigning to methods; patching them is the point here.
    setattr(Table, "query", partition_query)  # noqa: B010
    setattr(Table, "all_items", partition_items)  # noqa: B010
    setattr(Table, "_logistics_fast_query", True)  # noqa: B010


def _linear_item_size() -> None:
    """Patch moto's ``LimitedSizeDict`` so an item is measured once per attribute set."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.utilities import bytesize

    limited = dynamo_type.LimitedSizeDict
    if getattr(limited, "_logistics_fast", False):
        return

    def measure(value: Any) -> int:
        return value.size() if type(value) is dynamo_type.DynamoType else bytesize(str(value))

    def sizes(self: Any) -> dict[str, int]:
        cached = self.__dict__.get("_sizes")
        if cached is None or len(cached) != len(self):  # filled through dict methods: measure once
            cached = {k: bytesize(k) + measure(v) for k, v in dict.items(self)}
            self.__dict__["_sizes"] = cached
        return cached

    def setitem(self: Any, key: str, value: Any) -> None:
        known = sizes(self)
        new_size = bytesize(key) + measure(value)
        if sum(known.values()) - known.get(key, 0) + new_size > _LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self, key, value)
        known[key] = new_size

    def delitem(self: Any, key: str) -> None:
        dict.__delitem__(self, key)
        self.__dict__.get("_sizes", {}).pop(key, None)

    def pop(self: Any, key: str, *default: Any) -> Any:
        self.__dict__.get("_sizes", {}).pop(key, None)
        return dict.pop(self, key, *default)

    setattr(limited, "__setitem__", setitem)  # noqa: B010
    setattr(limited, "__delitem__", delitem)  # noqa: B010
    setattr(limited, "pop", pop)  # noqa: B010
    setattr(limited, "_logistics_fast", True)  # noqa: B010
