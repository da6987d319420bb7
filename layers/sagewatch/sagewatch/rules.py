"""The rules (idle, oversized, saturated, errors, imbalanced) as pure functions of an endpoint and its metrics."""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Mapping
from typing import Any

from sagewatch.catalog import Accelerator, Catalog, InstanceSpec
from sagewatch.formats import iso_z, money
from sagewatch.metrics import (
    GPU_METRICS,
    UTILIZATION_METRICS,
    MetricResults,
    Windows,
)
from sagewatch.models import Action, Autoscaling, Endpoint, Finding, Kind, Recommendation, Severity, Variant
from sagewatch.settings import Thresholds
from sagewatch.sizing import Option, Peaks, cheapest_option
from sagewatch.usage import VariantUsage, variant_usage

MIN_UTILIZATION_COVERAGE = 0.75  # share of the window's hours that must have utilization data
HIGH_SAVINGS_USD = 1000.0
# Imbalance: the busiest instance (or GPU) at least this busy, and this many points above its siblings' median.
IMBALANCE_MIN_BUSIEST_PCT = 50.0
IMBALANCE_MIN_GAP_PCT = 30.0
MEDIUM_SAVINGS_USD = 100.0


def finding_id(endpoint_arn: str, kind: Kind, variant: str | None, component: str | None) -> str:
    """Stable across scans: the same problem on the same resource keeps its id."""
    key = "|".join([endpoint_arn.lower(), variant or "", component or "", kind.value])
    return "sw-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def savings_severity(savings: float | None) -> Severity:
    if savings is None:
        return Severity.MEDIUM
    if savings >= HIGH_SAVINGS_USD:
        return Severity.HIGH
    if savings >= MEDIUM_SAVINGS_USD:
        return Severity.MEDIUM
    return Severity.LOW


class EndpointJudge:
    """Applies every rule to one endpoint."""

    def __init__(
        self,
        endpoint: Endpoint,
        usages: Mapping[str, VariantUsage],
        catalog: Catalog,
        thresholds: Thresholds,
        windows: Windows,
    ):
        self.endpoint = endpoint
        self.usages = usages
        self.catalog = catalog
        self.thresholds = thresholds
        self.windows = windows

    # --- helpers -------------------------------------------------------------------------------
    def _spec(self, variant: Variant) -> InstanceSpec | None:
        return self.catalog.get(variant.instance_type)

    def _variant_cost(self, variant: Variant) -> float | None:
        return variant.monthly_cost(self.catalog)

    def _finding(
        self,
        kind: Kind,
        severity: Severity,
        variant: Variant | None,
        evidence: dict[str, Any],
        rec: Recommendation,
        cost: float | None,
        savings: float | None,
        component: str | None = None,
    ) -> Finding:
        scaled = (
            variant
            if variant is not None
            else (self.endpoint.variants[0] if len(self.endpoint.variants) == 1 else None)
        )
        evidence = {**evidence, "autoscaling": scaled.autoscaling.to_dict() if scaled and scaled.autoscaling else None}
        if variant is not None:
            itype, count = variant.instance_type, variant.instance_count
        else:
            types = {v.instance_type for v in self.endpoint.variants}
            itype = types.pop() if len(types) == 1 else None
            count = sum(v.instance_count for v in self.endpoint.variants)
        return Finding(
            id=finding_id(self.endpoint.arn, kind, variant.name if variant else None, component),
            kind=kind,
            severity=severity,
            endpoint=self.endpoint.name,
            variant=variant.name if variant else None,
            inference_component=component,
            instance_type=itype,
            instance_count=count,
            evidence=evidence,
            recommendation=rec,
            monthly_cost_usd=cost,
            monthly_savings_usd=savings,
        )

    def _is_idle(self, variant: Variant) -> bool:
        u = self.usages[variant.name]
        return u.traffic_known and u.invocations == 0 and u.backlog_peak == 0

    # --- rules ---------------------------------------------------------------------------------
    def judge(self) -> list[Finding]:
        findings = self.idle()
        idle_variants = {f.variant for f in findings}
        if None in idle_variants:
            return findings  # the whole endpoint is idle: nothing else to say
        for variant in self.endpoint.variants:
            if variant.name in idle_variants:
                continue
            findings += self.sizing(variant)
            findings += self.errors(variant)
            findings += self.imbalance(variant)
        return findings

    def idle(self) -> list[Finding]:
        # Younger than the window (since creation or the last update): no history to call it idle on.
        if self.endpoint.history_start > self.windows.idle_start:
            return []
        # If any variant's traffic is unknown, nothing about idleness is certain.
        if not all(self.usages[v.name].traffic_known for v in self.endpoint.variants):
            return []
        idle = [v for v in self.endpoint.variants if self._is_idle(v)]
        if not idle:
            return []
        evidence = self._idle_evidence(idle)
        if len(idle) == len(self.endpoint.variants):
            return self._idle_endpoint(evidence)
        findings = []
        for variant in idle:
            if variant.serverless is not None:
                if variant.serverless.provisioned_concurrency:
                    findings.append(self._provisioned_concurrency(variant, evidence))
                continue  # without provisioned concurrency an idle serverless variant costs nothing
            cost = self._variant_cost(variant)
            if not cost:
                continue
            rec = Recommendation(
                Action.REMOVE_VARIANT,
                None,
                0,
                f"Remove variant {variant.name} from {self.endpoint.name}: it served no requests in "
                f"{self.thresholds.idle_hours} h while the other variants did.",
                0.0,
            )
            findings.append(self._finding(Kind.IDLE, savings_severity(cost), variant, evidence, rec, cost, cost))
        return findings

    def _idle_evidence(self, idle: list[Variant]) -> dict[str, Any]:
        evidence: dict[str, Any] = {
            "window_start": iso_z(self.windows.idle_start),
            "window_end": iso_z(self.windows.end),
            "idle_hours": self.thresholds.idle_hours,
            "invocations": 0,
            "endpoint_age_hours": round((self.windows.end - self.endpoint.history_start).total_seconds() / 3600, 1),
            "idle_variants": [v.name for v in idle],
        }
        if self.endpoint.is_async:
            evidence["metric"] = "InvocationsProcesssed"
            evidence["backlog_peak"] = 0
        components = [ic for v in idle for ic in v.inference_components]
        if any(v.uses_inference_components for v in idle):
            evidence["metric"] = "Invocations per InferenceComponentName"
            evidence["inference_components"] = components
        return evidence

    def _idle_endpoint(self, evidence: dict[str, Any]) -> list[Finding]:
        costs = [self._variant_cost(v) for v in self.endpoint.variants]
        cost = None if any(c is None for c in costs) else round(sum(c for c in costs if c), 2)
        instances = sum(v.instance_count for v in self.endpoint.variants)
        hours = self.thresholds.idle_hours
        if self.endpoint.is_async:
            if instances == 0:
                return []  # already scaled to zero: costs nothing
            rec = Recommendation(
                Action.SCALE_TO_ZERO,
                None,
                0,
                f"Let {self.endpoint.name} scale to zero instances when its queue is empty (auto scaling minimum "
                f"capacity 0): it processed no requests in {hours} h.",
                0.0,
            )
            return [self._finding(Kind.IDLE, savings_severity(cost), None, evidence, rec, cost, cost)]
        if instances == 0:
            warm = [v for v in self.endpoint.variants if v.serverless and v.serverless.provisioned_concurrency]
            if warm:
                return [self._provisioned_concurrency(v, evidence) for v in warm]
            # Serverless only: idle costs nothing, so there is nothing to save by deleting it.
            evidence["note"] = "serverless endpoints are billed per request and cost nothing while idle"
            rec = Recommendation(
                Action.INVESTIGATE,
                None,
                None,
                f"{self.endpoint.name} is serverless and served no requests in {hours} h; "
                "delete it if it is no longer used.",
            )
            return [self._finding(Kind.IDLE, Severity.LOW, None, evidence, rec, cost, 0.0)]
        intermittent = self._intermittent_components(evidence, cost)
        if intermittent is not None:
            return [intermittent]
        what = (
            "hosts no inference components"
            if evidence.get("inference_components") == []
            else (f"served no requests in {hours} h")
        )
        rec = Recommendation(
            Action.DELETE_ENDPOINT,
            None,
            0,
            f"Delete endpoint {self.endpoint.name}: it {what}. Its endpoint config and models are kept.",
            0.0,
        )
        return [self._finding(Kind.IDLE, savings_severity(cost), None, evidence, rec, cost, cost)]

    def _provisioned_concurrency(self, variant: Variant, evidence: dict[str, Any]) -> Finding:
        """An idle serverless variant with provisioned concurrency: the warm capacity is billed whether or not it
        is called, so removing it saves all of it; the endpoint stays and is billed per request."""
        sv = variant.serverless
        assert sv is not None
        cost = self._variant_cost(variant)
        rate = self.catalog.provisioned_concurrency_usd_per_gb_second
        evidence = {
            **evidence,
            "provisioned_concurrency": sv.provisioned_concurrency,
            "memory_mb": sv.memory_mb,
            "provisioned_concurrency_usd_per_gb_second": rate,
        }
        if cost is None:
            evidence["note"] = (
                "provisioned concurrency is billed while idle, but the catalog has no price for it: set the stack "
                "parameter ProvisionedConcurrencyUsdPerGbSecond (or catalog refresh --provisioned-concurrency-price)"
            )
        rec = Recommendation(
            Action.REMOVE_PROVISIONED_CONCURRENCY,
            None,
            None,
            f"Remove the provisioned concurrency of {self.endpoint.name}/{variant.name} "
            f"({sv.provisioned_concurrency} x {sv.memory_mb} MB kept warm): it served no requests in "
            f"{self.thresholds.idle_hours} h. The endpoint stays, billed per request.",
            0.0,
        )
        return self._finding(Kind.IDLE, savings_severity(cost), variant, evidence, rec, cost, cost)

    def _intermittent_components(self, evidence: dict[str, Any], cost: float | None) -> Finding | None:
        """An inference-component endpoint idle over the idle window but used earlier in the utilization window
        is intermittent, not gone: it can scale to zero (managed instance scaling minimum 0, copies to 0) and
        come back when called, instead of being deleted."""
        variants = self.endpoint.variants
        if not evidence.get("inference_components") or not all(v.uses_inference_components for v in variants):
            return None
        earlier = sum(self.usages[v.name].window_invocations for v in variants)
        if earlier <= 0:
            return None
        evidence["window_invocations"] = int(earlier)
        days = self.thresholds.utilization_days
        rec = Recommendation(
            Action.SCALE_TO_ZERO,
            None,
            0,
            f"Let {self.endpoint.name} scale to zero when unused (managed instance scaling minimum 0, its inference "
            f"components' copies to 0): it served no requests in {self.thresholds.idle_hours} h but "
            f"{int(earlier):,} in the last {days} days, so it is intermittent, not gone.",
            0.0,
        )
        return self._finding(Kind.IDLE, savings_severity(cost), None, evidence, rec, cost, cost)

    def sizing(self, variant: Variant) -> list[Finding]:
        spec = self._spec(variant)
        usage = self.usages[variant.name]
        if spec is None or variant.instance_count == 0 or not usage.utilization_known:
            return []
        p = usage.peaks
        peaks = Peaks.from_raw(
            spec,
            p.get("CPUUtilization"),
            p.get("MemoryUtilization"),
            p.get("GPUUtilization"),
            p.get("GPUMemoryUtilization"),
        )
        observed = peaks.observed()
        if not observed:
            return []
        hot = {k: v for k, v in observed.items() if v > self.thresholds.saturation_pct}
        if hot:
            return [self._saturated(variant, spec, peaks, hot, usage)]
        oversized = self._oversized(variant, spec, peaks, usage)
        return [oversized] if oversized else []

    def _sizing_evidence(self, spec: InstanceSpec, peaks: Peaks, usage: VariantUsage) -> dict[str, Any]:
        raw = {
            k: (None if v is None else round(v, 1))
            for k, v in usage.peaks.items()
            if k in UTILIZATION_METRICS + GPU_METRICS
        }
        since = usage.utilization_since or self.windows.utilization_start
        return {
            "window_start": iso_z(since),
            "window_end": iso_z(self.windows.end),
            "hours_observed": usage.utilization_hours,
            "statistic": "highest hourly average",
            "peak_pct": peaks.observed(),
            "raw_peak": raw,
            "vcpu": spec.vcpu,
            "memory_gib": spec.memory_gib,
            "accelerators": spec.accelerator_count,
        }

    def _saturated(
        self, variant: Variant, spec: InstanceSpec, peaks: Peaks, hot: dict[str, float], usage: VariantUsage
    ) -> Finding:
        n = variant.instance_count
        target = self.thresholds.target_utilization_pct
        compute_peak = max([v for k, v in peaks.observed().items() if k in ("cpu", "gpu")], default=0.0)
        upper = max(n, math.ceil(n * compute_peak / target))
        # Hot resources must come under the target; the others may not get worse than today.
        limits = {k: target if k in hot else max(target, v) for k, v in peaks.observed().items()}
        option = cheapest_option(spec, n, peaks, self.catalog, limits, range(n, upper + 1))
        cost = spec.monthly_cost(n)
        evidence = self._sizing_evidence(spec, peaks, usage)
        evidence["saturated"] = hot
        evidence["threshold_pct"] = self.thresholds.saturation_pct
        worst = max(hot.values())
        severity = Severity.HIGH if worst >= (self.thresholds.saturation_pct + 100) / 2 else Severity.MEDIUM
        hot_text = ", ".join(f"{k} {v:.0f}%" for k, v in hot.items())
        if option is None:
            rec = Recommendation(
                Action.INVESTIGATE,
                None,
                None,
                f"{self.endpoint.name}/{variant.name} peaks at {hot_text} and no {spec.accelerator.value} "
                f"instance in the catalog brings it under {target:g}%: shard the model or change its serving setup.",
            )
            return self._finding(Kind.SATURATED, severity, variant, evidence, rec, cost, 0.0)
        same_type = option.spec.instance_type == spec.instance_type
        if same_type and variant.autoscaling is not None:
            return self._scaling_saturated(variant, spec, variant.autoscaling, option.count, evidence, severity, cost)
        action = Action.SCALE_OUT if same_type else Action.RESIZE_VARIANT
        verb = (
            f"Scale {self.endpoint.name}/{variant.name} out to {option.count} x {spec.instance_type}"
            if same_type
            else f"Resize {self.endpoint.name}/{variant.name} to {option.count} x {option.spec.instance_type}"
        )
        rec = self._sized_recommendation(action, option, cost, f"{verb}: it peaks at {hot_text}.", variant)
        return self._finding(
            Kind.SATURATED,
            severity,
            variant,
            evidence,
            rec,
            cost,
            round(max(0.0, cost - option.monthly_cost), 2),
        )

    def _scaling_saturated(
        self,
        variant: Variant,
        spec: InstanceSpec,
        scaling: Autoscaling,
        needed: int,
        evidence: dict[str, Any],
        severity: Severity,
        cost: float,
    ) -> Finding:
        """Saturated with auto scaling: at its ceiling it needs a higher one; below it, the policy is not
        keeping up (scaling out by hand would be undone by the autoscaler)."""
        where, n = f"{self.endpoint.name}/{variant.name}", variant.instance_count
        hot = ", ".join(f"{k} {v:.0f}%" for k, v in evidence["saturated"].items())
        if n >= scaling.max_capacity:
            rec = Recommendation(
                Action.SET_SCALING_LIMITS,
                spec.instance_type,
                needed,
                f"Raise the auto scaling maximum of {where} from {scaling.max_capacity} to {needed} (minimum stays "
                f"{scaling.min_capacity}): it runs at its ceiling of {n} x {spec.instance_type} and peaks at {hot}; "
                f"{needed} keep the peak under {self.thresholds.target_utilization_pct:g}%. Monthly cost at the "
                f"ceiling {money(spec.monthly_cost(scaling.max_capacity), cents=True)} -> "
                f"{money(spec.monthly_cost(needed), cents=True)}.",
                spec.monthly_cost(needed),
                min_capacity=scaling.min_capacity,
                max_capacity=needed,
            )
            return self._finding(Kind.SATURATED, severity, variant, evidence, rec, cost, 0.0)
        policy = scaling.target_tracking
        keeping = (
            f"its target tracking policy {policy.name} ({policy.metric} at {policy.target_value:g}) is not keeping "
            "up: lower the target, shorten the scale-out cooldown, or scale on a metric that moves with the load"
            if policy is not None and policy.target_value is not None
            else "no target tracking policy scales it out: add one"
        )
        rec = Recommendation(
            Action.INVESTIGATE,
            None,
            None,
            f"{where} peaks at {hot} with {n} of at most {scaling.max_capacity} instances: {keeping}.",
        )
        return self._finding(Kind.SATURATED, severity, variant, evidence, rec, cost, 0.0)

    def _oversized(self, variant: Variant, spec: InstanceSpec, peaks: Peaks, usage: VariantUsage) -> Finding | None:
        # Right-sizing needs the whole window on today's hardware, and both CPU and memory seen.
        if usage.utilization_since is None or usage.utilization_since > self.windows.utilization_start:
            return None
        if peaks.cpu is None or peaks.memory is None:
            return None
        window_hours = (self.windows.end - self.windows.utilization_start).total_seconds() / 3600
        if usage.utilization_hours < MIN_UTILIZATION_COVERAGE * window_hours:
            return None
        # Component placement follows the components' reservations, which this rule does not see.
        if variant.uses_inference_components:
            return None
        n = variant.instance_count
        # Never below two instances when there are two or more: SageMaker spreads them over zones.
        counts = range(min(n, 2), n + 1)
        option = cheapest_option(spec, n, peaks, self.catalog, self.thresholds.target_utilization_pct, counts)
        cost = spec.monthly_cost(n)
        if option is None:
            return None
        scaling = variant.autoscaling
        if scaling is not None and option.spec.instance_type == spec.instance_type:
            return self._lower_floor(variant, spec, scaling, option.count, peaks, usage)
        savings = round(cost - option.monthly_cost, 2)
        if savings < max(self.thresholds.min_monthly_savings_usd, 0.01):
            return None
        evidence = self._sizing_evidence(spec, peaks, usage)
        evidence["target_pct"] = self.thresholds.target_utilization_pct
        evidence["alternatives"] = self._arm64_alternatives(spec, n, peaks, counts, option.monthly_cost)
        peak_text = ", ".join(f"{k} {v:.0f}%" for k, v in peaks.observed().items())
        rec = self._sized_recommendation(
            Action.RESIZE_VARIANT,
            option,
            cost,
            f"Resize {self.endpoint.name}/{variant.name} from {n} x {spec.instance_type} to {option.count} x "
            f"{option.spec.instance_type}: its peaks ({peak_text}) would stay under "
            f"{self.thresholds.target_utilization_pct:g}%.",
            variant,
        )
        return self._finding(Kind.OVERSIZED, savings_severity(savings), variant, evidence, rec, cost, savings)

    def _arm64_alternatives(
        self, spec: InstanceSpec, n: int, peaks: Peaks, counts: range, beats: float
    ) -> list[dict[str, Any]]:
        """A Graviton option cheaper than the recommendation, offered apart: it needs an arm64 build of the
        container, which sagewatch cannot see, so it is never the recommendation itself."""
        if spec.arm64 or spec.accelerator is not Accelerator.CPU:
            return []
        target = self.thresholds.target_utilization_pct
        option = cheapest_option(spec, n, peaks, self.catalog, target, counts, arm64=True)
        if option is None or option.monthly_cost >= beats:
            return []
        return [
            {
                "instance_type": option.spec.instance_type,
                "instance_count": option.count,
                "monthly_cost_usd": option.monthly_cost,
                "architecture": "arm64",
                "note": "AWS Graviton: only if the model container is built for arm64",
            }
        ]

    def _lower_floor(
        self, variant: Variant, spec: InstanceSpec, scaling: Autoscaling, needed: int, peaks: Peaks, usage: VariantUsage
    ) -> Finding | None:
        """Oversized by count on an autoscaled variant: the autoscaler sizes it above its floor; only a floor
        that holds more instances than the peak needs keeps money burning."""
        if needed >= scaling.min_capacity:
            return None  # the instances above the floor are the autoscaler's to remove
        spare = scaling.min_capacity - needed
        savings = spec.monthly_cost(spare)
        if savings < max(self.thresholds.min_monthly_savings_usd, 0.01):
            return None
        evidence = self._sizing_evidence(spec, peaks, usage)
        evidence["target_pct"] = self.thresholds.target_utilization_pct
        peak_text = ", ".join(f"{k} {v:.0f}%" for k, v in peaks.observed().items())
        rec = Recommendation(
            Action.SET_SCALING_LIMITS,
            spec.instance_type,
            needed,
            f"Lower the auto scaling minimum of {self.endpoint.name}/{variant.name} from {scaling.min_capacity} to "
            f"{needed} (maximum stays {scaling.max_capacity}): its peaks ({peak_text}) need {needed} x "
            f"{spec.instance_type} to stay under {self.thresholds.target_utilization_pct:g}%, and the floor keeps "
            f"{spare} more running for nothing. Monthly cost at the floor "
            f"{money(spec.monthly_cost(scaling.min_capacity), cents=True)} -> "
            f"{money(spec.monthly_cost(needed), cents=True)}.",
            spec.monthly_cost(needed),
            min_capacity=needed,
            max_capacity=scaling.max_capacity,
        )
        cost = spec.monthly_cost(variant.instance_count)
        return self._finding(Kind.OVERSIZED, savings_severity(savings), variant, evidence, rec, cost, savings)

    @staticmethod
    def _sized_recommendation(
        action: Action, option: Option, cost: float, summary: str, variant: Variant
    ) -> Recommendation:
        """A resize or scale-out; on an autoscaled variant, a new type carries its limits over, scaled by how
        many of the new instances do the work of the old ones."""
        scaling, low, high = variant.autoscaling, None, None
        if scaling is not None and variant.instance_count:
            ratio = option.count / variant.instance_count
            low = math.ceil(scaling.min_capacity * ratio) if scaling.min_capacity else 0
            high = max(low, 1, math.ceil(scaling.max_capacity * ratio))
            summary += f" Auto scaling limits {scaling.min_capacity}-{scaling.max_capacity} become {low}-{high}."
        return Recommendation(
            action,
            option.spec.instance_type,
            option.count,
            f"{summary} Monthly cost {money(cost, cents=True)} -> {money(option.monthly_cost, cents=True)}.",
            option.monthly_cost,
            min_capacity=low,
            max_capacity=high,
        )

    def errors(self, variant: Variant) -> list[Finding]:
        usage = self.usages[variant.name]
        if not usage.traffic_known:
            return []
        cost = self._variant_cost(variant)
        if variant.uses_inference_components:
            return [
                f
                for ic, c in usage.components.items()
                if (f := self._error_finding(variant, c.invocations, c.errors_5xx, c.errors_4xx, None, cost, ic))
            ]
        found = self._error_finding(
            variant, usage.invocations, usage.errors_5xx, usage.errors_4xx, usage.latency_ms, cost, None
        )
        return [found] if found else []

    def _error_finding(
        self,
        variant: Variant,
        invocations: float,
        errors_5xx: float,
        errors_4xx: float,
        latency_ms: float | None,
        cost: float | None,
        component: str | None,
    ) -> Finding | None:
        if invocations < self.thresholds.min_error_invocations:
            return None
        rate = 100.0 * errors_5xx / invocations
        if rate <= self.thresholds.error_rate_pct:
            return None
        failures = "InvocationFailures" if self.endpoint.is_async else "Invocation5XXErrors"
        evidence: dict[str, Any] = {
            "window_start": iso_z(self.windows.idle_start),
            "window_end": iso_z(self.windows.end),
            "invocations": int(invocations),
            "errors_5xx": int(errors_5xx),
            "errors_4xx": int(errors_4xx),
            "error_rate_pct": round(rate, 2),
            "threshold_pct": self.thresholds.error_rate_pct,
            "metric": failures,
        }
        if latency_ms is not None:
            evidence["model_latency_ms_avg"] = latency_ms
        where = f"{self.endpoint.name}/{variant.name}" + (f" (component {component})" if component else "")
        rec = Recommendation(
            Action.INVESTIGATE,
            None,
            None,
            f"{where}: {rate:.1f}% of {int(invocations):,} requests failed with server errors in "
            f"{self.thresholds.idle_hours} h. Check the model container's CloudWatch logs "
            f"(/aws/sagemaker/Endpoints/{self.endpoint.name}).",
        )
        severity = Severity.HIGH if rate >= 5 * self.thresholds.error_rate_pct else Severity.MEDIUM
        return self._finding(Kind.ERRORS, severity, variant, evidence, rec, cost, 0.0, component)

    def imbalance(self, variant: Variant) -> list[Finding]:
        """Enhanced metrics only: one instance (or GPU) far busier than its siblings."""
        spec = self._spec(variant)
        usage = self.usages[variant.name]
        if spec is None or not usage.unit_means:
            return []
        gpus = spec.gpus
        worst = None
        for (metric, per_device), units in sorted(usage.unit_means.items()):
            resource = "gpu" if metric == "GPUUtilization" else "cpu"
            scale = 1.0 if per_device else float(spec.vcpu if resource == "cpu" else gpus)
            found = _imbalance_of(units, scale) if scale else None
            if found and (worst is None or found[1] - found[2] > worst[1][1] - worst[1][2]):
                worst = ((resource, "GPU" if per_device else "instance"), found)
        if worst is None:
            return []
        (resource, unit), (busiest, busiest_pct, median, loads) = worst
        hours = max(n for units in usage.unit_means.values() for _, n in units.values())
        evidence = {
            "resource": resource,
            "unit": unit.lower(),
            "busiest": busiest,
            "busiest_pct": round(busiest_pct, 1),
            "siblings_median_pct": round(median, 1),
            "per_unit_pct": loads,
            "hours_observed": hours,
            "window_start": iso_z(usage.utilization_since or self.windows.utilization_start),
            "window_end": iso_z(self.windows.end),
        }
        summary = (
            f"{unit} {busiest} averages {busiest_pct:.0f}% {resource.upper()} while its {len(loads) - 1} "
            f"siblings' median is {median:.0f}%: work is not spread evenly (check the routing strategy, sticky "
            "clients, or a model loaded on one device only). The averages hide it."
        )
        rec = Recommendation(Action.INVESTIGATE, None, None, summary)
        severity = Severity.HIGH if busiest_pct >= self.thresholds.saturation_pct else Severity.MEDIUM
        return [self._finding(Kind.IMBALANCED, severity, variant, evidence, rec, self._variant_cost(variant), None)]


def _imbalance_of(
    units: Mapping[str, tuple[float, int]], scale: float
) -> tuple[str, float, float, dict[str, float]] | None:
    """(busiest unit, its %, the others' median %, every unit's %) when one unit is far busier than the rest."""
    most_hours = max(hours for _, hours in units.values())
    # A unit seen for only part of the window (replaced, scaled in) is no fair sibling.
    loads = {u: mean / scale for u, (mean, hours) in units.items() if hours >= MIN_UTILIZATION_COVERAGE * most_hours}
    if len(loads) < 2:
        return None
    busiest = max(sorted(loads), key=lambda u: loads[u])
    median = statistics.median(v for u, v in loads.items() if u != busiest)
    if loads[busiest] < IMBALANCE_MIN_BUSIEST_PCT or loads[busiest] - median < IMBALANCE_MIN_GAP_PCT:
        return None
    return busiest, loads[busiest], median, {u: round(v, 1) for u, v in sorted(loads.items())}


def judge_endpoint(
    endpoint: Endpoint, results: MetricResults, catalog: Catalog, thresholds: Thresholds, windows: Windows
) -> list[Finding]:
    usages = {v.name: variant_usage(endpoint, v, results, windows) for v in endpoint.variants}
    return EndpointJudge(endpoint, usages, catalog, thresholds, windows).judge()
