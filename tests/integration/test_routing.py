"""Routing on moto: the table in SSM (read with Powertools Parameters), each route its own digest (SNS topic,
Slack webhook secret, email through SES), the stack's topic everything or the rest, and a route that cannot be
reached never losing its findings."""

from __future__ import annotations

import json
from dataclasses import replace

import boto3
import pytest
from moto.ses.models import ses_backends

from sagewatch.app.scan import scheduled_scan
from sagewatch.aws.routes import load_routing
from sagewatch.aws.wiring import scan_dependencies
from sagewatch.requests import ScanRequest
from sagewatch.settings import SettingsError
from sagewatch_testkit import fleet
from sagewatch_testkit.aws_fixtures import drain, watch_queue
from sagewatch_testkit.functions import load_function, sample_event
from sagewatch_testkit.webhook_server import fake_webhook

pytestmark = pytest.mark.integration
REGION = "us-east-1"
ACCOUNT = "123456789012"


def idle(name: str, **tags: str) -> fleet.SimEndpoint:
    return fleet.SimEndpoint(name, [fleet.SimVariant("AllTraffic", "ml.m5.xlarge", 1, cpu=2, memory=10)], tags=tags)


@pytest.fixture
def routed(scan_stack, sm, now):
    fleet.seed(
        sm,
        [
            idle("fraud-scorer", team="fraud"),
            idle("alice-test", owner="alice"),
            idle("genai-chat", env="dev"),
            idle("lonely"),
        ],
        region=REGION,
        now=now,
    )
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    fraud = sns.create_topic(Name="sagewatch-fraud-alerts")["TopicArn"]
    url, arn = watch_queue(sqs, "fraud-queue")
    sns.subscribe(TopicArn=fraud, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress="sagewatch@example.com")
    with fake_webhook([(200, {}, "ok")]) as hook:
        secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="sagewatch/genai", SecretString=json.dumps({"webhook_url": hook.url})
        )["ARN"]
        rules = [
            {"name": "fraud-team", "match": {"team": "fraud"}, "to": {"sns": fraud}},
            {"name": "alice", "match": {"owner": "alice"}, "to": {"email": "alice@example.com"}},
            {"name": "genai", "match": {"endpoint": "genai-*", "tag": {"env": "dev"}}, "to": {"slack_secret": secret}},
            # a topic that does not exist (deleted, or a typo): its findings must still reach someone
            {"name": "gone", "match": {"endpoint": "lonely"}, "to": {"sns": fraud.replace("fraud-alerts", "deleted")}},
        ]
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name="/sagewatch/routing", Type="String", Value=json.dumps({"rules": rules})
        )

        def scan(*, copy_all: bool = True):
            n = replace(
                scan_stack.settings.notifications,
                routing_parameter="/sagewatch/routing",
                copy_all_to_default=copy_all,
                email_from="sagewatch@example.com",
                email_domains=("example.com",),
                slack_url_prefix="http://127.0.0.1:",  # the Slack stand-in (only hooks.slack.com when deployed)
            )
            settings = replace(scan_stack.settings, notifications=n)
            return scheduled_scan(settings, ScanRequest(), scan_dependencies(settings, ACCOUNT), now=now)[1]

        yield scan, (lambda: drain(sqs, url)), hook


def announced(digest) -> set[str]:
    return {a["finding"]["endpoint"] for a in digest["announcements"]}


def test_each_route_gets_its_own_digest_and_the_stack_topic_everything(routed, scan_stack):
    scan, fraud_queue, hook = routed
    result = scan()
    [fraud] = fraud_queue()
    assert announced(fraud) == {"fraud-scorer"} and fraud["route"] == "fraud-team"
    [email] = ses_backends[ACCOUNT][REGION].sent_messages
    assert email.destinations["ToAddresses"] == ["alice@example.com"] and "alice-test" in email.body
    assert "fraud-scorer" not in email.body and "[alice]" in email.subject
    [slack] = hook.requests
    assert "genai-chat" in json.dumps(slack) and "lonely" not in json.dumps(slack)
    [default] = scan_stack.digests()  # CopyAllToDefault: every finding, and the route that failed named
    assert announced(default) == {"fraud-scorer", "alice-test", "genai-chat", "lonely"}
    [warning] = [w for w in default["warnings"] if "routing rule 'gone'" in w]
    assert "NotFound" in warning and "its 1 findings are in this digest instead" in warning
    assert len(result["published_message_ids"]) >= 3


def test_without_copy_all_the_stack_topic_gets_only_the_rest(routed, scan_stack):
    scan, fraud_queue, _ = routed
    scan(copy_all=False)
    assert announced(fraud_queue()[0]) == {"fraud-scorer"}
    [default] = scan_stack.digests()
    assert announced(default) == {"lonely"}  # unrouted by failure: never lost


def test_a_broken_routing_document_stops_the_cold_start_naming_rule_and_field(aws, monkeypatch):
    ssm = boto3.client("ssm", region_name=REGION)
    rules = [{"name": "ok", "match": {"team": "a"}, "to": {"email": "a@example.com"}},
             {"name": "typo", "match": {"team": "b"}, "to": {"sns": "fraud-alerts"}}]  # fmt: skip
    ssm.put_parameter(Name="/sagewatch/routing", Type="String", Value=json.dumps({"rules": rules}))
    with pytest.raises(SettingsError, match=r"routing rule 2 \('typo'\): to.sns is not an SNS topic ARN"):
        load_routing("/sagewatch/routing")
    ssm.put_parameter(Name="/sagewatch/not-json", Type="String", Value="{rules:")
    with pytest.raises(SettingsError, match="not JSON"):
        load_routing("/sagewatch/not-json")
    with pytest.raises(SettingsError, match="could not be read"):
        load_routing("/sagewatch/missing")
    for key, value in {
        "SAGEWATCH_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:sagewatch",
        "SAGEWATCH_STATE_TABLE": "state",
        "SAGEWATCH_ROUTING_PARAMETER": "/sagewatch/routing",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError, match="typo"):
        load_function("scan")


def team_route(monkeypatch, name: str, team: str):
    """A routing table with one rule (the team's endpoints to a new topic), named in the functions' setting
    before their cold start; returns what reads the topic."""
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name=name)["TopicArn"]
    url, arn = watch_queue(sqs, f"{name}-queue")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    rules = [{"name": name, "match": {"team": team}, "to": {"sns": topic}}]
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/sagewatch/routing", Type="String", Value=json.dumps({"rules": rules})
    )
    monkeypatch.setenv("SAGEWATCH_ROUTING_PARAMETER", "/sagewatch/routing")
    return lambda: drain(sqs, url)


@pytest.fixture
def notice_route(aws, monkeypatch):
    """A route for the churn team's endpoints, set up before the remediation function's cold start."""
    return team_route(monkeypatch, "sagewatch-churn", "churn")


def test_a_remediation_notice_goes_to_the_endpoints_route_and_says_who_asked(notice_route, remediation):
    from types import SimpleNamespace

    from sagewatch_testkit.functions import lambda_context

    endpoint = remediation.sm.describe_endpoint(EndpointName="churn-model-staging")["EndpointArn"]
    remediation.sm.add_tags(ResourceArn=endpoint, Tags=[{"Key": "team", "Value": "churn"}])
    request = sample_event("remediate/delete-endpoint-execute.json")
    request["expect"].pop("finding_id")
    context = lambda_context("remediate")
    asker = "arn:aws:sts::123456789012:assumed-role/MLPlatformAdmin/dana"
    context.client_context = SimpleNamespace(custom={"requested_by": asker})
    result = remediation.app.lambda_handler(request, context)
    assert result["status"] == "done", result
    [routed] = notice_route()
    assert routed["schema"] == "sagewatch.remediation/1" and routed["request"]["endpoint"] == "churn-model-staging"
    assert routed["requested_by"] == {
        "principal": asker,
        "source": "client-context",
        "verified": False,
        "lambda_request_id": "req-1",
    }
    assert routed["owner"]["team"] == "churn"
    [everyone] = remediation.announcements()  # the stack's topic too
    assert everyone["requested_by"]["principal"] == asker
    audit = remediation.s3.get_object(Bucket="sagewatch-remediation", Key=result["audit"])["Body"].read()
    assert json.loads(audit)["requested_by"]["principal"] == asker


@pytest.fixture
def alert_route(aws, sm, monkeypatch, now):
    """The fraud team's endpoint, tagged, and a route for its team, set up before the monitor's cold start."""
    fleet.seed(
        sm,
        [fleet.SimEndpoint("fraud-detector-prod", [fleet.SimVariant("AllTraffic", "ml.m5.xlarge", 2, cpu=40)],
                           tags={"team": "fraud", "owner": "maria.garcia"})],
        region=REGION,
        now=now,
    )  # fmt: skip
    return team_route(monkeypatch, "sagewatch-fraud-oncall", "fraud")


def test_an_endpoint_failure_alert_names_the_owner_and_goes_to_their_route(alert_route, monitor_stack):
    from sagewatch_testkit.functions import lambda_context

    result = monitor_stack.app.lambda_handler(sample_event("endpoint-failed.json"), lambda_context("monitor"))
    assert result["status"] == "alerted" and result["kind"] == "endpoint-failed", result
    [routed] = alert_route()
    assert routed["schema"] == "sagewatch.alert/1" and routed["endpoint"] == "fraud-detector-prod"
    assert routed["owner"]["principal"] == "maria.garcia" and routed["owner"]["team"] == "fraud"
    [everyone] = monitor_stack.drain("alerts")  # CopyAllToDefault: the stack's topic too
    assert everyone["owner"]["source"] == "tag:owner"
