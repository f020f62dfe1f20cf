"""local_runtime.invoke.bootstrap: our stdlib-only runtime client's pieces (the protocol itself is exercised
end to end by tests/integration/local_runtime/invoke)."""

from __future__ import annotations

import decimal
import json
import math
import sys
from pathlib import Path

import pytest

from local_runtime.invoke import bootstrap
from local_runtime.invoke.bootstrap import Fault, error_payload, load_handler, marshal


def test_marshal_like_awslambdaric(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
    body, content_type = marshal({"n": decimal.Decimal("2"), "f": decimal.Decimal("1.5"), "t": (1, 2), "s": "é"})
    assert content_type == "application/json" and json.loads(body) == {"n": 2, "f": 1.5, "t": [1, 2], "s": "é"}
    assert "é".encode() in body  # python3.12 and later: not escaped, as awslambdaric does
    monkeypatch.setenv("AWS_EXECUTION_ENV", "AWS_Lambda_python3.9")
    assert b"\\u00e9" in marshal("é")[0]
    assert math.isnan(json.loads(marshal(decimal.Decimal("NaN"))[0]))
    assert marshal(b"\x00raw") == (b"\x00raw", "application/unknown")
    with pytest.raises(Fault) as info:
        marshal({"o": object()})
    assert info.value.error_type == "Runtime.MarshalError"
    assert info.value.message.startswith("Unable to marshal response: Object of type object")


@pytest.mark.parametrize(("handler", "error_type", "message"), [
    ("nodots", "Runtime.MalformedHandlerName", "Bad handler 'nodots': not enough values to unpack"),
    ("sys.exit", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
    ("nothere.handler", "Runtime.ImportModuleError", "Unable to import module 'nothere': No module named 'nothere'"),
    ("good.nothere", "Runtime.HandlerNotFound", "Handler 'nothere' missing on module 'good'"),
    ("broken.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'broken'"),
])
def test_handler_loading_faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, handler: str, error_type: str,
                                message: str) -> None:
    (tmp_path / "good.py").write_text("def handler(event, context):\n    return event\n", encoding="utf-8")
    (tmp_path / "broken.py").write_text("def handler(:\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(Fault) as info:
        load_handler(handler)
    assert info.value.error_type == error_type and info.value.message.startswith(message)
    for name in ("good", "broken"):
        sys.modules.pop(name, None)


def test_slashed_module_paths_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "pkg_for_bootstrap_test"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "mod.py").write_text("def handler(event, context):\n    return 'nested'\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_handler("pkg_for_bootstrap_test/mod.handler")(None, None) == "nested"


def test_error_payload_of_a_function_error_starts_at_the_functions_frame() -> None:
    def handler() -> None:
        raise ValueError("bad input")

    try:
        handler()
    except ValueError as exc:
        payload = error_payload(exc, "req")
    assert (payload["errorType"], payload["errorMessage"], payload["requestId"]) == ("ValueError", "bad input", "req")
    assert any('raise ValueError("bad input")' in line for line in payload["stackTrace"])


def test_errors_are_logged_as_one_event(capsys: pytest.CaptureFixture[str]) -> None:
    bootstrap.log_error({"errorType": "KeyError", "errorMessage": "'k'",
                         "stackTrace": ['  File "app.py", line 3, in handler\n    raise KeyError("k")\n']})
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out == ("[ERROR] KeyError: 'k'\rTraceback (most recent call last):\r\u00a0\u00a0File \"app.py\", line 3, "
                   "in handler\r\u00a0\u00a0\u00a0\u00a0raise KeyError(\"k\")\n")
