"""local_runtime.invoke.platform_log: Lambda's START/END/REPORT lines."""

from __future__ import annotations

import re

from local_runtime.invoke import platform_log
from local_runtime.invoke.platform_log import Report


def test_start_and_end() -> None:
    assert platform_log.start_line("abc") == "START RequestId: abc Version: $LATEST"
    assert platform_log.end_line("abc") == "END RequestId: abc"


def test_a_cold_report_has_the_init_duration_and_bills_whole_milliseconds() -> None:
    line = Report("abc", 12.341, 128, 55, init_ms=480.123).line()
    assert line == ("REPORT RequestId: abc\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
                    "Max Memory Used: 55 MB\tInit Duration: 480.12 ms")


def test_a_warm_report_has_no_init_duration_and_a_failure_has_its_status() -> None:
    assert "Init Duration" not in Report("abc", 1.0, 128, 55).line()
    assert Report("abc", 1000.0, 256, 60, status="timeout").line().endswith(
        "Billed Duration: 1000 ms\tMemory Size: 256 MB\tMax Memory Used: 60 MB\tStatus: timeout")
    assert Report("abc", 3.2, 128, None, status="error", error_type="Runtime.ExitError").line().endswith(
        "Memory Size: 128 MB\tStatus: error\tError Type: Runtime.ExitError")


def test_timeout_and_init_report_lines() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z abc Task timed out after 3\.00 seconds",
                        platform_log.timeout_line("abc", 3))
    assert platform_log.init_report_line(10.5, "error", "Runtime.ImportModuleError") == (
        "INIT_REPORT Init Duration: 10.50 ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError")
