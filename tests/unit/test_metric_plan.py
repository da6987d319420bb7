from datetime import timedelta

import pytest

from sagewatch.metrics import (
    MAX_DATAPOINTS_PER_CALL,
    MAX_QUERIES_PER_CALL,
    NS_INSTANCE,
    NS_RUNTIME,
    batches,
    datapoints_per_query,
    fewest_calls,
    plan_queries,
    queries_per_call,
)
from sagewatch.settings import Thresholds
from sagewatch_testkit.builders import endpoint, variant, windows


def by_name(specs):
    return {(s.namespace, s.name, s.dimensions, s.stat) for s in specs}


def test_realtime_variant_uses_exact_dimension_sets():
    specs = by_name(plan_queries([endpoint("ep", variant("v1", "ml.m5.xlarge"))]))
    dims = (("EndpointName", "ep"), ("VariantName", "v1"))
    assert (NS_RUNTIME, "Invocations", dims, "Sum") in specs
    assert (NS_RUNTIME, "Invocation4XXErrors", dims, "Sum") in specs
    assert (NS_RUNTIME, "Invocation5XXErrors", dims, "Sum") in specs
    assert (NS_RUNTIME, "ModelLatency", dims, "Average") in specs
    for name in ("CPUUtilization", "MemoryUtilization", "DiskUtilization"):
        assert (NS_INSTANCE, name, dims, "Average") in specs
    # no GPU metrics on a CPU instance, and nothing with EndpointName alone
    assert not any(s[1].startswith("GPU") for s in specs)
    assert all(len(s[2]) == 2 for s in specs)


def test_gpu_variant_adds_gpu_metrics():
    names = {s.name for s in plan_queries([endpoint("ep", variant("v", "ml.g5.2xlarge"))])}
    assert {"GPUUtilization", "GPUMemoryUtilization"} <= names


def test_async_endpoint_reads_processed_requests_and_backlog_not_invocations():
    specs = plan_queries([endpoint("q", variant("v"), is_async=True)])
    names = {(s.name, s.dimensions) for s in specs}
    assert ("InvocationsProcesssed", (("EndpointName", "q"), ("VariantName", "v"))) in names
    assert ("ApproximateBacklogSize", (("EndpointName", "q"),)) in names
    assert not any(n == "Invocations" for n, _ in names)


def test_inference_components_are_read_per_component():
    ep = endpoint("gen", variant("v", "ml.g5.12xlarge", components=("a", "b")))
    specs = plan_queries([ep])
    component_dims = {s.dimensions for s in specs if s.namespace == NS_RUNTIME}
    assert component_dims == {(("InferenceComponentName", "a"),), (("InferenceComponentName", "b"),)}
    # utilization is still per endpoint and variant
    assert any(
        s.namespace == NS_INSTANCE and s.dimensions == (("EndpointName", "gen"), ("VariantName", "v")) for s in specs
    )


def test_serverless_variant_has_no_utilization_queries():
    specs = plan_queries([endpoint("s", variant(serverless=True))])
    assert {s.namespace for s in specs} == {NS_RUNTIME}


def test_plan_has_no_duplicates():
    eps = [endpoint(f"e{i}", variant("a"), variant("b")) for i in range(3)]
    specs = plan_queries(eps + eps)
    # per variant: 4 traffic, 3 latency (p50, p99, overhead), the multi-model cache hit and 3 utilization series
    assert len(specs) == len(set(specs)) == 3 * 2 * 11


@pytest.mark.parametrize(("days", "expected"), [(7, 500), (14, 300), (30, 140), (90, 46)])
def test_queries_per_call_respects_both_limits(days, expected):
    w = windows(Thresholds(utilization_days=days))
    points = datapoints_per_query(w.start, w.end, w.period)
    assert points == days * 24
    assert queries_per_call(points) == expected
    assert queries_per_call(points) * points <= MAX_DATAPOINTS_PER_CALL


def test_batches_are_the_fewest_possible():
    eps = [endpoint(f"e{i}", variant("a")) for i in range(200)]  # 1,400 queries
    specs = plan_queries(eps)
    for points in (168, 336, 2160):
        got = batches(specs, points)
        assert len(got) == fewest_calls(len(specs), points)
        assert all(len(b) <= MAX_QUERIES_PER_CALL and len(b) * points <= MAX_DATAPOINTS_PER_CALL for b in got)
        assert [s for b in got for s in b] == specs


def test_windows_share_one_range_ending_on_the_minute():
    w = windows(Thresholds(idle_hours=48, utilization_days=1))
    assert w.end.second == 0 and w.start == w.idle_start == w.end - timedelta(hours=48)
    assert w.utilization_start == w.end - timedelta(days=1)


def test_results_keep_a_series_as_cloudwatch_gives_it():
    from datetime import UTC, datetime

    from sagewatch.metrics import MetricResults, MetricSpec

    spec = MetricSpec("AWS/SageMaker", "Invocations", (("EndpointName", "e"), ("VariantName", "v")), "Sum")
    t0 = datetime(2026, 11, 28, tzinfo=UTC)
    stamps = [t0 + timedelta(hours=h) for h in range(3)]
    results = MetricResults()
    results.add_series(spec, stamps, [1, 2.5, 3])  # ints as CloudWatch's JSON may carry them
    assert results.values(spec) == [1.0, 2.5, 3.0] and results.total(spec, since=stamps[1]) == 5.5
    results.add_series(spec, stamps[:1], [4.0, 5.0])  # unequal lists (never seen): only whole pairs are kept
    assert results.count(spec) == 4
    results.add(spec, [])  # an empty answer adds nothing
    assert results.peak(spec) == 4.0


def test_series_of_a_variant_are_found_by_index_and_the_index_follows_added_series() -> None:
    from datetime import UTC, datetime

    from sagewatch.metrics import MetricResults, container_metric, variant_metric

    at = datetime(2026, 12, 1, tzinfo=UTC)
    results = MetricResults()
    mine = variant_metric("ep-a", "v1", "Invocations", "Sum")
    results.add(mine, [(at, 1.0)])
    results.add(variant_metric("ep-a", "v2", "Invocations", "Sum"), [(at, 1.0)])
    results.add(variant_metric("ep-b", "v1", "Invocations", "Sum"), [(at, 1.0)])
    assert results.of_variant("ep-a", "v1") == [mine]
    container = container_metric("ep-a", "v1", "pre", "Average")
    results.series.update({container: results.series[mine]})  # as the scan merges its detail read
    assert set(results.of_variant("ep-a", "v1")) == {mine, container}
    assert results.of_variant("ep-c", "v1") == []
