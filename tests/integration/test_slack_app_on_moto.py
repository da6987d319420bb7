"""The Slack app's buttons end to end on moto: Slack's signed click reaches the function's URL handler, the work
runs (here inline, as its asynchronous invocation would), the remediation function (its handler, in-process)
plans and applies, Apply tokens live in the idempotency table. A forged or replayed click changes nothing."""

from __future__ import annotations

import base64
import io
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody

from sagewatch.app.slack_actions import SlackActionsDependencies, receive, work
from sagewatch.aws.slack_actions import SlackTokens
from sagewatch.chat import decode, encode
from sagewatch.notify.remediation import requested_by_line
from sagewatch.settings import SlackActionsSettings
from sagewatch.slackapp import APPLY, DRY_RUN, signed_job, token_key
from sagewatch_testkit import aws_rules
from sagewatch_testkit.functions import lambda_context, load_function, sample_event
from sagewatch_testkit.slack_app import (
    APPROVER,
    OTHER_APPROVER,
    SIGNING_SECRET,
    STRANGER,
    click_body,
    signed_sample,
    url_event,
)

REGION = "us-east-1"
EVENTS = Path(__file__).resolve().parents[2] / "events"


class InProcessRemediation:
    """The remediation function's handler, invoked as Lambda would with the Slack app's client context."""

    def __init__(self, app: Any):
        self.app = app

    def run(self, request, requested_by):
        context = lambda_context("remediate")
        context.client_context = SimpleNamespace(custom=dict(requested_by))
        return self.app.lambda_handler(dict(request), context)


@pytest.fixture
def slack(remediation):
    posts: list[tuple[str, dict[str, Any]]] = []
    queue: list[dict[str, Any]] = []
    deps = SlackActionsDependencies(
        SlackTokens(boto3.client("dynamodb", region_name=REGION), "idempotency"),
        InProcessRemediation(remediation.app),
        queue.append,
        lambda url, message: posts.append((url, dict(message))),
    )
    config = SlackActionsSettings(
        region=REGION,
        signing_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:sagewatch/slack-signing",
        approvers=frozenset({APPROVER[0], OTHER_APPROVER[0]}),
        remediate_function="sagewatch-RemediateFunction",
        tokens_table="idempotency",
    )

    def click(action, value, *, user=APPROVER, at=None, event=None):
        at = at or datetime.now(UTC)
        event = event or url_event(click_body(action, value, user=user), timestamp=int(at.timestamp()))
        answer = receive(event, config, SIGNING_SECRET, deps, at)
        outcomes = [work(job, config, SIGNING_SECRET, deps, at) for job in queue]
        queue.clear()
        return answer, outcomes

    return SimpleNamespace(click=click, posts=posts, remediation=remediation, config=config, deps=deps)


def variant(sm, endpoint="doc-classifier"):
    config = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    [v] = sm.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]
    return v["InstanceType"], v["InitialInstanceCount"]


def request():
    """The sample dry run of events/ (doc-classifier to 3 x ml.r5.xlarge), as a finding's button carries it."""
    return decode(sample_event("chat/dry-run.json")["chat_request"])


def test_a_click_plans_apply_changes_once_and_the_audit_names_both_people(slack):
    sm = slack.remediation.sm
    assert variant(sm) == ("ml.m5.4xlarge", 3)
    answer, [planned] = slack.click(DRY_RUN, encode(request()))
    assert answer["statusCode"] == 200 and planned["status"] == "planned", planned
    url, message = slack.posts[-1]
    assert url.startswith("https://hooks.slack.com/") and "resize-variant" in json.dumps(message)
    token = message["blocks"][1]["elements"][0]["value"]
    table = boto3.client("dynamodb", region_name=REGION)
    stored = table.get_item(TableName="idempotency", Key={"id": {"S": token_key(token)}})["Item"]
    assert token not in json.dumps(stored)  # kept by its hash only
    assert variant(sm) == ("ml.m5.4xlarge", 3)  # a plan changes nothing
    _, [applied] = slack.click(APPLY, token, user=OTHER_APPROVER)
    assert applied["status"] == "done", (applied, slack.posts[-1])
    aws_rules.CLOCK.sleep(aws_rules.DURATIONS.endpoint_update)  # the update takes its minutes
    assert variant(sm) == ("ml.r5.xlarge", 3)
    [audit_key] = slack.remediation.audits()
    audit = json.loads(slack.remediation.s3.get_object(Bucket="sagewatch-remediation", Key=audit_key)["Body"].read())
    who = audit["requested_by"]
    assert who["source"] == "slack" and who["principal"] == f"slack:{OTHER_APPROVER[0]} ({OTHER_APPROVER[1]})"
    assert who["slack_asked_by"] == {"id": APPROVER[0], "name": APPROVER[1]}
    assert who["slack_applied_by"] == {"id": OTHER_APPROVER[0], "name": OTHER_APPROVER[1]}
    [notice] = slack.remediation.announcements()
    line = requested_by_line(notice["requested_by"])  # the notice's "Requested by" line, in every rendering
    assert line.startswith("Requested by: bob (U0456EFGH) in Slack, through the sagewatch app")
    assert "dry run asked by alice (U0123ABCD)" in line
    assert line.count("bob") == 1 and line.count("U0456EFGH") == 1 and line.count("alice") == 1  # each once
    # replayed: the token is gone, nothing more happens
    _, [again] = slack.click(APPLY, token, user=OTHER_APPROVER)
    assert again["status"] == "refused" and len(slack.remediation.audits()) == 1


def test_a_forged_or_stale_click_reaches_nothing(slack):
    body = click_body(DRY_RUN, encode(request()))
    now = datetime.now(UTC)
    for event in (
        url_event(body, timestamp=int(now.timestamp()), signed="v0=" + "f" * 64),
        url_event(body, timestamp=int((now - timedelta(minutes=6)).timestamp())),
    ):
        answer, outcomes = slack.click(DRY_RUN, "", event=event)
        assert answer["statusCode"] == 401 and outcomes == []
    assert slack.posts == [] and slack.remediation.audits() == []


def test_an_expired_token_is_refused_and_the_table_forgets_it(slack):
    slack.click(DRY_RUN, encode(request()))
    token = slack.posts[-1][1]["blocks"][1]["elements"][0]["value"]
    _, [late] = slack.click(APPLY, token, user=OTHER_APPROVER, at=datetime.now(UTC) + timedelta(minutes=16))
    assert late["status"] == "refused" and variant(slack.remediation.sm) == ("ml.m5.4xlarge", 3)


@pytest.fixture
def handler(aws, monkeypatch):
    """functions/slack_actions/app.py as Lambda runs it, its signing secret in Secrets Manager; its own
    asynchronous invocation captured (moto cannot run a function)."""
    arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="sagewatch/slack-signing", SecretString=json.dumps({"signing_secret": SIGNING_SECRET})
    )["ARN"]
    for key, value in {
        "SAGEWATCH_SLACK_SIGNING_SECRET_ARN": arn,
        "SAGEWATCH_SLACK_APPROVERS": f"{APPROVER[0]},{OTHER_APPROVER[0]}",
        "SAGEWATCH_REMEDIATE_FUNCTION": "sagewatch-RemediateFunction",
        "SAGEWATCH_IDEMPOTENCY_TABLE": "idempotency",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "sagewatch",
        "POWERTOOLS_METRICS_NAMESPACE": "Sagewatch",  # as the template's Globals set it
    }.items():
        monkeypatch.setenv(key, value)
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    app = load_function("slack_actions")
    queued: list[Any] = []

    def capture(params, **_):
        queued.append(json.loads(params["body"]))
        return SimpleNamespace(status_code=202, headers={}), {
            "StatusCode": 202,
            "Payload": StreamingBody(io.BytesIO(b""), 0),
        }

    app.CLIENTS.lambda_().meta.events.register("before-call.lambda.Invoke", capture)
    return SimpleNamespace(app=app, queued=queued, capture=capture)


@pytest.mark.parametrize(
    ("sample", "status"), [("dry-run.json", 200), ("forged-signature.json", 401), ("stale-timestamp.json", 401)]
)
def test_the_sample_events_as_slack_sends_them(handler, sample, status, capsys):
    event = signed_sample(
        str(EVENTS / "slack-actions" / sample),
        now=int(time.time()),
        response_url="https://hooks.slack.com/actions/T/1/x",
    )
    answer = handler.app.lambda_handler(event, lambda_context("slack-actions"))
    assert answer["statusCode"] == status, answer
    refused = [m for m in emf(capsys.readouterr().out) if "SlackRequestsRefused" in m]
    if status == 200:
        [job] = handler.queued  # the work, queued for the function's own asynchronous invocation
        assert set(job["sagewatch_slack_click"]) == {"body", "timestamp", "signature"}  # as Slack signed it
        assert APPROVER[0] in base64.b64decode(job["sagewatch_slack_click"]["body"]).decode()
        assert refused == []
    else:
        assert handler.queued == []
        [metric] = refused  # counted: a forged or stale request on the public URL is visible in CloudWatch
        assert metric["Status"] == "401" and metric["SlackRequestsRefused"] == [1.0]


def emf(stdout: str) -> list[dict[str, Any]]:
    """The EMF documents a function printed (Powertools metrics), among its log lines."""
    docs = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [d for d in docs if "_aws" in d]


def test_an_unqueueable_click_does_nothing_and_says_so(handler):
    # moto has no such function to invoke: the click is not queued
    handler.app.CLIENTS.lambda_().meta.events.unregister("before-call.lambda.Invoke", handler.capture)
    event = signed_sample(
        str(EVENTS / "slack-actions" / "dry-run.json"), now=int(time.time()), response_url="https://hooks.slack.com/a/1"
    )
    answer = handler.app.lambda_handler(event, lambda_context("slack-actions"))
    assert answer["statusCode"] == 503 and "could not be queued" in answer["body"]


def test_a_clicks_outcome_is_counted_by_the_function(handler, capsys, monkeypatch):
    """The work's invocation counts its outcome (SlackClicks by Outcome): refusals show in CloudWatch."""
    posted: list[dict[str, Any]] = []
    wired = handler.app.slack_actions_dependencies
    monkeypatch.setattr(
        handler.app, "slack_actions_dependencies", lambda *a: replace(wired(*a), post=lambda _, m: posted.append(m))
    )
    body = click_body(DRY_RUN, encode(request()), user=STRANGER, response_url="https://hooks.slack.com/actions/T/1/x")
    signed = url_event(body, timestamp=int(time.time()))["headers"]
    job = {"sagewatch_slack_click": signed_job(signed, body.encode())}
    outcome = handler.app.lambda_handler(job, lambda_context("slack-actions"))
    assert outcome["status"] == "refused" and posted[-1]["response_type"] == "ephemeral"
    [metric] = [m for m in emf(capsys.readouterr().out) if "SlackClicks" in m]
    assert metric["Outcome"] == "refused" and metric["SlackClicks"] == [1.0]
