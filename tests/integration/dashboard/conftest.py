"""A stack from template.yaml on the session's moto server, seeded through the ingest and notify
services, and a Chalice test client for the dashboard app."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from tests.integration.dashboard.support import Stack, load_app, seed, stack_environment


@pytest.fixture(scope="module")
def dash_stack(moto_endpoint: str) -> Iterator[Stack]:
    with stack_environment(moto_endpoint, f"dash-{uuid.uuid4().hex[:8]}") as deployed:
        deployed.seeded = seed(deployed)  # type: ignore[attr-defined]
        deployed.issue_key("m-alpha")
        deployed.issue_key("m-beta")
        yield deployed


@pytest.fixture(scope="module")
def app_module(dash_stack: Stack) -> Any:
    return load_app()


@pytest.fixture(scope="module")
def client(app_module: Any, tmp_path_factory: pytest.TempPathFactory) -> Client:
    # An empty project dir: no .chalice/config.json, so the test client adds no stage variables
    # on top of the stack's environment.
    return Client(app_module.app, project_dir=str(tmp_path_factory.mktemp("chalice")))
