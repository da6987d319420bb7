"""Will it keep serving? The findings that answer it, from facts the scan gathers (pure):

- `quota-risk` (per instance type, region-wide): the instances endpoints run, and the most their auto scaling and
  managed instance scaling can reach, against the Service Quotas value "ml.X for endpoint usage". A scale-out
  past the quota fails with ResourceLimitExceeded, typically during the traffic peak it was for.
- `stuck-deployment`: Creating, Updating or SystemUpdating for longer than StuckMinutes; RollingBack or
  UpdateRollbackFailed at once; an InService endpoint (or inference component) carrying a FailureReason (an update
  that failed and rolled back, which nobody reads).
- `broken-dependency`: the endpoint config, a model, a model's artifact, its container image or its execution
  role no longer exists: scale-out, patching and recovery will fail (AWS Health's "cannot be automatically
  patched" notices name the same causes).
- `scale-from-zero`: auto scaling that can reach zero but cannot come back (no alarm-driven step scaling on the
  metric that says requests wait), or target tracking on a metric the endpoint does not publish.
- the causes of model errors: known signatures in the endpoint's log (sagewatch.rules.errors carries them).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sagewatch.bounds import bounded
from sagewatch.catalog import Catalog
from sagewatch.formats import duration, iso_z
from sagewatch.models import Action, Autoscaling, Endpoint, Finding, Kind, Recommendation, Severity, Skipped, Variant
from sagewatch.owners import Owner

QUOTA_WARN_PCT = 80.0  # what is in use at or past this share of the quota: medium
IN_PROGRESS = ("Creating", "Updating", "SystemUpdating")
ROLLING_BACK = ("RollingBack", "UpdateRollbackFailed")
NAME_MAX = 200
LINE_MAX = 300


def finding_id(key: str, kind: Kind) -> str:
    return "sw-" + hashlib.sha256(f"{key.lower()}|{kind.value}".encode()).hexdigest()[:16]


def quota_name(instance_type: str) -> str:
    """The Service Quotas name of an instance type's endpoint quota (ServiceCode sagemaker)."""
    return f"{instance_type} for endpoint usage"


@dataclass(frozen=True)
class Quota:
    """A Service Quotas value: applied to this account (ListServiceQuotas) or AWS's default."""

    instance_type: str
    value: float
    source: str  # "applied" | "default"
    code: str | None = None


# --- quota-risk ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Use:
    endpoint: str
    variant: str
    in_use: int
    can_reach: int


def _reach(variant: Variant) -> int:
    """The most instances a variant can run: its count, its auto scaling maximum, its managed scaling maximum."""
    most = variant.instance_count
    if variant.autoscaling is not None:
        most = max(most, variant.autoscaling.max_capacity)
    managed = variant.managed_scaling
    if managed is not None and managed.enabled and managed.max_instances is not None:
        most = max(most, managed.max_instances)
    return most


def quota_findings(
    endpoints: Iterable[Endpoint], quotas: Mapping[str, Quota], *, region: str, account: str | None
) -> list[Finding]:
    """One finding per instance type whose endpoints can reach past its quota (high: name the endpoints whose
    scale-out would fail, and the quota to ask for), or whose instances in use are at 80% of it or more (medium)."""
    uses: dict[str, list[_Use]] = {}
    for endpoint in endpoints:
        for v in endpoint.variants:
            if v.serverless is not None or not v.instance_type:
                continue
            uses.setdefault(v.instance_type, []).append(_Use(endpoint.name, v.name, v.instance_count, _reach(v)))
    out = []
    for instance_type, used in sorted(uses.items()):
        quota = quotas.get(instance_type)
        if quota is None:
            continue
        finding = _quota_finding(
            instance_type, sorted(used, key=lambda u: (u.endpoint, u.variant)), quota, region=region, account=account
        )
        if finding is not None:
            out.append(finding)
    return out


def _quota_finding(
    instance_type: str, used: list[_Use], quota: Quota, *, region: str, account: str | None
) -> Finding | None:
    in_use, can_reach, limit = sum(u.in_use for u in used), sum(u.can_reach for u in used), quota.value
    share = round(100.0 * in_use / limit, 1) if limit > 0 else (100.0 if in_use else 0.0)
    growing = sorted({u.endpoint for u in used if u.can_reach > u.in_use})
    if can_reach > limit:
        severity, named = Severity.HIGH, growing or sorted({u.endpoint for u in used})
        summary = (
            f"Ask Service Quotas to raise '{quota_name(instance_type)}' from {limit:g} to at least {can_reach} "
            f"(region {region}): {', '.join(named[:10])} can scale out to {can_reach} {instance_type} instances "
            f"in all, and a scale-out past {limit:g} fails with ResourceLimitExceeded."
        )
    elif share >= QUOTA_WARN_PCT:
        severity, named = Severity.MEDIUM, sorted({u.endpoint for u in used})
        summary = (
            f"{in_use} of the {limit:g} {instance_type} instances the quota allows are in use ({share:g}%): ask "
            f"Service Quotas for more '{quota_name(instance_type)}' before the next deployment or scale-out needs "
            "them."
        )
    else:
        return None
    evidence = {
        "quota": {
            "instance_type": instance_type,
            "quota": limit,
            "quota_name": quota_name(instance_type),
            "quota_source": quota.source,
            "in_use": in_use,
            "can_reach": can_reach,
            "in_use_pct": share,
            "endpoints": named,
            "by_variant": [
                {"endpoint": u.endpoint, "variant": u.variant, "in_use": u.in_use, "can_reach": u.can_reach}
                for u in used[:50]
            ],
        }
    }
    return Finding(
        id=finding_id(f"quota/{account or '-'}/{region}/{instance_type}", Kind.QUOTA_RISK),
        kind=Kind.QUOTA_RISK,
        severity=severity,
        endpoint=named[0],
        variant=None,
        inference_component=None,
        instance_type=instance_type,
        instance_count=in_use,
        evidence=evidence,
        recommendation=Recommendation(Action.INVESTIGATE, instance_type, can_reach, summary),
        monthly_cost_usd=None,
        monthly_savings_usd=None,
    )


# --- stuck-deployment ------------------------------------------------------------------------------------


def stuck_findings(
    endpoints: Iterable[Endpoint],
    skipped: Iterable[Skipped],
    component_failures: Mapping[str, Mapping[str, str]],
    *,
    now: datetime,
    stuck_minutes: int,
) -> list[Finding]:
    """Deployments that are stuck, rolling back, or failed and rolled back while the endpoint serves on.
    `component_failures`: endpoint -> component -> its FailureReason (InService components that carry one)."""
    out = []
    for s in skipped:
        if s.status not in (*IN_PROGRESS, *ROLLING_BACK) or s.arn is None:
            continue
        minutes = int((now - s.since).total_seconds() // 60) if s.since else None
        if s.status in IN_PROGRESS and (minutes is None or minutes <= stuck_minutes):
            continue
        out.append(_stuck(s.endpoint, s.arn, s.status, s.since, minutes, s.failure_reason, None, stuck_minutes))
    for e in endpoints:
        since = e.last_modified_time
        minutes = int((now - since).total_seconds() // 60)
        if e.failure_reason:
            out.append(_stuck(e.name, e.arn, e.status, since, minutes, e.failure_reason, None, stuck_minutes))
        for component, reason in sorted(component_failures.get(e.name, {}).items()):
            out.append(_stuck(e.name, e.arn, "InService", None, None, reason, component, stuck_minutes))
    return out


def _stuck(
    endpoint: str,
    arn: str,
    status: str,
    since: datetime | None,
    minutes: int | None,
    reason: str | None,
    component: str | None,
    stuck_minutes: int,
) -> Finding:
    reason = bounded(reason, 1000) if reason else None
    said = reason.rstrip(". ") if reason else None  # the reason inside a sentence of ours
    where = f"inference component {component} of {endpoint}" if component else endpoint
    when = f" since {iso_z(since, seconds=True)}" if since else ""
    if status in IN_PROGRESS:
        severity = Severity.HIGH
        summary = (
            f"{where} has been {status}{when} ({duration(minutes or 0)}, more than {duration(stuck_minutes)}): a "
            "deployment that "
            "takes this long has usually failed to start its containers; read the endpoint's log group and the "
            "deployment's events, and roll back or fix the model before the next change queues behind it."
        )
    elif status in ROLLING_BACK:
        severity = Severity.HIGH
        summary = (
            f"{where} is {status}{when}: a deployment failed"
            + (f" ({said})" if said else "")
            + (
                "; UpdateRollbackFailed needs a person: update it to a working config"
                if status != "RollingBack"
                else "; it is going back to its previous config"
            )
            + "."
        )
    else:
        severity = Severity.MEDIUM
        summary = (
            f"{where} is InService but its last update failed and was rolled back: {said}. It serves on the "
            "previous configuration; the change you made is not live."
        )
    return Finding(
        id=finding_id(f"{arn}|{component or ''}", Kind.STUCK_DEPLOYMENT),
        kind=Kind.STUCK_DEPLOYMENT,
        severity=severity,
        endpoint=endpoint,
        variant=None,
        inference_component=component,
        instance_type=None,
        instance_count=None,
        evidence={
            "status": status,
            "since": iso_z(since, seconds=True) if since else None,
            "minutes": minutes,
            "failure_reason": reason,
        },
        recommendation=Recommendation(Action.INVESTIGATE, None, None, summary),
        monthly_cost_usd=None,
        monthly_savings_usd=None,
    )


# --- broken-dependency ------------------------------------------------------------------------------------

WHY = {
    "endpoint-config": "SageMaker cannot patch or recover the endpoint without the config it runs",
    "model": "scale-out, patching and recovery start new instances from the model: they will fail",
    "model-artifact": "new instances download the artifact at start: scale-out, patching and recovery will fail",
    "image": "new instances pull the image at start: scale-out, patching and recovery will fail",
    "role": "SageMaker assumes the role to pull the image and the artifact: new instances will fail to start",
}


@dataclass(frozen=True)
class Dependency:
    """One thing an endpoint needs to start new instances, as the daily check found it."""

    what: str  # endpoint-config | model | model-artifact | image | role
    ref: str  # its name, URI or ARN
    used_by: str  # the variant or component (or model) that needs it
    state: str  # "missing" | "present" | "not-checked"
    note: str = ""  # why it was not checked (denied, another account's image...)

    def to_dict(self) -> dict[str, Any]:
        doc = {"what": self.what, "ref": bounded(self.ref, NAME_MAX), "used_by": bounded(self.used_by, NAME_MAX)}
        if self.state == "missing":
            doc["why"] = WHY.get(self.what, "")
        if self.note:
            doc["note"] = bounded(self.note, NAME_MAX)
        return doc


@dataclass(frozen=True)
class DependencyFacts:
    """What the daily check of one endpoint found, and when (kept in the state table between checks)."""

    checked_at: datetime
    dependencies: tuple[Dependency, ...] = ()
    component_failures: Mapping[str, str] = field(default_factory=dict)

    @property
    def missing(self) -> list[Dependency]:
        return [d for d in self.dependencies if d.state == "missing"]

    @property
    def not_checked(self) -> list[Dependency]:
        return [d for d in self.dependencies if d.state == "not-checked"]

    def to_doc(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at.isoformat(),
            "dependencies": [
                {"what": d.what, "ref": d.ref, "used_by": d.used_by, "state": d.state, "note": d.note}
                for d in self.dependencies
            ],
            "component_failures": dict(self.component_failures),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> DependencyFacts:
        """Raises (KeyError, ValueError, TypeError) for a document that is not one to_doc wrote."""
        deps = tuple(
            Dependency(str(d["what"]), str(d["ref"]), str(d["used_by"]), str(d["state"]), str(d.get("note") or ""))
            for d in doc["dependencies"]
        )
        failures = {str(k): str(v) for k, v in dict(doc.get("component_failures") or {}).items()}
        return cls(datetime.fromisoformat(str(doc["checked_at"])), deps, failures)


def dependency_finding(endpoint: Endpoint, facts: DependencyFacts, owner: Owner | None = None) -> Finding | None:
    """One finding per endpoint with something missing (a read that was denied is said, never a finding)."""
    return _broken(endpoint.name, endpoint.arn, facts, owner)


def missing_config_finding(endpoint: str, arn: str, config: str, now: datetime) -> Finding:
    """An InService endpoint whose endpoint config was deleted (AWS allows it): found by the scan itself."""
    found = _broken(endpoint, arn, DependencyFacts(now, (Dependency("endpoint-config", config, endpoint, "missing"),)))
    assert found is not None  # one dependency, missing
    return found


def _broken(name: str, arn: str, facts: DependencyFacts, owner: Owner | None = None) -> Finding | None:
    missing = facts.missing
    if not missing:
        return None
    first = missing[0]
    names = "; ".join(f"{d.what} {bounded(d.ref, 120)} (used by {bounded(d.used_by, 63)})" for d in missing[:5])
    summary = (
        f"{name} serves from instances already running, but {names} no longer "
        f"{'exists' if len(missing) == 1 else 'exist'}: {WHY.get(first.what, '')}. Restore "
        f"{'it' if len(missing) == 1 else 'them'} (or redeploy the endpoint with a model whose artifact, image and "
        "role exist) before an instance is replaced."
    )
    return Finding(
        id=finding_id(arn, Kind.BROKEN_DEPENDENCY),
        kind=Kind.BROKEN_DEPENDENCY,
        severity=Severity.HIGH,
        endpoint=name,
        variant=None,
        inference_component=None,
        instance_type=None,
        instance_count=None,
        evidence={
            "missing": [d.to_dict() for d in missing[:20]],
            "not_checked": [d.to_dict() for d in facts.not_checked[:20]],
            "checked_at": iso_z(facts.checked_at, seconds=True),
        },
        recommendation=Recommendation(Action.INVESTIGATE, None, None, summary),
        monthly_cost_usd=None,
        monthly_savings_usd=None,
        owner=owner or Owner(),
    )


# --- scale-from-zero ------------------------------------------------------------------------------------

BACKLOG_WITHOUT_CAPACITY = "HasBacklogWithoutCapacity"
NO_CAPACITY = "NoCapacityInvocationFailures"
# the predefined target tracking metric of variants, and who publishes what it is computed from
INVOCATIONS_PER_INSTANCE = "SageMakerVariantInvocationsPerInstance"


def _driven_by(scaling: Autoscaling, metric: str) -> bool:
    return any(p.type == "StepScaling" and metric in p.alarm_metrics for p in scaling.policies)


def scale_from_zero_findings(endpoint: Endpoint, catalog: Catalog) -> list[Finding]:
    out = []
    for v in endpoint.variants:
        scaling = v.autoscaling
        if scaling is None:
            continue
        if endpoint.is_async and scaling.min_capacity == 0 and not _driven_by(scaling, BACKLOG_WITHOUT_CAPACITY):
            out.append(_zero(endpoint, v, None, scaling, BACKLOG_WITHOUT_CAPACITY, {"EndpointName": endpoint.name}))
        out += _unpublished(endpoint, v, scaling)
    for component, scaling in sorted(endpoint.component_scaling.items()):
        if scaling.min_capacity == 0 and not _driven_by(scaling, NO_CAPACITY):
            variant = next((v for v in endpoint.variants if component in v.inference_components), None)
            out.append(_zero(endpoint, variant, component, scaling, NO_CAPACITY, {"InferenceComponentName": component}))
    return out


def _zero(
    endpoint: Endpoint,
    variant: Variant | None,
    component: str | None,
    scaling: Autoscaling,
    metric: str,
    dimensions: Mapping[str, str],
) -> Finding:
    what = f"inference component {component}" if component else f"{endpoint.name}/{variant.name if variant else '?'}"
    unit = "copy" if component else "instance"
    summary = (
        f"{what} may scale to 0 (auto scaling minimum 0) but nothing brings it back: add a step scaling policy "
        f"(+1 {unit}) driven by a CloudWatch alarm on {metric} (AWS/SageMaker, "
        + ", ".join(f"{k}={bounded(v, 63)}" for k, v in dimensions.items())
        + f", >= 1). Until then the first requests after a quiet spell {'fail' if component else 'wait in the queue'}"
        " and never get capacity. `sagewatch remediate scale-to-zero` adds both and keeps your policies."
    )
    return Finding(
        id=finding_id(f"{endpoint.arn}|{variant.name if variant else ''}|{component or ''}", Kind.SCALE_FROM_ZERO),
        kind=Kind.SCALE_FROM_ZERO,
        severity=Severity.HIGH,
        endpoint=endpoint.name,
        variant=variant.name if variant else None,
        inference_component=component,
        instance_type=variant.instance_type if variant else None,
        instance_count=variant.instance_count if variant else None,
        evidence={
            "autoscaling": scaling.to_dict(),
            "missing": f"step scaling policy with an alarm on {metric}",
            "metric": metric,
        },
        recommendation=Recommendation(Action.SCALE_TO_ZERO, None, None, summary),
        monthly_cost_usd=None,
        monthly_savings_usd=None,
    )


def _unpublished(endpoint: Endpoint, variant: Variant, scaling: Autoscaling) -> list[Finding]:
    """Target tracking on a metric this variant does not publish: the policy never sees traffic, never scales."""
    # asynchronous endpoints publish no Invocations, and variants hosting inference components publish them per
    # component only: target tracking on invocations per instance never sees their traffic
    if not (endpoint.is_async or variant.uses_inference_components):
        return []
    wrong = [p for p in scaling.policies if p.type == "TargetTrackingScaling" and p.metric == INVOCATIONS_PER_INSTANCE]
    why = (
        "an asynchronous endpoint publishes no Invocations"
        if endpoint.is_async
        else ("a variant hosting inference components publishes invocations per component only")
    )
    return [
        Finding(
            id=finding_id(f"{endpoint.arn}|{variant.name}|{p.name}", Kind.SCALE_FROM_ZERO),
            kind=Kind.SCALE_FROM_ZERO,
            severity=Severity.MEDIUM,
            endpoint=endpoint.name,
            variant=variant.name,
            inference_component=None,
            instance_type=variant.instance_type,
            instance_count=variant.instance_count,
            evidence={
                "autoscaling": scaling.to_dict(),
                "missing": f"published data for {p.metric}",
                "metric": p.metric,
            },
            recommendation=Recommendation(
                Action.INVESTIGATE,
                None,
                None,
                f"Target tracking policy {bounded(p.name, 100)} on {endpoint.name}/{variant.name} follows "
                f"{p.metric}, but {why}: it never sees this variant's traffic and never scales it. Track a metric the "
                "endpoint publishes"
                + (" (ApproximateBacklogSizePerInstance for an asynchronous endpoint)" if endpoint.is_async else "")
                + ".",
            ),
            monthly_cost_usd=None,
            monthly_savings_usd=None,
        )
        for p in wrong
    ]


# --- the causes of model errors --------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    name: str
    label: str  # as a sentence says it
    pattern: re.Pattern[str]
    advice: str


# most specific first: a line is counted as the first that matches (a model that fails to load kills its worker)
SIGNATURES = (
    Signature(
        "cuda-out-of-memory",
        "CUDA out of memory",
        re.compile(
            r"CUDA out of memory|torch\.cuda\.OutOfMemoryError|CUDA error: out of memory|CUBLAS_STATUS_ALLOC_FAILED"
        ),
        "the model does not fit the GPU's memory under load: a type with more GPU memory, smaller batches or a "
        "quantized model",
    ),
    Signature(
        "host-out-of-memory",
        "host out of memory",
        re.compile(r"Out of memory: Killed process|MemoryError|OOMKilled|Killed process \d+|exit code 137"),
        "the container runs out of host memory: a type with more memory, or fewer workers",
    ),
    Signature(
        "model-load-failure",
        "the model failing to load",
        re.compile(r"Failed to load model|Load model failed|ModelLoadError|Error loading model|Unable to load model"),
        "the model fails to load: its artifact, its framework version, or its code",
    ),
    Signature(
        "import-error",
        "import errors",
        re.compile(r"ModuleNotFoundError|ImportError|No module named"),
        "the container lacks a dependency of the inference code: fix the image or requirements.txt",
    ),
    Signature(
        "timeout",
        "timeouts",
        re.compile(r"WORKER TIMEOUT|[Tt]imed out|TimeoutError|upstream timed out|[Rr]equest timeout"),
        "requests take longer than the container's timeout: raise the model server's timeout "
        "(SAGEMAKER_MODEL_SERVER_TIMEOUT, or the container's own), or make inference faster",
    ),
    Signature(
        "worker-died",
        "model server workers dying",
        re.compile(r"[Ww]orker (?:process )?died|Backend worker (?:process )?died|WorkerThread.*died|worker exited"),
        "a model server worker died (often memory, or an exception while loading): read the lines before it",
    ),
)
# one CloudWatch Logs filter pattern that matches any of them (OR of quoted terms)
FILTER_PATTERN = " ".join(
    f'?"{t}"'
    for t in (
        "CUDA out of memory",
        "OutOfMemoryError",
        "out of memory",
        "MemoryError",
        "OOMKilled",
        "Killed process",
        "died",
        "Failed to load model",
        "Load model failed",
        "ModelLoadError",
        "Error loading model",
        "WORKER TIMEOUT",
        "timed out",
        "TimeoutError",
        "ModuleNotFoundError",
        "ImportError",
        "No module named",
    )
)


def classify_lines(lines: Sequence[str]) -> list[dict[str, Any]]:
    """Each known signature found in `lines`: how many lines show it and one example (bounded), most first."""
    counts: dict[str, int] = {}
    examples: dict[str, str] = {}
    for line in lines:
        for sig in SIGNATURES:
            if sig.pattern.search(line):
                counts[sig.name] = counts.get(sig.name, 0) + 1
                examples.setdefault(sig.name, bounded(line.strip(), LINE_MAX))
                break  # a line is counted once, as its first (most specific) signature
    order = [s.name for s in SIGNATURES]
    return [
        {"signature": name, "count": counts[name], "example": examples[name]}
        for name in sorted(counts, key=lambda n: (-counts[n], order.index(n)))
    ]


def advice(signatures: Sequence[Mapping[str, Any]]) -> str | None:
    if not signatures:
        return None
    top = next((s for s in SIGNATURES if s.name == signatures[0].get("signature")), None)
    return top.advice if top else None


def more_gpu_memory(instance_type: str | None, catalog: Catalog) -> str | None:
    """The cheapest hosting type of the same accelerator kind with more GPU memory than `instance_type`."""
    spec = catalog.get(instance_type)
    if spec is None or not spec.accelerator_memory_gib:
        return None
    better = [
        s
        for s in catalog
        if s.accelerator is spec.accelerator and (s.accelerator_memory_gib or 0) > spec.accelerator_memory_gib
    ]
    return min(better, key=lambda s: s.price_per_hour_usd).instance_type if better else None


def label(signature: str) -> str:
    """A signature's name as a sentence says it (the name itself when unknown)."""
    return next((s.label for s in SIGNATURES if s.name == signature), signature)
