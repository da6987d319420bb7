"""`make bench`: scan a simulated fleet of 1,000 endpoints served by moto in another process.

Prints API calls by operation, wall time and peak memory of the scanning process, and checks the
CloudWatch budget: GetMetricData calls within 10% of the fewest the 500-query and 100,800-datapoint
limits allow, and no per-metric (GetMetricStatistics) calls. Exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from sagewatch.app.judge import run_scan
from sagewatch.app.weekly import cost_report
from sagewatch.aws.clients import Clients
from sagewatch.aws.cloudwatch import CloudWatchMetrics
from sagewatch.aws.config_cache import FileConfigArchive
from sagewatch.aws.serving import FileDailyCache
from sagewatch.aws.wiring import aws_view, readers, serving_checks
from sagewatch.catalog import Catalog
from sagewatch.metrics import MetricResults, MetricSpec, Windows, datapoints_per_query, fewest_calls, plan_queries
from sagewatch.models import ScanError
from sagewatch.settings import Thresholds
from sagewatch_testkit import bench_cadence
from sagewatch_testkit.calls import count_calls
from sagewatch_testkit.fake_aws import ACCOUNT, REGION, FakeAws
from sagewatch_testkit.fleet import iter_bench_fleet

CLOUDWATCH_OPERATIONS = ("GetMetricData", "GetMetricStatistics", "ListMetrics")


class PlannedMetrics(CloudWatchMetrics):
    """CloudWatchMetrics that remembers how many queries the scan planned."""

    planned = 0
    points = 0
    seconds = 0.0
    series = 0  # every metric requested, over all the scan's reads: what GetMetricData bills

    def fetch(self, specs: Sequence[MetricSpec], windows: Windows) -> tuple[MetricResults, list[ScanError]]:
        self.series += len(specs)
        self.planned = len(specs)
        self.points = datapoints_per_query(windows.start, windows.end, windows.period)
        started = time.perf_counter()
        try:
            return super().fetch(specs, windows)
        finally:
            self.seconds = time.perf_counter() - started


def _fake_session(fake: FakeAws) -> tuple[boto3.session.Session, Counter[str]]:
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    calls = count_calls(session.events)  # first: the fake's answer ends the before-call handlers
    fake.install(session)
    return session, calls


def _control_calls(calls: Counter[str]) -> int:
    return sum(n for op, n in calls.items() if op not in CLOUDWATCH_OPERATIONS)


def _naive_scan(fake: FakeAws, names: list[str], specs: list[MetricSpec], windows: Windows) -> float:
    """What per-series scanners do: three threads, the per-endpoint reads, then one GetMetricStatistics per
    series. Returns the wall time."""
    session, _ = _fake_session(fake)
    clients = Clients(REGION, session)
    sm, cw = clients.sagemaker(), clients.cloudwatch()

    def endpoint(name: str) -> None:
        sm.describe_endpoint(EndpointName=name)
        sm.describe_endpoint_config(EndpointConfigName=f"{name}-config")
        sm.list_tags(ResourceArn=f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{name}")

    def series(spec: MetricSpec) -> None:
        cw.get_metric_statistics(
            Namespace=spec.namespace,
            MetricName=spec.name,
            Dimensions=[{"Name": k, "Value": v} for k, v in spec.dimensions],
            StartTime=windows.start,
            EndTime=windows.end,
            Period=windows.period,
            Statistics=[spec.stat] if spec.stat in ("Sum", "Average", "Maximum", "Minimum") else ["Average"],
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(endpoint, names))
        list(pool.map(series, specs))
    return time.perf_counter() - started


def control_plane(endpoints: int, latency_ms: float, sample: int) -> dict[str, bool]:
    """A cold and a warm scan of `endpoints` against the fake AWS answering every call after `latency_ms`,
    then a per-series scanner on a sample of the same fleet for comparison."""
    fake = FakeAws(iter_bench_fleet(endpoints), latency_ms / 1000)  # never the whole simulation at once
    print(f"Control plane: {endpoints} endpoints, every call answered after {latency_ms:g} ms (fake AWS)")
    figures: dict[str, tuple[float, float]] = {}
    daily_checks: dict[str, float] = {}
    world = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp:
        archive = FileConfigArchive(Path(tmp) / "endpoint-configs.json")
        daily = FileDailyCache(Path(tmp) / "daily.json")
        for label in ("cold", "warm"):
            if label == "warm":  # the day's other dependency checks first: a warm scan finds them all kept
                _the_days_dependency_checks(fake, daily)
            session, calls = _fake_session(fake)
            clients = Clients(REGION, session)
            checks = serving_checks(clients, daily, account=ACCOUNT, region=REGION)
            started = time.perf_counter()
            report = run_scan(
                *readers(clients, configs=archive),
                Catalog.load(),
                Thresholds(),
                now=fake.now,
                region=REGION,
                account=None,
                serving=checks,
                aws_view=aws_view(clients, daily, account=ACCOUNT),  # Compute Optimizer: once a day, kept
            )
            wall = time.perf_counter() - started
            endpoints = max(1, report.endpoints)
            # the dependency checks are made once a day (the day's first scans), then kept in the state table
            per_endpoint = (_control_calls(calls) - checks.dependency_calls) / endpoints
            figures[label] = (per_endpoint, wall)
            daily_checks[label] = checks.dependency_calls / endpoints
            busiest = ", ".join(f"{op} {n}" for op, n in calls.most_common(5))
            reads = checks.calls - checks.dependency_calls
            print(
                f"  {label} scan: {report.endpoints} endpoints judged in {wall:.1f} s; control-plane calls per "
                f"endpoint {per_endpoint:.2f} ({busiest}), keep-serving reads included ({reads}: quotas once a day, "
                f"the log of 5 errors findings); dependency checks besides: {checks.dependency_calls} calls"
            )
        scans, total = _the_days_dependency_checks(fake, FileDailyCache(Path(tmp) / "fresh-daily.json"))
        daily_checks["per endpoint"] = total / max(1, report.endpoints)
        print(
            f"  dependency checks (once a day, kept in the state table): every endpoint checked within {scans} scans, "
            f"{total} calls ({daily_checks['per endpoint']:.2f} per endpoint a day; roles and images shared)"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of the process: {rss:.0f} MiB (imports and the fake AWS before the first scan: {world:.0f} MiB)")
    windows = Windows.ending_at(fake.now, Thresholds())
    names = [name for name in fake.order if fake.fleet[name].status == "InService"][:sample]
    specs = plan_queries(_sample_endpoints(fake, names))
    naive = _naive_scan(fake, names, specs, windows) * (len(fake.order) / max(1, len(names)))
    warm = figures["warm"][1]
    print(
        f"  per-series scanner (3 threads, one GetMetricStatistics per series): {naive:.0f} s for the fleet "
        f"(measured on {len(names)} endpoints, {len(specs)} series, scaled); sagewatch's warm scan is "
        f"{naive / max(warm, 1e-9):.0f} times faster\n"
    )
    return {
        "control plane: at most 2.1 calls per endpoint, cold": figures["cold"][0] <= 2.1,
        "control plane: at most 1.1 calls per endpoint, warm": figures["warm"][0] <= 1.1,
        "dependency checks: at most 5 calls per endpoint a day": daily_checks["per endpoint"] <= 5,
        "peak RSS within 300 MB": rss <= 300,
        "at least 10 times faster than a per-series scanner": naive >= 10 * warm,
    }


def _the_days_dependency_checks(fake: FakeAws, daily: FileDailyCache) -> tuple[int, int]:
    """From an empty cache, the dependency checks scan after scan (each as a scan makes it, the day's answers
    kept) until none is left: how many scans it took, and their calls in all."""
    session, _ = _fake_session(fake)
    clients = Clients(REGION, session)
    endpoints = readers(clients)[0].discover().endpoints
    scans, total = 0, 0
    for _ in range(48):  # bounded: a day of half-hourly scans
        checks = serving_checks(clients, daily, account=ACCOUNT, region=REGION)
        checks.dependencies(endpoints, fake.now)
        if checks.dependency_calls == 0:
            break
        scans, total = scans + 1, total + checks.dependency_calls
    return scans, total


def _sample_endpoints(fake: FakeAws, names: list[str]) -> list[Any]:
    """The sample's endpoints as discovered, for planning the per-series scanner's series."""
    session, _ = _fake_session(fake)
    wanted = set(names)
    discovery = readers(Clients(REGION, session))[0].discover()
    return [e for e in discovery.endpoints if e.name in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sagewatch_testkit.bench", description=__doc__)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--utilization-days", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=30.0, help="the fake AWS's answer time per call")
    parser.add_argument("--sample", type=int, default=300, help="endpoints the per-series scanner is timed on")
    parser.add_argument("--fake-only", action="store_true", help="skip the moto part (metrics, cost report)")
    parser.add_argument(
        "--cadence-sizes",
        default="1000,5000,20000",
        help="fleet sizes the hourly and deep scans are measured at (comma-separated; empty: none)",
    )
    args = parser.parse_args(argv)

    # First, so the peak memory it prints is its own.
    fake_checks = control_plane(args.endpoints, args.latency_ms, args.sample)
    sizes = [int(n) for n in args.cadence_sizes.split(",") if n.strip()]
    if sizes:
        fake_checks |= bench_cadence.run(sizes)
    if args.fake_only:
        for text, ok in fake_checks.items():
            print(f"  [{'ok' if ok else 'FAILED'}] {text}")
        return 0 if all(fake_checks.values()) else 1

    print(f"Starting moto with a simulated fleet of {args.endpoints} endpoints (separate process)...", flush=True)
    started = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sagewatch_testkit.server",
            "--fleet",
            "bench",
            "--endpoints",
            str(args.endpoints),
            "--max-seconds",
            "1800",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline() or "{}")
        if "endpoint_url" not in ready:
            print("bench: the moto server did not start", file=sys.stderr)
            return 1
        print(f"  seeded in {time.perf_counter() - started:.1f} s at {ready['endpoint_url']}\n")
        os.environ.update(
            AWS_ENDPOINT_URL=ready["endpoint_url"], AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing"
        )
        session = boto3.session.Session(region_name=REGION)
        calls = count_calls(session.events)
        clients = Clients(REGION, session)
        metrics = PlannedMetrics(clients.cloudwatch())
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        report = run_scan(
            readers(clients)[0],  # the inventory as deployed (auto scaling, tags in pages)
            metrics,
            Catalog.load(),
            Thresholds(utilization_days=args.utilization_days),
            now=datetime.now(UTC),
            region=REGION,
            account=None,
        )
        wall = time.perf_counter() - t0
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # The 7-day cost report of the same fleet: the scan's reads plus one DescribeInferenceComponent per
        # component and their normalized utilization.
        scan_calls = dict(calls)
        calls.clear()
        cost_metrics = PlannedMetrics(clients.cloudwatch())
        t1 = time.perf_counter()
        costs = cost_report(
            readers(clients, scaling=False)[0],
            cost_metrics,
            Catalog.load(),
            days=7,
            target_utilization_pct=Thresholds().target_utilization_pct,
            now=datetime.now(UTC),
            region=REGION,
            account=None,
        )
        report_wall = time.perf_counter() - t1
        report_calls = dict(calls)
        calls.clear()
        calls.update(scan_calls)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=60)

    fewest = fewest_calls(metrics.planned, metrics.points)
    gmd = calls["GetMetricData"]
    print(
        f"Scanned {report.endpoints} endpoints, {report.variants} variants, "
        f"{report.inference_components} inference components; {len(report.findings)} findings "
        f"{report.counts_by_kind()}, {len(report.errors)} errors.\n"
    )
    control = _control_calls(calls)
    print(
        f"Control-plane calls per endpoint: {control / max(1, report.endpoints):.2f} "
        "(SageMaker, tagging and auto scaling reads; one DescribeEndpoint each is the floor)"
    )
    print("API calls by operation:")
    for op, n in sorted(calls.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {op:<28}{n:>6}")
    print(f"  {'total':<28}{sum(calls.values()):>6}\n")
    print(f"Metric queries planned:        {metrics.planned} ({metrics.points} datapoints each)")
    per_endpoint = metrics.series / max(1, report.endpoints)
    print(
        f"Metric series per endpoint:    {per_endpoint:.1f} a deep scan (every read: {metrics.series}); hourly scans "
        "read fewer (above)"
    )
    print(f"GetMetricData calls:           {gmd} (fewest the limits allow: {fewest})")
    print(
        f"Wall time of the scan:         {wall:.2f} s ({report.endpoints / wall:.0f} endpoints/s), "
        f"of which GetMetricData {metrics.seconds:.2f} s"
    )
    print("  (moto answers every call in one Python process on this machine: compare runs, not absolutes)")
    print(f"Peak RSS of the scan process:  {rss_after / 1024:.0f} MiB (before the scan: {rss_before / 1024:.0f} MiB)")

    report_fewest = fewest_calls(cost_metrics.planned, cost_metrics.points)
    print(
        f"\nCost report (7 days): {len(costs.rows)} rows in {report_wall:.2f} s; "
        f"{sum(report_calls.values())} API calls, of which GetMetricData {report_calls.get('GetMetricData', 0)} "
        f"(fewest: {report_fewest}) for {cost_metrics.planned} queries, "
        f"DescribeInferenceComponent {report_calls.get('DescribeInferenceComponent', 0)}"
    )

    checks = {
        **fake_checks,
        "GetMetricData within 10% of the fewest calls": gmd <= fewest * 1.1,
        "cost report: GetMetricData within 10% of the fewest calls": report_calls.get("GetMetricData", 0)
        <= report_fewest * 1.1,
        "cost report: every endpoint costed without errors": not costs.errors,
        "no per-metric CloudWatch calls (GetMetricStatistics)": calls["GetMetricStatistics"] == 0,
        "every endpoint judged without errors": not report.errors,
    }
    print()
    for text, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAILED'}] {text}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
