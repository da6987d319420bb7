"""`make bench`, the two cadences: what an hourly and a deep scan read and cost at 1,000 / 5,000 / 20,000 endpoints.

Each (size, depth) runs in a process of its own against the fake AWS answering at once (no latency): its peak
memory is its own, and its CPU seconds are the scan's arithmetic, not waiting. The hourly scan carries conclusions
(one per endpoint, as a deep scan leaves them) so that it reads only the hourly series.
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from sagewatch.app.judge import SCAN_CHUNK, run_scan
from sagewatch.aws.clients import Clients
from sagewatch.aws.wiring import readers
from sagewatch.cadence import Conclusion, Conclusions
from sagewatch.catalog import Catalog
from sagewatch.metrics import MAX_QUERIES_PER_CALL, MetricSpec, Windows, datapoints_per_query, fewest_calls
from sagewatch.settings import Thresholds
from sagewatch_testkit.calls import count_calls
from sagewatch_testkit.fake_aws import REGION, FakeAws
from sagewatch_testkit.fleet import iter_bench_fleet

SCANS_A_MONTH = 730  # rate(1 hour)
DEEP_SCANS_A_MONTH = 30.4  # the first from DeepScanHourUtc each day
USD_PER_SERIES = 0.01 / 1000  # GetMetricData, per metric requested
FAN_OUT_BATCH = 1000  # endpoints per chunk a fan-out would give one worker
TARGETS = {"hourly series": 6.0, "usd": 0.05, "peak MB": 300.0, "cpu share": 0.5}


def one(endpoints: int, depth: str) -> dict[str, Any]:
    """One scan of `endpoints` at `depth` in this process: its figures."""
    import boto3

    fake = FakeAws(iter_bench_fleet(endpoints), 0.0)
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    calls = count_calls(session.events)
    fake.install(session)
    clients = Clients(REGION, session)
    inventory, reader = readers(clients)[:2]
    metrics = _Bounded(reader)
    carry = None
    if depth == "hourly":  # what the day's deep scan leaves: every endpoint concluded as it is
        found = inventory.discover().endpoints
        carry = Conclusions(
            as_of=fake.now, endpoints={e.name: Conclusion(e.name, fake.now, e.last_modified_time) for e in found}
        )
        calls.clear()
    before = _peak_mb()  # the fake AWS and its fleet, the imports (and the hourly scan's discovery)
    cpu = time.process_time()
    report = run_scan(
        inventory, metrics, Catalog.load(), Thresholds(), now=fake.now, region=REGION, account=None, carry=carry
    )
    cpu = time.process_time() - cpu
    series = int(report.cadence["metric_series"])
    return {
        "endpoints": report.endpoints,
        "depth": depth,
        "series": series,
        "gmd_calls": calls["GetMetricData"],
        # the bound: each read filled to the 500-query (or 100,800-datapoint) limit
        "gmd_fewest": metrics.fewest,
        "cpu_seconds": round(cpu, 2),
        "peak_mb": _peak_mb(),
        "before_mb": before,
        "judged_in_full": report.cadence["judged_in_full"],
        "errors": len(report.errors),
    }


def _peak_mb() -> int:
    """This process's peak resident memory (VmHWM: ru_maxrss would carry the parent's across fork and exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


class _Bounded:
    """The scan's metrics reader, adding up the fewest GetMetricData calls each of its reads could take."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fewest = 0

    def fetch(self, specs: Sequence[MetricSpec], windows: Windows) -> Any:
        self.fewest += fewest_calls(len(specs), datapoints_per_query(windows.start, windows.end, windows.period))
        return self.inner.fetch(specs, windows)

    def instance_metrics(self, endpoints: Any) -> Any:
        return self.inner.instance_metrics(endpoints)

    def container_metrics(self, endpoints: Any) -> Any:
        return self.inner.container_metrics(endpoints)


def run(sizes: Sequence[int]) -> dict[str, bool]:
    """Every size at both depths, each in a process of its own; prints the table and returns the checks."""
    print("Two cadences (fake AWS answering at once; each scan in a process of its own):")
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    for size in sizes:
        for depth in ("deep", "hourly"):
            out = subprocess.run(
                [sys.executable, "-m", "sagewatch_testkit.bench_cadence", str(size), depth],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(f"  {size} endpoints, {depth}: failed\n{out.stderr[-2000:]}")
                return {f"the {depth} scan of {size} endpoints ran": False}
            rows[(size, depth)] = json.loads(out.stdout.strip().splitlines()[-1])
    head = (
        f"  {'endpoints':>9} {'scan':<6} {'series/ep':>9} {'GMD calls':>9} {'fewest':>6} {'CPU s/1k ep':>11} "
        f"{'peak MB':>7} {'(before)':>8} {'chunks':>6}"
    )
    print(head)
    checks: dict[str, bool] = {}
    for size in sizes:
        for depth in ("hourly", "deep"):
            r = rows[(size, depth)]
            per = r["series"] / max(1, r["endpoints"])
            chunks = math.ceil(r["endpoints"] / FAN_OUT_BATCH)
            print(
                f"  {r['endpoints']:>9,} {depth:<6} {per:>9.1f} {r['gmd_calls']:>9} {r['gmd_fewest']:>6} "
                f"{1000 * r['cpu_seconds'] / max(1, r['endpoints']):>11.2f} {r['peak_mb']:>7} {r['before_mb']:>8} "
                f"{chunks:>6}"
            )
        hourly, deep = rows[(size, "hourly")], rows[(size, "deep")]
        n = max(1, hourly["endpoints"])
        month = (hourly["series"] * (SCANS_A_MONTH - DEEP_SCANS_A_MONTH) + deep["series"] * DEEP_SCANS_A_MONTH) / n
        before = deep["series"] / n * SCANS_A_MONTH  # every hourly scan a deep one, as before the two cadences
        share = hourly["cpu_seconds"] / max(deep["cpu_seconds"], 1e-9)
        print(
            f"  {size:>9,}: GetMetricData ${month * USD_PER_SERIES:.3f} per endpoint-month at rate(1 hour) with a "
            f"daily deep scan (every scan deep: ${before * USD_PER_SERIES:.3f}); the hourly scan's CPU is "
            f"{share:.0%} of the deep scan's"
        )
        checks |= {
            f"{size:,}: hourly scan reads at most 6 series per endpoint": hourly["series"] / n
            <= TARGETS["hourly series"],
            f"{size:,}: at most $0.05 per endpoint-month in GetMetricData": month * USD_PER_SERIES <= TARGETS["usd"],
            f"{size:,}: hourly scan CPU per endpoint at most half the deep scan's": share <= TARGETS["cpu share"],
            f"{size:,}: GetMetricData calls within 10% of the bound": all(
                rows[(size, d)]["gmd_calls"] <= 1.1 * rows[(size, d)]["gmd_fewest"] + 2 for d in ("hourly", "deep")
            ),
            f"{size:,}: every endpoint judged without errors": not hourly["errors"] and not deep["errors"],
        }
        if size >= 20_000:
            for depth, r in (("hourly", hourly), ("deep", deep)):
                checks[f"{size:,}: peak memory of the {depth} scan within 300 MB"] = r["peak_mb"] <= TARGETS["peak MB"]
    print(
        f"  (chunks: of {FAN_OUT_BATCH:,} endpoints, what a fan-out would give each worker; a scan reads "
        f"{SCAN_CHUNK:,} endpoints at a time in {MAX_QUERIES_PER_CALL}-query calls)\n"
    )
    return checks


if __name__ == "__main__":
    print(json.dumps(one(int(sys.argv[1]), sys.argv[2])))
