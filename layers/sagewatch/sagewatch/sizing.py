"""Right-sizing: project a variant's observed peaks onto other instance types and counts.

Compute (vCPU, GPU cores) spreads over instances, so its demand is divided by the count. Memory does not:
every instance loads the whole model, so host and accelerator memory are judged per instance.
A resource that was not observed may never shrink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sagewatch.catalog import Accelerator, Catalog, InstanceSpec


@dataclass(frozen=True)
class Peaks:
    """Peak utilization per resource, normalized to 0-100 of the instance; None when not observed."""

    cpu: float | None
    memory: float | None
    gpu: float | None = None
    gpu_memory: float | None = None

    @classmethod
    def from_raw(
        cls,
        spec: InstanceSpec,
        cpu: float | None,
        memory: float | None,
        gpu: float | None = None,
        gpu_memory: float | None = None,
    ) -> Peaks:
        """CloudWatch's CPU and GPU figures are summed over cores and GPUs: 400% on 4 vCPUs is full."""
        gpus = spec.gpus
        return cls(
            cpu=None if cpu is None else cpu / spec.vcpu,
            memory=memory,
            gpu=None if gpu is None or not gpus else gpu / gpus,
            gpu_memory=None if gpu_memory is None or not gpus else gpu_memory / gpus,
        )

    @classmethod
    def of(cls, spec: InstanceSpec, raw: Mapping[str, float | None]) -> Peaks:
        """From a variant's raw CloudWatch peaks by metric name (VariantUsage.peaks)."""
        return cls.from_raw(
            spec,
            raw.get("CPUUtilization"),
            raw.get("MemoryUtilization"),
            raw.get("GPUUtilization"),
            raw.get("GPUMemoryUtilization"),
        )

    def observed(self) -> dict[str, float]:
        pairs = {"cpu": self.cpu, "memory": self.memory, "gpu": self.gpu, "gpu_memory": self.gpu_memory}
        return {k: round(v, 1) for k, v in pairs.items() if v is not None}


@dataclass(frozen=True)
class Option:
    spec: InstanceSpec
    count: int
    monthly_cost: float
    projected: dict[str, float]


def _accelerator_projection(
    current: InstanceSpec, count: int, peaks: Peaks, cand: InstanceSpec, cand_count: int
) -> dict[str, float] | None:
    if current.accelerator_count == 0:
        return {}
    if cand.accelerator_count == 0:
        return None
    out: dict[str, float] = {}
    busy_total = current.accelerator_count * count
    cand_total = cand.accelerator_count * cand_count
    if peaks.gpu is None:
        if cand_total < busy_total:
            return None  # accelerator load unknown: never fewer devices
    else:
        out["gpu"] = peaks.gpu * busy_total / cand_total
    cand_per_device = cand.accelerator_memory_gib / cand.accelerator_count
    if peaks.gpu_memory is None:
        cur_per_device = current.accelerator_memory_gib / current.accelerator_count
        if cand.accelerator_memory_gib < current.accelerator_memory_gib or cand_per_device < cur_per_device:
            return None
    else:
        used = peaks.gpu_memory / 100 * current.accelerator_memory_gib
        per_device_used = used / current.accelerator_count
        # The model must fit the instance's accelerator memory and each device's share of it.
        out["gpu_memory"] = max(used / cand.accelerator_memory_gib * 100, per_device_used / cand_per_device * 100)
    return out


def project(
    current: InstanceSpec, count: int, peaks: Peaks, cand: InstanceSpec, cand_count: int
) -> dict[str, float] | None:
    """Projected peak (0-100) per resource on `cand_count` x `cand`; None if it cannot be projected safely."""
    if peaks.cpu is None or peaks.memory is None:
        return None
    projected = {
        "cpu": peaks.cpu * (current.vcpu * count) / (cand.vcpu * cand_count),
        "memory": peaks.memory * current.memory_gib / cand.memory_gib,
    }
    accel = _accelerator_projection(current, count, peaks, cand, cand_count)
    if accel is None:
        return None
    projected.update(accel)
    return {k: round(v, 1) for k, v in projected.items()}


def compatible(current: InstanceSpec, cand: InstanceSpec, *, arm64: bool | None = None) -> bool:
    """Candidates stay within the accelerator kind. GPU and Neuron generations differ in speed, so the
    projection only holds within the same family there; CPU families are comparable per vCPU.
    Burstable (t2/t3) types are never proposed for an endpoint that is not already burstable.
    Candidates keep the CPU architecture (an x86 container does not run on Graviton) unless `arm64` asks
    for one explicitly: alternatives that need an arm64 build are offered apart, never as the answer."""
    if cand.accelerator is not current.accelerator:
        return False
    if cand.arm64 is not (current.arm64 if arm64 is None else arm64):
        return False
    if current.accelerator is not Accelerator.CPU and cand.family != current.family:
        return False
    return not (cand.burstable and not current.burstable)


def cheapest_option(
    current: InstanceSpec,
    count: int,
    peaks: Peaks,
    catalog: Catalog | Iterable[InstanceSpec],
    limits: Mapping[str, float] | float,
    counts: Iterable[int],
    *,
    arm64: bool | None = None,
) -> Option | None:
    """The cheapest (type, count) that keeps each projected peak at or under its limit.

    `limits` is one figure for every resource, or a figure per resource ("cpu", "memory", "gpu",
    "gpu_memory"); a resource missing from the mapping is held to the largest of them.
    """
    counts = list(counts)
    if isinstance(limits, Mapping):
        default = max(limits.values())
        allowed: Callable[[str], float] = lambda k: limits.get(k, default)  # noqa: E731
    else:
        flat_limit = float(limits)
        allowed = lambda _k: flat_limit  # noqa: E731
    best: Option | None = None
    for cand in catalog:
        if not compatible(current, cand, arm64=arm64):
            continue
        for n in counts:
            projected = project(current, count, peaks, cand, n)
            if projected is None or any(v > allowed(k) for k, v in projected.items()):
                continue
            option = Option(cand, n, cand.monthly_cost(n), projected)
            key = (option.monthly_cost, option.count, cand.instance_type)
            if best is None or key < (best.monthly_cost, best.count, best.spec.instance_type):
                best = option
    return best
