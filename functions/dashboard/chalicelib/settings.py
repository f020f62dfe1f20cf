"""Configuration from environment variables only (template.yaml / .chalice/config.json declare them)."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass

log = logging.getLogger(__name__)

AUTH_MODES = ("api_key", "jwt")
_generated_secret: bytes | None = None


def _session_secret() -> bytes:
    """DASHBOARD_SESSION_SECRET, or a per-process random one (fine locally; set it on AWS, where
    several Lambda instances must agree on sessions and cursors)."""
    global _generated_secret
    value = os.environ.get("DASHBOARD_SESSION_SECRET")
    if value:
        return value.encode()
    if _generated_secret is None:
        log.warning("DASHBOARD_SESSION_SECRET is not set: generated one for this process only")
        _generated_secret = secrets.token_bytes(32)
    return _generated_secret


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


@dataclass(frozen=True)
class Settings:
    shipments_table: str
    timeline_table: str
    warehouses_table: str
    dead_letter_table: str
    notifications_table: str
    merchants_table: str
    auth_mode: str
    cognito_user_pool_arn: str
    tracking_base_url: str
    kafka_bootstrap_servers: str
    session_secret: bytes

    @classmethod
    def from_env(cls) -> Settings:
        mode = os.environ.get("AUTH_MODE") or "api_key"
        if mode not in AUTH_MODES:
            raise RuntimeError(f"AUTH_MODE must be one of {AUTH_MODES}, not {mode!r}")
        return cls(
            shipments_table=_required("SHIPMENTS_TABLE"),
            timeline_table=_required("TIMELINE_TABLE"),
            warehouses_table=_required("WAREHOUSES_TABLE"),
            dead_letter_table=_required("DEAD_LETTER_TABLE"),
            notifications_table=_required("NOTIFICATIONS_TABLE"),
            merchants_table=_required("MERCHANTS_TABLE"),
            auth_mode=mode,
            cognito_user_pool_arn=os.environ.get("COGNITO_USER_POOL_ARN", ""),
            tracking_base_url=(os.environ.get("TRACKING_BASE_URL") or "/track").rstrip("/"),
            kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", ""),
            session_secret=_session_secret(),
        )


def auth_mode() -> str:
    """Read at import time by app.py to pick the route authorizer (jwt mode needs it for deploys)."""
    return os.environ.get("AUTH_MODE") or "api_key"
