"""AWS Health events about SageMaker -> alerts (pure): which endpoints, how many alerts, what is bounded."""

import json
from pathlib import Path

import pytest

from sagewatch.monitoring import HEALTH_ENDPOINTS_MAX, EventShapeError, HealthEvent, Ignored, classify, health_alerts
from sagewatch.notify import alert as render

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "events" / "health-sagemaker-endpoint.json").read_text())


def _event(**detail):
    return {**SAMPLE, "detail": {**SAMPLE["detail"], **detail}}


def test_the_sample_names_its_endpoints_by_arn():
    found = classify(SAMPLE)
    assert isinstance(found, HealthEvent)
    assert found.endpoints == ("fraud-detector-prod", "llm-chat-prod") and found.others == 0
    assert found.category == "accountNotification" and found.status == "open"


def test_entities_that_are_names_arns_or_other_resources():
    entities = [
        {"entityValue": "plain-endpoint-name"},
        {"entityValue": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/by-arn"},
        {"entityValue": "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb"},
        {"entityValue": "x" * 5000},
        {"entityValue": "by-arn"},  # named twice: one alert
        "not an object",
    ]
    found = classify(_event(affectedEntities=entities))
    assert isinstance(found, HealthEvent)
    assert found.endpoints == ("plain-endpoint-name", "by-arn") and found.others == 3


def test_one_alert_per_endpoint_up_to_a_bound_each_naming_them_all():
    entities = [{"entityValue": f"ep-{i:03d}"} for i in range(80)]
    found = classify(_event(affectedEntities=entities, eventTypeCategory="scheduledChange"))
    assert isinstance(found, HealthEvent)
    alerts = health_alerts(found, region="us-east-1", account="123456789012", time=None)
    assert len(alerts) == HEALTH_ENDPOINTS_MAX and all(a.severity == "high" for a in alerts)
    assert all(len(a.affected) == 50 for a in alerts) and "79 other endpoints too" in alerts[0].summary
    for a in alerts:  # every rendering fits its service (SNS subject 100 characters)
        assert len(render.subject(a)) <= 100 and render.from_document(render.document(a)).affected == a.affected


def test_other_services_closed_and_malformed_events():
    assert isinstance(classify(_event(service="EC2")), Ignored)
    assert isinstance(classify(_event(statusCode="closed")), Ignored)
    assert isinstance(classify({**SAMPLE, "detail-type": "AWS Health Abuse Event"}), Ignored)
    with pytest.raises(EventShapeError):
        classify(_event(eventTypeCode=None))
    with pytest.raises(EventShapeError):
        classify({**SAMPLE, "detail": "text"})
