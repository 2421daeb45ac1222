"""Print the one line CI ends with: what the test runs executed, summed from their JUnit XML.

Each `<testcase>` counts once: failed if it holds `<failure>` or `<error>`, skipped if it holds
`<skipped>`, passed otherwise. A report named on the command line that does not exist (its run
crashed before writing it) counts as one failure, so a broken run can never read as green.
"""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def count(report: Path) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for case in ET.parse(report).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main(paths: list[str]) -> None:
    passed = failed = skipped = 0
    for name in paths:
        report = Path(name)
        if not report.is_file():
            print(f"{name}: no report (the run did not finish)")
            failed += 1
            continue
        p, f, s = count(report)
        passed, failed, skipped = passed + p, failed + f, skipped + s
    line = f"{passed} passed, {failed} failed"
    print(line + (f", {skipped} skipped" if skipped else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
