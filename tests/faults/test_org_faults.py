"""The central account's functions against what could arrive on the organization's bus: duplicates, events
of another shape, a member claiming to be another, hostile strings; and their settings. Nothing is lost,
nothing is sent twice, nothing crashes the function in a loop."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import boto3
import pytest

from sagewatch.settings import SettingsError
from sagewatch_testkit.aws_fixtures import drain, id_table, watch_queue
from sagewatch_testkit.functions import lambda_context, load_function, sample_event

REGION = "us-east-1"
# The sample events' own time (events/org: scanned 2026-11-23 09:05 UTC): every handler's clock is set to it,
# so these tests pass whatever day they run (member records expire after 90 days of the clock's time).
EVENT_TIME = datetime(2026, 11, 23, 9, 10, tzinfo=UTC)


def at(module, now: datetime):
    """A handler module with its clock set (the functions read the time through `clock()`)."""
    module.clock = lambda: now
    return module


@pytest.fixture
def central(aws, monkeypatch):
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    ddb, s3 = boto3.client("dynamodb", region_name=REGION), boto3.client("s3", region_name=REGION)
    topic = sns.create_topic(Name="sagewatch-central")["TopicArn"]
    for name in ("org", "idempotency"):
        id_table(ddb, name)
    s3.create_bucket(Bucket="central")
    url, arn = watch_queue(sqs, "central-topic")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    for key, value in {
        "SAGEWATCH_TOPIC_ARN": topic,
        "SAGEWATCH_ORG_TABLE": "org",
        "SAGEWATCH_BUCKET": "central",
        "SAGEWATCH_IDEMPOTENCY_TABLE": "idempotency",
        "SAGEWATCH_ORGANIZATION_ID": "o-a1b2c3d4e5",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "sagewatch",
        "POWERTOOLS_METRICS_NAMESPACE": "Sagewatch",
    }.items():
        monkeypatch.setenv(key, value)
    return SimpleNamespace(
        aggregator=at(load_function("org_aggregator"), EVENT_TIME),
        notifications=lambda: drain(sqs, url),
        items=lambda: ddb.scan(TableName="org")["Items"],
    )


def handle(central, event):
    return central.aggregator.lambda_handler(event, lambda_context("org-aggregator"))


def test_forwarded_events_are_kept_and_alerts_sent_once(central):
    assert handle(central, sample_event("org/finding-forwarded.json"))["status"] == "kept"
    assert handle(central, sample_event("org/scan-summary-forwarded.json"))["status"] == "kept"
    alert = sample_event("org/alert-forwarded.json")
    first = handle(central, alert)
    again = handle(central, copy.deepcopy(alert))  # EventBridge delivers at least once
    assert first["status"] == "sent" and again == first
    [sent] = central.notifications()
    assert sent["account"] == "111111111111" and sent["region"] == "eu-west-1"
    items = {i["id"]["S"]: i for i in central.items()}
    keys = sorted(k for k in items if k.startswith(("finding#", "member#")))
    assert keys == ["finding#111111111111#eu-west-1#sw-8b78326b4429abc9", "member#111111111111#eu-west-1"]
    # what the member costs the central account is counted: one finding record, one alert this hour
    assert items["records#111111111111#eu-west-1"]["n"]["N"] == "1"
    [hour] = [i for k, i in items.items() if k.startswith("alerts#111111111111#eu-west-1#")]
    assert hour["sent"]["N"] == "1"


def test_a_member_cannot_speak_for_another_account(central):
    """The envelope's account is EventBridge's (the sender); the detail's claim is ignored."""
    event = sample_event("org/alert-forwarded.json")
    event["detail"]["account"] = "999999999999"
    event["detail"]["region"] = "ap-south-1"
    handle(central, event)
    [sent] = central.notifications()
    assert (sent["account"], sent["region"]) == ("111111111111", "eu-west-1")
    summary = sample_event("org/scan-summary-forwarded.json")
    summary["detail"]["account"] = "999999999999"
    handle(central, summary)
    assert "member#111111111111#eu-west-1" in {i["id"]["S"] for i in central.items()}


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda e: e.update({"detail-type": "Something Else"}), "not one sagewatch members send"),
        (lambda e: e.update({"account": "not-an-account"}), "not a 12-digit account id"),
        (lambda e: e.update({"detail": "a string"}), "detail"),
        (lambda e: e.pop("detail-type"), "detail-type"),
        (lambda e: e["detail"].update({"reason": "exploded"}), "unknown reason"),
        (lambda e: e["detail"].pop("recommendation"), "not a sagewatch finding"),
    ],
)
def test_events_of_another_shape_are_acknowledged_naming_the_problem(central, mutate, problem):
    event = sample_event("org/finding-forwarded.json")
    mutate(event)
    result = handle(central, event)
    assert result["status"] == "rejected" and problem in result["reason"]
    assert central.items() == [] and central.notifications() == []


def test_a_refused_member_event_is_counted_with_its_origin(central, capsys, caplog):
    event = sample_event("org/finding-forwarded.json")
    event["detail"]["variant"] = 7
    capsys.readouterr()
    assert handle(central, event)["status"] == "rejected"
    assert '"RefusedForwardedEvents"' in capsys.readouterr().out
    [record] = [r for r in caplog.records if "does not send" in r.getMessage()]
    assert record.account == "111111111111" and record.region == "eu-west-1"


def test_hostile_strings_from_a_member_are_bounded_on_arrival(central):
    event = sample_event("org/finding-forwarded.json")
    event["detail"]["recommendation"]["summary"] = "<!channel> " + "x" * 60_000
    assert handle(central, event)["status"] == "kept"
    [item] = [i for i in central.items() if i["id"]["S"].startswith("finding#")]
    doc = json.loads(item["doc"]["S"])
    assert len(doc["finding"]["recommendation"]["summary"]) <= 2000
    # one announcement larger than any real one is refused whole, naming its size
    event["detail"]["recommendation"]["summary"] = "x" * 100_000
    event["id"] = "another-event"
    refused = handle(central, event)
    assert refused["status"] == "rejected" and "one announcement is at most 65,536" in refused["reason"]


def test_the_digest_function_reports_silent_members(central, monkeypatch):
    handle(central, sample_event("org/scan-summary-forwarded.json"))  # scanned 2026-11-23 09:05: long ago
    digest = at(load_function("org_digest"), EVENT_TIME + timedelta(hours=5))
    result = digest.lambda_handler({"tick": True}, lambda_context("org-digest"))
    assert result["silent_members"] == 1 and result["status"] == "sent"
    [sent] = central.notifications()
    assert sent["schema"] == "sagewatch.org-digest/1" and sent["members"][0]["silent"] is True
    # the alarm's metric is sent every tick, silence or not
    again = digest.lambda_handler({"tick": True}, lambda_context("org-digest"))
    assert again["silent_members"] == 1 and again["status"] == "waiting"


def test_the_report_function_writes_to_the_bucket(central):
    handle(central, sample_event("org/scan-summary-forwarded.json"))
    report = at(load_function("org_report"), EVENT_TIME + timedelta(days=1))
    result = report.lambda_handler({"publish": True}, lambda_context("org-report"))
    assert result["missing"] == [{"account": "111111111111", "region": "eu-west-1"}]  # no cost summary yet
    keys = {o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket="central")["Contents"]}
    assert keys == set(result["report"]["keys"].values())
    [sent] = central.notifications()
    assert sent["schema"] == "sagewatch.org-cost-summary/1"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("SAGEWATCH_ORG_TABLE", "", "SAGEWATCH_ORG_TABLE is required"),
        ("SAGEWATCH_IDEMPOTENCY_TABLE", "", "SAGEWATCH_IDEMPOTENCY_TABLE is required"),
        ("SAGEWATCH_ORGANIZATION_ID", "my-org", "SAGEWATCH_ORGANIZATION_ID is not an organization id"),
        ("SAGEWATCH_TOPIC_ARN", "topic", "SAGEWATCH_TOPIC_ARN is not an SNS topic ARN"),
    ],
)
def test_the_aggregator_fails_its_cold_start_on_a_bad_setting(aws, central, monkeypatch, name, value, problem):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=problem):
        load_function("org_aggregator")


def test_a_digest_racing_with_new_news_keeps_it_for_the_next(central):
    """News that arrives while a digest goes out stays pending (the conditional settle)."""
    from sagewatch.app.org import digest_tick
    from sagewatch.aws.clients import Clients
    from sagewatch.aws.wiring import org_dependencies
    from sagewatch.settings import OrgSettings

    handle(central, sample_event("org/finding-forwarded.json"))
    import os

    settings = OrgSettings.from_env(dict(os.environ))
    deps = org_dependencies(settings, Clients(REGION))
    real_publish = deps.publisher.publish

    def publish_while_a_member_speaks(notice):
        changed = sample_event("org/finding-forwarded.json")
        changed["id"] = "another-delivery"
        changed["detail"]["reason"] = "changed"
        changed["detail"]["monthly_savings_usd"] = 900.0
        at(central.aggregator, EVENT_TIME + timedelta(minutes=1))  # it arrives a minute later
        handle(central, changed)
        return real_publish(notice)

    deps.publisher.publish = publish_while_a_member_speaks
    now = EVENT_TIME + timedelta(hours=2)
    assert digest_tick(settings, deps, now)["changed_while_sending"] == 1
    [item] = [i for i in central.items() if i["id"]["S"].startswith("finding#")]
    assert json.loads(item["doc"]["S"])["pending"] == "new"  # never digested as new: still news


def test_the_central_functions_work_the_same_with_the_clock_in_2028(central):
    """Sample events stamped relative to the clock, the clock set two years on: the same answers."""
    now = datetime(2028, 2, 29, 9, 10, tzinfo=UTC)
    at(central.aggregator, now)
    summary = sample_event("org/scan-summary-forwarded.json")
    summary["detail"]["scanned_at"] = (now - timedelta(minutes=5)).isoformat()
    assert handle(central, summary)["status"] == "kept"
    assert handle(central, sample_event("org/finding-forwarded.json"))["status"] == "kept"
    digest = at(load_function("org_digest"), now + timedelta(hours=1))
    result = digest.lambda_handler({"tick": True}, lambda_context("org-digest"))
    assert result["status"] == "sent" and result["silent_members"] == 0 and result["announced"]["new"] == 1
    # and the sample as stamped (2026) is refused in 2028: not within the last 90 days
    old = handle(central, sample_event("org/scan-summary-forwarded.json") | {"id": "old"})
    assert old["status"] == "rejected" and "is not within the last 90 days" in old["reason"]


def test_the_aggregator_retries_what_is_transient_and_counts_what_no_one_foresaw(central, monkeypatch, capsys):
    from botocore.exceptions import ClientError

    def throttled(*_):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")

    monkeypatch.setattr(central.aggregator, "ingest", throttled)
    with pytest.raises(ClientError):  # Lambda retries it, then the dead-letter queue keeps it
        handle(central, sample_event("org/finding-forwarded.json"))

    def bug(*_):
        raise KeyError("a bug")

    monkeypatch.setattr(central.aggregator, "ingest", bug)
    capsys.readouterr()
    event = sample_event("org/finding-forwarded.json") | {"id": "another"}
    result = handle(central, event)
    assert result["status"] == "failed" and "KeyError" in result["reason"]  # never passed off as "rejected"
    assert '"UnexpectedErrors"' in capsys.readouterr().out
