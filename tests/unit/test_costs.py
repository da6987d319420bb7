"""The cost model's rules, on hand-made inputs."""

from datetime import UTC, datetime, timedelta

import pytest

from sagewatch.catalog import Catalog
from sagewatch.costs import (
    Reservation,
    Usage,
    build_cost_report,
    component_shares,
    percentile,
    report_windows,
    reservation_from_api,
)
from sagewatch.metrics import MetricResults, utilization_metric, variant_metric
from sagewatch.models import Endpoint, Variant

CATALOG = Catalog.load()
END = datetime(2026, 11, 22, 6, tzinfo=UTC)


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([5.0], 95) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (50.0, 95.0, 100.0)
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # order does not matter


def test_dominant_share_and_overlap_scaled_to_the_whole():
    g5 = CATALOG.get("ml.g5.12xlarge")  # 48 vCPU, 192 GiB, 4 GPUs
    assert g5 is not None
    shares = component_shares(g5, 1, [Reservation("a", cpu_cores=8, accelerators=2, memory_mib=1024)])
    assert shares == {"a": 0.5}
    # two copies of a one-GPU model on two instances: 2 of 8 GPUs
    assert component_shares(g5, 2, [Reservation("a", accelerators=1, copies=2)]) == {"a": 0.25}
    # each dominant in a different resource, together past the whole: scaled to add up to 1
    over = component_shares(
        g5, 1, [Reservation("cpu-heavy", cpu_cores=48, accelerators=1), Reservation("gpu-heavy", accelerators=4)]
    )
    assert over == {"cpu-heavy": 0.5, "gpu-heavy": 0.5}


def test_reservation_from_the_api_uses_running_copies():
    doc = {
        "InferenceComponentName": "m",
        "Specification": {
            "ComputeResourceRequirements": {
                "NumberOfCpuCoresRequired": 2.5,
                "NumberOfAcceleratorDevicesRequired": 1,
                "MinMemoryRequiredInMb": 4096,
            }
        },
        "RuntimeConfig": {"DesiredCopyCount": 3, "CurrentCopyCount": 2},
    }
    assert reservation_from_api(doc) == Reservation("m", 2.5, 1, 4096.0, 2)
    doc["RuntimeConfig"] = {"DesiredCopyCount": 3, "CurrentCopyCount": 0}  # still starting
    assert reservation_from_api(doc).copies == 3


def test_usage_percentiles_are_capped_and_rounded():
    usage = Usage.of({"cpu": [10.04, 120.0], "gpu": []})
    assert usage.p50 == {"cpu": 10.0} and usage.p95 == {"cpu": 100.0} and usage.busiest_p95() == 100.0


def _endpoint(created: datetime) -> Endpoint:
    return Endpoint(
        name="e",
        arn="arn:aws:sagemaker:us-east-1:123456789012:endpoint/e",
        status="InService",
        creation_time=created,
        last_modified_time=created,
        config_name="c",
        is_async=False,
        variants=(Variant("v", "ml.m5.xlarge", 1),),
    )


@pytest.mark.parametrize(
    ("cpu_raw", "invocations", "waste"),
    [
        (None, 10.0, None),  # busy, utilization unknown: waste unknown
        ([140.0] * 24, 10.0, 2.76),  # 35% of 4 vCPUs: half of what a 70% target needs
        ([280.0] * 24, 10.0, 0.0),  # 70%: nothing wasted
        ([40.0] * 24, 0.0, 5.52),  # not one request: the whole cost
    ],
)
def test_waste(cpu_raw, invocations, waste):
    windows = report_windows(END, 1)
    results = MetricResults()
    hours = [windows.start + timedelta(hours=h) for h in range(24)]
    if invocations:
        results.add(variant_metric("e", "v", "Invocations", "Sum"), [(hours[0], invocations)])
    if cpu_raw is not None:
        results.add(utilization_metric("e", "v", "CPUUtilization"), list(zip(hours, cpu_raw, strict=True)))
    report = build_cost_report(
        [_endpoint(END - timedelta(days=30))],
        {},
        results,
        CATALOG,
        windows,
        target_utilization_pct=70,
        generated_at=END,
        region="us-east-1",
        account=None,
    )
    variant = report.rows[1]
    assert variant.cost_usd == 5.52  # 0.23 x 24 h
    assert variant.waste_usd == waste


def test_an_unknown_cost_makes_the_endpoint_unknown_not_smaller():
    windows = report_windows(END, 1)
    ep = _endpoint(END - timedelta(days=30))
    ep = Endpoint(**{**ep.__dict__, "variants": (Variant("v", "ml.m5.xlarge", 1), Variant("s", None, 0))})
    report = build_cost_report(
        [ep],
        {},
        MetricResults(),
        CATALOG,
        windows,
        target_utilization_pct=70,
        generated_at=END,
        region="r",
        account=None,
    )
    assert report.rows[0].cost_usd is None and report.rows[1].cost_usd == 5.52
