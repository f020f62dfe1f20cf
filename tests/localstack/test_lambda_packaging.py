"""What the emulator deploy sends: zips laid out as ``sam build`` lays them out, and the stream trigger's
``CreateEventSourceMapping`` parameters taken from the template (no emulator needed)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from local_runtime.cloudformation import load_template
from local_runtime.deploy.lambda_mappings import mapping_request
from local_runtime.deploy.lambda_package import HostTarget, PackageBuilder, has_requirements

ROOT = Path(__file__).resolve().parents[2]


def names(data: bytes) -> set[str]:
    return set(zipfile.ZipFile(io.BytesIO(data)).namelist())


def test_function_code_at_the_root_and_layer_code_under_python(tmp_path: Path) -> None:
    code = tmp_path / "fn"
    (code / "__pycache__").mkdir(parents=True)
    (code / "app.py").write_text("def handler(e, c): return e\n")
    (code / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"x")
    (code / "requirements.txt").write_text("# nothing of its own\n")
    layer = tmp_path / "src" / "pkg"
    layer.mkdir(parents=True)
    (layer / "__init__.py").write_text("")
    builder = PackageBuilder(tmp_path, HostTarget("python3"))
    assert names(builder.function_zip(code)) == {"app.py", "requirements.txt"}
    assert names(builder.layer_zip(tmp_path / "src")) == {"python/pkg/__init__.py"}
    assert builder.function_zip(code) == PackageBuilder(tmp_path, HostTarget("python3")).function_zip(code)


def test_requirements_with_only_comments_install_nothing(tmp_path: Path) -> None:
    file = tmp_path / "requirements.txt"
    assert not has_requirements(file)
    file.write_text("# comment\n\n")
    assert not has_requirements(file)
    file.write_text("# comment\nboto3==1.0\n")
    assert has_requirements(file)


def test_the_stream_trigger_becomes_the_templates_mapping() -> None:
    template = load_template(ROOT / "template.yaml", config_env="local")
    (spec,) = [s for s in template.event_source_mappings()
               if s.kind == "DynamoDB" and s.function_logical_id == "NotifyFunction"]
    spec = type(spec)(**{**spec.__dict__, "stream_arn": "arn:aws:dynamodb:us-east-1:0:table/t/stream/1"})
    request = mapping_request(spec, "notify")
    assert request["FunctionName"] == "notify" and request["EventSourceArn"].endswith("/stream/1")
    assert (request["BatchSize"], request["MaximumRetryAttempts"], request["MaximumRecordAgeInSeconds"]) == (
        100, 5, 3600)
    assert request["BisectBatchOnFunctionError"] is True and request["ParallelizationFactor"] == 1
    assert request["StartingPosition"] == "TRIM_HORIZON" and request["MaximumBatchingWindowInSeconds"] == 0
    assert request["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert [json.loads(f["Pattern"]) for f in request["FilterCriteria"]["Filters"]] == [
        {"eventName": ["INSERT", "MODIFY"]}]
    assert request["DestinationConfig"]["OnFailure"]["Destination"].startswith("arn:aws:sqs:")
