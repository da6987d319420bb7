"""ReserveConcurrency=false: no reserved concurrency keeps two scans apart, the lock item lock#scan in the state
table does (SAGEWATCH_SCAN_LOCK=true). The scan function's handler, run in-process on moto."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace

import boto3
import pytest

from sagewatch.app.ports import Lease
from sagewatch.app.scan import ScanBusyError, exclusive_scan
from sagewatch.aws.lock import TableLock
from sagewatch.aws.wiring import scan_dependencies
from sagewatch.requests import ScanRequest
from sagewatch.settings import ScanSettings, SettingsError
from sagewatch_testkit import fanout_sim, fleet
from sagewatch_testkit.aws_fixtures import ScanStack, drain, id_table, watch_queue
from sagewatch_testkit.fleet import DEMO_FINDINGS
from sagewatch_testkit.functions import lambda_context, load_function, sample_event

REGION = "us-east-1"
TABLE = "sagewatch-state"


@pytest.fixture
def ddb(aws):
    client = boto3.client("dynamodb", region_name=REGION)
    id_table(client, TABLE)
    return client


@pytest.fixture
def locked_stack(ddb, sm, now, monkeypatch):
    """The scan function as a ReserveConcurrency=false stack configures it, over the demo fleet."""
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="sagewatch")["TopicArn"]
    queue, arn = watch_queue(sqs, "digests")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    for key, value in {
        "SAGEWATCH_TOPIC_ARN": topic,
        "SAGEWATCH_STATE_TABLE": TABLE,
        "SAGEWATCH_SCAN_LOCK": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "sagewatch",
        "POWERTOOLS_METRICS_NAMESPACE": "Sagewatch",
    }.items():
        monkeypatch.setenv(key, value)
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    return SimpleNamespace(app=load_function("scan"), digests=lambda: drain(sqs, queue))


def lock_item(ddb):
    return ddb.get_item(TableName=TABLE, Key={"id": {"S": "lock#scan"}}, ConsistentRead=True).get("Item")


def hold(ddb, holder: str, until: datetime) -> None:
    ddb.put_item(
        TableName=TABLE,
        Item={"id": {"S": "lock#scan"}, "holder": {"S": holder}, "expires_at": {"N": str(int(until.timestamp()))}},
    )


# --- the lock itself ---------------------------------------------------------------------------------------


def test_one_holder_at_a_time_until_its_lease_ends(ddb, now):
    lock = TableLock(ddb, TABLE, "scan")
    first = lock.acquire("run-1", now, now + timedelta(minutes=6))
    assert first == Lease(True, "run-1", now + timedelta(minutes=6))
    second = lock.acquire("run-2", now + timedelta(minutes=1), now + timedelta(minutes=7))
    assert not second.taken and second.holder == "run-1"
    assert second.until == (now + timedelta(minutes=6)).replace(microsecond=0)
    # a run that died without giving it back blocks nobody once its lease has ended
    third = lock.acquire("run-3", now + timedelta(minutes=7), now + timedelta(minutes=13))
    assert third.taken
    assert lock_item(ddb)["holder"]["S"] == "run-3"


def test_only_the_holder_gives_it_back(ddb, now):
    lock = TableLock(ddb, TABLE, "scan")
    assert lock.acquire("run-1", now, now + timedelta(minutes=6)).taken
    lock.release("run-2")  # not theirs: nothing happens, nothing raised
    assert lock_item(ddb)["holder"]["S"] == "run-1"
    lock.release("run-1")
    assert lock_item(ddb) is None
    lock.release("run-1")  # twice: already gone, still nothing raised
    assert lock.acquire("run-2", now, now + timedelta(minutes=6)).taken


# --- the scan function with it -----------------------------------------------------------------------------


def test_a_scan_takes_the_lock_scans_and_gives_it_back(locked_stack, ddb):
    result = locked_stack.app.lambda_handler(sample_event("scan-schedule.json"), lambda_context("scan"))
    assert result["findings"] == DEMO_FINDINGS and result["published_message_ids"] and result["warnings"] == []
    assert len(locked_stack.digests()) == 1
    assert lock_item(ddb) is None  # given back
    states = ddb.scan(TableName=TABLE)["Items"]
    assert states and all(not i["id"]["S"].startswith("lock#") for i in states)


def test_while_another_scan_holds_the_lock_a_scan_does_nothing_and_says_so(locked_stack, ddb, now, capsys):
    until = now + timedelta(minutes=5)
    hold(ddb, "other-run", until)
    result = locked_stack.app.lambda_handler(sample_event("scan-schedule.json"), lambda_context("scan"))
    assert result["status"] == "overlapping", result
    # counted, for ScansSkippedAlarm (scans that keep skipping send no digest)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert [m["ScansSkipped"] for m in emf if "ScansSkipped" in m] == [[1.0]]
    assert "other-run" in result["reason"] and "lock#scan" in result["reason"]
    assert locked_stack.digests() == []  # nothing announced
    assert [i["id"]["S"] for i in ddb.scan(TableName=TABLE)["Items"]] == ["lock#scan"]  # no state written
    assert lock_item(ddb)["holder"]["S"] == "other-run"  # and the other run's lock left alone


def test_a_fanned_out_scans_merge_waits_for_the_lock_rather_than_drop_its_report(locked_stack, ddb, now):
    """The schedule runs a skipped scan again; nothing runs a skipped merge again but its state machine, which
    retries ScanBusyError (its Merge state's Retry): the merge raises it, reading and announcing nothing."""
    hold(ddb, "other-run", now + timedelta(minutes=5))
    with pytest.raises(ScanBusyError, match=r"other-run.*20261207T060000Z-5ca1ab1e"):
        locked_stack.app.lambda_handler(sample_event("scan-merge.json"), lambda_context("scan"))
    assert locked_stack.digests() == [] and lock_item(ddb)["holder"]["S"] == "other-run"
    merge = fanout_sim.definition()["States"]["Merge"]
    assert [ScanBusyError.__name__] in [rule["ErrorEquals"] for rule in merge["Retry"]]


def test_a_lock_left_by_a_run_that_died_does_not_block_the_next_scan(locked_stack, ddb, now):
    hold(ddb, "dead-run", now - timedelta(minutes=1))
    result = locked_stack.app.lambda_handler(sample_event("scan-schedule.json"), lambda_context("scan"))
    assert result["findings"] == DEMO_FINDINGS and len(locked_stack.digests()) == 1
    assert lock_item(ddb) is None


@pytest.mark.parametrize("hours", [1, 24 * 365])
def test_a_lease_longer_than_any_run_takes_is_ignored(locked_stack, ddb, now, hours):
    """A lease ending later than the function's timeout and a minute (and a minute's slack) was written by no run
    (a planted or corrupt item): it does not stop the scans."""
    hold(ddb, "planted", now + timedelta(hours=hours))
    result = locked_stack.app.lambda_handler(sample_event("scan-schedule.json"), lambda_context("scan"))
    assert result["findings"] == DEMO_FINDINGS and len(locked_stack.digests()) == 1, result
    assert lock_item(ddb) is None


def test_a_lease_within_a_runs_time_is_respected(ddb, now):
    lock = TableLock(ddb, TABLE, "scan")
    started = now - timedelta(seconds=2)  # a run that started a moment earlier than ours: its lease ends later
    assert lock.acquire("run-1", started, started + timedelta(seconds=300 + 60)).taken
    ours = lock.acquire("run-2", now, now + timedelta(seconds=299 + 60))
    assert not ours.taken and ours.holder == "run-1"


def test_the_finding_state_passes_over_the_lock_item(locked_stack, ddb, now):
    """A scan reads the state table while its own lock item is in it (and a rescan while another's has lapsed)."""
    locked_stack.app.lambda_handler(sample_event("scan-schedule.json"), lambda_context("scan"))
    locked_stack.digests()
    hold(ddb, "dead-run", now - timedelta(minutes=1))
    again = locked_stack.app.lambda_handler(sample_event("scan-schedule.json"), lambda_context("scan"))
    assert again["announced"]["new"] == 0 and again["announced"]["unchanged"] == DEMO_FINDINGS, again
    assert locked_stack.digests() == []  # nothing new: no second digest


def test_a_scan_that_does_not_publish_needs_no_lock(locked_stack, ddb, now):
    hold(ddb, "other-run", now + timedelta(minutes=5))
    result = locked_stack.app.lambda_handler(sample_event("scan-manual-no-publish.json"), lambda_context("scan"))
    assert result["findings"] == DEMO_FINDINGS and "status" not in result


def test_without_the_setting_there_is_no_lock(aws, sm, now):
    """ReserveConcurrency=true (the default): reserved concurrency 1 does it, and a lock item means nothing."""
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    stack = ScanStack.create(REGION)
    assert stack.settings.scan_lock is False
    ddb = boto3.client("dynamodb", region_name=REGION)
    table = stack.settings.state_table
    ddb.put_item(
        TableName=table, Item={"id": {"S": "lock#scan"}, "holder": {"S": "x"}, "expires_at": {"N": "4102444800"}}
    )
    assert stack(now)["findings"] == DEMO_FINDINGS


class BrokenLock:
    def acquire(self, holder: str, now: datetime, until: datetime) -> Lease:
        raise RuntimeError("DynamoDB is having a day")

    def release(self, holder: str) -> None:
        raise AssertionError("never taken, never given back")


def test_an_unreachable_lock_does_not_stop_the_scan(aws, sm, now):
    """A digest twice is better than none: the scan goes on without the lock and says so."""
    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    stack = ScanStack.create(REGION)
    deps = replace(scan_dependencies(stack.settings, "123456789012"), lock=BrokenLock())
    report, result = exclusive_scan(stack.settings, ScanRequest(), deps, holder="run-1", lease_seconds=360, now=now)
    assert report is not None and result["findings"] == DEMO_FINDINGS
    assert result["warnings"][0].startswith("the scan lock could not be taken (RuntimeError: DynamoDB is having a day)")
    assert len(stack.digests()) == 1


def test_the_setting_is_read_strictly():
    env = {
        "AWS_REGION": REGION,
        "SAGEWATCH_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
        "SAGEWATCH_STATE_TABLE": TABLE,
    }
    assert ScanSettings.from_env(env | {"SAGEWATCH_SCAN_LOCK": "true"}).scan_lock is True
    assert ScanSettings.from_env(env).scan_lock is False
    with pytest.raises(SettingsError, match="SAGEWATCH_SCAN_LOCK must be true or false, got 'yes'"):
        ScanSettings.from_env(env | {"SAGEWATCH_SCAN_LOCK": "yes"})
