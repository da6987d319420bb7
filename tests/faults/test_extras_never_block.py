"""No alert waits on an extra: in the Model Monitor, endpoint-health, scan, weekly and organization paths, an
enrichment (owner lookup, tags, routing, monitoring type, account names) that fails in a way no one foresaw
leaves that field unknown, logs why with the traceback, and the notice still goes out, once. Unforeseen errors
in the handlers are counted apart from refusals (UnexpectedErrors); a failure to send is retried."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

import sagewatch.aws.monitor as monitor_adapter
from sagewatch_testkit import fleet
from sagewatch_testkit.aws_fixtures import put_s3_object
from sagewatch_testkit.functions import ROOT, lambda_context, sample_event

EVENTS = ROOT / "events"


class BugError(Exception):
    """What a bug looks like from outside: not an AWS error, not a refusal."""


def boom(*_, **__):
    raise BugError("a parsing error no one foresaw")


def enrichment_logged(caplog: pytest.LogCaptureFixture, what: str) -> bool:
    return any(
        r.levelno == logging.ERROR and r.exc_info and getattr(r, "enrichment", "") == what for r in caplog.records
    )


@pytest.mark.parametrize("event", ["monitor-run-violations.json", "endpoint-failed.json"])
def test_an_owner_lookup_that_breaks_leaves_the_owner_unknown_and_the_alert_goes_out(
    monitor_stack, monkeypatch, caplog, event
):
    monkeypatch.setattr(monitor_adapter.MonitorReader, "endpoint_tags", boom)
    caplog.set_level(logging.INFO)
    result = monitor_stack.app.lambda_handler(
        with_violations_file(event) if "run" in event else sample_event(event), lambda_context("model-monitor")
    )
    assert result["status"] == "alerted", result
    [alert] = monitor_stack.drain("alerts")  # once
    assert alert["owner"]["principal"] is None
    assert enrichment_logged(caplog, "the endpoint's tags (its owner and route)")


def with_violations_file(name: str) -> dict:
    ev = sample_event(name)
    uri = ev["detail"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    body = (EVENTS / "model-monitor" / "constraint_violations.json").read_bytes()
    put_s3_object(uri + "/constraint_violations.json", body, "us-east-1")
    return ev


def test_a_monitoring_type_lookup_that_breaks_still_alerts(monitor_stack, monkeypatch, caplog):
    monkeypatch.setattr(monitor_adapter.MonitorReader, "monitoring_type", boom)
    result = monitor_stack.app.lambda_handler(with_violations_file("monitor-run-violations.json"), lambda_context("m"))
    assert result["status"] == "alerted" and result["violations"] == 4
    [alert] = monitor_stack.drain("alerts")
    assert alert["monitoring_type"] == "data quality"  # the violations still tell it
    assert enrichment_logged(caplog, "the monitoring schedule's type")


def test_a_route_that_breaks_leaves_the_alert_to_the_stacks_topic(monitor_stack, monkeypatch, caplog):
    import sagewatch.aws.routes as routes
    from sagewatch.aws.events import StackNotifier

    monkeypatch.setattr(routes.Router, "deliver", boom)

    real = StackNotifier.__init__

    def with_router(self, topic, events, router=None):
        real(self, topic, events, routes.Router(None, None))  # type: ignore[arg-type]

    monkeypatch.setattr(StackNotifier, "__init__", with_router)
    result = monitor_stack.app.lambda_handler(sample_event("endpoint-failed.json"), lambda_context("m"))
    assert result["status"] == "alerted"
    assert len(monitor_stack.drain("alerts")) == 1
    assert enrichment_logged(caplog, "the routing table's routes")


def test_a_scan_whose_owner_lookup_breaks_still_sends_its_digest(scan_stack, sm, monkeypatch, caplog):
    import sagewatch.app.scan as scan_use_case

    now = datetime.now(UTC)
    fleet.seed(sm, fleet.demo_fleet(), region="us-east-1", now=now)
    monkeypatch.setattr(scan_use_case, "attach_owners", boom)
    result = scan_stack(now)
    [digest] = scan_stack.digests()
    assert digest["announcements"] and result["published_message_ids"]
    assert any("owners could not be looked up" in w for w in result["warnings"])
    assert enrichment_logged(caplog, "owners from CloudTrail")


def test_the_weekly_digest_goes_out_when_routing_breaks(remediation_function, monkeypatch, caplog, tmp_path):
    """The weekly path: its notice goes through the same StackNotifier; a broken route leaves it to the topic."""
    import sagewatch.aws.routes as routes
    from sagewatch.aws.events import StackNotifier
    from sagewatch.notify import WeeklyNotice

    published = []

    class Topic:
        def publish(self, notice):
            published.append(notice)
            return ["m-1"]

    class Bus:
        def put_document(self, *_):
            return "e-1"

    router = routes.Router(None, None)  # type: ignore[arg-type]
    monkeypatch.setattr(routes.Router, "deliver", boom)
    notice = WeeklyNotice({"schema": "sagewatch.cost-summary/1", "totals": {}, "period": {}})
    assert StackNotifier(Topic(), Bus(), router).publish(notice) == ["m-1"]  # type: ignore[arg-type]
    assert published == [notice]
    assert enrichment_logged(caplog, "the routing table's routes")


class BrokenNames:
    problem = None

    def lookup(self, accounts, known):
        raise BugError("Organizations answered something no one foresaw")


def test_an_organization_digest_is_sent_without_account_names_when_their_lookup_breaks(caplog):
    from sagewatch.app.org import OrgDependencies, OrgEvent, digest_tick, ingest
    from sagewatch.org import Origin
    from sagewatch.settings import OrgSettings
    from sagewatch_testkit.org_memory import MemoryOrgStore, MemoryPublisher

    settings = OrgSettings.from_env(
        {
            "AWS_REGION": "us-east-1",
            "SAGEWATCH_TOPIC_ARN": "arn:aws:sns:us-east-1:999999999999:sagewatch",
            "SAGEWATCH_ORG_TABLE": "org",
            "SAGEWATCH_BUCKET": "central",
        }
    )
    deps = OrgDependencies(MemoryOrgStore(), MemoryPublisher(), BrokenNames())
    at = datetime(2026, 11, 23, 9, 10, tzinfo=UTC)
    event = sample_event("org/finding-forwarded.json")
    ingest(OrgEvent("e", event["detail-type"], Origin.of(event["account"], event["region"], at), event["detail"]), deps)
    result = digest_tick(settings, deps, at + timedelta(hours=2))
    assert result["status"] == "sent" and deps.publisher.sent[0]["members"][0]["account_name"] is None
    assert enrichment_logged(caplog, "account names")


# --- unforeseen errors: counted apart, never passed off as a refusal ----------------------------------------


def emitted(capsys: pytest.CaptureFixture[str], metric: str) -> int:
    """How many times `metric` was emitted in EMF on stdout."""
    total = 0
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            value = json.loads(line).get(metric, 0) or 0
            total += int(sum(value) if isinstance(value, list) else value)
    return total


def test_an_unforeseen_error_is_counted_apart_from_a_refusal(monitor_stack, monkeypatch, capsys):
    monkeypatch.setattr(monitor_stack.app, "handle_monitor_event", boom)
    result = monitor_stack.app.lambda_handler(sample_event("endpoint-failed.json"), lambda_context("m"))
    assert result["status"] == "failed" and "BugError" in result["reason"]  # not "rejected": that is bad input
    assert emitted(capsys, "UnexpectedErrors") == 1
    refused = monitor_stack.app.lambda_handler({"not": "an event"}, lambda_context("m"))
    assert refused["status"] == "rejected" and emitted(capsys, "UnexpectedErrors") == 0


def test_a_transient_error_is_retried_not_acknowledged(monitor_stack, monkeypatch):
    def throttled(*_, **__):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DescribeEndpoint")

    monkeypatch.setattr(monitor_stack.app, "handle_monitor_event", throttled)
    with pytest.raises(ClientError):  # Lambda retries it, then the dead-letter queue keeps it
        monitor_stack.app.lambda_handler(sample_event("endpoint-failed.json"), lambda_context("m"))


def test_an_alert_that_cannot_be_sent_fails_the_invocation(monitor_stack, monkeypatch):
    from sagewatch.app.ports import DeliveryError
    from sagewatch.aws.events import StackNotifier

    monkeypatch.setattr(StackNotifier, "publish", boom)
    with pytest.raises(DeliveryError):  # retried, then dead-lettered: the alert is never acknowledged unsent
        monitor_stack.app.lambda_handler(sample_event("endpoint-failed.json"), lambda_context("m"))


def test_the_property_tests_catch_a_crash(monitor_stack, monkeypatch):
    """The malformed-input property accepts refusals, never a crash passed off as one."""
    monkeypatch.setattr(monitor_stack.app, "handle_monitor_event", boom)
    result = monitor_stack.app.lambda_handler(sample_event("endpoint-failed.json"), lambda_context("m"))
    with pytest.raises(AssertionError):
        assert result["status"] in ("rejected", "ignored", "alerted")  # the property's own assertion
