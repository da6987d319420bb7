"""Fixtures shared by the integration and fault suites: moto, fake credentials, a counted scan harness."""

import json
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from sagewatch.app.judge import run_scan
from sagewatch.aws.clients import Clients
from sagewatch.aws.serving import FileDailyCache
from sagewatch.aws.wiring import readers, serving_checks
from sagewatch.catalog import Catalog
from sagewatch.scan_report import ScanReport
from sagewatch.settings import Thresholds
from sagewatch_testkit import aws_rules, conformance, faults, fleet, moto_ext
from sagewatch_testkit.aws_fixtures import ScanStack, drain, id_table, watch_queue
from sagewatch_testkit.functions import lambda_context, load_function

REGION = moto_ext.DEFAULT_REGION
BUCKET = "sagewatch-remediation"


@pytest.fixture(autouse=True)
def private_cache(monkeypatch, tmp_path_factory):
    """The CLI's caches (endpoint configs, catalogs) in a directory of the test's own, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def simulated_time(monkeypatch):
    """The test kit's AWS runs on a virtual clock (an update takes its minutes when a wait sleeps through them);
    each test starts it afresh."""
    aws_rules.CLOCK.reset()
    monkeypatch.setattr("sagewatch.aws.remediate.time", aws_rules.VirtualTime)
    yield aws_rules.CLOCK
    aws_rules.CLOCK.reset()


@pytest.fixture(autouse=True)
def shapes_as_aws_answers(request):
    """Every answer the test kit's AWS gives in a test, held to botocore's output shape (sagewatch_testkit.
    conformance): a fake that invents or drops a field fails the test that met it. A test that serves malformed
    answers on purpose (what sagewatch does with them) says so: @pytest.mark.malformed_answers."""
    with conformance.checking() as found:
        yield found
    if found and not request.node.get_closest_marker("malformed_answers"):
        pytest.fail("the test kit's AWS answered outside botocore's shapes:\n" + "\n".join(sorted(set(found))[:20]))


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch):
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def aws():
    moto_ext.install()
    with mock_aws():
        yield


@pytest.fixture
def now():
    return datetime.now(UTC)


class Harness:
    """One scan's clients, with every API call counted."""

    def __init__(self) -> None:
        session = boto3.session.Session(region_name=REGION)
        self.calls: Counter[str] = faults.count_calls(session.events)
        self.clients = Clients(REGION, session)
        # the daily checks' answers, kept between this harness's scans as the CLI keeps them
        self.daily = FileDailyCache(Path(tempfile.mkdtemp(prefix="sagewatch-daily-")) / "daily.json")

    @property
    def sagemaker(self):
        return self.clients.sagemaker()

    @property
    def cloudwatch(self):
        return self.clients.cloudwatch()

    def scan(self, now: datetime, thresholds: Thresholds | None = None, *, serving: bool = True) -> ScanReport:
        """The read-only scan, wired as the CLI and the scan function wire it (`serving`: with the keep-serving
        checks' reads of quotas, dependencies and logs)."""
        checks = serving_checks(self.clients, self.daily, account=moto_ext.DEFAULT_ACCOUNT, region=REGION)
        return run_scan(
            *readers(self.clients),
            Catalog.load(),
            thresholds or Thresholds(),
            now=now,
            region=REGION,
            account=None,
            serving=checks if serving else None,
        )


@pytest.fixture
def harness(aws):
    return Harness()


@pytest.fixture
def sm(aws):
    return boto3.client("sagemaker", region_name=REGION)


@pytest.fixture
def demo(harness, sm, now):
    """The demo fleet seeded in moto; the harness that scans it."""
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    return harness


@pytest.fixture
def monitor_stack(aws, monkeypatch):
    """The Model Monitor function with its topic, idempotency table and bus (watched by queues)."""
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    ddb, events = boto3.client("dynamodb", region_name=REGION), boto3.client("events", region_name=REGION)
    topic = sns.create_topic(Name="sagewatch")["TopicArn"]
    id_table(ddb, "idempotency")
    queues = {}
    for name in ("alerts", "bus"):
        queues[name] = watch_queue(sqs, name)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queues["alerts"][1], Attributes={"RawMessageDelivery": "true"}
    )
    events.put_rule(Name="alerts", EventPattern=json.dumps({"source": ["sagewatch"]}))
    events.put_targets(Rule="alerts", Targets=[{"Id": "q", "Arn": queues["bus"][1]}])
    for key, value in {
        "SAGEWATCH_TOPIC_ARN": topic,
        "SAGEWATCH_IDEMPOTENCY_TABLE": "idempotency",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "sagewatch",
        "POWERTOOLS_METRICS_NAMESPACE": "Sagewatch",
    }.items():
        monkeypatch.setenv(key, value)
    moto_ext.put_monitoring_schedule(REGION, "fraud-dq-hourly", "fraud-detector-prod", "DataQuality")
    app = load_function("model_monitor")

    return SimpleNamespace(app=app, drain=lambda which: drain(sqs, queues[which][0]))


@pytest.fixture
def remediation(aws, sm, monkeypatch):
    """The remediation function over the demo fleet, with its bucket, topic and idempotency table."""
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=datetime.now(UTC))
    return _remediation_function(sm, monkeypatch)


@pytest.fixture
def remediation_function(aws, sm, monkeypatch):
    """The remediation function over whatever the test seeded (and stored in the bucket) before asking for it:
    the function reads the stack bucket's catalog at cold start."""
    return _remediation_function(sm, monkeypatch)


def _remediation_function(sm, monkeypatch):
    s3, sns, sqs = (boto3.client(s, region_name=REGION) for s in ("s3", "sns", "sqs"))
    if BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=BUCKET)
    # versioned, as the stack's bucket is: a snapshot's seal names the version it wrote
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    topic = sns.create_topic(Name="sagewatch")["TopicArn"]
    queue, arn = watch_queue(sqs, "announcements")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    id_table(boto3.client("dynamodb", region_name=REGION), "idempotency")
    for key, value in {
        "SAGEWATCH_TOPIC_ARN": topic,
        "SAGEWATCH_BUCKET": BUCKET,
        "SAGEWATCH_IDEMPOTENCY_TABLE": "idempotency",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    app = load_function("remediate")

    def audits():
        return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="audit/").get("Contents", [])]

    def announcements():
        return [
            json.loads(m["Body"])
            for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        ]

    return SimpleNamespace(
        invoke=lambda event: app.lambda_handler(event, lambda_context("remediate", seconds=900)),
        app=app,
        sm=sm,
        s3=s3,
        audits=audits,
        announcements=announcements,
        elapse=aws_rules.CLOCK.sleep,  # let simulated minutes pass: updates finish, deletes complete
    )


def local_slack_stand_in(monkeypatch) -> None:
    """Slack URLs are only ever https://hooks.slack.com/...; tests post to a stand-in on loopback instead."""
    monkeypatch.setenv("SAGEWATCH_SLACK_URL_PREFIX", "http://127.0.0.1:")


@pytest.fixture
def secret(aws, monkeypatch):
    """put(url): store a Slack webhook URL in Secrets Manager and point the notifier's setting at it."""
    local_slack_stand_in(monkeypatch)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sagewatch")
    sm = boto3.client("secretsmanager", region_name=REGION)

    def put(url: str) -> str:
        arn = sm.create_secret(Name="sagewatch/slack", SecretString=json.dumps({"webhook_url": url}))["ARN"]
        monkeypatch.setenv("SAGEWATCH_SLACK_WEBHOOK_SECRET_ARN", arn)
        return arn

    return put


@pytest.fixture(autouse=True)
def no_cached_secrets():
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    yield
    parameters.clear_caches()


@pytest.fixture
def scan_stack(aws):
    """The scan function's neighbourhood (topic, state table, bus) on moto; calling it runs a scheduled scan."""
    return ScanStack.create(REGION)
