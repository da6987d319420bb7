"""The fan-out's pure parts: what a chunk hands the merge (a part, JSON both ways, strict), the requests the state
machine sends (events/scan-chunk.json, events/scan-merge.json, events/scan-fan-out.json), its settings, and the
merge naming what no part covers."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sagewatch.app.fanout import merge_parts, part_doc, part_from_doc
from sagewatch.app.judge import Part
from sagewatch.cadence import Conclusion
from sagewatch.models import (
    Autoscaling,
    Discovery,
    Endpoint,
    ScalingPolicy,
    ScanError,
    ServerlessSpec,
    Skipped,
    Variant,
)
from sagewatch.requests import ChunkRequest, FanOutRun, ScanRequest
from sagewatch.serving import Dependency, DependencyFacts
from sagewatch.settings import ScanSettings, SettingsError
from sagewatch.wire import WireError, from_wire, to_wire

EVENTS = Path(__file__).resolve().parents[2] / "events"
T = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _endpoint(name: str = "support-chatbot") -> Endpoint:
    return Endpoint(
        name=name,
        arn=f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}",
        status="InService",
        creation_time=T,
        last_modified_time=T,
        config_name=f"{name}-config",
        is_async=False,
        variants=(
            Variant(
                "AllTraffic",
                "ml.g5.xlarge",
                2,
                autoscaling=Autoscaling(1, 4, (ScalingPolicy("tt", "TargetTrackingScaling", 70.0, "Invocations"),)),
            ),
            Variant("Serverless", None, 0, serverless=ServerlessSpec(2048, 10, 2)),
        ),
        tags={"owner": "ml-platform"},
        component_scaling={"ic-1": Autoscaling(0, 2)},
    )


def test_an_endpoint_goes_through_json_and_comes_back_equal():
    discovery = Discovery(
        endpoints=[_endpoint()],
        skipped=[Skipped("old", "status is Failed", "Failed", since=T, failure_reason="no capacity")],
        errors=[ScanError("DescribeEndpoint", "ThrottlingException", "Rate exceeded", "x")],
        listed=["support-chatbot", "old", "x"],
        missing_configs=[("gone", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/gone", "gone-config")],
    )
    doc = json.loads(json.dumps(to_wire(discovery)))
    assert from_wire(Discovery, doc) == discovery


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["endpoints"][0]["variants"][0].update(instance_count="2"),
            "variants[0].instance_count must be int",
        ),
        (lambda d: d["endpoints"][0].pop("arn"), "endpoints[0].arn is missing"),
        (lambda d: d["endpoints"][0].update(creation_time="yesterday"), "creation_time must be an ISO 8601 time"),
        (lambda d: d["endpoints"][0].update(creation_time="2026-12-07T06:00:00"), "must carry its offset"),
        (lambda d: d["missing_configs"].append(["a", "b"]), "missing_configs[0] must have 3 items"),
        (lambda d: d.update(endpoints={}), "endpoints must be a list"),
        (lambda d: d["endpoints"][0]["tags"].update(owner=7), "tags.owner must be str"),
    ],
)
def test_a_part_written_otherwise_is_refused_naming_where(change, message):
    doc = json.loads(json.dumps(to_wire(Discovery(endpoints=[_endpoint()]))))
    change(doc)
    with pytest.raises(WireError, match=re.escape(message)):
        from_wire(Discovery, doc, "discovery")


def _checked(name: str) -> DependencyFacts:
    return DependencyFacts(T, (Dependency("model", f"{name}-model", "AllTraffic", "present"),))


def _part(first: int, names: list[str]) -> dict[str, Any]:
    part = Part(
        Discovery(endpoints=[_endpoint(n) for n in names], listed=list(names)),
        needs=[],
        concluded={n: Conclusion(n, T, T) for n in names},
        costs=dict.fromkeys(names, 1234.5),
        series=20 * len(names),
        judged_in_full=len(names),
        seconds=1.5,
        dependencies={
            n: DependencyFacts(T, (Dependency("model", f"{n}-model", "AllTraffic", "present"),)) for n in names
        },
        dependency_warnings=["dependencies of 3 endpoints are checked on the next scans (1000 calls a scan)"],
    )
    return json.loads(json.dumps(part_doc(part, first, len(names))))


def test_a_part_round_trips():
    doc = _part(0, ["a", "b"])
    first, size, part = part_from_doc(doc)
    assert (first, size, part.series, part.costs) == (0, 2, 40, {"a": 1234.5, "b": 1234.5})
    assert part.discovery.endpoints == [_endpoint("a"), _endpoint("b")] and set(part.concluded) == {"a", "b"}
    assert part.dependencies is not None and part.dependencies["a"].dependencies[0].ref == "a-model"
    assert part.dependency_warnings == doc["dependency_warnings"]
    with pytest.raises(WireError, match="dependencies"):
        part_from_doc({**doc, "dependencies": {"a": {"checked_at": "never"}}})
    with pytest.raises(WireError, match="schema must be"):
        part_from_doc({**doc, "schema": "sagewatch.scan-part/0"})


class Parts:
    """The bucket's scans/RUN/ as a dict."""

    def __init__(self, listing: list[str], parts: dict[int, dict[str, Any] | str]):
        self._listing = [{"EndpointName": n} for n in listing]
        self._parts = parts

    def listing(self, run: str) -> list[dict[str, Any]]:
        return self._listing

    def parts(self, run: str) -> dict[int, dict[str, Any] | str]:
        return self._parts


RUN = FanOutRun.model_validate_json((EVENTS.parent / "tests" / "fixtures" / "fan-out" / "run.json").read_text())


def test_the_merge_names_each_stretch_of_the_listing_no_part_covers():
    names = [f"e{i}" for i in range(10)]
    found = {0: _part(0, names[:3]), 6: _part(6, names[6:9]), 3: "its part s3://b/k could not be read (ClientError)"}
    parts = merge_parts(Parts(names, found), RUN)  # type: ignore[arg-type]
    assert [p.discovery.listed for p in parts] == [names[:3], names[3:6], names[6:9], names[9:]]
    [missing_middle] = parts[1].discovery.errors
    assert missing_middle.endpoint is None and missing_middle.code == "ChunkNotScanned"
    assert "3 endpoints e3 to e5" in missing_middle.message and "could not be read" in missing_middle.message
    assert "endpoint e9 " in parts[3].discovery.errors[0].message
    assert "failed after its retries" in parts[3].discovery.errors[0].message
    assert parts[1].dependencies == parts[3].dependencies == {}  # the merge checks nothing itself


def test_the_sample_events_are_what_the_state_machine_sends():
    chunk = ChunkRequest.model_validate_json((EVENTS / "scan-chunk.json").read_text())
    merge = ScanRequest.model_validate_json((EVENTS / "scan-merge.json").read_text())
    start = ScanRequest.model_validate_json((EVENTS / "scan-fan-out.json").read_text())
    assert chunk.run == merge.merge == RUN.run and start.fan_out == "always"
    assert RUN.endpoints == len(chunk.Items)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["Items"][1].update(run="another-run"), "one run"),
        (lambda d: d["Items"][0].update(EndpointName="no spaces allowed"), "EndpointName"),
        (lambda d: d["Items"][0].update(CreationTime="2026-12-07T06:00:00"), "CreationTime"),
        (lambda d: d.update(Items=[]), "Items"),
        (lambda d: d.update(BatchInput={}), "BatchInput"),
    ],
)
def test_a_chunk_request_otherwise_is_refused_naming_the_field(change, field):
    doc = json.loads((EVENTS / "scan-chunk.json").read_text())
    change(doc)
    with pytest.raises(ValidationError, match=field):
        ChunkRequest.model_validate(doc)


def test_a_bad_scan_request_names_the_field():
    for doc, field in (({"depth": "weekly"}, "depth"), ({"fan_out": "sometimes"}, "fan_out")):
        with pytest.raises(ValidationError, match=field):
            ScanRequest.model_validate(doc)
    with pytest.raises(ValidationError, match="merge"):
        ScanRequest.model_validate({"merge": "../../etc"})


BASE = {"AWS_REGION": "us-east-1", "SAGEWATCH_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "SAGEWATCH_STATE_TABLE": "s"}


def test_fan_out_settings():
    settings = ScanSettings.from_env(BASE)
    assert (settings.fan_out_state_machine, settings.fan_out_endpoints, settings.fan_out_concurrency) == (None, 2000, 3)
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:sagewatch-scan-x"
    assert ScanSettings.from_env(BASE | {"SAGEWATCH_FAN_OUT_STATE_MACHINE": arn}).fan_out_state_machine == arn
    for key, value in (
        ("SAGEWATCH_FAN_OUT_STATE_MACHINE", "arn:aws:lambda:us-east-1:1:function:f"),
        ("SAGEWATCH_FAN_OUT_ENDPOINTS", "-1"),
        ("SAGEWATCH_FAN_OUT_CONCURRENCY", "0"),
        ("SAGEWATCH_FAN_OUT_CONCURRENCY", "21"),
    ):
        with pytest.raises(SettingsError, match=key):
            ScanSettings.from_env(BASE | {key: value})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(owner_tags=["x" * 1_000_000]), "owner_tags"),  # AWS tag keys are 128 at most
        (lambda d: d["thresholds"].update(schedule_timezone="x" * 1_000_000), "thresholds"),
        (lambda d: d.update(why="<!channel> " * 1000), "why"),
        (lambda d: d.update(run="20261207T060000Z/../x"), "run"),
        (lambda d: d.update(now="2026-12-07T06:00:00"), "now"),  # no offset: a time nobody can place
    ],
)
def test_a_run_written_otherwise_is_refused_naming_the_field(change, field):
    """scans/RUN/run.json is the starting scan's file (tests/fixtures/fan-out/run.json: as it writes one)."""
    doc = RUN.model_dump(mode="json")
    change(doc)
    with pytest.raises(ValidationError, match=field):
        FanOutRun.model_validate(doc)
