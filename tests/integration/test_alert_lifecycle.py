"""The scan function across a sequence of scans, on moto: what each scan announces, and where."""

from datetime import UTC, datetime, timedelta

import pytest

from sagewatch_testkit import aws_rules, fleet, moto_ext

REGION = moto_ext.DEFAULT_REGION


@pytest.fixture
def stack(scan_stack):
    return scan_stack


def announced(digest):
    return sorted((a["reason"], a["finding"]["endpoint"]) for a in digest["announcements"])


def test_lifecycle_across_scans(stack, sm):
    t0 = datetime.now(UTC)
    sims = [
        fleet.SimEndpoint("quiet", [fleet.SimVariant("AllTraffic", "ml.m5.2xlarge", 1, cpu=2, memory=20)]),
        fleet.SimEndpoint(
            "busy", [fleet.SimVariant("AllTraffic", "ml.m5.xlarge", 2, fleet.flat(100), cpu=40, memory=50)]
        ),
    ]
    fleet.seed(sm, sims, region=REGION, now=t0)
    scan = stack

    first = scan(t0)
    assert first["announced"]["new"] == 1
    [digest] = scan.digests()
    assert digest["schema"] == "sagewatch.digest/1" and announced(digest) == [("new", "quiet")]
    [event] = scan.bus()
    assert event["source"] == "sagewatch" and event["detail-type"] == "SageMaker Endpoint Finding"
    assert event["detail"]["endpoint"] == "quiet" and event["detail"]["reason"] == "new"

    second = scan(t0 + timedelta(hours=1))  # same finding: silence
    assert second["announced"] == {"new": 0, "changed": 0, "reminder": 0, "resolved": 0, "unchanged": 1, "snoozed": 0}
    assert second["published_message_ids"] == [] and scan.digests() == [] and scan.bus() == []

    third = scan(t0 + timedelta(days=7, hours=1))  # reminder (and "busy", whose seeded traffic ended at t0, is idle)
    assert third["announced"]["reminder"] == 1
    assert announced(scan.digests()[0]) == [("new", "busy"), ("reminder", "quiet")]

    # the endpoint is deleted (SageMaker takes its minutes; the next scan is an hour later): resolved, once
    sm.delete_endpoint(EndpointName="quiet")
    aws_rules.CLOCK.sleep(aws_rules.DURATIONS.endpoint_delete)
    fourth = scan(t0 + timedelta(days=7, hours=2))
    assert fourth["announced"]["resolved"] == 1 and announced(scan.digests()[0]) == [("resolved", "quiet")]
    assert scan(t0 + timedelta(days=7, hours=3))["announced"]["resolved"] == 0


def test_changed_recommendation_is_announced(stack, sm):
    t0 = datetime.now(UTC)
    fleet.seed(
        sm,
        [
            fleet.SimEndpoint(
                "docs", [fleet.SimVariant("AllTraffic", "ml.m5.4xlarge", 3, fleet.flat(50), cpu=12, memory=18)]
            )
        ],
        region=REGION,
        now=t0,
    )
    scan = stack
    scan(t0)
    assert announced(scan.digests()[0]) == [("new", "docs")]
    # a busier hour: the right size changes
    moto_ext.put_series(
        REGION,
        "/aws/sagemaker/Endpoints",
        "CPUUtilization",
        {"EndpointName": "docs", "VariantName": "AllTraffic"},
        [(t0 - timedelta(hours=3), 0.4 * 1600)],
    )
    # sizing is judged by the day's deep scan (hourly scans carry its conclusion until the next one)
    hourly, _ = scan.run(t0 + timedelta(minutes=4))
    assert [(f.kind.value, f.as_of) for f in hourly.findings] == [("oversized", t0)] and scan.digests() == []
    scan.run(t0 + timedelta(minutes=5), depth="deep")
    [digest] = scan.digests()
    assert announced(digest) == [("changed", "docs")]
    assert digest["announcements"][0]["previous"]["recommendation"]["instance_type"] == "ml.r5.xlarge"


def test_snoozed_endpoint_is_silent(stack, sm):
    t0 = datetime.now(UTC)
    until = (t0 + timedelta(days=3)).date().isoformat()
    fleet.seed(
        sm,
        [
            fleet.SimEndpoint(
                "quiet",
                [fleet.SimVariant("AllTraffic", "ml.m5.large", 1, cpu=1, memory=5)],
                tags={"sagewatch:snooze-until": until},
            )
        ],
        region=REGION,
        now=t0,
    )
    scan = stack
    result = scan(t0)
    assert result["findings"] == 1 and result["announced"]["snoozed"] == 1 and scan.digests() == []
    later = scan(t0 + timedelta(days=4))
    assert later["announced"]["new"] == 1 and announced(scan.digests()[0]) == [("new", "quiet")]


def test_a_tag_cannot_hide_an_endpoint_forever(stack, sm):
    """An eternal snooze is read as MaxSnoozeDays from the day it was first seen; until then, and every digest
    after, the snoozed and the ignored endpoints are listed with what they cost."""
    t0 = datetime.now(UTC)
    idle = [fleet.SimVariant("AllTraffic", "ml.m5.large", 1, cpu=1, memory=5)]
    fleet.seed(
        sm,
        [
            fleet.SimEndpoint("forever", idle, tags={"sagewatch:snooze-until": "2999-01-01"}),
            fleet.SimEndpoint("hidden", idle, tags={"sagewatch:ignore": "true"}),
            fleet.SimEndpoint("loud", idle),
        ],
        region=REGION,
        now=t0,
    )
    scan = stack
    first = scan(t0)
    assert first["announced"]["new"] == 1 and first["announced"]["snoozed"] == 1
    cap = (t0 + timedelta(days=30)).date().isoformat()
    assert any("sagewatch:snooze-until=2999-01-01 is more than 30 days" in w and cap in w for w in first["warnings"])
    [digest] = scan.digests()
    assert announced(digest) == [("new", "loud")]
    hidden = {h["endpoint"]: h for h in digest["hidden"]}
    assert hidden["hidden"]["why"] == "ignored" and hidden["forever"]["until"] == cap
    assert hidden["forever"]["monthly_cost_usd"] > 0 and hidden["hidden"]["monthly_cost_usd"] > 0
    assert digest["hidden_monthly_cost_usd"] == round(sum(h["monthly_cost_usd"] for h in hidden.values()), 2)
    # a week on, still snoozed: the cap counts from the first sighting, not from today
    assert scan(t0 + timedelta(days=7))["announced"]["snoozed"] == 1
    # past the cap it speaks
    later = scan(t0 + timedelta(days=31))
    assert later["announced"]["snoozed"] == 0
    assert ("new", "forever") in announced(scan.digests()[-1])
