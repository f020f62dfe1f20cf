"""Fixtures of the log tests: an in-memory CloudWatch Logs client."""

from __future__ import annotations

import pytest

from tests.unit.local_runtime.logs.fake_logs_client import FakeLogsClient


@pytest.fixture
def fake_logs() -> FakeLogsClient:
    return FakeLogsClient()
