"""The README's verification recipes, run exactly as printed against a real export, so they
cannot drift from what the console publishes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.archive.conftest import Sample

pytestmark = pytest.mark.slow  # runs the README's recipes in subprocesses

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SECTION = README.split("## Signatures: proving an update is the agency's", 1)[1].split("\n## ", 1)[0]


def code_block(after: str, language: str) -> str:
    match = re.search(re.escape(after) + r".*?```" + language + r"\n(.*?)```", SECTION, re.DOTALL)
    assert match, f"no {language} block after {after!r} in the README"
    return match.group(1)


def export(client: TestClient, sample: Sample, into: Path) -> None:
    (into / "keys.json").write_text(client.get("/.well-known/incident-console/keys.json").text)
    (into / "record.json").write_text(client.get(f"/incidents/{sample.slug}.json").text)


def test_the_python_recipe_verifies_a_real_export_and_refuses_a_forged_one(
    client: TestClient, sample: Sample, tmp_path: Path
) -> None:
    script = tmp_path / "check.py"
    script.write_text(code_block("*Ten lines of Python*", "python"))
    export(client, sample, tmp_path)
    run = [sys.executable, str(script), "keys.json", "record.json"]
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("verified: update") == 6
    record = tmp_path / "record.json"
    record.write_text(record.read_text().replace("Shelter in place downtown.", "Evacuate downtown now."))
    forged = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert forged.returncode != 0 and "text changed" in forged.stderr


def test_the_openssl_recipe_verifies_a_real_signature(
    client: TestClient, sample: Sample, tmp_path: Path
) -> None:
    script = tmp_path / "check.sh"
    script.write_text(code_block("*openssl*", "sh"))
    export(client, sample, tmp_path)
    done = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Signature Verified Successfully" in done.stdout, (
        done.stdout + done.stderr
    )
    record = (tmp_path / "record.json").read_text()
    # the recipe's version's hash (the record's first hash is its details version 1's)
    checked = json.loads(record)["updates"][0]["versions"][0]["content_hash"]
    (tmp_path / "record.json").write_text(
        record.replace(f'"content_hash": "{checked}"', f'"content_hash": "0{checked}"')
    )
    forged = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert forged.returncode != 0 and "Signature Verification Failure" in forged.stdout + forged.stderr
