"""A scan past one function on moto (sagewatch.app.fanout): the scan function starts the state machine, each chunk
of the listing is judged on its own (the chunk use case, as the chunk function runs it), and the merge step
reports. The state machine is the template's, run in-process by the test kit (sagewatch_testkit.fanout_sim:
moto runs no Distributed Map). What it reports must be what one function scanning the same fleet reports."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from sagewatch.app.fanout import CHUNK_ATTEMPTS, ChunkThrottledError, fan_out_reason, scan_chunk
from sagewatch.app.scan import scheduled_scan
from sagewatch.aws.clients import Clients
from sagewatch.aws.wiring import chunk_dependencies, scan_dependencies
from sagewatch.catalog import Catalog
from sagewatch.requests import CHUNK_BYTES, CHUNK_ENDPOINTS, ChunkRequest, ScanRequest
from sagewatch.settings import ScanChunkSettings, SettingsError
from sagewatch_testkit import fanout_sim, faults, fleet, moto_ext
from sagewatch_testkit.aws_fixtures import drain
from sagewatch_testkit.fleet import DEMO_EXPECTED, conclusions

REGION = moto_ext.DEFAULT_REGION
ACCOUNT = "123456789012"
BUCKET = "sagewatch-remediation"


@pytest.fixture
def fan_out(scan_stack):
    """The scan stack with what a fanning-out stack adds: the bucket and the state machine (on moto)."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name="sagewatch-scan-test",
        definition=json.dumps(fanout_sim.definition()),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/scan-fan-out",
        type="STANDARD",
    )["stateMachineArn"]
    # no CloudTrail lookups: the first of two scans would look an owner up and the second read it from the cache
    settings = replace(scan_stack.settings, bucket=BUCKET, fan_out_state_machine=arn, owner_lookups=0)
    return replace(scan_stack, settings=settings)


class Chunks:
    """The chunk function's use case, its clients made once as a warm function keeps them; `throttle` makes the
    next chunk attempts' GetMetricData refused for its rate (past botocore's retries) that many times."""

    def __init__(self) -> None:
        self.clients = Clients(REGION)
        self.settings = ScanChunkSettings(region=REGION, state_table="state", bucket=BUCKET)
        self.throttled = 0
        self.calls = 0

    def throttle(self, attempts: int) -> None:
        self.throttled = attempts
        faults.fail_call(
            self.clients.cloudwatch(), "GetMetricData", "ThrottlingException", "Rate exceeded", when=self._now
        )

    def _now(self, _params: Any) -> bool:
        return self.throttled > 0

    def __call__(self, payload: dict[str, Any]) -> Any:
        self.calls += 1
        try:
            return scan_chunk(
                ChunkRequest.model_validate(payload),
                chunk_dependencies(self.settings, self.clients, Catalog.load(), ACCOUNT),
            )
        finally:
            self.throttled = max(0, self.throttled - 1)


def _fanned(stack, now: datetime, chunks: Chunks | None = None, *, publish: bool = False, size: int = 4):
    """A scan that fans out (asked to: the demo fleet is small), its execution run in-process with chunks of
    `size` endpoints; (the report, the merge's result, the execution, the starting scan's result)."""
    chunks = chunks or Chunks()
    request = ScanRequest.model_validate({"fan_out": "always", "publish": publish})
    started, result = scheduled_scan(stack.settings, request, scan_dependencies(stack.settings, ACCOUNT), now=now)
    assert started is None and result["status"] == "fanned-out", result
    sfn, s3 = boto3.client("stepfunctions", region_name=REGION), boto3.client("s3", region_name=REGION)
    execution_input = json.loads(sfn.describe_execution(executionArn=result["execution"])["input"])
    merged: dict[str, Any] = {}

    def merge(payload: dict[str, Any]) -> Any:
        report, answer = scheduled_scan(
            stack.settings, ScanRequest.model_validate(payload), scan_dependencies(stack.settings, ACCOUNT)
        )
        merged["report"] = report
        return answer

    execution = fanout_sim.run(
        execution_input,
        lambda bucket, key: s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
        chunks,
        merge,
        substitutions={"Bucket": BUCKET},
        max_items=size,
    )
    return merged["report"], execution.output, execution, result


def _same(a, b) -> None:
    """Two reports equal as JSON, their cadence's fan-out note aside."""
    left, right = json.loads(json.dumps(a.to_dict())), json.loads(json.dumps(b.to_dict()))
    for doc in (left, right):
        doc["cadence"].pop("fan_out", None)
    assert json.dumps(left, sort_keys=True, indent=1) == json.dumps(right, sort_keys=True, indent=1)


def test_the_fanned_out_scan_reports_what_one_function_reports(fan_out, sm, now):
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    single, _ = fan_out.run(now, publish=False)
    merged, result, execution, started = _fanned(fan_out, now)

    assert conclusions(single) == DEMO_EXPECTED  # the whole demo fleet: every kind, a consolidation across chunks
    _same(merged, single)
    chunks = -(-len(single.listed) // 4)
    assert started["chunks"] == 1 and len({a.batch for a in execution.attempts}) == chunks > 3
    assert execution.concurrency == fan_out.settings.fan_out_concurrency
    assert merged.cadence["fan_out"]["chunks"] == chunks and result["findings"] == len(single.findings)
    # each chunk's endpoints in a group: a consolidation groups endpoints that different chunks judged
    [group] = [f for f in merged.findings if f.kind.value == "consolidate"]
    members = [m["endpoint"] for m in group.evidence["endpoints"]]
    order = {name: i // 4 for i, name in enumerate(single.listed)}
    assert len({order[m] for m in members}) > 1, members
    # each chunk checked its own endpoints' dependencies (its own daily budget): the merge only reads the parts
    s3 = boto3.client("s3", region_name=REGION)
    prefix = f"scans/{merged.cadence['fan_out']['run']}/parts/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]]
    parts = [json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in keys]
    assert {name for p in parts for name in p["dependencies"]} == set(single.tags)


def test_an_hourly_fanned_out_scan_carries_the_deep_scans_conclusions_as_one_function_does(fan_out, sm, now):
    t0 = now.replace(minute=5, second=0, microsecond=0) - timedelta(hours=3)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    stack = replace(fan_out, settings=replace(fan_out.settings, deep_scan_hour=t0.hour))
    stack.run(t0)  # the day's deep scan, one function: its conclusions kept
    later = t0 + timedelta(hours=2)
    single, _ = stack.run(later, publish=False)
    merged, _, _, started = _fanned(stack, later)
    assert single.cadence["depth"] == "hourly" and started["cadence"] == {"depth": "hourly"}
    assert any(f.as_of is not None for f in merged.findings)
    _same(merged, single)


def test_a_fanned_out_scan_announces_once_what_one_function_would(fan_out, sm, now):
    """The digest, the state it writes and the summary: the same lifecycle as every scan."""
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    merged, result, _, _ = _fanned(fan_out, now, publish=True)
    assert result["announced"]["new"] == len(merged.findings) and result["published_message_ids"]
    [digest] = fan_out.digests()
    assert {a["finding"]["id"] for a in digest["announcements"]} == {f.id for f in merged.findings}
    assert len(drain(fan_out.sqs, fan_out.queues["summaries"][0])) == 1
    # the next scan (one function, hourly) carries what the fanned-out deep scan concluded: nothing new
    report, again = fan_out.run(now + timedelta(hours=1))
    assert again["cadence"]["depth"] == "hourly" and again["announced"]["new"] == 0
    assert {f.id for f in report.findings} == {f.id for f in merged.findings}


def test_a_throttled_chunk_is_retried_with_the_templates_backoff_and_nothing_is_lost(fan_out, sm, now):
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    single, _ = fan_out.run(now, publish=False)
    chunks = Chunks()
    chunks.throttle(1)  # the first attempt of the first chunk
    merged, _, execution, _ = _fanned(fan_out, now, chunks)
    first = [a for a in execution.attempts if a.batch == 0]
    assert [(a.retry_count, a.error) for a in first] == [(0, "ChunkThrottledError"), (1, None)]
    assert execution.failed == []
    _same(merged, single)


def test_a_chunk_throttled_on_every_attempt_keeps_what_it_read_and_names_the_rest(fan_out, sm, now):
    """The last attempt raises no more: the endpoints it could not read are errors of the report (incomplete:
    nothing of theirs is resolved), the other chunks' findings stand."""
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    chunks = Chunks()
    chunks.throttle(CHUNK_ATTEMPTS)
    merged, _, execution, _ = _fanned(fan_out, now, chunks)
    first = [a for a in execution.attempts if a.batch == 0]
    assert [a.error for a in first] == ["ChunkThrottledError"] * (CHUNK_ATTEMPTS - 1) + [None]
    rule = fanout_sim.definition()["States"]["ScanChunks"]["ItemProcessor"]["States"]["ScanChunk"]["Retry"][0]
    assert rule["ErrorEquals"] == ["ChunkThrottledError"] and rule["MaxAttempts"] == CHUNK_ATTEMPTS - 1
    assert any(e.code == "ThrottlingException" for e in merged.errors) and not merged.complete
    assert merged.findings  # the other chunks' findings are all there


def test_a_chunk_that_fails_for_good_is_named_in_the_report_never_silently_missing(fan_out, sm, now):
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    single, _ = fan_out.run(now, publish=False)

    class Broken(Chunks):
        def __call__(self, payload: dict[str, Any]) -> Any:
            if payload["Items"][0]["Index"] == 4:  # the second chunk
                raise RuntimeError("the function crashed")
            return super().__call__(payload)

    merged, result, execution, _ = _fanned(fan_out, now, Broken())
    assert execution.failed == [1]
    [error] = [e for e in merged.errors if e.code == "ChunkNotScanned"]
    lost = single.listed[4:8]
    assert f"endpoints {lost[0]} to {lost[-1]}" in error.message and error.endpoint is None
    assert not merged.complete and merged.listed == single.listed
    assert {f.id for f in merged.findings} < {f.id for f in single.findings}
    assert not {f.endpoint for f in merged.findings if f.kind.value != "consolidate"} & set(lost)
    assert result["errors"] >= 1


def test_a_part_that_is_not_a_part_is_named_too(fan_out, sm, now):
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    s3 = boto3.client("s3", region_name=REGION)

    class Tampered(Chunks):
        def __call__(self, payload: dict[str, Any]) -> Any:
            answer = super().__call__(payload)
            if payload["Items"][0]["Index"] == 0:
                s3.put_object(Bucket=BUCKET, Key=answer["part"], Body=b'{"schema": "sagewatch.scan-part/1"}')
            return answer

    merged, _, _, _ = _fanned(fan_out, now, Tampered())
    [error] = [e for e in merged.errors if e.code == "ChunkNotScanned"]
    assert "its part is unreadable" in error.message and "first" in error.message


def test_the_chunk_size_is_the_templates_and_fits_a_child_executions_input():
    batcher = fanout_sim.definition()["States"]["ScanChunks"]["ItemBatcher"]
    assert (batcher["MaxItemsPerBatch"], batcher["MaxInputBytesPerBatch"]) == (CHUNK_ENDPOINTS, CHUNK_BYTES)
    # 1,000 endpoints of the longest names AWS allows fit the byte bound in two batches at most
    item = {
        "run": "20261207T060000Z-0123abcd",
        "Index": 19999,
        "EndpointName": "e" * 63,
        "EndpointArn": f"arn:aws:sagemaker:ap-southeast-2:{ACCOUNT}:endpoint/{'e' * 63}",
        "EndpointStatus": "InService",
        "CreationTime": "2026-12-07T06:00:00Z",
        "LastModifiedTime": "2026-12-07T06:00:00Z",
    }
    assert len(fanout_sim.batches([item] * CHUNK_ENDPOINTS, batcher)) <= 2


@pytest.mark.parametrize(
    ("listed", "deep", "rate", "expected"),
    [
        (2001, False, None, "2,001 endpoints listed, more than ScanFanOutEndpoints (2,000)"),
        (2000, True, None, None),
        (1500, True, 0.2, "at the last deep scan's 0.2 s an endpoint, this deep scan of 1,500 endpoints would take"),
        (1500, False, 0.2, None),  # an hourly scan reads a third as much: counted as half
        (2000, False, 0.3, "at the last deep scan's 0.3 s an endpoint, this hourly scan of 2,000 endpoints"),
        (1000, True, 0.2, None),
    ],
)
def test_when_a_scan_fans_out(listed, deep, rate, expected):
    why = fan_out_reason(listed, threshold=2000, deep=deep, deep_rate=rate, budget=300)
    assert (why or "").startswith(expected or "") and (why is None) == (expected is None)


def test_chunk_throttled_error_is_what_the_template_retries():
    task = fanout_sim.definition()["States"]["ScanChunks"]["ItemProcessor"]["States"]["ScanChunk"]
    assert ChunkThrottledError.__name__ in task["Retry"][0]["ErrorEquals"]


def test_a_chunk_whose_run_was_written_otherwise_fails_naming_it_and_writes_nothing(fan_out, sm, now):
    """scans/RUN/run.json is another function's file: read strictly, a wrong one is an error naming the object
    (the chunk fails, the merge names its endpoints), never a chunk judged under thresholds nobody set."""
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    s3 = boto3.client("s3", region_name=REGION)
    request = ScanRequest.model_validate({"fan_out": "always", "publish": False})
    _, started = scheduled_scan(fan_out.settings, request, scan_dependencies(fan_out.settings, ACCOUNT), now=now)
    run = started["listing"].removesuffix("/listing.json")
    doc = json.loads(s3.get_object(Bucket=BUCKET, Key=f"{run}/run.json")["Body"].read())
    doc["thresholds"]["saturation_pct"] = 10  # below the target utilization: no such settings exist
    s3.put_object(Bucket=BUCKET, Key=f"{run}/run.json", Body=json.dumps(doc).encode())
    items = json.loads(s3.get_object(Bucket=BUCKET, Key=started["listing"])["Body"].read())
    with pytest.raises(SettingsError, match=r"run\.json: SAGEWATCH_SATURATION_PCT .* got 10"):
        Chunks()({"Items": items[:4], "attempt": 0})
    s3.put_object(Bucket=BUCKET, Key=f"{run}/run.json", Body=b'{"run": "x"}')
    with pytest.raises(ValueError, match=f"s3://{BUCKET}/{run}/run.json is not a fanned-out scan's run"):
        Chunks()({"Items": items[:4], "attempt": 0})
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{run}/parts/")
