"""Will the scan keep finishing? (pure) Each scheduled scan knows how long it took, per endpoint, and how long its
function may run: a fleet that would not finish within 80% of the timeout at that rate is said in the scan's
result and warnings, and as a metric an alarm watches (ScanNearTimeoutAlarm), before the first scan dies at the
limit. An hourly scan also projects the day's deep scan (sagewatch.cadence) at the rate the last one ran: the
fleet may grow past what the deep scan finishes while hourly scans still fit. Where the stack has its fan-out state
machine (ScanFanOutEndpoints, sagewatch.app.fanout), a scan that would not finish within 80% at the last deep
scan's pace fans out instead, so hourly scans project nothing; without it the fix is a longer timeout and more
memory (Lambda's CPU grows with it), or fan-out turned on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SAFE_SHARE = 0.8  # of the function's timeout a scan may use


@dataclass(frozen=True)
class ScanTime:
    seconds: float
    endpoints: int  # every endpoint listed (what the scan had to go through)
    budget_seconds: float | None  # what the invocation had when the scan began (None: no limit known: the CLI)
    deep_rate: float | None = None  # an hourly scan's: the last deep scan's seconds per endpoint
    fans_out: bool = False  # the stack fans a scan out past its timeout (the deep scan is not projected)

    @property
    def seconds_per_endpoint(self) -> float | None:
        return round(self.seconds / self.endpoints, 4) if self.endpoints else None

    @property
    def used_pct(self) -> float | None:
        return round(self.seconds / self.budget_seconds * 100, 1) if self.budget_seconds else None

    @property
    def deep_projected_pct(self) -> float | None:
        """The share of the timeout the day's deep scan would use on this fleet at its last rate."""
        if not self.deep_rate or not self.budget_seconds or self.fans_out:
            return None
        return round(self.deep_rate * self.endpoints / self.budget_seconds * 100, 1)

    @property
    def endpoints_within(self) -> int | None:
        """How many endpoints a scan finishes within SAFE_SHARE of its timeout at this rate."""
        rate = self.seconds_per_endpoint
        if not self.budget_seconds or not rate:
            return None
        return int(self.budget_seconds * SAFE_SHARE / rate)

    @property
    def warning(self) -> str | None:
        within, used = self.endpoints_within, self.used_pct
        deep = self.deep_projected_pct
        if deep is not None and deep >= SAFE_SHARE * 100 and (used is None or used < SAFE_SHARE * 100):
            fit = int((self.budget_seconds or 0) * SAFE_SHARE / (self.deep_rate or 1))
            return (
                f"the day's deep scan would take about {deep:g}% of the {self.budget_seconds:.0f} s its function may "
                f"run: at its last {self.deep_rate:g} s an endpoint, {fit:,} endpoints fit within "
                f"{SAFE_SHARE:.0%} of it and this region lists {self.endpoints:,}. Raise the scan function's "
                "timeout and memory before the deep scan times out"
            )
        if within is None or used is None or used < SAFE_SHARE * 100:
            return None
        return (
            f"the scan took {self.seconds:.0f} s of the {self.budget_seconds:.0f} s its function may run ({used:g}%): "
            f"at {self.seconds_per_endpoint:g} s an endpoint, {within:,} endpoints fit within "
            f"{SAFE_SHARE:.0%} of it and this region lists {self.endpoints:,}. "
            + (
                "The next scans fan out on the state machine at this pace (ScanFanOutEndpoints)"
                if self.fans_out
                else "Turn fan-out on (ScanFanOutEndpoints above 0), or raise the scan function's timeout and memory "
                "(its CPU grows with memory), before a scan times out"
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 2),
            "endpoints": self.endpoints,
            "seconds_per_endpoint": self.seconds_per_endpoint,
            "budget_seconds": self.budget_seconds,
            "used_pct": self.used_pct,
            "endpoints_within_timeout": self.endpoints_within,
            "deep_projected_pct": self.deep_projected_pct,
        }
