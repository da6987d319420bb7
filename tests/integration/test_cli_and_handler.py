"""The CLI and the scan function end to end on moto, with the sample events from events/."""

import base64
import json
import shlex
from pathlib import Path

import boto3
import pytest

from sagewatch.aws.clients import Clients
from sagewatch.cli import main
from sagewatch.models import Kind
from sagewatch_testkit import aws_rules, faults, fleet, moto_ext
from sagewatch_testkit.aws_fixtures import id_table, watch_queue
from sagewatch_testkit.fleet import DEMO_ENDPOINTS, DEMO_FINDINGS, DEMO_KINDS, DEMO_VARIANTS
from sagewatch_testkit.functions import lambda_context, load_function
from sagewatch_testkit.schemas import validate_report

REGION = moto_ext.DEFAULT_REGION
ROOT = Path(__file__).resolve().parents[2]


def event(name):
    return json.loads((ROOT / "events" / name).read_text())


def test_cli_json_report_validates_and_is_read_only(demo, capsys):
    assert main(["scan", "--region", REGION, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    validate_report(doc)
    assert doc["account"] == "123456789012" and doc["region"] == REGION
    assert doc["scanned"] == {"endpoints": DEMO_ENDPOINTS, "variants": DEMO_VARIANTS, "inference_components": 3}
    assert len(doc["findings"]) == DEMO_FINDINGS
    # read-only: the fleet is untouched
    assert len(moto_ext.sagemaker_backend(REGION).endpoints) == len(fleet.demo_fleet())


def test_cli_flags_reach_the_rules(demo, capsys):
    assert main(["scan", "--format", "json", "--error-rate", "5", "--idle-hours", "48"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert "search-ranker" not in {f["endpoint"] for f in doc["findings"]}
    assert doc["thresholds"]["idle_hours"] == 48
    idle = next(f for f in doc["findings"] if f["endpoint"] == "churn-model-staging")
    assert idle["evidence"]["idle_hours"] == 48


def test_cli_table(demo, capsys):
    assert main(["scan"]) == 0
    out = capsys.readouterr().out
    assert "image-embedder" in out and "resize-variant -> 2 x ml.g5.xlarge" in out
    assert "legacy-ignored: tagged sagewatch:ignore=true" in out


def test_cli_reports_aws_errors_without_a_traceback(aws, capsys):
    def deny(c):
        if c.meta.service_model.service_name == "sagemaker":
            faults.fail_call(c, "ListEndpoints", "AccessDeniedException", "User is not authorized to ListEndpoints")

    with faults.every_new_client(deny):
        assert main(["scan"]) == 1
    err = capsys.readouterr().err
    assert "AccessDeniedException: User is not authorized to ListEndpoints" in err and "Traceback" not in err


# --- the Lambda handler --------------------------------------------------------------------------


@pytest.fixture
def topic_queue(aws):
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="sagewatch-alerts")["TopicArn"]
    queue, queue_arn = watch_queue(sqs, "alerts")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue, sqs


@pytest.fixture
def state_table(aws):
    return create_state_table()


def create_state_table(name="sagewatch-state"):
    ddb = boto3.client("dynamodb", region_name=REGION)
    id_table(ddb, name)
    return name


@pytest.fixture
def handler_env(monkeypatch, topic_queue, state_table):
    topic, _, _ = topic_queue
    monkeypatch.setenv("SAGEWATCH_TOPIC_ARN", topic)
    monkeypatch.setenv("SAGEWATCH_STATE_TABLE", state_table)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sagewatch")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Sagewatch")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


def load_handler():
    """functions/scan/app.py, imported as a cold start does."""
    return load_function("scan")


def context():
    return lambda_context("scan", memory=512)


def messages(queue, sqs):
    got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in got]


def test_scheduled_scan_publishes_a_digest_and_emits_metrics(handler_env, topic_queue, demo, capsys):
    _, queue, sqs = topic_queue
    result = load_handler().lambda_handler(event("scan-schedule.json"), context())
    assert result["endpoints"] == DEMO_ENDPOINTS and result["findings"] == DEMO_FINDINGS and result["errors"] == 0
    assert result["findings_by_kind"] == DEMO_KINDS
    assert result["announced"]["new"] == DEMO_FINDINGS and len(result["published_message_ids"]) == 1
    [note] = messages(queue, sqs)
    assert note["Subject"] == f"sagewatch 123456789012/us-east-1: {DEMO_FINDINGS} new"
    digest = json.loads(note["Message"])  # the queue gets the machine-readable body
    assert digest["schema"] == "sagewatch.digest/1" and len(digest["announcements"]) == DEMO_FINDINGS
    out = capsys.readouterr().out
    emf = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    names = {m["Name"] for doc in emf for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"EndpointsScanned", "FleetMonthlyCost", "MonthlyWaste", "Findings"} <= names
    kinds = {doc.get("Kind"): doc.get("Findings") for doc in emf if "Kind" in doc}
    # every kind has its series, zeros included (dashboards and alarms see them all)
    assert kinds == {k.value: [0.0] for k in Kind} | {kind: [float(n)] for kind, n in DEMO_KINDS.items()}


def test_scan_errors_are_logged_and_counted_not_raised(handler_env, topic_queue, demo, caplog):
    app = load_handler()
    faults.fail_call(
        app.CLIENTS.sagemaker(),
        "DescribeEndpoint",
        "AccessDeniedException",
        "not authorized",
        when=lambda p: p["EndpointName"] == "doc-classifier",
    )
    result = app.lambda_handler(event("scan-schedule.json"), context())
    assert (result["errors"], result["endpoints"], result["findings"]) == (1, DEMO_ENDPOINTS - 1, DEMO_FINDINGS - 1)
    [record] = [r for r in caplog.records if r.getMessage() == "not judged"]
    assert record.levelname == "WARNING"
    assert record.scan_error == {
        "endpoint": "doc-classifier",
        "operation": "DescribeEndpoint",
        "code": "AccessDeniedException",
        "message": "not authorized",
    }


def test_eventbridge_scheduled_event_shape_is_accepted(handler_env, topic_queue, demo):
    result = load_handler().lambda_handler(event("scan-eventbridge-scheduled.json"), context())
    assert result["findings"] == DEMO_FINDINGS


def test_manual_run_without_publishing(handler_env, topic_queue, demo):
    _, queue, sqs = topic_queue
    result = load_handler().lambda_handler(event("scan-manual-no-publish.json"), context())
    assert result["findings"] == DEMO_FINDINGS and result["published_message_ids"] == []
    assert messages(queue, sqs) == []


def test_a_deep_scan_by_hand_then_the_schedule_s_hourly_scan_carries_it(handler_env, topic_queue, demo):
    """{"depth": "deep"} judges everything and keeps its conclusions; the next scheduled scan is hourly (the day's
    deep scan is done) and says what the deep one said, reading under half the series."""
    deep = load_handler().lambda_handler(event("scan-deep.json"), context())
    assert deep["cadence"]["depth"] == "deep" and deep["cadence"]["reason"] == "asked for"
    hourly = load_handler().lambda_handler(event("scan-schedule.json"), context())
    assert hourly["cadence"]["depth"] == "hourly" and hourly["cadence"]["carried_findings"] > 0
    assert hourly["findings_by_kind"] == deep["findings_by_kind"]
    assert hourly["cadence"]["metric_series"] < deep["cadence"]["metric_series"] / 2


def test_no_findings_no_message(handler_env, topic_queue):
    _, queue, sqs = topic_queue
    result = load_handler().lambda_handler(event("scan-schedule.json"), context())
    assert result["endpoints"] == 0 and result["published_message_ids"] == []
    assert messages(queue, sqs) == []


def test_bad_event_is_refused_with_its_field_named(handler_env, topic_queue, demo):
    from aws_lambda_powertools.utilities.parser.exceptions import InvalidModelTypeError
    from pydantic import ValidationError

    _, queue, sqs = topic_queue
    with pytest.raises((ValidationError, InvalidModelTypeError)) as exc:
        load_handler().lambda_handler(event("scan-bad-request.json"), context())
    assert "publish" in str(exc.value)
    assert messages(queue, sqs) == []


def test_missing_setting_fails_at_cold_start(handler_env, monkeypatch):
    from sagewatch.settings import SettingsError

    monkeypatch.delenv("SAGEWATCH_TOPIC_ARN")
    with pytest.raises(SettingsError, match="SAGEWATCH_TOPIC_ARN is required"):
        load_handler()
    monkeypatch.setenv("SAGEWATCH_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t")
    monkeypatch.setenv("SAGEWATCH_IDLE_HOURS", "a day")
    with pytest.raises(SettingsError, match="SAGEWATCH_IDLE_HOURS"):
        load_handler()


def test_preview_notification_email(demo, capsys):
    assert main(["preview-notification", "--format", "email"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Subject: sagewatch 123456789012/us-east-1: {DEMO_FINDINGS} new")
    assert "HIGH (9)" in out  # 5 that cost money, 4 that will stop serving
    # the stack's default (Remediation disabled): the read-only commands, run with the reader's credentials
    command = "sagewatch remediate delete-endpoint --region us-east-1 --endpoint churn-model-staging"
    [line] = [line for line in out.splitlines() if command in line]
    assert line.rstrip().endswith("--local")
    assert main(["preview-notification", "--format", "email", "--remediation", "enabled"]) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if command in line]
    assert "--local" not in line  # the remediation function's dry run


def test_preview_notification_chatbot_has_a_dry_run_button_only_with_remediation(demo, capsys):
    assert main(["preview-notification", "--format", "chatbot"]) == 0
    assert "request" not in json.loads(capsys.readouterr().out)["metadata"]["additionalContext"]
    assert main(["preview-notification", "--format", "chatbot", "--remediation", "enabled"]) == 0
    context = json.loads(capsys.readouterr().out)["metadata"]["additionalContext"]
    assert context["request"] and context["action"] and context["endpoint"]


def test_preview_notification_slack_is_valid_block_kit(demo, capsys):
    from slack_sdk.models.blocks import Block

    assert main(["preview-notification", "--format", "slack"]) == 0
    payloads = json.loads(capsys.readouterr().out)
    assert len(payloads) == 1 and len(payloads[0]["blocks"]) == 2 + DEMO_FINDINGS  # header, context, findings
    for raw in payloads[0]["blocks"]:
        Block.parse(raw).validate_json()


def test_preview_notification_chatbot(demo, capsys):
    assert main(["preview-notification", "--format", "chatbot", "--error-rate", "5"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"] == "custom" and "search-ranker" not in doc["content"]["description"]


def test_preview_notification_needs_a_format(capsys):
    with pytest.raises(SystemExit):
        main(["preview-notification"])
    assert "--format" in capsys.readouterr().err


def test_cli_remediate_local_dry_run_then_execute(demo, capsys):
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="snapshots")
    argv = [
        "remediate",
        "delete-endpoint",
        "--endpoint",
        "churn-model-staging",
        "--expect-idle",
        "--expect-instance-type",
        "ml.m5.2xlarge",
        "--expect-instance-count",
        "1",
        "--local",
        "--bucket",
        "snapshots",
    ]
    assert main(argv) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["status"] == "planned" and plan["plan"]["after"] == {}
    # what to run next is said in this command's own flags, not the function's payload fields
    assert plan["to_execute"].startswith("run this command again with --execute --confirm churn-model-staging")
    assert main([*argv, "--execute", "--confirm", "churn-model-staging"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["status"] == "done" and "request_id cli-" in captured.err
    aws_rules.CLOCK.sleep(aws_rules.DURATIONS.endpoint_delete)  # SageMaker deletes in the background
    assert "churn-model-staging" not in moto_ext.sagemaker_backend(REGION).endpoints
    # deleted by sagewatch: again is already-deleted; an endpoint it never deleted is invalid, exit 1
    assert main([*argv, "--execute", "--confirm", "churn-model-staging"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "already-deleted"
    assert main(["remediate", "delete-endpoint", "--endpoint", "nope", "--local", "--bucket", "snapshots"]) == 1
    invalid = json.loads(capsys.readouterr().out)
    assert invalid["status"] == "invalid" and "endpoint nope does not exist" in invalid["error"]


def test_cli_remediate_refusals_exit_non_zero(demo, capsys):
    argv = [
        "remediate",
        "delete-endpoint",
        "--endpoint",
        "fraud-detector-prod",
        "--expect-idle",
        "--local",
        "--bucket",
        "b",
        "--execute",
        "--confirm",
        "fraud-detector-prod",
    ]
    assert main(argv) == 1
    refused = capsys.readouterr()
    assert "it is no longer idle" in json.loads(refused.out)["error"]  # said once, in the answer
    assert "it is no longer idle" not in refused.err
    assert (
        main(["remediate", "resize-variant", "--endpoint", "doc-classifier", "--variant", "AllTraffic", "--local"]) == 2
    )
    assert "resize-variant needs instance_type and/or instance_count" in capsys.readouterr().err


ASKER = "arn:aws:sts::123456789012:assumed-role/MLPlatformAdmin/dana"


def test_cli_remediate_invokes_the_stacks_function(capsys, monkeypatch):
    """The default path: find RemediateFunction in the stack, invoke it synchronously, print its answer."""
    monkeypatch.setattr(Clients, "probe", lambda self: "123456789012")  # the CLI's first call, answered here
    import io

    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    answer = json.dumps({"status": "planned", "dry_run": True, "plan": {"steps": ["..."]}}).encode()
    made = {}

    def stub_out(c):
        service = c.meta.service_model.service_name
        stub = Stubber(c)
        if service == "cloudformation":
            stub.add_response(
                "describe_stack_resource",
                {
                    "StackResourceDetail": {
                        "LogicalResourceId": "RemediateFunction",
                        "PhysicalResourceId": "sagewatch-RemediateFunction-abc",
                        "ResourceType": "AWS::Lambda::Function",
                        "LastUpdatedTimestamp": "2026-11-22T00:00:00Z",
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                },
                {"StackName": "prod-sagewatch", "LogicalResourceId": "RemediateFunction"},
            )
        elif service == "sts":  # who asks: sent along in the client context
            stub.add_response(
                "get_caller_identity",
                {"UserId": "AROAEXAMPLE:dana", "Account": "123456789012", "Arn": ASKER},
                {},
            )
        elif service == "lambda":
            claim = {"custom": {"requested_by": ASKER}}
            expected = {
                "FunctionName": "sagewatch-RemediateFunction-abc",
                "InvocationType": "RequestResponse",
                "ClientContext": base64.b64encode(json.dumps(claim).encode()).decode(),
                "Payload": json.dumps(
                    {
                        "action": "set-instance-count",
                        "endpoint": "llm-chat-prod",
                        "dry_run": True,
                        "variant": "AllTraffic",
                        "instance_count": 2,
                    }
                ),
            }
            stub.add_response(
                "invoke", {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(answer), len(answer))}, expected
            )
        else:
            return
        stub.activate()
        made[service] = (c, stub)

    with faults.every_new_client(stub_out):
        assert (
            main(
                [
                    "remediate",
                    "set-instance-count",
                    "--endpoint",
                    "llm-chat-prod",
                    "--variant",
                    "AllTraffic",
                    "--instance-count",
                    "2",
                    "--stack-name",
                    "prod-sagewatch",
                    "--region",
                    REGION,
                ]
            )
            == 0
        )
    assert json.loads(capsys.readouterr().out)["status"] == "planned"
    for _, stub in made.values():
        stub.assert_no_pending_responses()
    # no SDK retries of a synchronous invoke
    assert made["lambda"][0].meta.config.retries["total_max_attempts"] == 1


def test_cli_remediate_local_rechecks_idleness_over_the_window_it_is_given(demo, capsys):
    """`--local` re-checks an idle finding over --idle-hours, or the deployed function's window, never a
    hard-coded 24 h: traffic 30 h ago is inside a 48-hour window and outside a 24-hour one."""
    from datetime import UTC, datetime, timedelta

    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": "churn-model-staging"},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "Timestamp": datetime.now(UTC) - timedelta(hours=30),
                "Value": 7.0,
            }
        ],
    )
    argv = ["remediate", "delete-endpoint", "--endpoint", "churn-model-staging", "--expect-idle", "--local"]
    argv += ["--bucket", "b"]
    assert main([*argv, "--idle-hours", "48"]) == 1  # a stale dry run is no plan to carry out
    stale = json.loads(capsys.readouterr().out)
    assert stale["status"] == "stale"
    assert stale["stale"] == ["it is no longer idle: 7 invocations since the finding's window began"]
    assert main(argv) == 0  # no stack to read: the default 24 h, which the traffic is outside of
    captured = capsys.readouterr()
    assert json.loads(captured.out)["stale"] == [] and captured.err == ""  # no stack needed, nothing to warn of
    assert main([*argv, "--idle-hours", "0"]) == 2
    assert "--idle-hours" in capsys.readouterr().err


def test_prices_of_another_region_are_never_silent(demo, capsys, tmp_path, monkeypatch):
    """The bundled catalog is us-east-1's. Scanning eu-west-1 with it says so in the report, the table, the
    digest and the cost report; a catalog refreshed into the cache for eu-west-1 is then used, and silence
    returns because the prices are the region's."""
    from datetime import UTC, datetime

    from sagewatch.app.judge import run_scan
    from sagewatch.app.scan import preview_digest
    from sagewatch.aws.wiring import readers
    from sagewatch.catalog import Catalog
    from sagewatch.notify.digest import render_email, render_json
    from sagewatch.settings import Thresholds

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    bundled = Catalog.load()
    report = demo.scan(datetime.now(UTC))  # region us-east-1: the catalog's own
    assert report.to_dict()["warnings"] == []

    eu = run_scan(
        *readers(demo.clients), bundled, Thresholds(), now=datetime.now(UTC), region="eu-west-1", account=None
    )
    [warning] = eu.to_dict()["warnings"]
    assert "prices are us-east-1 on-demand" in warning and "this is eu-west-1" in warning
    assert "catalog refresh --region eu-west-1 --cache" in warning
    digest = preview_digest(eu, remediation=False)
    assert f"Note: {warning}" in render_email(digest) and render_json(digest)["warnings"] == [warning]
    from sagewatch.app.weekly import cost_report
    from sagewatch.costrender import render_table as cost_table

    costs = cost_report(
        *readers(demo.clients, scaling=False),
        bundled,
        days=7,
        target_utilization_pct=70.0,
        now=datetime.now(UTC),
        region="eu-west-1",
        account=None,
    )
    assert costs.to_dict()["warnings"] == [warning] and f"WARNING: {warning}" in cost_table(costs)

    # the CLI: a cached eu-west-1 catalog is found for that region
    cached = tmp_path / "sagewatch" / "catalog-eu-west-1.json"
    cached.parent.mkdir(parents=True)
    doc = bundled.to_document() | {"region": "eu-west-1"}
    cached.write_text(json.dumps(doc))
    from sagewatch.clicommands import _catalog

    assert _catalog(None, "eu-west-1").region == "eu-west-1"
    assert _catalog(None, "ap-northeast-1").region == "us-east-1"  # no cache for it: the bundled one


def test_an_unreachable_endpoint_fails_within_ten_seconds_naming_it(monkeypatch, capsys):
    """A listener on loopback that never answers (a proxy that swallows requests): the CLI fails in seconds
    naming the endpoint, not after a minute of silent retries (on a terminal it first says where it connects)."""
    import socket
    import time

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the kernel; nothing is ever read or answered
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            monkeypatch.setenv(key, value)
        started = time.monotonic()
        code = main(["scan", "--region", "us-east-1"])
        elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 1 and elapsed < 10, (code, elapsed)
    assert f"cannot reach AWS at {url}" in err


# --- tables that fit the terminal -------------------------------------------------------------------------


def test_a_narrow_terminal_gets_tables_that_fit(demo, capsys, monkeypatch):
    """Below 120 columns the scan and cost tables are laid out narrow: nothing past the edge, nothing lost."""
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["scan"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert all(len(line) <= 100 and line == line.rstrip() for line in lines), max(lines, key=len)
    assert "high  oversized  image-embedder  AllTraffic" in lines
    assert "  RECOMMENDATION resize-variant -> 2 x ml.g5.xlarge (auto scaling 2-4)" in lines
    assert "CHANGE/MO +$5,176" in out  # a scale-out costs, in the narrow layout too
    assert sum(1 for line in lines if line.startswith(("high ", "medium ", "low "))) == DEMO_FINDINGS
    assert main(["report"]) == 0
    report = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 100 and line == line.rstrip() for line in report), max(report, key=len)
    assert any(line.startswith("llm-chat-prod  ml.g5.12xlarge x1") for line in report)


def test_a_pipe_gets_one_line_per_row_with_the_scan_tables_header_style(demo, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)  # pytest's stdout is no terminal
    assert main(["scan"]) == 0
    scan = capsys.readouterr().out.splitlines()
    assert main(["report"]) == 0
    report = capsys.readouterr().out.splitlines()
    scan_header = next(i for i, line in enumerate(scan) if line.startswith("SEVERITY"))
    report_header = next(i for i, line in enumerate(report) if line.startswith("NAME"))
    for lines, at in ((scan, scan_header), (report, report_header)):
        assert lines[at] == lines[at].upper() and set(lines[at + 1].replace(" ", "")) == {"-"}
        assert all(line == line.rstrip() for line in lines)
    rows = scan[scan_header + 2 : scan_header + 2 + DEMO_FINDINGS]
    assert all(row.startswith(("high ", "medium ", "low ")) for row in rows) and max(map(len, scan)) > 120


def test_all_regions_says_the_empty_ones_in_one_line_and_keeps_what_was_skipped(demo, capsys):
    assert main(["scan", "--all-regions"]) == 0
    lines = capsys.readouterr().out.splitlines()
    per_region = lines[lines.index("Per account and region:") + 1 :]
    expected = f"{DEMO_ENDPOINTS} endpoints, {DEMO_FINDINGS} findings, $25,316/month"
    assert per_region[0] == f"  123456789012 / {REGION}: {expected}"
    [empty] = [line for line in per_region if "no endpoints in" in line]
    assert empty.startswith("  123456789012: no endpoints in ") and "eu-west-1" in empty and REGION not in empty
    assert not [line for line in per_region if line.startswith("  123456789012 / eu-west-1")]  # not one per region
    skipped = lines[lines.index("Skipped:") + 1 :]
    assert f"  123456789012 / {REGION} / legacy-ignored: tagged sagewatch:ignore=true" in skipped
    assert f"  123456789012 / {REGION} / translator-updating: status is Updating" in skipped


def test_cli_remediate_local_that_stops_half_way_prints_the_command_that_resumes_it(demo, capsys):
    """An update that takes longer than the run may wait: status partial, and the exact command that goes on."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="snapshots")
    argv = [
        "remediate",
        "resize-variant",
        "--endpoint",
        "image-embedder",
        "--variant",
        "AllTraffic",
        "--instance-type",
        "ml.g5.xlarge",
        "--instance-count",
        "2",
        "--min-capacity",
        "2",
        "--max-capacity",
        "4",
        "--force",
        "--local",
        "--bucket",
        "snapshots",
        "--region",
        REGION,
        "--execute",
        "--confirm",
        "image-embedder",
    ]
    aws_rules.set_durations(endpoint_update=5000)
    try:
        assert main(argv) == 0
    finally:
        aws_rules.set_durations(endpoint_update=aws_rules.Durations.endpoint_update)
    stopped = json.loads(capsys.readouterr().out)
    assert stopped["status"] == "partial", stopped
    command = stopped["resume_command"]
    assert "--resume-from" in command and f"--snapshot {stopped['snapshot']}" in command
    assert command.endswith("--local --bucket snapshots")
    aws_rules.CLOCK.sleep(5000)
    assert main(shlex.split(command)[1:]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["status"] == "done", resumed
