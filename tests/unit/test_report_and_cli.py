import json

import pytest

from sagewatch.catalog import Catalog
from sagewatch.cli import main
from sagewatch.rules import judge_endpoint
from sagewatch.scan_report import ScanReport, render_table
from sagewatch.settings import Thresholds
from sagewatch_testkit.builders import NOW, endpoint, results, variant, windows
from sagewatch_testkit.schemas import validate_finding, validate_report


def report_with_findings() -> ScanReport:
    catalog = Catalog.load()
    eps = [
        endpoint("quiet-a", variant("v", "ml.m5.2xlarge")),
        endpoint("quiet-b", variant("v", "ml.g5.xlarge")),
        endpoint("sls", variant(serverless=True)),
    ]
    findings = [f for ep in eps for f in judge_endpoint(ep, results(), catalog, Thresholds(), windows())]
    return ScanReport(
        account="123456789012",
        region="us-east-1",
        generated_at=NOW,
        endpoints=3,
        variants=3,
        inference_components=0,
        findings=findings,
        fleet_monthly_cost_usd=1364.2,
    )


def test_report_document_matches_its_schema():
    doc = report_with_findings().to_dict()
    validate_report(doc)
    for f in doc["findings"]:
        validate_finding(f)
    assert doc["schema"] == "sagewatch.scan-report/2"
    assert doc["generated_at"] == "2026-11-22T12:00:00Z"
    # most urgent and most valuable first
    assert [f["endpoint"] for f in doc["findings"]] == ["quiet-b", "quiet-a", "sls"]
    assert doc["totals"]["monthly_savings_usd"] == round(1.408 * 730 + 0.461 * 730, 2)


def test_schema_rejects_a_malformed_finding():
    import jsonschema

    doc = report_with_findings().to_dict()
    doc["findings"][0]["kind"] = "sluggish"
    with pytest.raises(jsonschema.ValidationError):
        validate_report(doc)
    del doc["findings"][0]["kind"]
    with pytest.raises(jsonschema.ValidationError):
        validate_finding(doc["findings"][0])


def test_table_lists_every_finding_and_totals():
    text = render_table(report_with_findings())
    assert "quiet-a" in text and "delete-endpoint" in text and "serverless" in text
    assert "3 findings could save $1,364/month" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scan", "--idle-hours", "soon"], "--idle-hours (SAGEWATCH_IDLE_HOURS) must be a whole number, got 'soon'"),
        (["scan", "--utilization-days", "0"], "--utilization-days"),
        (["scan", "--target-utilization", "95", "--saturation", "90"], "must be below"),
        (["scan", "--region", "moon-base"], "--region 'moon-base' is not an AWS region name"),
        (["scan", "--catalog", "/nonexistent/catalog.json"], "cannot read catalog"),
    ],
)
def test_bad_flags_give_a_clear_error_and_no_traceback(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_unknown_format_is_refused_by_argparse(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["scan", "--format", "xml"])
    assert exc.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_missing_region_is_named(monkeypatch, capsys, tmp_path):
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert main(["scan"]) == 2
    assert "no AWS region" in capsys.readouterr().err


def test_layer_requirements_match_the_package(request):
    root = request.config.rootpath
    reqs = (root / "layers/sagewatch/requirements.txt").read_text()
    pyproject = (root / "pyproject.toml").read_text()
    assert "aws-lambda-powertools[tracer,parser]==" in reqs
    assert "aws-lambda-powertools[tracer,parser]" in pyproject
    assert json.loads((root / "events/scan-schedule.json").read_text()) == {"publish": True}


def _all_actions(parser):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _all_actions(sub)
        else:
            yield parser.prog, action


def test_every_flag_of_every_subcommand_has_help():
    from sagewatch.cli import _parser

    missing = [
        f"{prog} {'/'.join(a.option_strings) or a.dest}"
        for prog, a in _all_actions(_parser())
        if not a.help and a.dest != "help"
    ]
    assert missing == []


def test_version_and_did_you_mean(capsys):
    from sagewatch import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"sagewatch {__version__}"
    with pytest.raises(SystemExit) as done:
        main(["scna"])
    assert done.value.code == 2 and "(did you mean scan?)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["scan", "--idle-huors", "5"])
    assert "(did you mean --idle-hours?)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["remediate", "delete-endpont", "--endpoint", "x"])
    assert "(did you mean delete-endpoint?)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("output", "message"),
    [("/nonexistent-dir/report.html", "directory /nonexistent-dir does not exist"), (".", "is a directory")],
)
def test_a_bad_output_path_fails_before_any_aws_call(output, message, capsys, monkeypatch):
    from sagewatch.aws.clients import Clients

    def no_aws(*_args, **_kwargs):
        raise AssertionError("an AWS call was made")

    monkeypatch.setattr(Clients, "resolve", no_aws)
    with pytest.raises(SystemExit) as done:
        main(["report", "--region", "us-east-1", "--output", output])
    err = capsys.readouterr().err
    assert done.value.code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize(("value", "message"), [("", "name at least one region"), ("us-east-1,mars", "'mars'")])
def test_regions_must_name_regions(value, message, capsys):
    with pytest.raises(SystemExit) as done:
        main(["scan", "--regions", value])
    assert done.value.code == 2 and message in capsys.readouterr().err
