"""Resources the stack's template creates, made on moto for tests: tables keyed on id, watched queues, and the
scan function's whole neighbourhood (topic, state table, bus)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3

from sagewatch.app.scan import scheduled_scan
from sagewatch.aws.wiring import scan_dependencies
from sagewatch.org import FINDING_DETAIL_TYPE, SCAN_SUMMARY_DETAIL_TYPE
from sagewatch.requests import ScanRequest
from sagewatch.scan_report import ScanReport
from sagewatch.settings import ScanSettings


def id_table(ddb: Any, name: str) -> str:
    """An on-demand table keyed on the string `id` (the state and idempotency tables' shape)."""
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    return name


def watch_queue(sqs: Any, name: str) -> tuple[str, str]:
    """A queue to watch what a topic or a bus carries: (url, arn)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(sqs: Any, url: str) -> list[Any]:
    """Every message waiting in a queue (JSON bodies), removed from it."""
    out: list[Any] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        out += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return out


def put_s3_object(uri: str, body: bytes | None, region: str) -> None:
    """Create the bucket of an s3:// URI if needed, and the object unless `body` is None."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3 = boto3.client("s3", region_name=region)
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=bucket)
    if body is not None:
        s3.put_object(Bucket=bucket, Key=key, Body=body)


@dataclass
class ScanStack:
    """What the template gives the scan function, on moto: topic and state table; plus queues that watch the
    topic (digests) and the default bus (finding events; scan summaries apart). Calling it runs one scheduled
    scan."""

    settings: ScanSettings
    sqs: Any
    queues: dict[str, tuple[str, str]]

    @classmethod
    def create(cls, region: str) -> ScanStack:
        sns, sqs = boto3.client("sns", region_name=region), boto3.client("sqs", region_name=region)
        events, ddb = boto3.client("events", region_name=region), boto3.client("dynamodb", region_name=region)
        topic = sns.create_topic(Name="sagewatch")["TopicArn"]
        id_table(ddb, "state")
        queues = {name: watch_queue(sqs, name) for name in ("digest", "bus", "summaries")}
        sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queues["digest"][1], Attributes={"RawMessageDelivery": "true"}
        )
        for rule, detail_type, queue in (
            ("findings", FINDING_DETAIL_TYPE, "bus"),
            ("summaries", SCAN_SUMMARY_DETAIL_TYPE, "summaries"),
        ):
            events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["sagewatch"], "detail-type": [detail_type]}))
            events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queues[queue][1]}])
        settings = ScanSettings.from_env(
            {
                "AWS_REGION": region,
                "SAGEWATCH_TOPIC_ARN": topic,
                "SAGEWATCH_STATE_TABLE": "state",
                "SAGEWATCH_RENOTIFY_DAYS": "7",
            }
        )
        return cls(settings, sqs, queues)

    def run(self, now: datetime, depth: str = "auto", *, publish: bool = True) -> tuple[ScanReport, dict[str, Any]]:
        """One scheduled scan with clients made now (so faults injected into new clients apply); `depth` as the
        scan request's (auto: the day's first from DeepScanHour is deep)."""
        request = ScanRequest.model_validate({"depth": depth, "publish": publish})
        report, result = scheduled_scan(
            self.settings, request, scan_dependencies(self.settings, "123456789012"), now=now
        )
        assert report is not None, result  # a scan that fanned out reports from its merge step
        return report, result

    def __call__(self, now: datetime) -> dict[str, Any]:
        return self.run(now)[1]

    def digests(self) -> list[Any]:
        return drain(self.sqs, self.queues["digest"][0])

    def bus(self) -> list[Any]:
        return drain(self.sqs, self.queues["bus"][0])

    def summaries(self) -> list[Any]:
        """The scan summary events (one per scheduled scan)."""
        return drain(self.sqs, self.queues["summaries"][0])
