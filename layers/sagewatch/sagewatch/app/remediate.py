"""Manual remediation: plan (dry run) or carry out one action on one endpoint, after every check; then
audit and announce it. The plan (the exact calls) comes from sagewatch.remediation; sagewatch.aws.remediate
executes those calls and nothing else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    ACTIONS,
    PROTECT_TAG,
    ActionPlan,
    InvalidTargetError,
    LiveEndpoint,
    PartialChangeError,
    RemediationError,
    RemediationRequest,
    SnapshotRef,
    check_real_run,
    in_service,
    plan_action,
    resume_differences,
    stale_reasons,
)
from sagewatch.remediation.calls import Step
from sagewatch.remediation.model import State
from sagewatch.settings import Thresholds
from sagewatch.usage import VariantUsage, variant_usage

# What a real run may spend waiting when the caller does not say (the CLI's --local): an update takes 5-15 min.
DEFAULT_SECONDS = 900


class RemediationActor(Protocol):
    def read(self, endpoint: str) -> LiveEndpoint | None: ...
    def config_names(self, config: str) -> frozenset[str]: ...
    def snapshot(self, live: LiveEndpoint, now: datetime) -> SnapshotRef: ...
    def load_snapshot(self, key: str) -> tuple[dict[str, Any], SnapshotRef]: ...
    def original_role(self, snapshot: dict[str, Any]) -> str | None: ...
    def audit(self, record: dict[str, Any], now: datetime) -> str: ...
    def deleted_before(self, endpoint: str) -> bool: ...
    def mark_deleted(self, endpoint: str) -> None: ...
    def execute(self, steps: Sequence[Step], *, start: int = 1, seconds: float) -> list[str]: ...


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


def _snapshot_for(
    request: RemediationRequest, actor: RemediationActor
) -> tuple[dict[str, Any] | None, SnapshotRef | None]:
    """The sealed snapshot a restore brings back, or a stopped run resumes from (request.snapshot); verified."""
    if not request.snapshot:
        return None, None
    doc, ref = actor.load_snapshot(request.snapshot)
    name = (doc.get("endpoint") or {}).get("EndpointName")
    if name != request.endpoint:
        raise RemediationError(f"snapshot {request.snapshot} is of endpoint {name}, not {request.endpoint}")
    return doc, ref


def _check_role(snapshot: Mapping[str, Any], actor: RemediationActor) -> None:
    """The execution role a restore passes to SageMaker is the one the endpoint's original config names (configs
    are never deleted by sagewatch): a snapshot cannot name another role."""
    wanted = snapshot["endpoint_config"].get("ExecutionRoleArn")
    original = actor.original_role(dict(snapshot))
    if original is not None and original != (wanted or ""):
        name = snapshot["endpoint_config"].get("EndpointConfigName")
        raise RemediationError(
            f"the snapshot names execution role {str(wanted)[:200]!r}, but endpoint config {str(name)[:63]} "
            f"names {original[:200]!r}: refused"
        )


@dataclass(frozen=True)
class _Basis:
    """What a request is planned against: the endpoint as read, or (resuming a stopped run) as that run's
    snapshot saw it, so that the resume plans exactly the calls the run planned."""

    live: LiveEndpoint | None
    planned_on: LiveEndpoint | None
    snapshot: dict[str, Any] | None = None
    sealed: SnapshotRef | None = None
    resuming: bool = False


def _basis(request: RemediationRequest, deps: RemediationDependencies) -> _Basis:
    live = deps.actor.read(request.endpoint)
    snapshot, sealed = _snapshot_for(request, deps.actor)
    if live is not None and live.protected:
        raise RemediationError(f"endpoint {live.name} is tagged {PROTECT_TAG}=true: sagewatch will not change it")
    if request.action == "restore-endpoint":
        assert snapshot is not None  # the request needs one
        _check_role(snapshot, deps.actor)
        return _Basis(live, live, snapshot, sealed)
    if live is None:
        # asked to delete what sagewatch itself deleted: done; anything else about a missing endpoint is a mistake
        # (a typo, another account or region), never "already deleted"
        raise InvalidTargetError(
            f"endpoint {request.endpoint} does not exist in this account and region"
            + (" (and sagewatch has no record of deleting it)" if request.action == "delete-endpoint" else "")
        )
    if snapshot is not None:  # the request validation allows one only with resume_from
        return _Basis(live, LiveEndpoint.from_snapshot(snapshot), snapshot, sealed, resuming=True)
    return _Basis(live, live)


def _basis_unless_deleted(request: RemediationRequest, deps: RemediationDependencies) -> _Basis | None:
    """The basis of the request; None when it asks to delete what sagewatch deleted (gone, or its delete under way:
    what was asked is done)."""
    deleting = request.action == "delete-endpoint"
    try:
        basis = _basis(request, deps)
    except InvalidTargetError:
        if deleting and deps.actor.deleted_before(request.endpoint):
            return None
        raise
    under_way = basis.live is not None and basis.live.status == "Deleting" and not basis.resuming
    return None if deleting and under_way and deps.actor.deleted_before(request.endpoint) else basis


def _plan(request: RemediationRequest, basis: _Basis, deps: RemediationDependencies) -> ActionPlan:
    if request.action == "restore-endpoint":
        assert basis.snapshot is not None
        configs = basis.live.configs if basis.live else deps.actor.config_names(
            str(basis.snapshot["endpoint_config"]["EndpointConfigName"])
        )  # fmt: skip
        return plan_action(request, basis.live, deps.catalog, snapshot=basis.snapshot, configs=configs)
    return plan_action(request, basis.planned_on, deps.catalog)


def remediate(
    request: RemediationRequest,
    deps: RemediationDependencies,
    now: datetime | None = None,
    *,
    seconds: float = DEFAULT_SECONDS,
) -> dict[str, Any]:
    """Plan (dry run) or carry out one action on one endpoint. Raises RemediationError, having changed nothing,
    when the request is refused; once something has changed, every outcome is audited, announced and answered
    (status done or partial). `seconds`: what a real run may spend, waits included."""
    now = now or datetime.now(UTC)
    basis = _basis_unless_deleted(request, deps)
    if basis is None:
        return {"status": "already-deleted", "dry_run": request.dry_run, "endpoint": request.endpoint}
    live = basis.live
    if not request.dry_run and not basis.resuming:
        in_service(request, live)  # the rail first: an endpoint being deployed is no endpoint to plan a change on
    the_plan = _plan(request, basis, deps)
    metrics = EndpointMetrics(live, deps, now) if live is not None and not basis.resuming else None
    stale = _stale(request, basis.planned_on, metrics) if not basis.resuming else []
    result: dict[str, Any] = {"dry_run": request.dry_run, "plan": the_plan.to_dict(), "stale": stale}
    if request.dry_run:
        # a plan for an endpoint that no longer matches the finding is no plan to carry out: said as its status
        result["status"] = "stale" if stale and not request.force else "planned"
        if metrics is not None:  # how fast it is now, next to the plan (never in the way of the plan)
            none: dict[str, Any] = {}
            result["latency"] = extra("the endpoint's current latency", metrics.latency, none)
        result["to_execute"] = (
            f"the same request with dry_run false, confirm {request.endpoint!r}, a new request_id and "
            f"expect.plan_digest {the_plan.digest!r} (the real run then carries out this plan or nothing)"
        )
        if the_plan.accelerator_change:
            result["to_execute"] += ", allow_accelerator_change true and force true (the accelerator changes)"
        return result
    check_real_run(request, live, stale, the_plan)
    if basis.resuming:
        assert live is not None
        assert basis.planned_on is not None
        moved = resume_differences(request, State.of(basis.planned_on), live, the_plan)
        if moved:
            raise RemediationError(
                f"endpoint {request.endpoint} is not where the stopped run left it (before step "
                f"{request.resume_from}): " + "; ".join(moved[:5]) + ". Nothing was done: plan it afresh"
            )
    sealed = basis.sealed
    if ACTIONS[request.action].snapshot_first and sealed is None:
        assert live is not None
        sealed = deps.actor.snapshot(live, now)  # first: nothing is changed unless it can be put back
    return {**result, **_carry_out(request, basis, sealed, the_plan, stale, deps, now, seconds)}


def _stale(request: RemediationRequest, live: LiveEndpoint | None, metrics: EndpointMetrics | None) -> list[str]:
    """How the endpoint differs from what the request expects (the finding saw); empty when nothing is expected."""
    if live is None or metrics is None or request.expect is None:
        return []
    stale: list[str] = []
    invocations = metrics.recent_invocations(request.variant) if request.expect.idle else None
    if request.expect.idle and invocations is None:
        stale.append("CloudWatch could not confirm it is still idle")
    return stale + stale_reasons(request, live, invocations=invocations)


def _resume_request(request: RemediationRequest, sealed: SnapshotRef | None, step: int | None) -> dict[str, Any]:
    """The exact request that goes on from where a run stopped: the same request, from the snapshot it took,
    from `step`, under a request id of its own (one per resume point: retrying it acts once)."""
    doc = request.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    doc.update(dry_run=False, confirm=request.endpoint)
    base = str(request.request_id or "resume")[:116]
    if request.action != "restore-endpoint" and sealed is not None and step is not None:
        doc.update(snapshot=sealed.key, resume_from=step)
    doc["request_id"] = f"{base}-r{step or 1}"
    return doc


def _carry_out(
    request: RemediationRequest,
    basis: _Basis,
    sealed: SnapshotRef | None,
    the_plan: ActionPlan,
    stale: list[str],
    deps: RemediationDependencies,
    now: datetime,
    seconds: float,
) -> dict[str, Any]:
    """Act, then audit and announce whatever happened: done, or partial (what was done and what is left)."""
    left: list[str] = []
    resume_from: int | None = None
    try:
        done, status = deps.actor.execute(the_plan.calls, start=request.resume_from or 1, seconds=seconds), "done"
        if request.action == "delete-endpoint":
            deps.actor.mark_deleted(request.endpoint)
    except PartialChangeError as exc:
        done, left, status, resume_from = exc.done, [*exc.left, f"why it stopped: {exc}"], "partial", exc.resume_from
    raw_tags = basis.live.tags if basis.live is not None else (basis.snapshot or {}).get("tags") or {}
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
        "snapshot": sealed.key if sealed and request.action != "restore-endpoint" else None,
        "snapshot_version_id": sealed.version_id if sealed else None,
        "snapshot_sha256": sealed.sha256 if sealed else None,
        "forced_over": stale if request.force else [],
    }
    answer: dict[str, Any] = {}
    if status == "partial":
        resume = _resume_request(request, sealed, resume_from)
        record["resume"] = resume
        answer = {"left": left, "resume": resume}
    warnings = _record_and_tell(record, deps, now)
    return {
        "status": status,
        "done": done,
        "snapshot": record["snapshot"],
        "snapshot_version_id": record["snapshot_version_id"],
        "snapshot_sha256": record["snapshot_sha256"],
        "audit": record.get("audit"),
        "warnings": warnings,
        **answer,
    }


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


def answer(
    request: RemediationRequest, deps: RemediationDependencies, *, seconds: float = DEFAULT_SECONDS
) -> dict[str, Any]:
    """remediate(), with a refusal as an answer instead of an exception."""
    try:
        return remediate(request, deps, seconds=seconds)
    except RemediationError as exc:
        return refusal(exc)
