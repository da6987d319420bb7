"""Chatbot's Dry run button end to end on moto: a scan's Chatbot notification carries a request, the chat
dry-run function (its handler, as Lambda runs it) plans it and ends with the command that applies it, and that
command, run through the remediation function, makes the change once. A forged or altered click changes nothing."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from sagewatch.app.scan import preview_digest
from sagewatch.chat import encode
from sagewatch.cli import _parser
from sagewatch.clicommands import _remediation_request
from sagewatch.notify.digest import render_chatbot
from sagewatch_testkit import moto_ext
from sagewatch_testkit.functions import lambda_context, sample_event

REGION = moto_ext.DEFAULT_REGION
BUCKET = "sagewatch-remediation"


@pytest.fixture
def chat(remediation, harness):
    """The remediation function (its handler, as Lambda runs it) over the demo fleet: what the button invokes."""
    return SimpleNamespace(
        click=lambda event: remediation.app.lambda_handler(event, lambda_context("RemediateFunction", seconds=300)),
        harness=harness,
        now=datetime.now(UTC),
        sm=remediation.sm,
        audits=remediation.audits,
    )


def config_of(sm, endpoint):
    return sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]


def test_the_button_of_a_real_notification_plans_and_says_how_to_apply(chat):
    report = chat.harness.scan(chat.now)
    digest = preview_digest(report, remediation=True)
    context = render_chatbot(digest).to_dict()["metadata"]["additionalContext"]
    assert context["request"] and context["endpoint"] == "image-embedder"  # the digest's first actionable finding
    before = config_of(chat.sm, "image-embedder")
    answer = chat.click({"chat_request": context["request"]})
    assert answer["status"] == "planned" and answer["dry_run"] is True, answer
    assert list(answer)[-1] == "apply"  # what the channel shows last
    argv = shlex.split(answer["apply"])
    assert "--execute" in argv and argv[argv.index("--confirm") + 1] == "image-embedder"
    assert argv[argv.index("--request-id") + 1].startswith("chat-")
    assert argv[argv.index("--function-name") + 1] == "sagewatch-RemediateFunction"  # the function itself
    assert config_of(chat.sm, "image-embedder") == before and chat.audits() == []  # a plan changes nothing


def test_the_apply_command_makes_the_change_once(chat):
    answer = chat.click(sample_event("chat/dry-run.json"))
    assert answer["status"] == "planned", answer
    request = _remediation_request(_parser().parse_args(shlex.split(answer["apply"])[1:]))
    assert request["dry_run"] is False and request["request_id"].startswith("chat-")
    done = chat.click(request)
    assert done["status"] == "done", done
    changed = config_of(chat.sm, "doc-classifier")
    again = chat.click(request)  # the same command, retried
    assert again == done and config_of(chat.sm, "doc-classifier") == changed and len(chat.audits()) == 1


@pytest.mark.parametrize(
    "event",
    [
        sample_event("chat/not-a-dry-run.json"),
        {"chat_request": encode({"action": "delete-endpoint", "endpoint": "genai-sandbox", "dry_run": False})},
        {"chat_request": sample_event("chat/dry-run.json")["chat_request"][:-8] + "AAAAAAAA"},
        {"chat_request": "x", "dry_run": False},
        {"chat_request": encode({"action": "restore-endpoint", "endpoint": "x", "dry_run": True, "snapshot": "s"})},
    ],
)
def test_a_forged_or_altered_click_changes_nothing_and_says_why(chat, event):
    endpoints = {
        e["EndpointName"]: config_of(chat.sm, e["EndpointName"]) for e in chat.sm.list_endpoints()["Endpoints"]
    }
    answer = chat.click(event)
    assert answer["status"] == "invalid" and answer["error"], answer
    assert "apply" not in answer and chat.audits() == []
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
