"""The weekly cost report function on moto: files in the bucket, a digest on the topic, the trend week on week,
and the digest (and remediation announcements) reaching Slack."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from sagewatch.app.slack import deliver_to_slack
from sagewatch.app.weekly import weekly_report
from sagewatch.aws.wiring import weekly_dependencies
from sagewatch.notify.weekly import WeeklyNotice, render
from sagewatch.requests import ReportRequest
from sagewatch.settings import ReportSettings
from sagewatch_testkit import fleet, moto_ext
from sagewatch_testkit.aws_fixtures import drain, watch_queue
from sagewatch_testkit.functions import lambda_context, load_function, sample_event
from sagewatch_testkit.schemas import validate_cost_report

REGION = moto_ext.DEFAULT_REGION
BUCKET = "sagewatch-bucket"


@pytest.fixture
def stack(aws, sm, monkeypatch):
    s3, sns, sqs = (boto3.client(s, region_name=REGION) for s in ("s3", "sns", "sqs"))
    s3.create_bucket(Bucket=BUCKET)
    topic = sns.create_topic(Name="sagewatch")["TopicArn"]
    url, arn = watch_queue(sqs, "digest")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    env = {"AWS_REGION": REGION, "SAGEWATCH_TOPIC_ARN": topic, "SAGEWATCH_BUCKET": BUCKET}
    for key, value in {**env, "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "sagewatch"}.items():
        monkeypatch.setenv(key, value)
    return ReportSettings.from_env(env), s3, lambda: drain(sqs, url)


def run(settings, now, publish=True):
    return weekly_report(settings, ReportRequest(publish=publish), weekly_dependencies(settings, None), now=now)


def test_the_report_lands_in_the_bucket_and_the_digest_on_the_topic(stack, sm):
    _, s3, digests = stack
    now = datetime.now(UTC)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    result = load_function("weekly_report").lambda_handler(sample_event("report-schedule.json"), lambda_context("r"))
    keys = result["report"]["keys"]
    assert set(keys) == {"csv", "html", "json"} and all(k.startswith("reports/") for k in keys.values())
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=keys["json"])["Body"].read())
    validate_cost_report(stored)
    assert s3.get_object(Bucket=BUCKET, Key=keys["html"])["ContentType"].startswith("text/html")
    assert s3.get_object(Bucket=BUCKET, Key=keys["csv"])["Body"].read().decode().startswith("level,endpoint,")
    [digest] = digests()
    assert digest["schema"] == "sagewatch.cost-summary/1"
    assert digest["totals"]["cost_usd"] == stored["totals"]["cost_usd"] == result["totals"]["cost_usd"]
    assert [r["endpoint"] for r in digest["top_costs"]][:3] == ["llm-chat-prod", "image-embedder", "genai-shared"]
    assert digest["top_waste"][0]["endpoint"] == "image-embedder"
    assert digest["previous"] is None and digest["change_pct"] == {"cost": None, "waste": None}  # the first one


def test_the_next_week_compares_with_the_last(stack, sm):
    settings, _, digests = stack
    now = datetime.now(UTC)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    first = run(settings, now - timedelta(days=1))
    sm.delete_endpoint(EndpointName="llm-chat-prod")  # the most expensive endpoint goes
    second = run(settings, now)
    digests()
    before, after = first["totals"]["cost_usd"], second["totals"]["cost_usd"]
    assert after < before
    assert second["change_pct"]["cost"] == round((after - before) / before * 100, 1)
    again = run(settings, now, publish=False)  # a rerun of the same period is not a trend
    assert again["change_pct"]["cost"] is None and again["published_message_id"] is None and digests() == []


def test_slack_gets_the_weekly_digest_and_remediation_announcements(stack, sm):
    settings, _, digests = stack
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=datetime.now(UTC))
    run(settings, datetime.now(UTC))
    [summary] = digests()

    class Poster:
        def __init__(self):
            self.payloads = []

        def post(self, payload, deadline=None):
            self.payloads.append(payload)
            return 1

    record = {
        "schema": "sagewatch.remediation/1",
        "executed_at": "2026-11-22T07:00:00Z",
        "request": {"action": "delete-endpoint", "endpoint": "churn-model-staging", "request_id": "r-12345678"},
        "plan": {"monthly_cost_change_usd": -336.53, "rollback": "restore-endpoint --snapshot s"},
        "done": ["deleted endpoint churn-model-staging"],
        "snapshot": "snapshots/s.json",
        "audit": "audit/a.json",
    }
    poster = Poster()
    result = deliver_to_slack([json.dumps(summary), json.dumps(record)], poster)
    assert result["slack_messages"] == 2
    weekly, fix = poster.payloads
    assert weekly["blocks"][0]["text"]["text"].startswith("sagewatch weekly cost report")
    assert "Top waste:" in weekly["blocks"][1]["text"]["text"]
    assert fix["blocks"][0]["text"]["text"] == "sagewatch carried out delete-endpoint on churn-model-staging"
    assert "restore-endpoint --snapshot s" in fix["blocks"][1]["text"]["text"]


def test_the_report_prices_waste_in_time_and_names_the_consolidation_groups(stack, sm):
    """The demo's working-hours and nightly endpoints, and its four small ones, in the report and its digest."""
    settings, s3, digests = stack
    now = datetime.now(UTC)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    result = run(settings, now)
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key=result["report"]["keys"]["json"])["Body"].read())
    validate_cost_report(stored)
    items = {(i["endpoint"], i["kind"]): i for i in stored["waste_in_time"]["items"]}
    assert set(items) == {("support-chatbot", "off-hours"), ("nightly-scorer", "batch-candidate")}
    night = items[("nightly-scorer", "batch-candidate")]
    assert night["period_usd"] == pytest.approx(night["monthly_usd"] * 7 * 24 / 730, abs=0.02)
    assert stored["waste_in_time"]["monthly_usd"] == pytest.approx(sum(i["monthly_usd"] for i in items.values()))
    [group] = stored["consolidation"]
    assert group["endpoints"] == ["tiny-langid", "tiny-sentiment", "tiny-spam", "tiny-toxicity"]
    [digest] = digests()
    assert digest["waste_in_time"]["monthly_usd"] == stored["waste_in_time"]["monthly_usd"]
    text = render(WeeklyNotice(digest)).text
    assert "Waste in time:" in text and "support-chatbot/AllTraffic (off-hours)" in text
    assert "tiny-langid, tiny-sentiment, tiny-spam, tiny-toxicity -> 1 x ml.m5.large" in text
