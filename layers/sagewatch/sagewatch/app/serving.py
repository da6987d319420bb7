"""The scan's keep-serving checks: after the rules, what says whether the fleet will still serve tomorrow
(sagewatch.serving judges; the reads come through a ServingChecks, once a day where they change rarely)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from sagewatch.app.extras import extra
from sagewatch.catalog import Catalog
from sagewatch.formats import money
from sagewatch.metrics import Windows
from sagewatch.models import Discovery, Finding, Kind, Recommendation, Severity
from sagewatch.serving import (
    DependencyFacts,
    Quota,
    advice,
    dependency_finding,
    label,
    missing_config_finding,
    more_gpu_memory,
    quota_findings,
    scale_from_zero_findings,
    stuck_findings,
)
from sagewatch.settings import Thresholds

LOG_LOOKUPS = 5  # endpoints whose log is read for the causes of their errors, each scan (the worst first)


class ServingChecks(Protocol):
    def quotas(self, now: datetime) -> tuple[dict[str, Quota], list[str]]: ...
    def dependencies(self, endpoints: Sequence[Any], now: datetime) -> tuple[dict[str, DependencyFacts], list[str]]: ...
    def log_signatures(
        self, endpoint: str, start: datetime, end: datetime
    ) -> tuple[list[dict[str, Any]], str | None]: ...
    def lifecycle_rules(self, buckets: Sequence[str], now: datetime) -> dict[str, bool | None]: ...


def keep_serving(
    discovery: Discovery,
    findings: list[Finding],
    serving: ServingChecks | None,
    catalog: Catalog,
    thresholds: Thresholds,
    windows: Windows,
    *,
    now: datetime,
    region: str,
    account: str | None,
    checked: tuple[Mapping[str, DependencyFacts], list[str]] | None = None,
) -> tuple[list[Finding], list[str]]:
    """`findings` with the keep-serving findings added (and the errors findings given their log's causes), and
    what to warn of. Without `serving` (a scan that reads no more than metrics), what needs no more reads:
    scale-from-zero and stuck deployments. `checked`: the endpoints' dependency checks already made (a fan-out's
    chunks each check theirs, with a budget each), and what they warned of."""
    warnings: list[str] = []
    added: list[Finding] = []
    for endpoint in discovery.endpoints:
        added += scale_from_zero_findings(endpoint, catalog)
    failures: dict[str, dict[str, str]] = {}
    for name, arn, config in discovery.missing_configs:
        added.append(missing_config_finding(name, arn, config, now))
    if serving is not None:
        facts, said = checked or dependency_checks(serving, discovery.endpoints, now)
        warnings += said
        for endpoint in discovery.endpoints:
            found = facts.get(endpoint.name)
            if found is None:
                continue
            failures[endpoint.name] = dict(found.component_failures)
            broken = dependency_finding(endpoint, found)
            if broken is not None:
                added.append(broken)
        quotas, said = _or_nothing("Service Quotas", lambda: serving.quotas(now))
        warnings += said
        added += quota_findings([*discovery.endpoints, *discovery.ignored], quotas, region=region, account=account)
        findings = _with_log_causes(findings, serving, catalog, windows)
        findings = _with_lifecycle(findings, serving, now)
    added += stuck_findings(
        discovery.endpoints, discovery.skipped, failures, now=now, stuck_minutes=thresholds.stuck_minutes
    )
    return findings + added, warnings


def dependency_checks(
    serving: ServingChecks, endpoints: Sequence[Any], now: datetime
) -> tuple[dict[str, DependencyFacts], list[str]]:
    """Each endpoint's dependencies, from the day's checks or checked now within the scan's budget; a read that
    fails in an unforeseen way is said and skipped."""
    answer: tuple[dict[str, DependencyFacts], list[str]] = _or_nothing(
        "the dependency checks", lambda: serving.dependencies(endpoints, now)
    )
    return answer


def _bucket(uri: object) -> str | None:
    text = str(uri or "")
    if not text.startswith("s3://"):
        return None
    return text[5:].split("/", 1)[0] or None


def _with_lifecycle(findings: list[Finding], serving: ServingChecks, now: datetime) -> list[Finding]:
    """data-capture findings with whether their bucket expires what it holds (one read a bucket a day); one that
    keeps captures forever is medium."""
    capture = [f for f in findings if f.kind is Kind.DATA_CAPTURE]
    buckets = sorted({b for f in capture if (b := _bucket(f.evidence.get("destination")))})
    if not buckets:
        return findings
    rules: dict[str, bool | None] = extra(
        "the capture buckets' lifecycle", lambda: serving.lifecycle_rules(buckets, now), {}
    )
    out = []
    for f in findings:
        if f.kind is Kind.DATA_CAPTURE:
            rule = rules.get(_bucket(f.evidence.get("destination")) or "")
            f = replace(
                f,
                evidence={**f.evidence, "lifecycle_rule": rule},
                severity=Severity.MEDIUM if rule is False else f.severity,
            )
        out.append(f)
    return out


def _or_nothing(what: str, read: Any) -> tuple[Any, list[str]]:
    """A read that fails in an unforeseen way is said and skipped: the keep-serving checks never stop a scan."""
    empty: tuple[Any, list[str]] = ({}, [])
    answer: tuple[Any, list[str]] = extra(what, read, empty)
    return answer


def _with_log_causes(
    findings: list[Finding], serving: ServingChecks, catalog: Catalog, windows: Windows
) -> list[Finding]:
    """The worst LOG_LOOKUPS errors findings with the known signatures in their endpoint's log over the idle
    window, and what follows from the most frequent one."""
    errors = [f for f in findings if f.kind is Kind.ERRORS]
    worst = sorted(errors, key=lambda f: -float(f.evidence.get("error_rate_pct") or 0))[:LOG_LOOKUPS]
    chosen = {f.id for f in worst}
    out = []
    for f in findings:
        if f.id not in chosen:
            out.append(f)
            continue
        none: tuple[list[dict[str, Any]], str | None] = ([], "the log could not be read")
        signatures, note = extra("the endpoint's log", _reader(serving, f.endpoint, windows), none)
        out.append(_caused(f, signatures, note, catalog))
    return out


def _reader(serving: ServingChecks, endpoint: str, windows: Windows) -> Any:
    return lambda: serving.log_signatures(endpoint, windows.idle_start, windows.end)


def _caused(finding: Finding, signatures: list[dict[str, Any]], note: str | None, catalog: Catalog) -> Finding:
    evidence = {
        **finding.evidence,
        "log_group": f"/aws/sagemaker/Endpoints/{finding.endpoint}",
        "log_signatures": signatures,
    }
    if note:
        evidence["log_note"] = note
    cause = advice(signatures)
    if not cause:
        return replace(finding, evidence=evidence)
    top = signatures[0]
    summary = (
        f"{finding.recommendation.summary} The log shows {label(str(top['signature']))} "
        f"({top['count']} lines over the window): {cause}."
    )
    rec = finding.recommendation
    if top["signature"] == "cuda-out-of-memory":
        bigger = more_gpu_memory(finding.instance_type, catalog)
        spec = catalog.get(bigger)
        if bigger and spec is not None:
            count = finding.instance_count or 1
            summary += (
                f" The cheapest type with more GPU memory is {bigger} ({spec.accelerator_memory_gib:g} GiB, "
                f"{money(spec.monthly_cost(count))}/month for {count})."
            )
            rec = Recommendation(
                rec.action, bigger, count, summary, spec.monthly_cost(count), rec.min_capacity, rec.max_capacity
            )
            return replace(finding, evidence=evidence, recommendation=rec)
    return replace(finding, evidence=evidence, recommendation=replace(rec, summary=summary))
