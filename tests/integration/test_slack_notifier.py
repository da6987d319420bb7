"""The Slack notifier end to end: SNS event -> Secrets Manager -> a local webhook standing in for Slack."""

import json
from pathlib import Path

import boto3
import pytest
from slack_sdk.models.blocks import Block

from sagewatch_testkit.functions import lambda_context, load_function
from sagewatch_testkit.webhook_server import fake_webhook

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
EVENT = json.loads((ROOT / "events" / "slack-sns-digest.json").read_text())


def load_notifier():
    return load_function("slack_notifier")


def context(seconds=60):
    return lambda_context("slack", seconds=seconds)


def test_digest_is_posted_as_valid_block_kit(secret):
    with fake_webhook([(200, {}, "ok")]) as hook:
        secret(hook.url)
        result = load_notifier().lambda_handler(EVENT, context())
    assert result == {"digests": 1, "slack_messages": 1, "attempts": 1}
    [payload] = hook.requests
    assert payload["blocks"][0]["type"] == "header" and len(payload["blocks"]) == 12
    for raw in payload["blocks"]:
        Block.parse(raw).validate_json()
    assert any("churn-model-staging" in b.get("text", {}).get("text", "") for b in payload["blocks"])


def test_429_retry_after_is_honoured(secret):
    with fake_webhook([(429, {"Retry-After": "7"}, "rate_limited"), (200, {}, "ok")]) as hook:
        secret(hook.url)
        notifier = load_notifier()
        waits: list[float] = []
        notifier.sleep = waits.append  # the wait is asserted, never slept
        result = notifier.lambda_handler(EVENT, context())
    assert waits == [7.0]  # exactly what Slack asked for
    assert result["attempts"] == 2 and len(hook.requests) == 2
    assert hook.requests[0] == hook.requests[1]


@pytest.mark.parametrize(
    ("status", "body"), [(404, "no_service"), (410, "channel_is_archived"), (403, "invalid_token")]
)
def test_other_errors_fail_with_slacks_reason(secret, status, body):
    from sagewatch.webhook import WebhookError

    with fake_webhook([(status, {}, body)]) as hook:
        secret(hook.url)
        with pytest.raises(WebhookError, match=f"HTTP {status}: {body}"):
            load_notifier().lambda_handler(EVENT, context())


def test_rate_limit_longer_than_the_time_left_fails_for_a_later_retry(secret):
    from sagewatch.webhook import WebhookError

    with fake_webhook([(429, {"Retry-After": "20"}, "rate_limited")]) as hook:
        secret(hook.url)
        with pytest.raises(WebhookError, match="Retry-After 20"):
            load_notifier().lambda_handler(EVENT, context(seconds=10))
    assert len(hook.requests) == 1


def test_a_message_that_is_not_a_digest_is_refused_clearly(secret):
    bad = json.loads((ROOT / "events" / "slack-sns-not-a-digest.json").read_text())
    with fake_webhook([(200, {}, "ok")]) as hook:
        secret(hook.url)
        with pytest.raises(ValueError, match="SNS message 1 is not a sagewatch digest"):
            load_notifier().lambda_handler(bad, context())
    assert hook.requests == []


def test_a_secret_without_a_url_is_refused(secret, aws):
    sm = boto3.client("secretsmanager", region_name=REGION)
    secret("https://hooks.slack.com/services/x")
    sm.put_secret_value(SecretId="sagewatch/slack", SecretString="not a url")
    with pytest.raises(ValueError, match="does not hold a Slack webhook URL"):
        load_notifier().lambda_handler(EVENT, context())


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/services/T0/B0/x",  # not TLS
        "https://hooks.slack.com.evil.example/services/x",
        "https://evil.example/?https://hooks.slack.com/",
    ],
)
def test_a_secret_naming_anything_but_slacks_webhooks_is_never_called(secret, monkeypatch, url):
    """Whoever can write the secret cannot make sagewatch post findings elsewhere."""
    secret(url)
    monkeypatch.delenv("SAGEWATCH_SLACK_URL_PREFIX")  # as deployed: only https://hooks.slack.com/
    with pytest.raises(ValueError, match=r"expected https://hooks.slack.com/"):
        load_notifier().lambda_handler(EVENT, context())


@pytest.mark.parametrize("prefix", ["https://evil.example/", "http://8.8.8.8/", "ftp://127.0.0.1/"])
def test_the_url_prefix_setting_may_name_slack_or_a_local_stand_in_only(secret, monkeypatch, prefix):
    from sagewatch.settings import SettingsError

    secret("https://hooks.slack.com/services/x")
    monkeypatch.setenv("SAGEWATCH_SLACK_URL_PREFIX", prefix)
    with pytest.raises(SettingsError, match=r"SAGEWATCH_SLACK_URL_PREFIX must be https://hooks\.slack\.com/"):
        load_notifier()


def test_missing_secret_setting_fails_at_cold_start(monkeypatch):
    from sagewatch.settings import SettingsError

    monkeypatch.delenv("SAGEWATCH_SLACK_WEBHOOK_SECRET_ARN", raising=False)
    with pytest.raises(SettingsError, match="SAGEWATCH_SLACK_WEBHOOK_SECRET_ARN is required"):
        load_notifier()


def test_model_monitor_alerts_are_posted_too(secret):
    from sagewatch.monitoring import ProcessingJobEvent, classify, parse_violations, violations_alert

    raw = json.loads((ROOT / "events" / "monitor-run-violations.json").read_text())
    job = classify(raw)
    assert isinstance(job, ProcessingJobEvent)
    violations = parse_violations((ROOT / "events" / "model-monitor" / "constraint_violations.json").read_bytes())
    alert = violations_alert(
        job, violations, region=REGION, account="123456789012", monitoring_type="data quality", time=raw["time"]
    )
    event = json.loads(json.dumps(EVENT))
    from sagewatch.notify.alert import document

    event["Records"][0]["Sns"]["Message"] = json.dumps(document(alert))
    with fake_webhook([(200, {}, "ok")]) as hook:
        secret(hook.url)
        assert load_notifier().lambda_handler(event, context())["slack_messages"] == 1
    [payload] = hook.requests
    assert payload["blocks"][0]["text"]["text"] == "sagewatch: monitoring-violations"
    for raw_block in payload["blocks"]:
        Block.parse(raw_block).validate_json()
