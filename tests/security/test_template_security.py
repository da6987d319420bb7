"""checkov on template.yaml and on the template SAM deploys: no failed check; every exception is a suppression in
the resource's Metadata with its reason. checkov has its own virtualenv (it pins an old boto3), named by $CHECKOV.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sagewatch_testkit.sam_translate import translate

ROOT = Path(__file__).resolve().parents[2]


def checkov(template: Path) -> dict[str, Any]:
    binary = os.environ.get("CHECKOV", str(ROOT / ".venv" / "checkov" / "bin" / "checkov"))
    if not Path(binary).exists():
        pytest.fail(f"checkov not found at {binary}: run `make dev` (or set CHECKOV)")
    done = subprocess.run(
        # --skip-download: no call to the vendor's API (its guidelines links); nothing leaves the machine.
        [binary, "-f", str(template), "-o", "json", "--framework", "cloudformation", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def failures(report: dict[str, Any]) -> list[str]:
    return [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]


@pytest.fixture(scope="module")
def translated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sam") / "translated.json"
    path.write_text(json.dumps(translate()))
    return path


def test_template_has_no_failed_check() -> None:
    report = checkov(ROOT / "template.yaml")
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 40, report["summary"]  # it really read the resources
    assert failures(report) == []


def test_translated_template_has_no_failed_check(translated: Path) -> None:
    report = checkov(translated)
    assert report["summary"]["parsing_errors"] == 0
    resources = json.loads(translated.read_text())["Resources"]
    # the transform's own resources are what this run adds: roles, schedule, rules, subscription, permissions
    assert {"ScanFunctionRole", "ScanFunctionSchedule", "ModelMonitorFunctionMonitoringRuns"} <= set(resources)
    assert report["summary"]["passed"] > 80, report["summary"]
    assert failures(report) == []


def test_every_suppression_sits_on_its_resource_with_a_reason() -> None:
    report = checkov(ROOT / "template.yaml")
    skipped = report["results"]["skipped_checks"]
    assert skipped, "expected the documented per-resource suppressions"
    for check in skipped:
        assert len(check["check_result"]["suppress_comment"]) >= 30, (
            f"{check['check_id']} on {check['resource']} needs a reason"
        )
    # no blanket skip list: nothing configures checkov beyond the Metadata of each resource
    assert not (ROOT / ".checkov.yaml").exists()
    assert not (ROOT / ".checkov.yml").exists()


def test_a_removed_suppression_fails(tmp_path: Path) -> None:
    """The gate can fail: without its reasoned suppression, the scan function's missing VPC is reported."""
    text = (ROOT / "template.yaml").read_text()
    vpc_skip = "          - id: CKV_AWS_117\n"
    start = text.index("  ScanFunction:\n")
    at = text.index(vpc_skip, start)
    end = text.index("\n", at + len(vpc_skip)) + 1  # the skip and its comment line
    stripped = tmp_path / "template.yaml"
    stripped.write_text(text[:at] + text[end:])
    assert "CKV_AWS_117 AWS::Serverless::Function.ScanFunction" in " ".join(failures(checkov(stripped)))
