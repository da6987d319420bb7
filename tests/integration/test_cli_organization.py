"""The CLI at organization scale, read-only: several regions, several accounts through an assumed role, one
merged report with `account` and `region` on every finding; bad flags and unreachable targets said plainly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from sagewatch.aws.targets import Credentials
from sagewatch.cli import main
from sagewatch_testkit.org_sim import CENTRAL, REGIONS, OrgSimulation

pytestmark = pytest.mark.integration


@pytest.fixture
def org():
    with mock_aws():
        yield OrgSimulation(datetime.now(UTC).replace(minute=5, second=0, microsecond=0))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(["scan", *argv])
    except SystemExit as exc:  # a flag argparse refuses itself (--regions), before anything else
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_accounts_and_regions_in_one_report(org, capsys, tmp_path):
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("# the members\n" + "\n".join(f"{a}  {n}" for a, n in org.accounts.items()) + "\n")
    code, out, err = run(
        capsys, "--regions", ",".join(REGIONS), "--role-name", "sagewatch-scan-readonly", "--accounts", str(accounts),
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert report["schema"] == "sagewatch.multi-scan-report/1" and report["failed"] == []
    pairs = {(t["account"], t["region"]) for t in report["targets"]}
    assert pairs == {(a, r) for a in org.accounts for r in REGIONS}
    assert report["findings"] and all({"account", "region"} <= set(f) for f in report["findings"])
    # each finding is in the account and region whose fleet has it (names carry the member and region)
    for f in report["findings"]:
        assert f["endpoint"].startswith(org.accounts[f["account"]].split("-")[0] + "-" + f["region"].split("-")[1])
    assert report["totals"]["findings"] == len(report["findings"]) == sum(t["findings"] for t in report["targets"])
    # the same, as the single-account scans say it
    one = org.scan(f"{next(iter(org.accounts))}/{REGIONS[0]}", datetime.now(UTC))
    assert one["findings"] == next(
        t["findings"]
        for t in report["targets"]
        if (t["account"], t["region"]) == (next(iter(org.accounts)), REGIONS[0])
    )


def test_every_account_of_the_organization(org, capsys):
    code, out, err = run(capsys, "--regions", "us-east-1", "--role-name", "ro", "--accounts", "org", "--format", "json")
    assert code == 0, err
    accounts = {t["account"] for t in json.loads(out)["targets"]}
    assert accounts == {*org.accounts, CENTRAL}  # the management account is an account of the organization


def test_the_table_has_account_and_region_columns(org, capsys, tmp_path):
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("\n".join(org.accounts))
    code, out, _ = run(capsys, "--regions", "eu-west-1", "--role-name", "ro", "--accounts", str(accounts))
    assert code == 0
    assert out.splitlines()[2].split()[:3] == ["ACCOUNT", "REGION", "SEVERITY"]
    assert "Per account and region:" in out


def test_all_regions_of_the_callers_account(org, capsys):
    code, out, err = run(capsys, "--all-regions", "--format", "json")
    assert code == 0, err
    regions = {t["region"] for t in json.loads(out)["targets"]}
    assert {"us-east-1", "eu-west-1"} <= regions and len(regions) > 10
    assert all(t["account"] == CENTRAL for t in json.loads(out)["targets"])


def test_a_target_that_cannot_be_scanned_is_named_not_lost(org, capsys, tmp_path, monkeypatch):
    denied = sorted(org.accounts)[0]
    original = Credentials.clients

    def clients(self, target):
        if target.account == denied:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized to assume"}}, "AssumeRole")
        return original(self, target)

    monkeypatch.setattr(Credentials, "clients", clients)
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("\n".join(org.accounts))
    code, out, err = run(
        capsys, "--regions", "us-east-1", "--role-name", "ro", "--accounts", str(accounts), "--format", "json"
    )
    assert code == 1
    report = json.loads(out)
    assert report["failed"] == [
        {"account": denied, "region": "us-east-1", "error": "AccessDenied: not authorized to assume"}
    ]
    assert len(report["targets"]) == len(org.accounts) - 1
    assert f"not scanned: {denied}/us-east-1: AccessDenied" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--role-name", "ro"], "--role-name and --accounts go together"),
        (["--accounts", "org"], "--role-name and --accounts go together"),
        (["--regions", "us-east-1,mars-1"], "'mars-1' is not an AWS region name"),
        (["--regions", " , "], "name at least one region"),
        (["--region", "us-east-1", "--regions", "eu-west-1"], "is not among --regions eu-west-1"),
    ],
)
def test_bad_flags_are_refused_naming_the_problem(org, capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and message in err


def test_a_bad_accounts_file_is_refused_naming_the_line(org, capsys, tmp_path):
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("111111111111\n12345 # too short\n")
    code, _, err = run(capsys, "--role-name", "ro", "--accounts", str(accounts))
    assert code == 2 and "line 2: '12345' is not a 12-digit account id" in err
    code, _, err = run(capsys, "--role-name", "ro", "--accounts", str(tmp_path / "missing.txt"))
    assert code == 2 and "missing.txt" in err


def test_regions_need_no_aws_region(org, capsys, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run(capsys, "--regions", ",".join(REGIONS), "--format", "json")
    assert code == 0, err
    assert {t["region"] for t in json.loads(out)["targets"]} == set(REGIONS)
