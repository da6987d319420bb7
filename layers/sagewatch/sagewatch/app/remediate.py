"""Manual remediation: plan (dry run) or carry out one action on one endpoint, after every check; then
audit and announce it. The rules live in sagewatch.remediation; sagewatch.aws.remediate acts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Protocol

from sagewatch.app.extras import extra
from sagewatch.app.ports import MetricsReader, Notifier
from sagewatch.bounds import bounded
from sagewatch.catalog import Catalog
from sagewatch.inventory import endpoint_from_api
from sagewatch.metrics import MetricResults, Windows, plan_queries
from sagewatch.models import Endpoint, ScanError
from sagewatch.notify import RemediationNotice
from sagewatch.notify.remediation import REMEDIATION_SCHEMA
from sagewatch.owners import from_tags
from sagewatch.remediation import (
    PROTECT_TAG,
    ActionPlan,
    InvalidTargetError,
    LiveEndpoint,
    PartialChangeError,
    RemediationError,
    RemediationRequest,
    ScheduledChange,
    SnapshotRef,
    check_real_run,
    plan_action,
    restore_plan,
    schedule_changes,
    stale_reasons,
)
from sagewatch.settings import Thresholds
from sagewatch.usage import VariantUsage, variant_usage

# Actions whose real run first takes a sealed snapshot, the key restore-endpoint puts the endpoint back from.
SNAPSHOT_FIRST = ("delete-endpoint", "schedule-scaling")


class RemediationActor(Protocol):
    def read(self, endpoint: str) -> LiveEndpoint | None: ...
    def snapshot(self, live: LiveEndpoint, now: datetime) -> SnapshotRef: ...
    def load_snapshot(self, key: str) -> tuple[dict[str, Any], SnapshotRef]: ...
    def audit(self, record: dict[str, Any], now: datetime) -> str: ...
    def deleted_before(self, endpoint: str) -> bool: ...
    def delete(self, live: LiveEndpoint) -> list[str]: ...
    def restore(self, snapshot: dict[str, Any]) -> list[str]: ...
    def update_config(self, live: LiveEndpoint, new_config: dict[str, Any]) -> list[str]: ...
    def set_instance_count(self, endpoint: str, variant: str, count: int) -> list[str]: ...
    def set_scaling_limits(self, endpoint: str, variant: str, minimum: int, maximum: int) -> list[str]: ...
    def scale_to_zero(self, endpoint: str, variant: str, current: int) -> list[str]: ...
    def components_to_zero(self, live: LiveEndpoint, variant: str, new_config: dict[str, Any]) -> list[str]: ...
    def schedule_scaling(self, live: LiveEndpoint, changes: list[ScheduledChange]) -> list[str]: ...


@dataclass(frozen=True)
class RemediationDependencies:
    actor: RemediationActor
    metrics: MetricsReader
    announcer: Notifier
    catalog: Catalog
    thresholds: Thresholds
    account: str | None
    # who asked: {"principal": ARN, "source": "credentials" | "client-context" | "cognito", "verified": bool,
    # "lambda_request_id"} (the audit record and notice); a client-context principal is the caller's claim
    requested_by: Mapping[str, Any] | None = None


class EndpointMetrics:
    """The endpoint's metrics over the idle window, as the scan reads them, fetched once per request and only
    when asked for: the idle re-check and the latency shown beside a plan read the same GetMetricData answer
    (and a failure reading them stays where it was asked: the latency beside a plan never stops the plan)."""

    def __init__(self, live: LiveEndpoint, deps: RemediationDependencies, now: datetime) -> None:
        self._live, self._metrics = live, deps.metrics
        self.windows = Windows.ending_at(now, deps.thresholds)

    @cached_property
    def endpoint(self) -> Endpoint:
        components: dict[str, list[str]] = {}
        for ic in self._live.components:
            components.setdefault(str(ic.get("VariantName")), []).append(str(ic["InferenceComponentName"]))
        live = self._live
        return endpoint_from_api(live.description, live.config, live.tags, components)

    @cached_property
    def _read(self) -> tuple[MetricResults, list[ScanError]]:
        return self._metrics.fetch(plan_queries([self.endpoint]), self.windows)

    def usages(self, variant: str | None = None) -> list[VariantUsage]:
        results, _ = self._read
        return [
            variant_usage(self.endpoint, v, results, self.windows)
            for v in self.endpoint.variants
            if variant is None or v.name == variant
        ]

    def recent_invocations(self, variant: str | None = None) -> float | None:
        """Requests served over the idle window (by `variant`, or the whole endpoint), as the scan counts them;
        None when CloudWatch could not say."""
        usages = self.usages(variant)
        if self._read[1] or not all(u.traffic_known for u in usages):
            return None
        return sum(u.invocations + u.backlog_peak for u in usages)

    def latency(self) -> dict[str, Any]:
        """Each variant's p50 and p99 ModelLatency over the idle window: a dry run shows them next to the plan
        (a person resizing an endpoint wants to see how fast it is now)."""
        out: dict[str, Any] = {}
        for v, usage in zip(self.endpoint.variants, self.usages(), strict=True):
            if usage.latency is not None:
                p50, p99, requests = usage.latency.p50_ms, usage.latency.p99_ms, int(usage.latency.requests)
                out[v.name] = {"p50_ms": p50, "p99_ms": p99, "requests": requests}
        return out


def _execute(
    request: RemediationRequest,
    live: LiveEndpoint | None,
    snapshot: dict[str, Any] | None,
    the_plan: ActionPlan,
    actor: RemediationActor,
) -> list[str]:
    """Carry out a checked plan; what was done. Raises PartialChangeError when it stopped half way."""
    if request.action == "restore-endpoint":
        assert snapshot is not None
        return actor.restore(snapshot)
    if live is None:
        raise RemediationError(f"endpoint {request.endpoint} does not exist")
    if request.action == "delete-endpoint":
        return actor.delete(live)
    return _act_on_variant(request, live, the_plan, actor)


def _act_on_variant(
    request: RemediationRequest, live: LiveEndpoint, the_plan: ActionPlan, actor: RemediationActor
) -> list[str]:
    variant = the_plan.variant or ""
    if request.action == "schedule-scaling":
        return actor.schedule_scaling(live, schedule_changes(request, live, variant))
    if request.action == "scale-to-zero" and the_plan.new_config is not None:  # an inference-component endpoint
        return actor.components_to_zero(live, variant, the_plan.new_config)
    if the_plan.new_config is not None:  # resize-variant, remove-variant
        return actor.update_config(live, the_plan.new_config)
    if request.action == "set-instance-count" and request.instance_count is not None:
        return actor.set_instance_count(live.name, variant, request.instance_count)
    if request.action == "set-scaling-limits":
        return actor.set_scaling_limits(
            live.name, variant, int(request.min_capacity or 0), int(request.max_capacity or 1)
        )
    return actor.scale_to_zero(live.name, variant, int(the_plan.before[variant]["instance_count"]))


def _snapshot_for(
    request: RemediationRequest, actor: RemediationActor
) -> tuple[dict[str, Any] | None, SnapshotRef | None]:
    """The sealed snapshot a restore brings back, or a delete resumes from (request.snapshot); verified."""
    if not request.snapshot or request.action not in ("restore-endpoint", "delete-endpoint"):
        return None, None
    doc, ref = actor.load_snapshot(request.snapshot)
    name = (doc.get("endpoint") or {}).get("EndpointName")
    if name != request.endpoint:
        raise RemediationError(f"snapshot {request.snapshot} is of endpoint {name}, not {request.endpoint}")
    return doc, ref


def remediate(
    request: RemediationRequest, deps: RemediationDependencies, now: datetime | None = None
) -> dict[str, Any]:
    """Plan (dry run) or carry out one action on one endpoint. Raises RemediationError, having changed
    nothing, when the request is refused; once something has changed, every outcome is audited, announced
    and answered (status done or partial)."""
    now = now or datetime.now(UTC)
    live = deps.actor.read(request.endpoint)
    snapshot, sealed = _snapshot_for(request, deps.actor)
    restoring = snapshot if request.action == "restore-endpoint" else None
    if live is None and restoring is None:
        # asked to delete what sagewatch itself deleted: done; anything else about a missing endpoint is a mistake
        # (a typo, another account or region), never "already deleted"
        if request.action == "delete-endpoint" and deps.actor.deleted_before(request.endpoint):
            return {"status": "already-deleted", "dry_run": request.dry_run, "endpoint": request.endpoint}
        raise InvalidTargetError(
            f"endpoint {request.endpoint} does not exist in this account and region"
            + (" (and sagewatch has no record of deleting it)" if request.action == "delete-endpoint" else "")
        )
    if live is not None and live.protected:
        raise RemediationError(f"endpoint {live.name} is tagged {PROTECT_TAG}=true: sagewatch will not change it")
    if restoring is not None:
        the_plan = restore_plan(request, live, restoring, deps.catalog)
    else:
        assert live is not None
        the_plan = plan_action(request, live, deps.catalog, now)
    metrics = EndpointMetrics(live, deps, now) if live is not None else None
    stale = _stale(request, live, metrics)
    result: dict[str, Any] = {"dry_run": request.dry_run, "plan": the_plan.to_dict(), "stale": stale}
    if request.dry_run:
        # a plan for an endpoint that no longer matches the finding is no plan to carry out: said as its status
        result["status"] = "stale" if stale and not request.force else "planned"
        if metrics is not None:  # how fast it is now, next to the plan (never in the way of the plan)
            none: dict[str, Any] = {}
            result["latency"] = extra("the endpoint's current latency", metrics.latency, none)
        result["to_execute"] = f"the same request with dry_run false, confirm {request.endpoint!r} and a new request_id"
        if the_plan.accelerator_change:
            result["to_execute"] += ", allow_accelerator_change true and force true (the accelerator changes)"
        return result
    check_real_run(request, live, stale, the_plan)
    if request.action in SNAPSHOT_FIRST and sealed is None:
        assert live is not None
        sealed = deps.actor.snapshot(live, now)  # first: nothing is changed unless it can be put back
    return {**result, **_carry_out(request, live, restoring, sealed, the_plan, stale, deps, now)}


def _stale(request: RemediationRequest, live: LiveEndpoint | None, metrics: EndpointMetrics | None) -> list[str]:
    """How the endpoint differs from what the request expects (the finding saw); empty when nothing is expected."""
    if live is None or metrics is None or request.expect is None:
        return []
    stale: list[str] = []
    invocations = metrics.recent_invocations(request.variant) if request.expect.idle else None
    if request.expect.idle and invocations is None:
        stale.append("CloudWatch could not confirm it is still idle")
    return stale + stale_reasons(request, live, invocations=invocations)


def _carry_out(
    request: RemediationRequest,
    live: LiveEndpoint | None,
    restoring: dict[str, Any] | None,
    sealed: SnapshotRef | None,
    the_plan: ActionPlan,
    stale: list[str],
    deps: RemediationDependencies,
    now: datetime,
) -> dict[str, Any]:
    """Act, then audit and announce whatever happened: done, or partial (what was done and what is left)."""
    left: list[str] = []
    try:
        done, status = _execute(request, live, restoring, the_plan, deps.actor), "done"
    except PartialChangeError as exc:
        done, left, status = exc.done, [*exc.left, f"why it stopped: {exc}"], "partial"
    raw_tags = live.tags if live is not None else (restoring or {}).get("tags") or {}
    tags = {bounded(k, 128): bounded(v, 256) for k, v in list(dict(raw_tags).items())[:50]}
    record = {
        "schema": REMEDIATION_SCHEMA,
        "account": deps.account,
        "status": status,
        "requested_by": dict(deps.requested_by or {"principal": None, "source": None, "verified": False}),
        "owner": from_tags(tags).to_dict(),  # the notice goes to the endpoint's route too (sagewatch.routing)
        "tags": tags,
        "executed_at": now.isoformat(),
        "request": request.model_dump(mode="json"),
        "plan": the_plan.to_dict(),
        "done": done,
        "left": left,
        "snapshot": sealed.key if sealed and request.action in SNAPSHOT_FIRST else None,
        "snapshot_version_id": sealed.version_id if sealed else None,
        "snapshot_sha256": sealed.sha256 if sealed else None,
        "forced_over": stale if request.force else [],
    }
    warnings = _record_and_tell(record, deps, now)
    answer: dict[str, Any] = {
        "status": status,
        "done": done,
        "snapshot": record["snapshot"],
        "snapshot_version_id": record["snapshot_version_id"],
        "snapshot_sha256": record["snapshot_sha256"],
        "audit": record.get("audit"),
        "warnings": warnings,
    }
    if status == "partial":
        answer["left"] = left
        if request.action == "delete-endpoint" and sealed is not None:
            answer["resume"] = (
                f"run delete-endpoint again with snapshot {sealed.key!r} and a new request_id: it resumes from this "
                "snapshot (a new one would miss what was already deleted)"
            )
    return answer


AUDIT_ATTEMPTS = 3


def _record_and_tell(record: dict[str, Any], deps: RemediationDependencies, now: datetime) -> list[str]:
    """Once an action has run, write its audit record and announce it. Neither failing may turn into an error
    for the caller (the endpoint has changed: the answer must say so): each failure becomes a warning, and
    the handler logs the whole result."""
    warnings: list[str] = []
    for attempt in range(1, AUDIT_ATTEMPTS + 1):
        try:
            record["audit"] = deps.actor.audit(record, now)
            break
        except Exception as exc:
            if attempt == AUDIT_ATTEMPTS:
                record["audit"] = None
                warnings.append(f"the audit record could not be written ({type(exc).__name__}: {str(exc)[:200]})")
    record["warnings"] = list(warnings)
    try:
        ids = deps.announcer.publish(RemediationNotice(record))
        record["message_id"] = ids[0] if ids else None
    except Exception as exc:
        warnings.append(f"the announcement could not be published ({type(exc).__name__}: {str(exc)[:200]})")
    return warnings


def refusal(exc: RemediationError) -> dict[str, Any]:
    """The answer to a refused request (nothing was changed): `invalid` when it names nothing that exists."""
    return {"status": "invalid" if isinstance(exc, InvalidTargetError) else "refused", "error": str(exc)[:2000]}


def answer(request: RemediationRequest, deps: RemediationDependencies) -> dict[str, Any]:
    """remediate(), with a refusal as an answer instead of an exception."""
    try:
        return remediate(request, deps)
    except RemediationError as exc:
        return refusal(exc)
