"""The template's dashboard: valid JSON whose every metric is one sagewatch reads or emits, under the namespace
and dimensions it really has, so that no widget is an empty chart of a misspelt metric."""

import json
import re

from sagewatch import metrics as m
from sagewatch.models import Kind
from sagewatch_testkit.template import load_template

# namespace -> metric names sagewatch knows there (reads, or emits for the scan's own)
KNOWN = {
    m.NS_RUNTIME: {n for n, _ in m.TRAFFIC_METRICS} | {n for n, _ in m.ASYNC_TRAFFIC_METRICS} | set(m.LATENCY_METRICS),
    m.NS_INSTANCE: set(m.UTILIZATION_METRICS) | set(m.GPU_METRICS),
    m.NS_COMPONENTS: set(m.COMPONENT_UTILIZATION_METRICS.values()),
    "Sagewatch": set(m.SCAN_METRICS) | {m.FINDINGS_METRIC},
}
# the dimension sets each namespace's metrics are published (and queried) with
DIMENSIONS = {
    m.NS_RUNTIME: {("EndpointName", "VariantName"), ("InferenceComponentName",)},
    m.NS_INSTANCE: {("EndpointName", "VariantName")},
    m.NS_COMPONENTS: {("InferenceComponentName",)},
    "Sagewatch": {("service",), ("Kind", "service")},
}
SEARCH = re.compile(r"""^SEARCH\('\{([^}]*)\} MetricName="([^"]+)"', '(Sum|Average|Maximum|p\d{1,2})', (\d+)\)$""")


def dashboard():
    resources = load_template()["Resources"]
    [body] = [r["Properties"]["DashboardBody"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    for var, value in {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}.items():
        body = body.replace("${" + var + "}", value)
    assert "${" not in body, "only pseudo parameters are substituted into the body"
    return json.loads(body)


def charted():
    """(namespace, metric, dimension names, dimension values) of every metric and SEARCH in the dashboard."""
    out = []
    for widget in dashboard()["widgets"]:
        if widget["type"] != "metric":
            continue
        previous: list = []
        for entry in widget["properties"]["metrics"]:
            if isinstance(entry[0], dict):  # an expression
                match = SEARCH.match(entry[0]["expression"])
                assert match, entry[0]["expression"]
                namespace, *dims = match.group(1).split(",")
                out.append((namespace, match.group(2), tuple(sorted(dims)), None))
                continue
            fields = [f for f in entry if not isinstance(f, dict)]
            fields = [previous[i] if f == "." else f for i, f in enumerate(fields)]  # "." repeats the line above
            previous = fields
            namespace, name, *pairs = fields
            dims = dict(zip(pairs[::2], pairs[1::2], strict=True))
            out.append((namespace, name, tuple(sorted(dims)), dims))
    return out


def test_every_metric_is_one_sagewatch_knows_with_its_real_dimensions():
    seen = charted()
    assert len(seen) >= 15
    for namespace, name, dims, _ in seen:
        assert name in KNOWN.get(namespace, set()), (namespace, name)
        assert dims in DIMENSIONS[namespace], (namespace, name, dims)


def test_the_issue_asks_for_these_charts():
    seen = {(ns, name) for ns, name, _, _ in charted()}
    for name in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency", "OverheadLatency"):
        assert (m.NS_RUNTIME, name) in seen
    for name in ("CPUUtilization", "MemoryUtilization", "GPUUtilization"):
        assert (m.NS_INSTANCE, name) in seen
    assert {("Sagewatch", "FleetMonthlyCost"), ("Sagewatch", "MonthlyWaste")} <= seen
    kinds = {d["Kind"] for ns, name, _, d in charted() if name == m.FINDINGS_METRIC}
    assert kinds == {k.value for k in Kind}  # a new kind of finding must get its series


def test_latency_has_its_valid_statistics_and_searches_are_well_formed():
    """p50 and p99 of ModelLatency; AWS lists no percentiles for OverheadLatency: its average and maximum."""
    exprs = [
        e[0]
        for w in dashboard()["widgets"]
        if w["type"] == "metric"
        for e in w["properties"]["metrics"]
        if isinstance(e[0], dict)
    ]
    for metric, valid in (("ModelLatency", {"p50", "p99"}), ("OverheadLatency", {"Average", "Maximum"})):
        stats = {SEARCH.match(e["expression"]).group(3) for e in exprs if f'"{metric}"' in e["expression"]}
        assert stats == valid
    ids = [e["id"] for e in exprs]
    assert len(ids) == len(set(ids)) and all(re.match(r"^[a-z][a-zA-Z0-9_]*$", i) for i in ids)


def test_widgets_fit_the_grid_and_do_not_overlap():
    cells = set()
    for w in dashboard()["widgets"]:
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells, w
                cells.add((x, y))
        if w["type"] == "metric":
            assert w["properties"]["region"] == "us-east-1" and w["properties"]["title"]
