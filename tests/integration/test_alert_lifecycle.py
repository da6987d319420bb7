"""The scan function across a sequence of scans, on moto: what each scan announces, and where."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from sagewatch.aws.wiring import scan_dependencies
from sagewatch.events import ScanRequest
from sagewatch.service import scheduled_scan
from sagewatch.settings import ScanSettings
from sagewatch_testkit import faults, fleet, moto_ext
from sagewatch_testkit.aws_fixtures import drain, id_table, watch_queue

REGION = moto_ext.DEFAULT_REGION


@pytest.fixture
def stack(aws):
    """What the template creates, on moto: topic, state table; plus queues to watch the topic and the bus."""
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    events, ddb = boto3.client("events", region_name=REGION), boto3.client("dynamodb", region_name=REGION)
    topic = sns.create_topic(Name="sagewatch")["TopicArn"]
    id_table(ddb, "state")
    queues = {}
    for name in ("digest", "bus"):
        url, arn = watch_queue(sqs, name)
        queues[name] = (url, arn)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queues["digest"][1], Attributes={"RawMessageDelivery": "true"}
    )
    events.put_rule(Name="findings", EventPattern=json.dumps({"source": ["sagewatch"]}))
    events.put_targets(Rule="findings", Targets=[{"Id": "q", "Arn": queues["bus"][1]}])
    settings = ScanSettings.from_env(
        {
            "AWS_REGION": REGION,
            "SAGEWATCH_TOPIC_ARN": topic,
            "SAGEWATCH_STATE_TABLE": "state",
            "SAGEWATCH_RENOTIFY_DAYS": "7",
        }
    )
    return settings, sqs, queues


class Scanner:
    def __init__(self, stack):
        self.settings, self.sqs, self.queues = stack

    def __call__(self, now):
        deps = scan_dependencies(self.settings, "123456789012")
        _, result = scheduled_scan(self.settings, ScanRequest(), deps, now=now)
        return result

    def digests(self):
        return drain(self.sqs, self.queues["digest"][0])

    def bus(self):
        return drain(self.sqs, self.queues["bus"][0])


def announced(digest):
    return sorted((a["reason"], a["finding"]["endpoint"]) for a in digest["announcements"])


def test_lifecycle_across_scans(stack, sm):
    t0 = datetime.now(UTC)
    sims = [
        fleet.SimEndpoint("quiet", [fleet.SimVariant("AllTraffic", "ml.m5.2xlarge", 1, cpu=2, memory=20)]),
        fleet.SimEndpoint(
            "busy", [fleet.SimVariant("AllTraffic", "ml.m5.xlarge", 2, fleet.flat(100), cpu=40, memory=50)]
        ),
    ]
    fleet.seed(sm, sims, region=REGION, now=t0)
    scan = Scanner(stack)

    first = scan(t0)
    assert first["announced"]["new"] == 1
    [digest] = scan.digests()
    assert digest["schema"] == "sagewatch.digest/1" and announced(digest) == [("new", "quiet")]
    [event] = scan.bus()
    assert event["source"] == "sagewatch" and event["detail-type"] == "SageMaker Endpoint Finding"
    assert event["detail"]["endpoint"] == "quiet" and event["detail"]["reason"] == "new"

    second = scan(t0 + timedelta(hours=1))  # same finding: silence
    assert second["announced"] == {"new": 0, "changed": 0, "reminder": 0, "resolved": 0, "unchanged": 1, "snoozed": 0}
    assert second["published_message_ids"] == [] and scan.digests() == [] and scan.bus() == []

    third = scan(t0 + timedelta(days=7, hours=1))  # reminder (and "busy", whose seeded traffic ended at t0, is idle)
    assert third["announced"]["reminder"] == 1
    assert announced(scan.digests()[0]) == [("new", "busy"), ("reminder", "quiet")]

    # the endpoint is deleted: resolved, once
    sm.delete_endpoint(EndpointName="quiet")
    fourth = scan(t0 + timedelta(days=7, hours=2))
    assert fourth["announced"]["resolved"] == 1 and announced(scan.digests()[0]) == [("resolved", "quiet")]
    assert scan(t0 + timedelta(days=7, hours=3))["announced"]["resolved"] == 0


def test_changed_recommendation_is_announced(stack, sm):
    t0 = datetime.now(UTC)
    fleet.seed(
        sm,
        [
            fleet.SimEndpoint(
                "docs", [fleet.SimVariant("AllTraffic", "ml.m5.4xlarge", 3, fleet.flat(50), cpu=12, memory=18)]
            )
        ],
        region=REGION,
        now=t0,
    )
    scan = Scanner(stack)
    scan(t0)
    assert announced(scan.digests()[0]) == [("new", "docs")]
    # a busier hour: the right size changes
    moto_ext.put_series(
        REGION,
        "/aws/sagemaker/Endpoints",
        "CPUUtilization",
        {"EndpointName": "docs", "VariantName": "AllTraffic"},
        [(t0 - timedelta(hours=3), 0.4 * 1600)],
    )
    scan(t0 + timedelta(minutes=5))
    [digest] = scan.digests()
    assert announced(digest) == [("changed", "docs")]
    assert digest["announcements"][0]["previous"]["recommendation"]["instance_type"] == "ml.r5.xlarge"


def test_snoozed_endpoint_is_silent(stack, sm):
    t0 = datetime.now(UTC)
    until = (t0 + timedelta(days=3)).date().isoformat()
    fleet.seed(
        sm,
        [
            fleet.SimEndpoint(
                "quiet",
                [fleet.SimVariant("AllTraffic", "ml.m5.large", 1, cpu=1, memory=5)],
                tags={"sagewatch:snooze-until": until},
            )
        ],
        region=REGION,
        now=t0,
    )
    scan = Scanner(stack)
    result = scan(t0)
    assert result["findings"] == 1 and result["announced"]["snoozed"] == 1 and scan.digests() == []
    later = scan(t0 + timedelta(days=4))
    assert later["announced"]["new"] == 1 and announced(scan.digests()[0]) == [("new", "quiet")]


def test_state_table_down_still_sends_the_digest_and_catches_up(stack, sm):
    t0 = datetime.now(UTC)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=t0)
    scan = Scanner(stack)
    original = boto3.session.Session.client

    def broken_dynamodb(self, *args, **kwargs):
        c = original(self, *args, **kwargs)
        if c.meta.service_model.service_name == "dynamodb":
            faults.fail_call(c, "Scan", "InternalServerError", "DynamoDB is having a bad day", status=500)
        return c

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(boto3.session.Session, "client", broken_dynamodb)
        down = scan(t0)
    assert down["state_available"] is False and down["warnings"]
    [digest] = scan.digests()
    assert len(digest["announcements"]) == 10 and digest["state_available"] is False
    # next run: state is back, everything is new once more (then quiet)
    assert scan(t0 + timedelta(hours=1))["announced"]["new"] == 10
    assert scan(t0 + timedelta(hours=2))["announced"]["unchanged"] == 10
