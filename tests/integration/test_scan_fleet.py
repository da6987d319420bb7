"""The scan against a simulated fleet in moto: every rule, every trap, every failure mode."""

from datetime import datetime, timedelta

import pytest

from sagewatch.metrics import fewest_calls, plan_queries, profile_specs
from sagewatch.models import Endpoint
from sagewatch_testkit import fleet, moto_ext
from sagewatch_testkit.fleet import DEMO_ENDPOINTS, DEMO_FINDINGS, DEMO_VARIANTS, conclusions
from sagewatch_testkit.fleet import DEMO_EXPECTED as EXPECTED
from sagewatch_testkit.schemas import validate_report

REGION = moto_ext.DEFAULT_REGION


def test_demo_fleet_gets_exactly_the_expected_findings(demo, now):
    report = demo.scan(now)
    assert conclusions(report) == EXPECTED
    assert report.errors == []
    assert {s.endpoint: s.reason for s in report.skipped} == {
        "legacy-ignored": "tagged sagewatch:ignore=true",
        "translator-updating": "status is Updating",
    }
    assert (report.endpoints, report.variants, report.inference_components) == (DEMO_ENDPOINTS, DEMO_VARIANTS, 3)
    validate_report(report.to_dict())


def _last(weekday: int, hour: int, minute: int, before: datetime) -> datetime:
    """The latest given weekday (0 Monday) and UTC time at least a day before `before`."""
    at = (before - timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at - timedelta(days=(at.weekday() - weekday) % 7)


@pytest.mark.parametrize(
    ("weekday", "hour", "minute"),
    [(6, 0, 30), (5, 20, 0), (0, 7, 0), (2, 0, 20), (3, 12, 0)],
    ids=["sunday-00:30", "saturday-20:00", "monday-07:00", "wednesday-00:20", "thursday-12:00"],
)
def test_the_demo_fleet_is_judged_the_same_at_any_hour_of_the_week(harness, sm, now, weekday, hour, minute):
    """The findings must not depend on when the scan runs: support-chatbot (busy on weekdays only) silent for
    the last 24 h of a weekend is its rhythm (off-hours), never idle and "delete" (the test suite found this
    only when CI ran on a Sunday night... it had run on weekdays), and nightly-scorer just before its night is
    a batch candidate."""
    at = _last(weekday, hour, minute, now)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=at)
    assert conclusions(harness.scan(at)) == EXPECTED, at.isoformat()


def test_demo_fleet_figures_are_hand_checkable(demo, now):
    by_endpoint = {f.endpoint: f for f in demo.scan(now).findings}
    embedder = by_endpoint["image-embedder"]
    # 4 x g5.2xlarge at 15% GPU, 30% GPU memory, 10% CPU, 20% memory -> 2 x g5.xlarge
    assert (embedder.recommendation.instance_type, embedder.recommendation.instance_count) == ("ml.g5.xlarge", 2)
    assert embedder.monthly_cost_usd == round(4 * 1.515 * 730, 2)
    assert embedder.monthly_savings_usd == round((4 * 1.515 - 2 * 1.408) * 730, 2)
    assert embedder.evidence["peak_pct"] == {"cpu": 10.0, "memory": 20.0, "gpu": 15.0, "gpu_memory": 30.0}
    churn = by_endpoint["churn-model-staging"]
    assert churn.monthly_savings_usd == round(0.461 * 730, 2) and churn.severity.value == "medium"
    errors = by_endpoint["search-ranker"]
    assert 2.9 <= errors.evidence["error_rate_pct"] <= 3.1


def test_ids_are_stable_across_scans(harness, sm, now):
    # metrics up to the second scan, as CloudWatch would have them: seeded only up to the first, a run started
    # between 01:00 and 02:00 UTC saw nightly-scorer miss its night in the second scan (and rightly idle)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now + timedelta(hours=1))
    first = {f.id for f in harness.scan(now).findings}
    second = {f.id for f in harness.scan(now + timedelta(hours=1)).findings}
    assert first == second and len(first) == DEMO_FINDINGS


def test_thresholds_change_conclusions(demo, now):
    from sagewatch.settings import Thresholds

    # with a 2-week idle window nothing in an 8-day history is old enough... except what is 30 days old
    lenient = demo.scan(now, Thresholds(error_rate_pct=5.0))
    assert "search-ranker" not in {f.endpoint for f in lenient.findings}


def test_discovery_pages_caches_configs_and_batches_metrics(harness, sm, now):
    sims = [
        fleet.SimEndpoint(
            f"ep-{i:03d}", [fleet.SimVariant("AllTraffic", "ml.m5.large", 1, fleet.flat(10), cpu=30, memory=30)]
        )
        for i in range(130)
    ]
    fleet.seed(sm, sims, region=REGION, now=now)
    # two more endpoints sharing one config: it is described once
    for name in ("shared-a", "shared-b"):
        sm.create_endpoint(EndpointName=name, EndpointConfigName="ep-000-config")
        moto_ext.in_service(REGION, [name])
        moto_ext.set_endpoint_times(REGION, name, now - timedelta(days=30))
    report = harness.scan(now, serving=False)  # discovery's own calls (the daily checks': test_keep_serving)
    assert report.endpoints == 132 and report.errors == []
    calls = harness.calls
    assert calls["ListEndpoints"] == 2  # 100 per page
    assert calls["ListInferenceComponents"] == 1  # once per scan, not per endpoint
    assert calls["GetResources"] == 1  # tags in pages of 100; untagged endpoints are absent from it...
    assert calls["DescribeEndpoint"] == 132 and calls["ListTags"] == 132  # ...so each is asked on its own
    assert calls["DescribeEndpointConfig"] == 130
    planned = plan_queries([_endpoint_stub(n) for n in range(132)])
    # 11 series a variant (traffic 4, latency 3, the multi-model cache hit 1, utilization 3): 1,452 queries;
    # and the hour-of-week profile's invocations and CPU over 14 days: 264 queries in one more call
    profile = [s for n in range(132) for s in profile_specs(_endpoint_stub(n))]
    assert fewest_calls(len(planned), 24 * 7) == 3 and fewest_calls(len(profile), 24 * 14 + 1) == 1
    assert calls["GetMetricData"] == 3 + 1
    assert calls["GetMetricStatistics"] == 0


def _endpoint_stub(i):
    from sagewatch_testkit.builders import endpoint, variant

    return endpoint(f"e{i}", variant("AllTraffic", "ml.m5.large"))


def test_long_windows_respect_the_datapoint_limit(demo, now):
    from sagewatch.settings import Thresholds

    before = demo.calls["GetMetricData"]
    demo.scan(now, Thresholds(utilization_days=90))
    # 2,160 hourly points per query: at most 46 queries per call
    planned = len(plan_queries(_discovered(demo)))
    profile = len({s for e in _discovered(demo) for s in profile_specs(e)})
    assert demo.calls["GetMetricData"] - before == fewest_calls(planned, 2160) + fewest_calls(profile, 24 * 14 + 1)


def _discovered(harness) -> list[Endpoint]:
    from sagewatch.aws.sagemaker import SageMakerInventory

    return SageMakerInventory(harness.sagemaker).discover().endpoints


def test_a_fleet_read_in_chunks_is_judged_as_if_read_at_once(demo, now, monkeypatch):
    """A large fleet is read and judged SCAN_CHUNK endpoints at a time (memory stays flat): the report is the
    same, to the last figure, as a scan that read every endpoint in one go; only the calls differ."""
    import sagewatch.app.judge as scan_module

    whole = demo.scan(now).to_dict()
    calls_whole = demo.calls["GetMetricData"]
    fetched: list[int] = []
    fetch = scan_module.plan_queries
    monkeypatch.setattr(scan_module, "SCAN_CHUNK", 5)
    monkeypatch.setattr(
        scan_module, "plan_queries", lambda endpoints: fetched.append(len(endpoints)) or fetch(endpoints)
    )
    chunked = demo.scan(now).to_dict()
    assert fetched and max(fetched) <= 5 and sum(fetched) == whole["scanned"]["endpoints"] > 5
    assert chunked == whole and len(whole["findings"]) == DEMO_FINDINGS
    assert demo.calls["GetMetricData"] - calls_whole > calls_whole  # more, partly filled calls: the price of it
