"""local_runtime.logs.endpoints: what `logistics up` records for `logistics logs`."""

from __future__ import annotations

from pathlib import Path

from local_runtime.logs.endpoints import ENDPOINTS_FILE, read_endpoints, record_endpoints


def test_recorded_endpoint_reads_back(tmp_path: Path) -> None:
    path = record_endpoints(tmp_path / "state", "http://127.0.0.1:4566", "eu-west-1")
    assert path == tmp_path / "state" / ENDPOINTS_FILE
    recorded = read_endpoints(tmp_path / "state")
    assert recorded is not None
    assert (recorded.aws_endpoint, recorded.region, recorded.path) == ("http://127.0.0.1:4566", "eu-west-1", path)
    assert [p.name for p in (tmp_path / "state").iterdir()] == [ENDPOINTS_FILE]  # no temporary file left


def test_a_new_record_replaces_the_old_one(tmp_path: Path) -> None:
    record_endpoints(tmp_path, "http://127.0.0.1:1", "us-east-1")
    record_endpoints(tmp_path, "http://127.0.0.1:2", "us-west-2")
    recorded = read_endpoints(tmp_path)
    assert recorded is not None and (recorded.aws_endpoint, recorded.region) == ("http://127.0.0.1:2", "us-west-2")


def test_no_record_or_an_unreadable_one_is_none(tmp_path: Path) -> None:
    assert read_endpoints(tmp_path) is None
    (tmp_path / ENDPOINTS_FILE).write_text("{not json", encoding="utf-8")
    assert read_endpoints(tmp_path) is None
    (tmp_path / ENDPOINTS_FILE).write_text('{"region": "us-east-1"}', encoding="utf-8")
    assert read_endpoints(tmp_path) is None
