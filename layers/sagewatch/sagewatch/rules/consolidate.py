"""Consolidation: three or more small single-model real-time endpoints of one account and region, on instances
of one accelerator kind, each using under 30% of its instances at its peak, that would fit on fewer instances
hosted as inference components of one endpoint. One finding per group; action investigate (pure).

Every resource is normalised as the sizing rule does (sagewatch.sizing.Peaks): compute adds up across models,
and so does memory, since each model is loaded once on the shared instances.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sagewatch.catalog import Accelerator, Catalog, InstanceSpec
from sagewatch.formats import iso_z, money
from sagewatch.metrics import Windows
from sagewatch.models import Action, Endpoint, Finding, Kind, Recommendation
from sagewatch.rules.common import MIN_UTILIZATION_COVERAGE, finding_id, savings_severity
from sagewatch.settings import Thresholds
from sagewatch.sizing import Peaks
from sagewatch.usage import VariantUsage

SMALL_PCT = 30.0  # each endpoint uses under this share of its instances at its peak
MIN_GROUP = 3
MAX_GROUP = 20  # endpoints per proposal: one shared endpoint of a few dozen models is already a big change
PROTECT_TAG = "sagewatch:protect"  # sagewatch.remediation's: protected endpoints are never proposed


@dataclass(frozen=True)
class Need:
    """What one endpoint uses at its peak, in absolute units."""

    endpoint: Endpoint
    spec: InstanceSpec
    count: int
    peaks: Peaks
    vcpu: float
    memory_gib: float  # per copy of the model
    gpus: float
    gpu_memory_gib: float
    monthly_cost: float

    @property
    def largest_pct(self) -> float:
        return max(self.peaks.observed().values())

    def to_evidence(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint.name,
            "variant": self.endpoint.variants[0].name,
            "instance_type": self.spec.instance_type,
            "instance_count": self.count,
            "peak_pct": self.peaks.observed(),
            "needs": {
                "vcpu": round(self.vcpu, 2),
                "memory_gib": round(self.memory_gib, 2),
                "gpus": round(self.gpus, 2),
                "gpu_memory_gib": round(self.gpu_memory_gib, 2),
            },
            "monthly_cost_usd": round(self.monthly_cost, 2),
        }


def need_of(
    endpoint: Endpoint, usage: VariantUsage, catalog: Catalog, utilization_hours_expected: float
) -> Need | None:
    """The endpoint's peak needs when it is a candidate: one instance variant hosting one model (no inference
    components, no multi-model cache, no serial pipeline), utilization known over most of the window, busy at
    all, not protected, and under SMALL_PCT of its instances on every resource."""
    if len(endpoint.variants) != 1 or endpoint.is_async:
        return None
    if endpoint.tags.get(PROTECT_TAG, "").strip().lower() == "true":
        return None
    variant = endpoint.variants[0]
    spec = catalog.get(variant.instance_type)
    if spec is None or variant.instance_count < 1 or variant.uses_inference_components:
        return None
    if usage.cache is not None or usage.containers or not usage.utilization_known or not usage.traffic_known:
        return None
    if usage.utilization_hours < MIN_UTILIZATION_COVERAGE * utilization_hours_expected or usage.invocations <= 0:
        return None
    peaks = Peaks.of(spec, usage.peaks)
    if peaks.cpu is None or peaks.memory is None:
        return None
    if spec.gpus and (peaks.gpu is None or peaks.gpu_memory is None):
        return None
    if spec.accelerator is not Accelerator.CPU and spec.gpus == 0:
        return None  # Neuron devices publish no utilization here: their need is unknown
    need = Need(
        endpoint=endpoint,
        spec=spec,
        count=variant.instance_count,
        peaks=peaks,
        vcpu=peaks.cpu / 100 * spec.vcpu * variant.instance_count,
        memory_gib=peaks.memory / 100 * spec.memory_gib,
        gpus=(peaks.gpu or 0) / 100 * spec.gpus * variant.instance_count,
        gpu_memory_gib=(peaks.gpu_memory or 0) / 100 * spec.accelerator_memory_gib,
        monthly_cost=spec.monthly_cost(variant.instance_count),
    )
    return need if need.largest_pct < SMALL_PCT else None


@dataclass(frozen=True)
class Placement:
    spec: InstanceSpec
    count: int
    projected: dict[str, float]

    @property
    def monthly_cost(self) -> float:
        return self.spec.monthly_cost(self.count)


def placement(needs: Sequence[Need], catalog: Iterable[InstanceSpec], target_pct: float) -> Placement | None:
    """The cheapest catalog type and the fewest of it that hold the summed peaks at `target_pct`, every model
    fitting one instance, of the members' accelerator kind and architecture (and, for GPUs, one of their
    families); two or more instances when any member ran two or more (SageMaker spreads them over zones)."""
    share = target_pct / 100
    total = {
        "cpu": sum(n.vcpu for n in needs),
        "memory": sum(n.memory_gib for n in needs),
        "gpu": sum(n.gpus for n in needs),
        "gpu_memory": sum(n.gpu_memory_gib for n in needs),
    }
    first = needs[0].spec
    families = {n.spec.family for n in needs}
    least = 2 if any(n.count >= 2 for n in needs) else 1
    best: Placement | None = None
    for cand in catalog:
        if cand.accelerator is not first.accelerator or cand.arm64 is not first.arm64:
            continue
        if first.accelerator is not Accelerator.CPU and cand.family not in families:
            continue
        if cand.burstable and not all(n.spec.burstable for n in needs):
            continue
        capacity = {
            "cpu": cand.vcpu,
            "memory": cand.memory_gib,
            "gpu": cand.gpus,
            "gpu_memory": cand.accelerator_memory_gib,
        }
        if any(total[k] > 0 and not capacity[k] for k in total):
            continue
        if any(
            n.memory_gib > cand.memory_gib * share or n.gpu_memory_gib > cand.accelerator_memory_gib * share
            for n in needs
            if n.gpu_memory_gib or n.memory_gib
        ):
            continue
        count = max([least] + [math.ceil(total[k] / (capacity[k] * share)) for k in total if total[k] > 0])
        projected = {k: round(100 * total[k] / (capacity[k] * count), 1) for k in total if capacity[k]}
        option = Placement(cand, count, projected)
        key = (option.monthly_cost, count, cand.instance_type)
        if best is None or key < (best.monthly_cost, best.count, best.spec.instance_type):
            best = option
    return best


def consolidate(
    needs: Sequence[Need],
    catalog: Catalog,
    thresholds: Thresholds,
    windows: Windows,
    *,
    account: str | None,
    region: str,
) -> list[Finding]:
    """One finding per group of candidates sharing an accelerator kind and architecture (at most MAX_GROUP
    endpoints each, by name), when hosting them together saves at least the smallest saving worth telling."""
    groups: dict[tuple[str, bool], list[Need]] = {}
    for need in sorted(needs, key=lambda n: n.endpoint.name):
        groups.setdefault((need.spec.accelerator.value, need.spec.arm64), []).append(need)
    findings = []
    for (accelerator, arm64), members in sorted(groups.items()):
        for i in range(0, len(members), MAX_GROUP):
            chunk = members[i : i + MAX_GROUP]
            if len(chunk) < MIN_GROUP:
                continue
            found = _group(
                windows,
                chunk,
                catalog,
                thresholds,
                f"{accelerator}{'-arm64' if arm64 else ''}-{i // MAX_GROUP}",
                account=account,
                region=region,
            )
            if found is not None:
                findings.append(found)
    return findings


def _group(
    windows: Windows,
    chunk: Sequence[Need],
    catalog: Catalog,
    thresholds: Thresholds,
    key: str,
    *,
    account: str | None,
    region: str,
) -> Finding | None:
    where = placement(chunk, catalog, thresholds.target_utilization_pct)
    if where is None:
        return None
    before = round(sum(n.monthly_cost for n in chunk), 2)
    after = round(where.monthly_cost, 2)
    savings = round(before - after, 2)
    if savings < max(thresholds.min_monthly_savings_usd, 0.01):
        return None
    names = [n.endpoint.name for n in chunk]
    components = [
        {
            "from_endpoint": n.endpoint.name,
            "compute_resource_requirements": {
                "NumberOfCpuCoresRequired": max(0.25, round(n.vcpu / (thresholds.target_utilization_pct / 100), 2)),
                "MinMemoryRequiredInMb": max(
                    128, math.ceil(n.memory_gib * 1024 / (thresholds.target_utilization_pct / 100))
                ),
                **({"NumberOfAcceleratorDevicesRequired": max(1, math.ceil(n.gpus))} if where.spec.gpus else {}),
            },
        }
        for n in chunk
    ]
    plan = {
        "instance_type": where.spec.instance_type,
        "instance_count": where.count,
        "projected_peak_pct": where.projected,
        "inference_components": components,
        "monthly_cost_usd": after,
        "monthly_savings_usd": savings,
        "steps": [
            f"create one endpoint on {where.count} x {where.spec.instance_type} for inference components "
            "(no model in its variant; managed instance scaling)",
            f"create one inference component per model of {', '.join(names)} with the requirements listed",
            "move each client to its inference component's name (InvokeEndpoint InferenceComponentName), then "
            "delete the old endpoints",
        ],
    }
    evidence = {
        "window_start": iso_z(windows.utilization_start),
        "window_end": iso_z(windows.end),
        "endpoints": [n.to_evidence() for n in chunk],
        "accelerator": chunk[0].spec.accelerator.value,
        "summed_peak": {
            "vcpu": round(sum(n.vcpu for n in chunk), 2),
            "memory_gib": round(sum(n.memory_gib for n in chunk), 2),
            "gpus": round(sum(n.gpus for n in chunk), 2),
            "gpu_memory_gib": round(sum(n.gpu_memory_gib for n in chunk), 2),
        },
        "target_pct": thresholds.target_utilization_pct,
        "threshold_pct": SMALL_PCT,
        "monthly_cost_usd": before,
        "monthly_cost_after_usd": after,
    }
    rec = Recommendation(
        Action.INVESTIGATE,
        where.spec.instance_type,
        where.count,
        f"Host {len(chunk)} small endpoints ({', '.join(names)}) as inference components of one endpoint on "
        f"{where.count} x {where.spec.instance_type}: each uses under {SMALL_PCT:.0f}% of its instances at its "
        f"peak. {money(before)}/month now, {money(after)}/month together.",
        after,
        consolidation=plan,
    )
    first = chunk[0].endpoint
    arn = f"arn:aws:sagemaker:{region}:{account or first.arn.split(':')[4]}:consolidation/{key}"
    return Finding(
        id=finding_id(arn, Kind.CONSOLIDATE, None, None),
        kind=Kind.CONSOLIDATE,
        severity=savings_severity(savings),
        endpoint=first.name,
        variant=None,
        inference_component=None,
        instance_type=None,
        instance_count=None,
        evidence=evidence,
        recommendation=rec,
        monthly_cost_usd=before,
        monthly_savings_usd=savings,
    )
