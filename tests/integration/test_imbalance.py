"""Enhanced metrics on moto: one instance or one GPU far busier than its siblings is flagged; even load, or an
endpoint without enhanced metrics, is not."""

import pytest

from sagewatch.metrics import NS_INSTANCE
from sagewatch_testkit import fleet, moto_ext
from sagewatch_testkit.fleet import SimEndpoint, SimVariant, flat
from sagewatch_testkit.schemas import validate_report

REGION = moto_ext.DEFAULT_REGION


def seed(sm, now, name, itype, count, per_unit, metric="CPUUtilization", gpus=0, enhanced=True):
    """per_unit: mean normalized utilization of each instance (or, with gpus, of each GPU of instance 0)."""
    fleet.seed(sm, [SimEndpoint(name, [SimVariant("AllTraffic", itype, count, flat(500), cpu=40, memory=40)])],
               region=REGION, now=now)  # fmt: skip
    if enhanced:
        moto_ext.set_enhanced_metrics(REGION, name)
    hours = [now - fleet.timedelta(hours=h) for h in range(1, 7 * 24 + 1)]
    for i, pct in enumerate(per_unit):
        dims = {"EndpointName": name, "VariantName": "AllTraffic", "InstanceId": f"i-{i:04d}"}
        scale = 1
        if gpus:
            dims = {**dims, "InstanceId": "i-0000", "AcceleratorId": f"gpu-{i}"}
        elif metric == "CPUUtilization":
            scale = 4  # ml.m5.xlarge: CloudWatch sums the 4 vCPUs
        moto_ext.put_series(REGION, NS_INSTANCE, metric, dims, [(t, pct * scale) for t in hours])


def imbalanced(report):
    return [f for f in report.findings if f.kind.value == "imbalanced"]


def test_one_busy_instance_among_idle_siblings_is_flagged(harness, sm, now):
    seed(sm, now, "ranker", "ml.m5.xlarge", 3, [85, 20, 24])
    report = harness.scan(now)
    [finding] = imbalanced(report)
    assert finding.variant == "AllTraffic" and finding.severity.value == "medium"
    assert finding.evidence["busiest"] == "i-0000" and finding.evidence["resource"] == "cpu"
    assert finding.evidence["busiest_pct"] == 85.0 and finding.evidence["siblings_median_pct"] == 22.0
    assert finding.recommendation.action.value == "investigate"
    assert harness.calls["ListMetrics"] >= 1  # (moto pages its listing in small pages)
    validate_report(report.to_dict())


def test_one_hot_gpu_is_flagged_per_device(harness, sm, now):
    seed(sm, now, "llm", "ml.g5.12xlarge", 1, [97, 30, 28, 31], metric="GPUUtilization", gpus=4)
    [finding] = imbalanced(harness.scan(now))
    assert finding.evidence["unit"] == "gpu" and finding.evidence["busiest"] == "i-0000/gpu-0"
    assert finding.severity.value == "high"  # the busy GPU is saturated


@pytest.mark.parametrize(
    ("per_unit", "enhanced"),
    [
        ([60, 55, 58], True),  # even
        ([40, 10, 12], True),  # uneven, but nothing is busy
        ([85, 20, 24], False),  # per-instance series exist, but the endpoint does not say enhanced metrics are on
    ],
)
def test_even_load_or_no_enhanced_metrics_is_quiet(harness, sm, now, per_unit, enhanced):
    seed(sm, now, "ranker", "ml.m5.xlarge", 3, per_unit, enhanced=enhanced)
    assert imbalanced(harness.scan(now)) == []
    # instances are listed only for endpoints with enhanced metrics; containers once a scan, region-wide
    assert (harness.calls["ListMetrics"] > 1) is enhanced


def test_unreadable_listing_is_an_error_not_a_guess(harness, sm, now):
    from sagewatch_testkit import faults

    seed(sm, now, "ranker", "ml.m5.xlarge", 3, [85, 20, 24])
    faults.fail_call(harness.cloudwatch, "ListMetrics", "AccessDenied", "no cloudwatch:ListMetrics")
    report = harness.scan(now)
    assert imbalanced(report) == []
    assert [(e.operation, e.code, e.endpoint) for e in report.errors] == [("ListMetrics", "AccessDenied", "ranker")]
    # the containers' listing failed too: a warning (detail), never a scan-wide error that makes it incomplete
    assert any(
        w.startswith("containers' latency not read (ListMetrics ContainerLatency: AccessDenied")
        for w in report.warnings
    )
    assert report.complete
