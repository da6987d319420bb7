"""Chatbot's Dry run button end to end on moto: a scan's Chatbot notification carries a request, the chat
dry-run function (its handler, as Lambda runs it) plans it and ends with the command that applies it, and that
command, run through the remediation function, makes the change once. A forged or altered click changes nothing."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from types import SimpleNamespace

import boto3
import pytest

from sagewatch.app.scan import preview_digest
from sagewatch.chat import encode
from sagewatch.cli import _parser, _remediation_request
from sagewatch.notify.digest import render_chatbot
from sagewatch_testkit import fleet, moto_ext
from sagewatch_testkit.aws_fixtures import id_table
from sagewatch_testkit.functions import lambda_context, load_function, sample_event

REGION = moto_ext.DEFAULT_REGION
BUCKET = "sagewatch-remediation"


@pytest.fixture
def chat(aws, sm, harness, monkeypatch):
    """The demo fleet, the stack bucket, and the chat dry-run function as a Chatbot stack configures it."""
    now = datetime.now(UTC)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    for key, value in {
        "SAGEWATCH_BUCKET": BUCKET,
        "SAGEWATCH_REMEDIATE_FUNCTION": "sagewatch-RemediateFunction",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "sagewatch",
    }.items():
        monkeypatch.setenv(key, value)
    app = load_function("chat_dry_run")
    return SimpleNamespace(
        click=lambda event: app.lambda_handler(event, lambda_context("chat_dry_run", seconds=15)),
        harness=harness,
        now=now,
        sm=sm,
    )


def config_of(sm, endpoint):
    return sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]


def test_the_button_of_a_real_notification_plans_and_says_how_to_apply(chat):
    report = chat.harness.scan(chat.now)
    digest = preview_digest(report)
    context = render_chatbot(digest).to_dict()["metadata"]["additionalContext"]
    assert context["request"] and context["endpoint"] == "image-embedder"  # the digest's first actionable finding
    before = config_of(chat.sm, "image-embedder")
    answer = chat.click({"chat_request": context["request"]})
    assert answer["status"] == "planned" and answer["dry_run"] is True, answer
    assert list(answer)[-1] == "apply"  # what the channel shows last
    argv = shlex.split(answer["apply"])
    assert "--execute" in argv and argv[argv.index("--confirm") + 1] == "image-embedder"
    assert argv[argv.index("--request-id") + 1].startswith("chat-")
    assert argv[argv.index("--function-name") + 1] == "sagewatch-RemediateFunction"
    assert config_of(chat.sm, "image-embedder") == before  # a plan changes nothing


def test_the_apply_command_makes_the_change_once(chat, monkeypatch):
    answer = chat.click(sample_event("chat/dry-run.json"))
    assert answer["status"] == "planned", answer
    request = _remediation_request(_parser().parse_args(shlex.split(answer["apply"])[3:]))
    assert request["dry_run"] is False and request["request_id"].startswith("chat-")
    id_table(boto3.client("dynamodb", region_name=REGION), "idempotency")
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="sagewatch")["TopicArn"]
    monkeypatch.setenv("SAGEWATCH_TOPIC_ARN", topic)
    monkeypatch.setenv("SAGEWATCH_IDEMPOTENCY_TABLE", "idempotency")
    remediate = load_function("remediate")
    done = remediate.lambda_handler(request, lambda_context("remediate"))
    assert done["status"] == "done", done
    changed = config_of(chat.sm, "doc-classifier")
    again = remediate.lambda_handler(request, lambda_context("remediate"))  # the same command, retried
    assert again == done and config_of(chat.sm, "doc-classifier") == changed


@pytest.mark.parametrize(
    "event",
    [
        sample_event("chat/not-a-dry-run.json"),
        {"chat_request": encode({"action": "delete-endpoint", "endpoint": "genai-sandbox", "dry_run": False})},
        {"chat_request": sample_event("chat/dry-run.json")["chat_request"][:-8] + "AAAAAAAA"},
        {"chat_request": "x", "dry_run": False},
        {"action": "delete-endpoint", "endpoint": "genai-sandbox", "dry_run": False, "confirm": "genai-sandbox"},
        "delete genai-sandbox",
        None,
    ],
)
def test_a_forged_or_altered_click_changes_nothing_and_says_why(chat, event):
    endpoints = {
        e["EndpointName"]: config_of(chat.sm, e["EndpointName"]) for e in chat.sm.list_endpoints()["Endpoints"]
    }
    answer = chat.click(event)
    assert answer["status"] == "invalid" and answer["error"], answer
    assert "apply" not in answer
    after = {e["EndpointName"]: config_of(chat.sm, e["EndpointName"]) for e in chat.sm.list_endpoints()["Endpoints"]}
    assert after == endpoints


def test_a_protected_endpoint_is_refused_even_as_a_plan(chat):
    arn = chat.sm.describe_endpoint(EndpointName="doc-classifier")["EndpointArn"]
    chat.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "sagewatch:protect", "Value": "true"}])
    answer = chat.click(sample_event("chat/dry-run.json"))
    assert answer["status"] == "refused" and "sagewatch:protect=true" in answer["error"]
    assert "apply" not in answer


def test_a_plan_that_no_longer_matches_offers_no_apply(chat):
    chat.sm.update_endpoint_weights_and_capacities(
        EndpointName="doc-classifier",
        DesiredWeightsAndCapacities=[{"VariantName": "AllTraffic", "DesiredInstanceCount": 5}],
    )
    answer = chat.click(sample_event("chat/dry-run.json"))
    assert answer["status"] == "stale" and "apply" not in answer, answer
    assert json.dumps(answer)  # the answer is what the channel shows: JSON
