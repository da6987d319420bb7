"""A scan past one function: Step Functions Distributed Map (template.yaml, ScanFanOutStateMachine).

The scan function lists the region's endpoints; past `ScanFanOutEndpoints` of them, or when the day's deep scan
would not finish within 80% of its timeout at the last deep scan's pace, it decides the scan once (its time, its
depth, its thresholds), writes the listing to the stack bucket (scans/RUN/listing.json) and starts the state
machine. Its Distributed Map reads that listing, hands CHUNK_ENDPOINTS endpoints at a time to the chunk function
(scan_chunk: describe them, read their metrics, judge each, write the part to scans/RUN/parts/), then its last
step invokes the scan function with {"merge": ...}: merge_parts reads the parts back in listing order and
sagewatch.app.judge.finish_scan adds what only the whole fleet tells (consolidation, quotas, AWS's view) and
announces through the same lifecycle as every scan. One report, one digest, one set of metrics: what one function
scanning the same fleet would have produced (tests/integration/test_fan_out.py holds them equal).

A chunk that could not be scanned (it failed after its retries, or its part is unreadable) is an error of the
merged report naming its endpoints: the report is then incomplete, so nothing about them is resolved."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sagewatch.app.judge import Inventory, Part, judge_part
from sagewatch.app.ports import MetricsReader
from sagewatch.app.serving import ServingChecks, dependency_checks
from sagewatch.cadence import Conclusion, Conclusions
from sagewatch.catalog import Catalog
from sagewatch.formats import iso_z
from sagewatch.models import Discovery, Finding, ScanError
from sagewatch.requests import CHUNK_BYTES, CHUNK_ENDPOINTS, ChunkRequest, EndpointSummary, FanOutRun
from sagewatch.rules import Need
from sagewatch.scantime import SAFE_SHARE
from sagewatch.serving import DependencyFacts
from sagewatch.settings import SettingsError, Thresholds
from sagewatch.wire import WireError, from_wire, to_wire

PART_SCHEMA = "sagewatch.scan-part/1"
# An hourly scan's time against the deep scan's, with room: make bench measures its CPU at 32-37% of the deep one's
HOURLY_SHARE = 0.5
# The chunk task's retries on throttling (template.yaml's Retry on ChunkThrottledError says the same): the last
# attempt keeps what it could not read as the part's errors instead of raising again
CHUNK_ATTEMPTS = 3
# Error codes of a call refused for its rate (CloudWatch, SageMaker, tagging, Application Auto Scaling)
THROTTLED = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "LimitExceeded"}
)


class ChunkThrottledError(RuntimeError):
    """A chunk's reads were throttled past botocore's own retries: raised so that the state machine retries the
    chunk later, with backoff (its name is what template.yaml's Retry matches)."""


class ScanParts(Protocol):
    """Where a fanned-out scan keeps its listing and its parts (the stack bucket, scans/RUN/)."""

    def put_run(self, run: FanOutRun) -> str: ...
    def run(self, name: str) -> FanOutRun: ...  # ValueError naming the object when unreadable
    def put_listing(self, run: str, body: bytes) -> str: ...  # the listing's JSON array, as dump() wrote it
    def listing(self, run: str) -> list[dict[str, Any]]: ...
    def put_part(self, run: str, first: int, doc: Mapping[str, Any]) -> str: ...
    def parts(self, run: str) -> dict[int, dict[str, Any] | str]: ...  # first index -> the part, or the problem


class Executions(Protocol):
    def start(self, name: str, doc: Mapping[str, Any]) -> str: ...  # the execution's ARN


class Lister(Protocol):
    """The region's endpoints as ListEndpoints lists them, and an inventory that describes given ones."""

    def summaries(self) -> list[dict[str, Any]]: ...
    def given(self, summaries: Sequence[Mapping[str, Any]]) -> Inventory: ...


@dataclass(frozen=True)
class FanOut:
    """The scan function's side of a fan-out: its threshold (0: never past the timeout alone), the state machine,
    and the bucket's scans/ prefix."""

    threshold: int
    concurrency: int  # chunks read at once (the Map's MaxConcurrencyPath reads it from the execution's input)
    lister: Lister
    parts: ScanParts
    executions: Executions


def fan_out_reason(
    listed: int, *, threshold: int, deep: bool, deep_rate: float | None, budget: float | None, asked: bool = False
) -> str | None:
    """Why this scan fans out, or None (it stays one function): past the threshold, or when the last deep scan's
    pace says it would not finish within 80% of the function's timeout (an hourly scan at HOURLY_SHARE of it)."""
    if asked:
        return "asked (fan_out: always)"
    if threshold and listed > threshold:
        return f"{listed:,} endpoints listed, more than ScanFanOutEndpoints ({threshold:,})"
    if deep_rate and budget:
        seconds = deep_rate * listed * (1.0 if deep else HOURLY_SHARE)
        if seconds > budget * SAFE_SHARE:
            return (
                f"at the last deep scan's {deep_rate:g} s an endpoint, this {'deep' if deep else 'hourly'} scan of "
                f"{listed:,} endpoints would take about {seconds:.0f} s, more than {SAFE_SHARE:.0%} of the "
                f"{budget:.0f} s the function may run"
            )
    return None


def listing_items(run: str, summaries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The listing as the Distributed Map reads it: one JSON object an endpoint, with its run and its place."""
    return [
        EndpointSummary(
            run=run,
            Index=i,
            EndpointName=s["EndpointName"],
            EndpointArn=s["EndpointArn"],
            EndpointStatus=s["EndpointStatus"],
            CreationTime=s["CreationTime"],
            LastModifiedTime=s["LastModifiedTime"],
        ).model_dump(mode="json")
        for i, s in enumerate(summaries)
    ]


def start_fan_out(fan_out: FanOut, summaries: Sequence[Mapping[str, Any]], run: FanOutRun) -> dict[str, Any]:
    """The listing written, the state machine started: the scan's result says so (the merge step reports)."""
    fan_out.parts.put_run(run)  # first: a chunk reads it
    body = dump(listing_items(run.run, summaries))
    key = fan_out.parts.put_listing(run.run, body)
    size = len(body) + len(
        '{"Items":}'
    )  # the children's inputs: ItemBatcher closes one at CHUNK_ENDPOINTS or CHUNK_BYTES
    execution = fan_out.executions.start(
        run.run, {"listing": key, "concurrency": fan_out.concurrency, "run": run.model_dump(mode="json")}
    )
    return {
        "schema": "sagewatch.scan-result/2",
        "status": "fanned-out",
        "reason": run.why,
        "endpoints": run.endpoints,
        "chunks": max(-(-run.endpoints // CHUNK_ENDPOINTS), -(-size // CHUNK_BYTES)),  # about: batches fill unevenly
        "execution": execution,
        "listing": key,
        "cadence": {"depth": run.depth} | ({"reason": run.reason} if run.reason else {}),
        "warnings": [],
    }


def run_thresholds(run: FanOutRun) -> Thresholds:
    """The thresholds the starting scan decided with (a bad one raises SettingsError naming it and the run)."""
    try:
        return Thresholds.from_strings({k: str(v) for k, v in run.thresholds.items()})
    except (SettingsError, KeyError) as exc:
        raise SettingsError(f"the thresholds of scans/{run.run}/run.json: {str(exc)[:300]}") from None


@dataclass(frozen=True)
class ChunkDependencies:
    inventory: Callable[[Sequence[Mapping[str, Any]]], Inventory]  # one that describes these listed endpoints
    metrics: MetricsReader
    catalog: Catalog
    conclusions: Callable[[], Conclusions]  # the deep scans' (an hourly run carries them)
    parts: ScanParts
    # the keep-serving dependency checks of the chunk's endpoints (each chunk spends its own daily budget)
    serving: ServingChecks | None = None


def scan_chunk(request: ChunkRequest, deps: ChunkDependencies) -> dict[str, Any]:
    """One chunk of a fanned-out scan: its endpoints described and judged as one scan would, the part written.
    Throttled reads raise ChunkThrottledError (the state machine retries with backoff) until the last attempt,
    which writes what it has: the endpoints it could not read are errors of the merged report."""
    started = time.monotonic()
    run = deps.parts.run(request.run)
    carry = deps.conclusions() if run.depth == "hourly" else None
    discovery = deps.inventory(chunk_summaries([item.model_dump() for item in request.Items])).discover()
    part = judge_part(
        discovery,
        deps.metrics,
        deps.catalog,
        run_thresholds(run),
        now=run.now,
        owner_tags=tuple(run.owner_tags),
        carry=carry,
    )
    if deps.serving is not None:
        part.dependencies, part.dependency_warnings = dependency_checks(deps.serving, discovery.endpoints, run.now)
    throttled = [e for e in part.discovery.errors + part.metric_errors if e.code in THROTTLED]
    if throttled and request.attempt + 1 < CHUNK_ATTEMPTS:
        first = throttled[0]
        raise ChunkThrottledError(
            f"{len(throttled)} reads throttled ({first.operation}: {first.code}); attempt {request.attempt + 1} "
            f"of {CHUNK_ATTEMPTS}"
        )
    part.seconds = round(time.monotonic() - started, 3)
    first_index = min(item.Index for item in request.Items)
    key = deps.parts.put_part(run.run, first_index, part_doc(part, first_index, len(request.Items)))
    return {
        "part": key,
        "first": first_index,
        "endpoints": len(request.Items),
        "findings": len(part.findings),
        "errors": len(part.discovery.errors) + len(part.metric_errors),
        "seconds": part.seconds,
    }


def part_doc(part: Part, first: int, size: int) -> dict[str, Any]:
    """A part as JSON: what finish_scan needs of its endpoints (their descriptions, findings, consolidation needs,
    conclusions, costs, problems)."""
    return {
        "schema": PART_SCHEMA,
        "first": first,
        "size": size,
        "discovery": to_wire(part.discovery),
        "findings": [f.to_dict() for f in part.findings],
        "needs": None if part.needs is None else to_wire(part.needs),
        "concluded": {name: c.to_mapping() for name, c in part.concluded.items()},
        "costs": part.costs,
        "tag_problems": part.tag_problems,
        "container_problems": part.container_problems,
        "metric_errors": to_wire(part.metric_errors),
        "series": part.series,
        "judged_in_full": part.judged_in_full,
        "seconds": part.seconds,
        "dependencies": None
        if part.dependencies is None
        else {name: facts.to_doc() for name, facts in part.dependencies.items()},
        "dependency_warnings": part.dependency_warnings,
    }


def part_from_doc(doc: Mapping[str, Any]) -> tuple[int, int, Part]:
    """(first index, endpoints, the part) of a part_doc(); ValueError naming what is wrong with it."""
    if doc.get("schema") != PART_SCHEMA:
        raise WireError(f"schema must be {PART_SCHEMA!r}, got {str(doc.get('schema'))[:80]!r}")
    first, size = from_wire(int, doc.get("first"), "first"), from_wire(int, doc.get("size"), "size")
    concluded = from_wire(dict[str, Any], doc.get("concluded"), "concluded")
    part = Part(
        discovery=from_wire(Discovery, doc.get("discovery"), "discovery"),
        findings=[Finding.from_dict(f) for f in from_wire(list[Any], doc.get("findings"), "findings")],
        needs=None if doc.get("needs") is None else from_wire(list[Need], doc["needs"], "needs"),
        concluded={name: Conclusion.from_mapping(name, c) for name, c in concluded.items()},
        costs=from_wire(dict[str, float | None], doc.get("costs"), "costs"),
        tag_problems=from_wire(list[str], doc.get("tag_problems"), "tag_problems"),
        container_problems=from_wire(list[str], doc.get("container_problems"), "container_problems"),
        metric_errors=from_wire(list[ScanError], doc.get("metric_errors"), "metric_errors"),
        series=from_wire(int, doc.get("series"), "series"),
        judged_in_full=from_wire(int, doc.get("judged_in_full"), "judged_in_full"),
        seconds=from_wire(float, doc.get("seconds"), "seconds"),
        dependency_warnings=from_wire(list[str], doc.get("dependency_warnings", []), "dependency_warnings"),
    )
    checked = doc.get("dependencies")
    if checked is not None:
        try:
            facts = from_wire(dict[str, dict[str, Any]], checked, "dependencies")
            part.dependencies = {name: DependencyFacts.from_doc(f) for name, f in facts.items()}
        except (KeyError, TypeError) as exc:
            raise WireError(f"dependencies: {str(exc)[:200]}") from None
    return first, size, part


def merge_parts(parts: ScanParts, run: FanOutRun) -> list[Part]:
    """The run's parts in listing order; where the listing has endpoints no readable part covers, a part that
    names them as not scanned (an error, so the report is incomplete and resolves nothing of theirs)."""
    listing = parts.listing(run.run)
    found = parts.parts(run.run)
    out: list[Part] = []
    covered_to = 0
    problems: dict[int, str] = {}
    for first in sorted(found):
        doc = found[first]
        if isinstance(doc, str):
            problems[first] = doc
            continue
        try:
            start, size, part = part_from_doc(doc)
        except (ValueError, TypeError) as exc:
            problems[first] = f"its part is unreadable: {str(exc)[:300]}"
            continue
        if start != covered_to:  # endpoints between the last part and this one: their chunk left nothing
            out.append(_not_scanned(listing[covered_to:start], run, problems.get(covered_to)))
        out.append(part)
        covered_to = max(covered_to, start + size)
    if covered_to < len(listing):
        out.append(_not_scanned(listing[covered_to:], run, problems.get(covered_to)))
    return out


def _not_scanned(items: Sequence[Mapping[str, Any]], run: FanOutRun, problem: str | None) -> Part:
    names = [str(i.get("EndpointName")) for i in items]
    where = f"endpoints {names[0]} to {names[-1]}" if len(names) > 1 else f"endpoint {names[0]}"
    why = problem or "its chunk failed after its retries (the state machine's execution says why)"
    error = ScanError(
        "ScanChunk",
        "ChunkNotScanned",
        f"{len(names):,} {where} of scan {run.run} were not judged: {why}"[:1000],
    )
    # nothing of theirs judged, nothing to check: the merge reads the other parts' checks, never checks them all
    return Part(Discovery(errors=[error], listed=names), dependencies={})


def chunk_summaries(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A chunk's items as ListEndpoints summaries (datetimes, no Index): what the inventory describes."""
    return [{k: v for k, v in item.items() if k not in ("Index", "run")} for item in items]


def dump(doc: Mapping[str, Any] | Sequence[Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def run_name(now: datetime, nonce: str) -> str:
    """scans/<run>/ and the execution's name: when, and a nonce (two scans in one second are two runs)."""
    return f"{iso_z(now, seconds=True).replace(':', '').replace('-', '')}-{nonce}"[:80]
