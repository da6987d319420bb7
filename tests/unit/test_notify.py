"""The one notification path: every notice kind, rendered with maximal hostile content, fits every
destination's budget and renders data literally in Slack and Chatbot. Fixtures of real Model Monitor output:
tests/fixtures/model-monitor (PROVENANCE.md says where each comes from)."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block

from sagewatch.digest import Digest
from sagewatch.lifecycle import Announcement, Reason
from sagewatch.models import Finding
from sagewatch.monitoring import (
    ProcessingJobEvent,
    Violations,
    classify,
    parse_violations,
    violations_alert,
)
from sagewatch.notify import (
    RemediationNotice,
    WeeklyNotice,
    event_detail,
    from_document,
    slack_payloads,
    sns_messages,
)
from sagewatch.notify.alert import document
from sagewatch.notify.limits import EVENT_MAX_BYTES, SLACK_BLOCKS_MAX, SNS_MAX_BYTES, chat_escape

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "model-monitor"
MENTIONS = "<!channel> <!here> <@U024BE7LH> <#C012AB3CD> <http://evil.example|click here> <b>bold</b> & @channel"
LIVE = ("<!channel>", "<!here>", "<@U", "<#C", "<http://evil", "<b>")


def fixture(name):
    return (FIXTURES / name).read_bytes()


def job(**environment):
    ev = json.loads((ROOT / "events" / "monitor-run-violations.json").read_text())
    ev["detail"]["Environment"].update(environment)
    incoming = classify(ev)
    assert isinstance(incoming, ProcessingJobEvent)
    return incoming


def alert_of(violations, monitoring_type=None, **environment):
    return violations_alert(
        job(**environment),
        violations,
        region="eu-west-1",
        account="123456789012",
        monitoring_type=monitoring_type,
        time="2026-11-22T09:12:31Z",
    )


# --- the four monitor types, from real output --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "monitor", "worst"),
    [
        ("data-quality.json", "data quality", "chas"),
        ("model-quality.json", "model quality", "accuracy"),
        ("bias-drift.json", "bias drift", "CI for Age=40"),
        ("feature-attribution.json", "feature attribution", "shap for label1"),
    ],
)
def test_each_monitor_type_is_understood_from_its_own_output(name, monitor, worst):
    violations = parse_violations(fixture(name))
    alert = alert_of(violations)  # no schedule type: the violations tell it
    assert alert.monitoring_type == monitor
    assert alert.violations[0].subject == worst
    assert f"worst: {worst} (" in alert.summary


def test_worst_first_reads_the_measures_in_descriptions():
    items = parse_violations(fixture("data-quality.json")).items
    # 0% Integral (gap 1.0), drift 0.27 over 0 (0.27), 74.9% non-null (0.25), 99.6% Integral (0.004), unmeasured
    assert [v.name for v in items] == ["chas", "review_body", "customer_id", "star_rating", "product_category"]
    assert items[0].measure.observed == 0.0 and items[0].measure.required == 100.0
    assert items[-1].measure is None


def test_bias_alert_names_the_facet_and_attribution_the_label_everywhere():
    bias = alert_of(parse_violations(fixture("bias-drift.json")))
    doc = document(bias)
    assert doc["violations"][0]["facet"] == "Age" and doc["violations"][0]["facet_value"] == "40"
    [m] = sns_messages(bias)
    assert "CI for Age=40: bias_drift_check" in json.loads(m.message)["email"]
    attribution = alert_of(parse_violations(fixture("feature-attribution.json")))
    [payload] = slack_payloads(attribution)
    text = json.dumps(payload)
    assert "shap for label0" in text and "shap for label1" in text


def test_the_schedules_type_wins_over_the_guess():
    alert = alert_of(parse_violations(fixture("data-quality.json")), monitoring_type="data quality")
    assert alert.monitoring_type == "data quality"


# --- hostile content, every notice kind, every destination --------------------------------------------------


def hostile_violations(n, name_size=10_000, text_size=50_000):
    items = [
        {
            "feature_name": MENTIONS + "x" * name_size + str(i),
            "constraint_check_type": "data_type_check",
            "description": MENTIONS + " Observed: Only 1.0% of data is Integral. " + "y" * text_size,
            "facet": MENTIONS * (100 if n < 100 else 1),
        }
        for i in range(n)
    ]
    return parse_violations(json.dumps({"violations": items}))


def hostile_alert(n=12):
    sizes = (10_000, 50_000) if n < 100 else (100, 200)  # 50,000 entries: many, not each huge
    return alert_of(
        hostile_violations(n, *sizes), monitoring_type=MENTIONS, sagemaker_endpoint_name=MENTIONS + "e" * 1_000_000
    )


def hostile_digest():
    finding = {
        "id": "sw-" + "1" * 16,
        "kind": "idle",
        "severity": "high",
        "endpoint": MENTIONS + "z" * 5000,
        "variant": MENTIONS,
        "inference_component": MENTIONS,
        "instance_type": "ml.g5.2xlarge",
        "instance_count": 1,
        "evidence": {"idle_hours": 24},
        "recommendation": {
            "action": "delete-endpoint",
            "instance_type": None,
            "instance_count": None,
            "summary": MENTIONS * 50,
            "monthly_cost_usd": 0.0,
        },
        "monthly_cost_usd": 900.0,
        "monthly_savings_usd": 900.0,
    }
    return Digest(
        account="123456789012",
        region="eu-west-1",
        generated_at=datetime(2026, 11, 22, tzinfo=UTC),
        announcements=[
            Announcement(Reason.NEW, Finding.from_dict({**finding, "id": f"sw-{i:016d}"})) for i in range(300)
        ],
    )


def hostile_remediation():
    return RemediationNotice(
        {
            "schema": "sagewatch.remediation/1",
            "account": "123456789012",
            "executed_at": "2026-11-22T09:00:00+00:00",
            "request": {
                "action": "delete-endpoint",
                "endpoint": "e",
                "request_id": "r" * 20,
                "confirm": MENTIONS * 10_000,
            },
            "plan": {"rollback": MENTIONS * 1000, "monthly_cost_change_usd": -10.0},
            "done": [MENTIONS * 10_000] * 60,
            "snapshot": "snapshots/e/x.json",
            "audit": "audit/x.json",
            "warnings": [MENTIONS * 1000],
        }
    )


def hostile_weekly():
    return WeeklyNotice(
        {
            "schema": "sagewatch.cost-summary/1",
            "account": "123456789012",
            "region": "eu-west-1",
            "period": {"days": 7, "end": "2026-11-22"},
            "totals": {"cost_usd": 1.0, "monthly_cost_usd": 4.0, "waste_usd": 0.5, "waste_share": 0.5},
            "previous": None,
            "change_pct": {"cost": None, "waste": None},
            "top_costs": [{"endpoint": MENTIONS * 100, "cost_usd": 1.0}] * 5,
            "top_waste": [{"endpoint": MENTIONS, "waste_usd": 0.5}],
            "report": {"bucket": "b", "keys": {"csv": MENTIONS}},
        }
    )


NOTICES = {
    "alert": hostile_alert,
    "alert-50000": lambda: hostile_alert(50_000),
    "digest": hostile_digest,
    "remediation": hostile_remediation,
    "weekly": hostile_weekly,
}


def chat_texts(value):
    """Every string a chat client renders as markdown in a Slack payload or Chatbot notification."""
    if isinstance(value, dict):
        if value.get("type") == "plain_text":
            return []  # Slack does not parse plain_text: nothing there can ping or link
        return [t for v in value.values() for t in chat_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in chat_texts(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("kind", sorted(NOTICES))
def test_every_notice_fits_every_destination_and_renders_data_literally(kind):
    notice = NOTICES[kind]()
    for chatbot in (False, True):
        messages = sns_messages(notice, chatbot=chatbot)
        assert messages and all(m.size <= SNS_MAX_BYTES for m in messages)
        assert all(len(m.subject) <= 100 and m.subject.isascii() for m in messages)
        for m in messages:
            body = json.loads(m.message)
            assert set(body) == {"default", "email", "email-json", "sqs", "lambda", "https"}
            if chatbot:
                card = json.loads(body["https"])
                assert len(card["content"]["description"]) <= 3500 and len(card["content"]["title"]) <= 250
                assert not any(live in t for t in chat_texts(card) for live in LIVE)
            # what the Slack notifier receives turns back into the same kind of notice, and posts safely
            for payload in slack_payloads(from_document(json.loads(body["lambda"]))):
                assert len(payload["blocks"]) <= SLACK_BLOCKS_MAX and len(payload["text"]) <= 150
                for raw in payload["blocks"]:
                    Block.parse(raw).validate_json()  # slack_sdk raises on any Block Kit limit
                assert not any(live in t for t in chat_texts(payload) for live in LIVE)
    if kind.startswith("alert"):
        assert len(event_detail(notice).encode()) <= EVENT_MAX_BYTES


def test_a_large_run_says_how_many_were_left_out_and_where_they_all_are():
    alert = hostile_alert(50_000)
    [m] = sns_messages(alert)
    email = json.loads(m.message)["email"]
    assert "more in s3://" in email and "/constraint_violations.json" in email
    doc = json.loads(json.loads(m.message)["sqs"])
    assert doc["violation_count"] == 50_000 and doc["violations_left_out"] == 50_000 - len(doc["violations"])


def test_a_dozen_10kb_feature_names_and_a_1mb_endpoint_name_publish():
    [m] = sns_messages(hostile_alert(12), chatbot=True)
    assert m.size <= SNS_MAX_BYTES
    doc = json.loads(json.loads(m.message)["sqs"])
    assert len(doc["endpoint"]) == 256 and doc["endpoint"].endswith("…")
    assert all(len(v["name"]) <= 256 for v in doc["violations"])


def test_escaping_makes_mentions_and_links_literal():
    assert chat_escape("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
    assert "@\u2060here" in chat_escape("@here")


def test_remediation_notices_render_for_chatbot():
    [m] = sns_messages(replace(hostile_remediation()), chatbot=True)
    card = json.loads(json.loads(m.message)["https"])
    assert card["source"] == "custom" and card["content"]["title"].startswith("sagewatch carried out delete-endpoint")


def test_a_violations_file_of_unreadable_entries_beside_readable_ones_counts_them():
    text = json.dumps(
        {"violations": [1, {"feature_name": "a"}, json.loads(fixture("bias-drift.json"))["violations"][0]]}
    )
    parsed = parse_violations(text)
    assert isinstance(parsed, Violations) and parsed.unreadable == 2 and len(parsed.items) == 1
    alert = alert_of(parsed)
    assert (
        "2 entries of constraint_violations.json could not be read"
        in json.loads(sns_messages(alert)[0].message)["email"]
    )


def test_a_remediation_record_too_large_for_one_event_goes_to_the_bus_shortened():
    """A plan of many calls can outgrow EventBridge's 256 KB: the bus gets the record whole when it fits, else a
    shorter form that still names the action (the audit record keeps everything)."""
    from sagewatch.aws.events import DETAIL_MAX_BYTES
    from sagewatch.notify.remediation import fitting_record

    small = RemediationNotice({**hostile_remediation().record, "done": ["step 1: x"], "warnings": []})
    small = RemediationNotice({**small.record, "request": {"action": "delete-endpoint", "endpoint": "e"}})
    assert fitting_record(small, DETAIL_MAX_BYTES) == dict(small.record)
    big = hostile_remediation()
    assert len(json.dumps(dict(big.record)).encode()) > DETAIL_MAX_BYTES
    doc = fitting_record(big, DETAIL_MAX_BYTES)
    assert len(json.dumps(doc).encode()) <= DETAIL_MAX_BYTES
    assert doc["schema"] == "sagewatch.remediation/1" and doc["request"]["action"] == "delete-endpoint"
