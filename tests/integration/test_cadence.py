"""Two cadences on moto (sagewatch.cadence): the day's deep scan judges everything and keeps its conclusions in
the state table; hourly scans read at most 6 series a variant and carry them. Together they must say what one
full scan says."""

from dataclasses import replace
from datetime import datetime, timedelta

import boto3
import pytest

from sagewatch_testkit import fleet, moto_ext
from sagewatch_testkit.fleet import DEMO_EXPECTED, conclusions

REGION = moto_ext.DEFAULT_REGION


def _hour_of_week(weekday: int, hour: int, before: datetime) -> datetime:
    at = (before - timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return at - timedelta(days=(at.weekday() - weekday) % 7)


def _at(stack, deep_hour: int):
    return replace(stack, settings=replace(stack.settings, deep_scan_hour=deep_hour))


@pytest.mark.parametrize(
    ("weekday", "hour"),
    [(6, 0), (0, 7), (3, 12), (5, 21)],
    ids=["sunday-00", "monday-07", "thursday-12", "saturday-21"],
)
def test_hourly_and_deep_scans_together_say_what_one_full_scan_says(scan_stack, harness, sm, now, weekday, hour):
    deep_at = _hour_of_week(weekday, hour, now)
    later = deep_at + timedelta(hours=3, minutes=10)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=later)
    stack = _at(scan_stack, deep_at.hour)

    deep, result = stack.run(deep_at + timedelta(minutes=5))
    assert result["cadence"]["depth"] == "deep" and result["cadence"]["reason"] == "no deep scan yet"
    hourly, result = stack.run(later)
    assert result["cadence"]["depth"] == "hourly", result["cadence"]
    full = harness.scan(later)

    assert conclusions(full) == DEMO_EXPECTED
    assert conclusions(hourly) == conclusions(full), later.isoformat()
    assert {f.id for f in hourly.findings} == {f.id for f in full.findings}
    # what the hourly scan did not judge itself it carried, and says so
    carried = {f.kind.value for f in hourly.findings if f.as_of is not None}
    assert carried >= {"oversized", "saturated", "off-hours", "batch-candidate", "consolidate", "data-capture"}
    assert all(f.as_of == deep_at + timedelta(minutes=5) for f in hourly.findings if f.as_of is not None)
    assert {f.kind.value for f in hourly.findings if f.as_of is None} >= {"idle", "errors"}
    # its reads: at most 6 series a variant (the changed endpoints' week before their change aside)
    # its reads: 6 series an endpoint at most (the demo fleet: 5.3), under half of what a deep scan reads
    assert hourly.cadence["judged_in_full"] == 0 and deep.cadence["judged_in_full"] == deep.endpoints
    assert hourly.cadence["metric_series"] <= 6 * hourly.endpoints
    assert hourly.cadence["metric_series"] < deep.cadence["metric_series"] / 2


def _embedder_busier(since: datetime, until: datetime) -> None:
    """image-embedder's GPU busier from `since` (four samples of 95% an hour beside the demo's 15%)."""
    hours = int((until - since).total_seconds() // 3600)
    points = [(since + timedelta(hours=h, minutes=m), 95.0) for h in range(hours) for m in (10, 20, 30, 40)]
    dims = {"EndpointName": "image-embedder", "VariantName": "AllTraffic"}
    moto_ext.put_series(REGION, "/aws/sagemaker/Endpoints", "GPUUtilization", dims, points)


def test_a_deep_finding_survives_the_hourly_scans_and_goes_when_the_deep_scan_no_longer_finds_it(scan_stack, sm, now):
    t0 = now.replace(minute=5, second=0, microsecond=0) - timedelta(hours=27)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    stack = _at(scan_stack, t0.hour)
    stack.run(t0)
    stack.digests()
    for hour in (1, 2):
        report, result = stack.run(t0 + timedelta(hours=hour))
        [embedder] = [f for f in report.findings if f.endpoint == "image-embedder"]
        assert (embedder.kind.value, embedder.as_of) == ("oversized", t0)
        as_json = next(f for f in report.to_dict()["findings"] if f["endpoint"] == "image-embedder")
        assert as_json["as_of"] == t0.isoformat().replace("+00:00", "Z")
        assert result["announced"]["new"] == 0 and result["announced"]["resolved"] == 0
    # busier since: the hourly scans still carry the deep scan's conclusion (it judged weeks, not hours)...
    _embedder_busier(t0 + timedelta(hours=3), now)
    report, _ = stack.run(t0 + timedelta(hours=20))
    assert ("image-embedder", "oversized") in {(f.endpoint, f.kind.value) for f in report.findings}
    # ...until the next day's deep scan no longer finds it: resolved, once
    report, result = stack.run(t0 + timedelta(hours=24, minutes=10))
    assert report.cadence["depth"] == "deep"
    assert ("image-embedder", "oversized") not in {(f.endpoint, f.kind.value) for f in report.findings}
    resolved = [a for d in stack.digests() for a in d["announcements"] if a["reason"] == "resolved"]
    assert [(a["finding"]["endpoint"], a["finding"]["kind"]) for a in resolved] == [("image-embedder", "oversized")]


def test_an_endpoint_updated_since_the_deep_scan_is_judged_in_full_never_carried(scan_stack, sm, now):
    """Carried advice about hardware that has changed would be wrong advice: the hourly scan judges such an
    endpoint itself (and keeps what it concluded for the next hours)."""
    t0 = now.replace(minute=5, second=0, microsecond=0) - timedelta(hours=5)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    stack = _at(scan_stack, t0.hour)
    stack.run(t0)
    created = sm.describe_endpoint(EndpointName="image-embedder")["CreationTime"]
    moto_ext.set_endpoint_times(REGION, "image-embedder", created, t0 + timedelta(hours=1))  # a new config
    for hour in (2, 3):
        report, _ = stack.run(t0 + timedelta(hours=hour))
        # judged itself the first time, then carried from that judgement: an hour on its new hardware is not
        # enough to size it, and the old "oversized" is never said again
        assert report.cadence["judged_in_full"] == (1 if hour == 2 else 0)
        assert [f for f in report.findings if f.endpoint == "image-embedder"] == []


def test_a_scan_with_the_state_table_unreadable_is_deep_and_writes_nothing(scan_stack, sm, now):
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName="state")
    report, result = scan_stack.run(now)
    assert result["cadence"]["depth"] == "deep" and result["cadence"]["reason"] == "the state table could not be read"
    assert not result["state_available"] and conclusions(report) == DEMO_EXPECTED
