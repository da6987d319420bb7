"""The cost report's commitments on moto and the test kit's Cost Explorer and Savings Plans: the demo account's
plans and advice net of its waste, in the CLI and the weekly function; a day's answers kept; denied and not
enabled said, the rest of the report unchanged; at most 8 Cost Explorer requests."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from sagewatch.app.weekly import weekly_report
from sagewatch.aws import commitments as reader
from sagewatch.aws.wiring import weekly_dependencies
from sagewatch.cli import main
from sagewatch.notify.weekly import WeeklyNotice, lines
from sagewatch.requests import ReportRequest
from sagewatch.settings import ReportSettings
from sagewatch_testkit import commitments_aws, fleet, moto_ext
from sagewatch_testkit.aws_fixtures import drain, watch_queue
from sagewatch_testkit.schemas import validate_cost_report

REGION = moto_ext.DEFAULT_REGION
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def account(sm):
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=NOW)
    fleet.seed_demo_commitments(NOW)
    return sm


def report(capsys, *flags):
    assert main(["report", "--region", REGION, "--format", "json", *flags]) == 0
    doc = json.loads(capsys.readouterr().out)
    validate_cost_report(doc)
    return doc


def test_the_demo_accounts_plans_and_advice_net_of_its_waste(account, capsys):
    doc = report(capsys)
    c = doc["commitments"]
    assert c["available"] is True and c["reason"] is None
    assert c["coverage_pct"] == pytest.approx(20.8) and c["utilization_pct"] == 93.0
    [plan] = c["plans"]  # the Compute plan does not cover SageMaker
    assert plan["id"] == "3f5e2a1c-demo-sagemaker" and plan["ending_soon"] and plan["days_left"] == 35
    assert plan["end"] == (NOW + timedelta(days=35)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = c["recommendation"]
    assert r["hourly_commitment_usd"] == 9.5 and r["term"] == "1 year" and r["payment_option"] == "NO_UPFRONT"
    # the waste the report itself found, taken out (on demand: 79% of spend; at the plan's 64 cents a dollar)
    waste = {(w["endpoint"], w["kind"]) for w in c["waste_excluded"]}
    assert ("genai-sandbox", "idle") in waste and ("image-embedder", "oversized") in waste
    taken = sum(w["hourly_commitment_usd"] for w in c["waste_excluded"])
    assert c["net_hourly_commitment_usd"] == r["net_hourly_commitment_usd"] == pytest.approx(9.5 - taken, abs=0.01)
    assert 0 < c["net_hourly_commitment_usd"] < 9.5
    waste_per_hour = doc["totals"]["waste_usd"] / (doc["period"]["days"] * 24)
    assert sum(w["hourly_usd"] for w in c["waste_excluded"]) >= waste_per_hour * 0.79 - 0.01


def test_a_day_s_answers_are_kept_and_the_requests_bounded(account, capsys):
    report(capsys)
    first = commitments_aws.ce_requests()
    assert 3 <= first <= reader.MAX_CE_REQUESTS  # coverage, utilization, recommendation
    again = report(capsys, "--format", "json")
    assert commitments_aws.ce_requests() == first  # the cache answered: nothing billed twice
    assert again["commitments"]["net_hourly_commitment_usd"] is not None
    report(capsys, "--savings-plans-term", "3y")  # another question is asked
    assert commitments_aws.ce_requests() > first


def test_at_most_the_budget_of_requests(account, capsys, monkeypatch):
    monkeypatch.setattr(reader, "MAX_CE_REQUESTS", 1)
    c = report(capsys, "--no-commitments")["commitments"]
    assert c["available"] is False and c["reason"] == "not read"
    assert commitments_aws.ce_requests() == 0  # --no-commitments reads none
    c = report(capsys)["commitments"]
    assert commitments_aws.ce_requests() == 1 and c["available"] is False
    assert "1 requests a report at most" in c["reason"] and c["coverage_pct"] is not None


@pytest.mark.parametrize(
    ("service", "code", "said"),
    [
        ("ce", "AccessDeniedException", "Cost Explorer (GetSavingsPlansCoverage): not allowed"),
        ("ce", "DataUnavailableException", "Cost Explorer is not enabled"),
        ("savingsplans", "AccessDeniedException", "Savings Plans (DescribeSavingsPlans): not allowed"),
    ],
)
def test_denied_or_not_enabled_is_said_and_nothing_else_changes(account, capsys, service, code, said):
    plain = report(capsys, "--no-commitments")
    commitments_aws.deny(service, code)
    doc = report(capsys)
    c = doc["commitments"]
    assert c["available"] is False and said in c["reason"]
    assert {k: v for k, v in doc.items() if k not in ("commitments", "generated_at")} == {
        k: v for k, v in plain.items() if k not in ("commitments", "generated_at")
    }
    if service == "savingsplans":  # Cost Explorer still answered: what it said is kept
        assert c["coverage_pct"] is not None and c["recommendation"]["hourly_commitment_usd"] == 9.5


def test_an_account_without_sagemaker_plans_or_advice(sm, capsys):
    fleet.seed(sm, fleet.demo_fleet()[:3], region=REGION, now=NOW)
    c = report(capsys)["commitments"]
    assert c["available"] is True and c["plans"] == [] and c["utilization_pct"] is None
    assert "no SageMaker Savings Plans in this account" in c["notes"]
    assert c["recommendation"]["hourly_commitment_usd"] is None and c["net_hourly_commitment_usd"] is None


def test_the_weekly_function_keeps_the_answers_in_the_state_table_and_calls_out_ending_plans(account, monkeypatch):
    s3, sns, sqs, ddb = (boto3.client(s, region_name=REGION) for s in ("s3", "sns", "sqs", "dynamodb"))
    s3.create_bucket(Bucket="sagewatch-bucket")
    ddb.create_table(
        TableName="sagewatch-state",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic = sns.create_topic(Name="sagewatch")["TopicArn"]
    url, arn = watch_queue(sqs, "digest")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    env = {
        "AWS_REGION": REGION,
        "SAGEWATCH_TOPIC_ARN": topic,
        "SAGEWATCH_BUCKET": "sagewatch-bucket",
        "SAGEWATCH_STATE_TABLE": "sagewatch-state",
        "SAGEWATCH_SAVINGS_PLANS_TERM": "3y",
    }
    settings = ReportSettings.from_env(env)
    deps = weekly_dependencies(settings, "123456789012")
    weekly_report(settings, ReportRequest(publish=True), deps, now=NOW)
    [digest] = drain(sqs, url)
    c = digest["commitments"]
    assert c["available"] and c["term"] == "3 years" and c["ending_soon"][0]["days_left"] == 35
    text = "\n".join(lines(WeeklyNotice.from_document(digest).summary))
    assert "plan 3f5e2a1c-demo-sagemaker ($4.80/hour) ends" in text and "in 35 days" in text
    assert "net of the waste sagewatch found" in text
    items = ddb.scan(TableName="sagewatch-state")["Items"]
    assert [i["id"]["S"] for i in items] == [
        "daily#123456789012/commitments#commitments/THREE_YEARS/NO_UPFRONT/THIRTY_DAYS"
    ]
    spent = commitments_aws.ce_requests()
    weekly_report(settings, ReportRequest(publish=False), weekly_dependencies(settings, "123456789012"), now=NOW)
    assert commitments_aws.ce_requests() == spent  # the same day: read from the state table


def test_bad_savings_plans_settings_fail_fast_naming_them():
    from sagewatch.settings import SettingsError

    base = {"AWS_REGION": REGION, "SAGEWATCH_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "SAGEWATCH_BUCKET": "b"}
    with pytest.raises(SettingsError, match="SAGEWATCH_SAVINGS_PLANS_TERM"):
        ReportSettings.from_env({**base, "SAGEWATCH_SAVINGS_PLANS_TERM": "10y"})
    with pytest.raises(SettingsError, match="payment option"):
        ReportSettings.from_env({**base, "SAGEWATCH_SAVINGS_PLANS_PAYMENT": "later"})
