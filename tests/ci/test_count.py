"""`.ci/count.py`: the line CI ends with sums every JUnit report honestly."""

import subprocess
import sys
from pathlib import Path

COUNT = Path(__file__).resolve().parents[2] / ".ci" / "count.py"

PYTEST_REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="5">
  <testcase classname="t" name="ok_1"/>
  <testcase classname="t" name="ok_2"/>
  <testcase classname="t" name="broken"><failure message="assert 1 == 2"/></testcase>
  <testcase classname="t" name="setup_crashed"><error message="fixture"/></testcase>
  <testcase classname="t" name="not_here"><skipped message="skip"/></testcase>
</testsuite></testsuites>"""

SCHEMATHESIS_REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="schemathesis" tests="2">
  <testcase name="POST /rumors"/>
  <testcase name="GET /rumors"><failure message="ST202"/></testcase>
</testsuite></testsuites>"""


def run_count(*reports: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(COUNT), *map(str, reports)], capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def test_the_last_line_sums_passes_failures_errors_and_skips_of_every_report(tmp_path: Path) -> None:
    (tmp_path / "pytest.xml").write_text(PYTEST_REPORT)
    (tmp_path / "schemathesis.xml").write_text(SCHEMATHESIS_REPORT)
    lines = run_count(tmp_path / "pytest.xml", tmp_path / "schemathesis.xml")
    assert lines[-1] == "3 passed, 3 failed, 1 skipped"


def test_a_run_that_wrote_no_report_counts_as_a_failure(tmp_path: Path) -> None:
    (tmp_path / "schemathesis.xml").write_text(SCHEMATHESIS_REPORT)
    lines = run_count(tmp_path / "missing.xml", tmp_path / "schemathesis.xml")
    assert lines[-1] == "1 passed, 2 failed"
    assert "missing.xml: no report" in lines[0]
