"""Digest renderings: email, JSON, Slack Block Kit (validated with slack_sdk), Chatbot, SNS parts."""

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from sagewatch.catalog import Catalog
from sagewatch.commands import command_for
from sagewatch.digest import Digest
from sagewatch.lifecycle import Announcement, Reason
from sagewatch.metrics import variant_metric
from sagewatch.models import Action, Finding
from sagewatch.notify.core import SnsMessage, sns_parts
from sagewatch.notify.digest import render_chatbot, render_email, render_json, render_slack, sns_messages
from sagewatch.notify.limits import SLACK_BLOCKS_MAX, SNS_MAX_BYTES
from sagewatch.rules import judge_endpoint
from sagewatch.settings import Thresholds
from sagewatch_testkit.builders import NOW, endpoint, hourly, oversized_finding, results, variant, windows

CATALOG = Catalog.load()


def judge(ep, res=None):
    return judge_endpoint(ep, res or results(), CATALOG, Thresholds(), windows())


def oversized():
    return oversized_finding()


def digest(announcements, **kw):
    return Digest(account="123456789012", region="us-east-1", generated_at=NOW, announcements=announcements, **kw)


def many(n):
    # long names make long blocks: the worst case for Slack and SNS limits
    return [
        Announcement(
            Reason.NEW,
            judge(endpoint(f"{'very-long-endpoint-name-' * 2}{i:04d}", variant("AllTraffic", "ml.g5.12xlarge")))[0],
        )
        for i in range(n)
    ]


def test_email_groups_by_severity_with_evidence_cost_and_command():
    idle = judge(endpoint("quiet", variant("v", "ml.m5.2xlarge")))[0]
    d = digest(
        [
            Announcement(Reason.NEW, idle),
            Announcement(Reason.NEW, oversized()),
            Announcement(Reason.RESOLVED, replace(idle, endpoint="fixed")),
        ]
    )
    text = render_email(d)
    assert text.index("HIGH (1)") < text.index("MEDIUM (1)") < text.index("RESOLVED (1)")
    assert "[NEW] oversized: docs / AllTraffic (3 x ml.m5.4xlarge)" in text
    assert "Peak hourly utilization over 168 h: cpu 12%, memory 18%." in text
    assert "No invocations in the last 24 h." in text
    assert "Costs $2,019/month; saves $1,358/month." in text
    assert "sagewatch remediate delete-endpoint --region us-east-1 --endpoint quiet" in text
    assert "Dry run (add --execute --confirm quiet to carry it out):" in text
    assert "fixed is no longer idle" in text


def test_changed_finding_says_what_it_was():
    f = oversized()
    before = replace(f, monthly_savings_usd=100.0, recommendation=replace(f.recommendation, instance_count=2))
    text = render_email(digest([Announcement(Reason.CHANGED, f, before)]))
    assert "[CHANGED]" in text and "Was: resize-variant -> 2 x ml.r5.xlarge, saving $100/month." in text


def test_json_body_is_machine_readable():
    doc = render_json(digest([Announcement(Reason.NEW, oversized())], unchanged=3))
    assert doc["schema"] == "sagewatch.digest/1"
    assert doc["summary"] == {"new": 1, "changed": 0, "reminder": 0, "resolved": 0, "unchanged": 3, "snoozed": 0}
    [a] = doc["announcements"]
    assert a["reason"] == "new" and a["finding"]["kind"] == "oversized"
    assert a["command"].startswith("sagewatch remediate resize-variant")
    json.dumps(doc)


def test_slack_splits_200_findings_within_block_kit_limits():
    payloads = render_slack(digest(many(200)))
    assert len(payloads) == 5  # 48 findings per message
    total = 0
    for n, payload in enumerate(payloads, 1):
        assert len(payload["blocks"]) <= SLACK_BLOCKS_MAX
        for raw in payload["blocks"]:
            Block.parse(raw).validate_json()  # raises on Slack's length limits
        assert payload["blocks"][0]["text"]["text"].endswith(f"({n}/5)")
        total += len(payload["blocks"]) - 2
    assert total == 200


def test_slack_clips_overlong_text():
    f = oversized()
    f = replace(f, recommendation=replace(f.recommendation, summary="x" * 5000))
    [payload] = render_slack(digest([Announcement(Reason.NEW, f)]))
    for raw in payload["blocks"]:
        Block.parse(raw).validate_json()
    text = payload["blocks"][2]["text"]["text"]
    # each piece of data has its own cut, so the command after an overlong summary survives
    assert len(text) <= 3000 and "x" * 799 + "…" in text and "--finding-id" in text


def test_chatbot_custom_notification_shape():
    doc = render_chatbot(digest(many(200))).to_dict()
    assert doc["version"] == "1.0" and doc["source"] == "custom"
    assert doc["content"]["textType"] == "client-markdown"
    assert len(doc["content"]["description"]) <= 3500 and "more in the email digest" in doc["content"]["description"]
    assert doc["metadata"]["threadId"] == "sagewatch-123456789012-us-east-1"


def test_sns_message_has_a_body_per_protocol_and_filterable_attributes():
    [m] = sns_messages(digest([Announcement(Reason.NEW, oversized())]), chatbot=True)
    body = json.loads(m.message)
    assert set(body) == {"default", "email", "email-json", "sqs", "lambda", "https"}
    assert json.loads(body["https"])["source"] == "custom"  # Chatbot's format on https
    assert json.loads(body["sqs"])["schema"] == "sagewatch.digest/1"
    assert json.loads(m.attributes["kind"]["StringValue"]) == ["oversized"]
    assert json.loads(m.attributes["endpoint"]["StringValue"]) == ["docs"]
    assert m.attributes["severity"]["DataType"] == "String.Array"
    [plain] = sns_messages(digest([Announcement(Reason.NEW, oversized())]))
    assert json.loads(json.loads(plain.message)["https"])["schema"] == "sagewatch.digest/1"


def test_large_digest_is_split_under_the_sns_limit():
    parts = sns_messages(digest(many(200)), chatbot=True)
    assert len(parts) > 1
    assert all(p.size <= SNS_MAX_BYTES for p in parts)
    seen = [a["finding"]["endpoint"] for p in parts for a in json.loads(json.loads(p.message)["sqs"])["announcements"]]
    assert len(seen) == len(set(seen)) == 200
    assert parts[0].subject.endswith(f"(part 1/{len(parts)})")


@given(sizes=st.lists(st.integers(1, 60), max_size=80), limit=st.integers(1, 2000))
def test_sns_parts_are_the_longest_runs_that_fit_with_few_renders(sizes, limit):
    """What adding one item at a time gave (each part the longest run that fits, measured with the widest label;
    a lone item too large still goes, alone), with O(log n) renders a part instead of one per item."""
    renders = []

    def message(part, label):
        renders.append(len(part))
        return SnsMessage(f"part {label[0]}/{label[1]}", "x" * sum(sizes[i] for i in part), {})

    parts = sns_parts(list(range(len(sizes))), message, limit)
    runs = [json.loads(p.subject.split("/")[0].removeprefix("part ")) for p in parts]
    assert runs == list(range(1, len(parts) + 1))
    got = [len(r) for r in _runs(sizes, limit, len(sizes))]
    assert renders[-len(parts) :] == got or (not sizes and renders == [0])
    assert sum(got) == len(sizes)
    assert len(renders) <= len(parts) * (2 * max(1, len(sizes)).bit_length() + 2)


def _runs(sizes, limit, count):
    """The greedy split sns_parts must equal: add items while the part (widest label) fits."""
    out, current = [], []
    for i, _ in enumerate(sizes):
        trial = [*current, i]
        if current and sum(sizes[j] for j in trial) + len(f"part {count}/{count}") > limit:
            out.append(current)
            trial = [i]
        current = trial
    if current:
        out.append(current)
    return out


def test_every_command_is_a_valid_remediation_request():
    """The command a finding carries parses, through the real CLI, into a request the function accepts."""
    import shlex

    from sagewatch.cli import _parser
    from sagewatch.clicommands import _remediation_request
    from sagewatch.remediation import RemediationRequest

    findings = [oversized()] + [
        f
        for ep in (
            endpoint("quiet", variant("v", "ml.m5.2xlarge")),
            endpoint("ab", variant("a", "ml.c5.2xlarge"), variant("b", "ml.c5.2xlarge")),
            endpoint("q", variant("v", "ml.m5.xlarge"), is_async=True),
        )
        for f in judge(ep, results((variant_metric("ab", "a", "Invocations", "Sum"), hourly(5, 24))))
    ]
    assert {f.recommendation.action.value for f in findings} == {
        "resize-variant",
        "delete-endpoint",
        "remove-variant",
        "scale-to-zero",
    }
    for f in findings:
        command = command_for(f, "us-east-1")
        assert command is not None
        argv = shlex.split(command)[1:]  # drop "sagewatch"
        request = RemediationRequest.model_validate(_remediation_request(_parser().parse_args(argv)))
        assert request.dry_run and request.endpoint == f.endpoint and request.expect is not None
        assert request.expect.finding_id == f.id


def test_scale_out_becomes_set_instance_count():
    f = Finding.from_dict(
        {
            "id": "sw-1",
            "kind": "saturated",
            "severity": "high",
            "endpoint": "e",
            "variant": "v",
            "instance_type": "ml.g5.12xlarge",
            "instance_count": 1,
            "recommendation": {"action": "scale-out", "instance_type": "ml.g5.12xlarge", "instance_count": 2},
        }
    )
    assert command_for(f, "us-east-1") == (
        "sagewatch remediate set-instance-count --region us-east-1 --endpoint e --variant v "
        "--instance-count 2 --expect-instance-type ml.g5.12xlarge --expect-instance-count 1 --finding-id sw-1"
    )


def test_investigate_has_no_command():
    f = oversized()
    assert (
        command_for(replace(f, recommendation=replace(f.recommendation, action=Action.INVESTIGATE)), "us-east-1")
        is None
    )


def test_a_read_only_deployment_gives_local_dry_runs_everywhere():
    """Remediation disabled: no function to invoke, so every command reads with the reader's own credentials."""
    from sagewatch.notify.digest import digest_from_json
    from sagewatch.settings import ScanSettings, SettingsError

    d = digest([Announcement(Reason.NEW, oversized())], remediation=False)
    assert render_email(d).count("--local") == 1
    doc = render_json(d)
    assert doc["remediation"] is False and doc["announcements"][0]["command"].endswith(" --local")
    back = digest_from_json(doc)  # what the Slack notifier renders from
    assert back.remediation is False and "--local" in json.dumps(render_slack(back))
    assert "--local" not in render_email(digest([Announcement(Reason.NEW, oversized())]))
    env = {"AWS_REGION": "us-east-1", "SAGEWATCH_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "SAGEWATCH_STATE_TABLE": "s"}
    assert ScanSettings.from_env(env | {"SAGEWATCH_REMEDIATION": "disabled"}).remediation is False
    with pytest.raises(SettingsError, match="SAGEWATCH_REMEDIATION must be one of enabled, disabled"):
        ScanSettings.from_env(env | {"SAGEWATCH_REMEDIATION": "maybe"})


def test_a_recommendation_that_raises_the_cost_says_so_everywhere():
    """Scale out a saturated endpoint: "costs +$5,176/month", never "saves $0/month" (email, Slack, Chatbot,
    the scan table)."""
    from sagewatch.scan_report import finding_row

    f = Finding.from_dict(
        {
            "id": "sw-1",
            "kind": "saturated",
            "severity": "high",
            "endpoint": "llm",
            "variant": "v",
            "instance_type": "ml.g5.12xlarge",
            "instance_count": 1,
            "monthly_cost_usd": 5175.7,
            "monthly_savings_usd": 0.0,
            "recommendation": {
                "action": "scale-out",
                "instance_type": "ml.g5.12xlarge",
                "instance_count": 2,
                "monthly_cost_usd": 10351.4,
                "summary": "Scale out",
            },
        }
    )
    d = digest([Announcement(Reason.NEW, f)])
    for text in (render_email(d), json.dumps(render_slack(d)), render_chatbot(d).description):
        assert "costs +$5,176/month" in text or "costs *+$5,176/month*" in text
        assert "saves $0/month" not in text and "saves *$0/month*" not in text
    assert finding_row(f)[7] == "+$5,176"
    assert oversized().effect() == "saves $1,358/month"
