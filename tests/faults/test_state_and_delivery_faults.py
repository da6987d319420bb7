"""Nothing lost when the state table or Slack is down: the digest still goes out, state catches up, and a
digest Slack refuses ends whole in the dead-letter queue."""

import json
from datetime import UTC, datetime, timedelta

import boto3

from sagewatch_testkit import faults, fleet, moto_ext
from sagewatch_testkit.aws_fixtures import drain
from sagewatch_testkit.fleet import DEMO_FINDINGS
from sagewatch_testkit.functions import lambda_context, load_function, sample_event
from sagewatch_testkit.lambda_async import invoke_async
from sagewatch_testkit.webhook_server import fake_webhook

REGION = moto_ext.DEFAULT_REGION


def _dynamodb_fails(operation: str):
    def configure(client):
        if client.meta.service_model.service_name == "dynamodb":
            faults.fail_call(client, operation, "InternalServerError", "DynamoDB is having a bad day", status=500)

    return faults.every_new_client(configure)


def _seed_until_last_scan(sm, t0: datetime) -> None:
    """The demo fleet with metrics up to the last scan of these tests (t0 + 2 h), as CloudWatch would have them:
    seeded only up to t0, nightly-scorer's 01:00-03:00 burst falls out of the 24 h idle window of a scan at
    t0 + 2 h whenever t0 is between 00:00 and 01:00 UTC (a night without its job), and it is then rightly idle."""
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=t0 + timedelta(hours=2))


def test_state_table_unreadable_still_sends_the_digest_and_catches_up(scan_stack, sm):
    t0 = datetime.now(UTC)
    _seed_until_last_scan(sm, t0)
    with _dynamodb_fails("Scan"):
        down = scan_stack(t0)
    assert down["state_available"] is False and down["warnings"]
    [digest] = scan_stack.digests()
    assert len(digest["announcements"]) == DEMO_FINDINGS and digest["state_available"] is False
    # next run: state is back, everything is new once more (then quiet)
    assert scan_stack(t0 + timedelta(hours=1))["announced"]["new"] == DEMO_FINDINGS
    assert scan_stack(t0 + timedelta(hours=2))["announced"]["unchanged"] == DEMO_FINDINGS


def test_state_table_unwritable_announces_again_rather_than_never(scan_stack, sm):
    t0 = datetime.now(UTC)
    _seed_until_last_scan(sm, t0)
    with _dynamodb_fails("BatchWriteItem"):
        first = scan_stack(t0)
    assert first["announced"]["new"] == DEMO_FINDINGS and any("state" in w.lower() for w in first["warnings"])
    assert len(scan_stack.digests()) == 1 and len(scan_stack.bus()) == DEMO_FINDINGS
    # what was said could not be remembered: the next scan says it again (a duplicate, never silence) ...
    again = scan_stack(t0 + timedelta(hours=1))
    assert again["announced"]["new"] == DEMO_FINDINGS and again["warnings"] == []
    assert len(scan_stack.digests()) == 1
    # ... and from then on it is remembered
    assert scan_stack(t0 + timedelta(hours=2))["announced"]["unchanged"] == DEMO_FINDINGS


def test_slack_down_every_digest_ends_whole_in_the_dead_letter_queue(secret):
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="slack-dlq")["QueueUrl"]
    sent = []
    for n in range(3):  # three digests in a row while Slack is down
        event = sample_event("slack-sns-digest.json")
        event["Records"][0]["Sns"]["MessageId"] = f"00000000-0000-0000-0000-00000000000{n}"
        sent.append(event)
    with fake_webhook([(500, {}, "internal_error")]) as hook:
        secret(hook.url)
        app = load_function("slack_notifier")
        for event in sent:
            context = lambda_context("slack", seconds=60)
            assert invoke_async(app.lambda_handler, event, context, sqs=sqs, on_failure_queue_url=dlq) is None
    assert len(hook.requests) == 3 * len(sent)  # each: the first try and Lambda's two retries
    records = drain(sqs, dlq)
    assert sorted(json.dumps(r["requestPayload"], sort_keys=True) for r in records) == sorted(
        json.dumps(e, sort_keys=True) for e in sent
    )  # none dropped, each kept whole for a replay
    for record in records:
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert "HTTP 500: internal_error" in record["responsePayload"]["errorMessage"]
