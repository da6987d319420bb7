"""Chatbot's Dry run button (sagewatch.chat): what a notification carries for it, and what the dry-run function
accepts from a click. A button only ever plans; the request is the one the email's command sends."""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagewatch.chat import REQUEST_MAX, ChatRequestError, apply_command, decode, encode
from sagewatch.cli import _parser
from sagewatch.clicommands import _remediation_request
from sagewatch.commands import command_for, request_for
from sagewatch.digest import Digest
from sagewatch.lifecycle import Announcement, Reason
from sagewatch.models import Action
from sagewatch.notify.digest import render_chatbot
from sagewatch.remediation import RemediationRequest
from sagewatch_testkit.builders import NOW, oversized_finding


def oversized():
    return oversized_finding()


def digest(announcements, **kw):
    return Digest(account="123456789012", region="us-east-1", generated_at=NOW, announcements=announcements, **kw)


def context_of(d):
    return render_chatbot(d).to_dict()["metadata"]["additionalContext"]


def test_a_notification_with_remediation_carries_its_first_actionable_findings_dry_run():
    f = oversized()
    investigate = replace(f, id="sw-first", recommendation=replace(f.recommendation, action=Action.INVESTIGATE))
    d = digest([Announcement(Reason.NEW, investigate), Announcement(Reason.NEW, f)], remediation=True)
    ctx = context_of(d)
    assert ctx["account"] == "123456789012" and ctx["region"] == "us-east-1"
    assert (ctx["action"], ctx["endpoint"], ctx["variant"], ctx["finding_id"]) == (
        "resize-variant", "docs", "AllTraffic", f.id,
    )  # fmt: skip
    assert (ctx["instance_type"], ctx["instance_count"]) == ("ml.r5.xlarge", "3")  # the action's fields, plain
    request = decode(ctx["request"])
    assert request == request_for(f) and request["dry_run"] is True
    # the very request the email's command sends, through the real CLI parser
    argv = shlex.split(command_for(f, "us-east-1"))[1:]
    assert RemediationRequest.model_validate(request) == RemediationRequest.model_validate(
        _remediation_request(_parser().parse_args(argv))
    )


def test_without_remediation_or_without_an_action_there_is_no_button():
    f = oversized()
    assert "request" not in context_of(digest([Announcement(Reason.NEW, f)], remediation=False))
    investigate = replace(f, recommendation=replace(f.recommendation, action=Action.INVESTIGATE))
    assert "request" not in context_of(digest([Announcement(Reason.NEW, investigate)], remediation=True))
    resolved = digest([Announcement(Reason.RESOLVED, f)], remediation=True)
    assert "request" not in context_of(resolved)  # nothing to do about a resolved finding


def test_the_apply_command_is_the_real_run_confirmed_with_its_request_id():
    request = request_for(oversized())
    command = apply_command(request, "us-east-1", "chat-0123456789", "sagewatch-RemediateFunction-X")
    argv = shlex.split(command)
    assert argv[:3] == ["sagewatch", "remediate", "resize-variant"]
    assert "--execute" in argv and argv[argv.index("--confirm") + 1] == "docs"
    assert argv[argv.index("--request-id") + 1] == "chat-0123456789"
    assert argv[argv.index("--function-name") + 1] == "sagewatch-RemediateFunction-X"
    real = RemediationRequest.model_validate(_remediation_request(_parser().parse_args(argv[1:])))
    assert not real.dry_run and real.confirm == "docs" and real.request_id == "chat-0123456789"
    planned = RemediationRequest.model_validate(request)
    assert real.model_copy(update={"dry_run": True, "confirm": None, "request_id": None}) == planned


def _b64(doc: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (None, "the request string the notification carried"),
        ("", "the request string the notification carried"),
        ("a" * (REQUEST_MAX + 4), "not a request sagewatch wrote"),
        ("not base64!", "not a request sagewatch wrote"),
        ("AAAA", "does not decode to JSON"),
        (_b64([1, 2]), "must decode to a JSON object"),
        (_b64({"action": "delete-endpoint", "endpoint": "e"}), "only ever plans"),
        (_b64({"action": "delete-endpoint", "endpoint": "e", "dry_run": False}), "only ever plans"),
        (
            _b64({"action": "restore-endpoint", "endpoint": "e", "dry_run": True, "snapshot": "s"}),
            "not 'restore-endpoint'",
        ),
        (_b64({"action": "delete-endpoint", "endpoint": "e", "dry_run": True, "snapshot": "s"}), "carries no snapshot"),
        (_b64({"action": "delete-endpoint", "endpoint": "e", "dry_run": True, "request_id": "x" * 9}), "carries no"),
        (_b64({"action": "resize-variant", "endpoint": "e", "dry_run": True, "force": True}), "carries no force"),
        (_b64({"action": "resize-variant", "endpoint": "e", "dry_run": True, "allow_accelerator_change": True}), "no"),
    ],
)
def test_a_click_that_sagewatch_did_not_write_is_refused_naming_why(value, why):
    with pytest.raises(ChatRequestError, match=why):
        decode(value)


def test_what_encode_writes_decode_reads():
    request = request_for(oversized())
    assert decode(encode(request)) == request
    assert set(encode(request)) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


@given(st.one_of(st.text(max_size=3000), st.binary(max_size=600).map(lambda b: base64.urlsafe_b64encode(b).decode())))
def test_any_value_is_a_request_or_a_named_refusal(value):
    try:
        doc = decode(value)
    except ChatRequestError as exc:
        refusal = str(exc)
        assert refusal.startswith(("chat_request", "a chat"))
    else:
        assert doc["dry_run"] is True


def test_the_slack_apps_dry_run_buttons_sit_beside_findings_with_an_action():
    from slack_sdk.models.blocks import Block

    from sagewatch.notify.digest import render_slack

    f = oversized()
    investigate = replace(f, id="sw-2", recommendation=replace(f.recommendation, action=Action.INVESTIGATE))
    announcements = [
        Announcement(Reason.NEW, f),
        Announcement(Reason.NEW, investigate),
        Announcement(Reason.RESOLVED, f),
    ]
    [with_buttons] = render_slack(digest(announcements, remediation=True), buttons=True)
    sections = [b for b in with_buttons["blocks"] if b["type"] == "section"]
    buttons = [b["accessory"] for b in sections if "accessory" in b]
    assert len(buttons) == 1  # the investigate and the resolved finding have none
    [button] = buttons
    assert button["action_id"] == "sagewatch_dry_run" and button["text"]["text"] == "Dry run"
    assert decode(button["value"]) == request_for(f) and len(button["value"]) <= 2000
    assert all(Block.parse(b) is not None for b in with_buttons["blocks"])  # valid Block Kit
    [plain] = render_slack(digest(announcements, remediation=True))
    assert not any("accessory" in b for b in plain["blocks"])  # without the Slack app: none
    [read_only] = render_slack(digest(announcements, remediation=False), buttons=True)
    assert not any("accessory" in b for b in read_only["blocks"])  # nothing to invoke without remediation
