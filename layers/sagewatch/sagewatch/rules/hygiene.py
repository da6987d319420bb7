"""Configuration hygiene (pure): settings that cost money every day and that nobody revisits.

- `data-capture`: an endpoint capturing a high share of its requests to S3 when it is busy. Each captured
  request is a JSON Lines record in S3 (its payload and the model's answer): a busy endpoint at 100% writes
  millions a day, which nothing (Model Monitor included) needs. The finding gives the sampling percentage that
  keeps a stated number of samples a day. Its storage is not priced (payload sizes are not published), so it
  carries no cost or saving; whether the destination bucket expires what it holds (a lifecycle rule) is added
  by the keep-serving reads (sagewatch.app.serving), once a day.
"""

from __future__ import annotations

import math
from typing import Any

from sagewatch.formats import iso_z
from sagewatch.models import Action, Finding, Kind, Recommendation, Severity
from sagewatch.rules.common import Judge

SAMPLES_PER_DAY = 10_000  # plenty for Model Monitor's baselines and drift checks (hourly schedules read ~400/h)
MIN_SAMPLING_PCT = 20.0  # below this, capture is already sampled: not flagged
EXCESS = 3.0  # flagged when it captures this many times the samples a day it needs


def data_capture(ctx: Judge) -> list[Finding]:
    capture = ctx.endpoint.data_capture
    if capture is None or not capture.enabled or capture.sampling_pct < MIN_SAMPLING_PCT:
        return []
    usages = [ctx.usages[v.name] for v in ctx.endpoint.variants if v.name in ctx.usages]
    if not usages or not all(u.traffic_known for u in usages):
        return []
    days = max((ctx.windows.end - ctx.windows.utilization_start).total_seconds() / 86400, 1 / 24)
    per_day = sum(u.window_invocations for u in usages) / days
    captured = per_day * capture.sampling_pct / 100
    if captured < SAMPLES_PER_DAY * EXCESS:
        return []
    keep = max(1, min(100, math.ceil(SAMPLES_PER_DAY / per_day * 100)))
    evidence: dict[str, Any] = {
        "window_start": iso_z(ctx.windows.utilization_start),
        "window_end": iso_z(ctx.windows.end),
        "sampling_pct": capture.sampling_pct,
        "requests_per_day": round(per_day),
        "captured_per_day": round(captured),
        "destination": capture.destination,
        "capture_modes": list(capture.modes),
        "recommended_sampling_pct": keep,
        "samples_per_day_target": SAMPLES_PER_DAY,
        "lifecycle_rule": None,  # not read yet (sagewatch.app.serving adds it)
    }
    rec = Recommendation(
        Action.INVESTIGATE,
        None,
        None,
        f"{ctx.endpoint.name} captures {capture.sampling_pct:g}% of {round(per_day):,} requests a day to "
        f"{capture.destination or 'S3'}: {keep}% keeps about {SAMPLES_PER_DAY:,} samples a day. Deploy an "
        "endpoint config with a lower InitialSamplingPercentage (UpdateEndpoint), and expire old captures with an "
        "S3 lifecycle rule.",
    )
    return [ctx.finding(Kind.DATA_CAPTURE, Severity.LOW, None, evidence, rec, None, None)]
