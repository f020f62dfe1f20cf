"""Lazily built, injectable dependencies: settings, the DynamoDB client, the readers, the Kafka publisher.

Built on first use (not at import) so tests can set the environment first; ``override`` swaps any of
them (a capturing publisher, a fixed clock) and ``reset`` drops them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from chalicelib.settings import Settings

_built: dict[str, Any] = {}
_overrides: dict[str, Any] = {}


def _now() -> datetime:
    return datetime.now(UTC)


def _get(name: str, factory: Callable[[], Any]) -> Any:
    if name in _overrides:
        return _overrides[name]
    if name not in _built:
        _built[name] = factory()
    return _built[name]


def override(**values: Any) -> None:
    """Replace dependencies by name: settings, dynamodb, publisher, clock, reader, merchants, throttle."""
    _overrides.update(values)


def reset() -> None:
    _built.clear()
    _overrides.clear()


@contextmanager
def overridden(**values: Any) -> Iterator[None]:
    """``override`` for the duration of a ``with`` block."""
    previous = {k: _overrides[k] for k in values if k in _overrides}
    _overrides.update(values)
    try:
        yield
    finally:
        for name in values:
            _overrides.pop(name, None)
        _overrides.update(previous)


def settings() -> Settings:
    return _get("settings", Settings.from_env)


def clock() -> Callable[[], datetime]:
    return _get("clock", lambda: _now)


def dynamodb() -> Any:
    def build() -> Any:
        from logistics.bootstrap import client

        return client("dynamodb")

    return _get("dynamodb", build)


def reader() -> Any:
    def build() -> Any:
        from chalicelib.queries import Reader

        return Reader(dynamodb(), settings())

    return _get("reader", build)


def merchants() -> Any:
    def build() -> Any:
        from chalicelib.auth import MerchantKeys

        return MerchantKeys(dynamodb(), settings().merchants_table)

    return _get("merchants", build)


def throttle() -> Any:
    """Failed API-key attempts per client address (``throttle.FailureThrottle``)."""
    def build() -> Any:
        from chalicelib.throttle import FailureThrottle

        return FailureThrottle()

    return _get("throttle", build)


def publisher() -> Any:
    def build() -> Any:
        from chalicelib.replay import publisher_from_env

        return publisher_from_env(settings().kafka_bootstrap_servers)

    return _get("publisher", build)
