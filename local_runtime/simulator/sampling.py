"""Weighted random choice, deterministic for a given generator state."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any


def weighted(rng: random.Random, choices: Sequence[tuple[Any, float]] | Mapping[Any, float]) -> Any:
    """One weighted choice; deterministic for a given generator state (insertion order matters)."""
    items = list(choices.items()) if isinstance(choices, Mapping) else list(choices)
    total = sum(w for _, w in items)
    roll = rng.random() * total
    for value, w in items:
        roll -= w
        if roll < 0:
            return value
    return items[-1][0]
