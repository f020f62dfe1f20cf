"""Make moto's DynamoDB item writes O(attributes) instead of O(attributes²).

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
    """Patch moto's ``LimitedSizeDict`` in this process (idempotent)."""
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

    limited.__setitem__ = setitem
    limited.__delitem__ = delitem
    limited.pop = pop
    limited._logistics_fast = True
