"""The evidence each finding kind carries, as a schema a forwarded finding is checked against (pure).

The central account renders, sorts and sums what members send. `check(kind, evidence)` raises FieldError
when a key that a kind's evidence is known to hold has the wrong type (peak_pct of strings, say); keys it
does not know are allowed, as plain JSON only (a member on a newer version may add some; nothing renders
them). Finding.from_dict has already required plain JSON with finite numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sagewatch import fields
from sagewatch.models import Kind

Check = Callable[[object, str], object]

PCT_MAX = 100_000.0  # utilization is a percentage of a core or GPU times their count (p4d: 800%)


def _number(value: object, key: str) -> object:
    return fields.number(value, key, minimum=-fields.MONEY_MAX, optional=True)


def _pct(value: object, key: str) -> object:
    return fields.number(value, key, minimum=0, maximum=PCT_MAX, optional=True)


def _text(value: object, key: str) -> object:
    return fields.text(value, key, limit=1000, optional=True)


def _names(value: object, key: str) -> object:
    return fields.strings(value, key)


def _maybe_bool(value: object, key: str) -> object:
    if value is not None and not isinstance(value, bool):
        raise fields.FieldError(f"{key} must be true, false or null, got {type(value).__name__}")
    return value


def _pcts(value: object, key: str) -> object:
    return fields.numbers_by_name(value, key, maximum=PCT_MAX, items=1000)  # per instance or GPU, too


def _object(value: object, key: str) -> object:
    return None if value is None else fields.mapping(value, key)


def _objects(value: object, key: str) -> object:
    if not isinstance(value, list) or len(value) > 50 or not all(isinstance(v, Mapping) for v in value):
        raise fields.FieldError(f"{key} must be a list of at most 50 objects")
    return value


def _latency(value: object, key: str) -> object:
    doc = fields.mapping(value, key)
    for name in ("p50_ms", "p99_ms", "slo_p99_ms", "overhead_ms", "requests", "over_by_pct"):
        _number(doc.get(name), f"{key}.{name}")
    _text(doc.get("window"), f"{key}.window")
    return value


def _raw_peaks(value: object, key: str) -> object:
    for k, v in fields.mapping(value, key).items():
        _pct(v, f"{key}.{k}")
    return value


def _profile(value: object, key: str) -> object:
    doc = fields.mapping(value, key)
    _text(doc.get("timezone"), f"{key}.timezone")
    for name in ("invocations", "cpu_pct"):
        series = doc.get(name)
        if series is None:
            continue
        if not isinstance(series, list) or len(series) != 168:
            raise fields.FieldError(f"{key}.{name} must be a list of 168 hourly figures")
        for i, v in enumerate(series):
            _number(v, f"{key}.{name}[{i}]")
    return value


def _numbers(value: object, key: str) -> object:
    if not isinstance(value, list) or len(value) > 100:
        raise fields.FieldError(f"{key} must be a list of at most 100 numbers")
    for i, v in enumerate(value):
        _number(v, f"{key}[{i}]")
    return value


def _off_hours(value: object, key: str) -> object:
    doc = fields.mapping(value, key)
    for name in ("busy_hour_average", "quiet_threshold", "down_hours_per_week"):
        _number(doc.get(name), f"{key}.{name}")
    _names(doc.get("off_days", []), f"{key}.off_days")
    _names(doc.get("holidays", []), f"{key}.holidays")
    _numbers(doc.get("week_agreement_pct", []), f"{key}.week_agreement_pct")
    return value


def _quota(value: object, key: str) -> object:
    doc = fields.mapping(value, key)
    _text(doc.get("instance_type"), f"{key}.instance_type")
    for name in ("quota", "in_use", "can_reach"):
        _number(doc.get(name), f"{key}.{name}")
    _pct(doc.get("in_use_pct"), f"{key}.in_use_pct")
    _names(doc.get("endpoints", []), f"{key}.endpoints")
    _objects(doc.get("by_variant", []), f"{key}.by_variant")
    return value


def _signatures(value: object, key: str) -> object:
    _objects(value, key)
    assert isinstance(value, list)
    for i, item in enumerate(value):
        _text(item.get("signature"), f"{key}[{i}].signature")
        _number(item.get("count"), f"{key}[{i}].count")
        _text(item.get("example"), f"{key}[{i}].example")
    return value


COMMON: dict[str, Check] = {
    "window_start": _text,
    "window_end": _text,
    "note": _text,
    "metric": _text,
    "hours_observed": _number,
    "invocations": _number,
    "threshold_pct": _pct,
    "autoscaling": _object,
    "latency": _latency,
    "containers": _objects,
    "schedule_note": _text,  # why a variant's quiet hours are no off-hours schedule (not stable)
}

SIZING: dict[str, Check] = {
    "statistic": _text,
    "peak_pct": _pcts,
    "raw_peak": _raw_peaks,
    "vcpu": _number,
    "memory_gib": _number,
    "accelerators": _number,
    "target_pct": _pct,
    "saturated": _pcts,
    "alternatives": _objects,
}

BY_KIND: dict[Kind, dict[str, Check]] = {
    Kind.IDLE: {
        "idle_hours": _number,
        "endpoint_age_hours": _number,
        "idle_variants": _names,
        "backlog_peak": _number,
        "inference_components": _names,
        "window_invocations": _number,
        "provisioned_concurrency": _number,
        "memory_mb": _number,
        "provisioned_concurrency_usd_per_gb_second": _number,
        "aws_view": _text,  # Compute Optimizer's view: idle, not idle, no recommendation, not enrolled, not read
    },
    Kind.OVERSIZED: SIZING,
    Kind.SATURATED: SIZING,
    Kind.ERRORS: {
        "error_rate_pct": _pct,
        "model_latency_ms_avg": _number,
        "log_signatures": _signatures,
        "log_group": _text,
        "log_note": _text,
    },
    Kind.SLOW: {"monthly_cost_change_usd": _number},
    Kind.LATENCY_REGRESSION: {
        "before_p99_ms": _number,
        "after_p99_ms": _number,
        "changed_at": _text,
        "requests_before": _number,
        "requests_after": _number,
        "current_endpoint_config": _text,
        "previous_endpoint_config": _text,
    },
    Kind.CACHE_THRASHING: {
        "cache_hit_pct": _pct,
        "loads_per_hour": _number,
        "unloads_per_hour": _number,
        "loading_wait_avg_ms": _number,
        "loading_wait_max_ms": _number,
        "monthly_cost_change_usd": _number,
    },
    Kind.COLD_STARTS: {
        "cold_starts": _number,
        "cold_start_pct": _pct,
        "cold_start_p99_ms": _number,
        "provisioned_concurrency": _number,
        "provisioned_concurrency_monthly_usd_per_slot": _number,
    },
    Kind.OFF_HOURS: {
        "schedule_days": _number,
        "profile": _profile,
        "off_hours": _off_hours,
        "traffic_in_off_hours_pct": _pct,
    },
    Kind.BATCH_CANDIDATE: {
        "schedule_days": _number,
        "timezone": _text,
        "profile": _profile,
        "busy_window": _object,
        "share_pct": _pct,
        "week_share_pct": _numbers,
        "monthly_cost_usd": _number,
        "cost_of_busy_hours_usd": _number,
    },
    Kind.CONSOLIDATE: {
        "endpoints": _objects,
        "accelerator": _text,
        "summed_peak": _object,
        "target_pct": _pct,
        "monthly_cost_usd": _number,
        "monthly_cost_after_usd": _number,
    },
    Kind.QUOTA_RISK: {"quota": _quota},
    Kind.STUCK_DEPLOYMENT: {"status": _text, "since": _text, "minutes": _number, "failure_reason": _text},
    Kind.BROKEN_DEPENDENCY: {"missing": _objects, "not_checked": _objects, "checked_at": _text},
    Kind.SCALE_FROM_ZERO: {"missing": _text},
    Kind.DATA_CAPTURE: {
        "sampling_pct": _pct,
        "requests_per_day": _number,
        "captured_per_day": _number,
        "destination": _text,
        "capture_modes": _names,
        "recommended_sampling_pct": _pct,
        "samples_per_day_target": _number,
        "lifecycle_rule": _maybe_bool,
    },
    Kind.PROVISIONED_CONCURRENCY: {
        "days": _number,
        "provisioned_concurrency": _number,
        "memory_mb": _number,
        "utilization_pct": _pct,
        "peak_utilization_pct": _pct,
        "recommended_provisioned_concurrency": _number,
        "unused_monthly_cost_usd": _number,
        "provisioned_concurrency_usd_per_gb_second": _number,
    },
    Kind.SHADOW_VARIANT: {
        "running_since": _text,
        "days_running": _number,
        "shadow_variant": _text,
        "instance_type": _text,
        "instance_count": _number,
        "production_variants": _names,
    },
    Kind.IMBALANCED: {
        "resource": _text,
        "unit": _text,
        "busiest": _text,
        "busiest_pct": _pct,
        "siblings_median_pct": _pct,
        "per_unit_pct": _pcts,
    },
}


def check(kind: Kind, evidence: Mapping[str, Any]) -> None:
    """Raises FieldError naming the first known key of `kind`'s evidence whose value is not of its type."""
    known = COMMON | BY_KIND[kind]  # every kind has its entry (a test holds each kind to it)
    for key, value in evidence.items():
        checker = known.get(key)
        if checker is not None:
            checker(value, f"evidence.{key}")
