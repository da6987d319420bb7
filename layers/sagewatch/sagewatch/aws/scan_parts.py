"""A fanned-out scan's files in the stack bucket (scans/RUN/listing.json, scans/RUN/parts/FIRST.json) and the
state machine it starts (sagewatch.app.fanout). The bucket's lifecycle rule expires scans/ after a week."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from sagewatch.app.fanout import dump
from sagewatch.requests import FanOutRun

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

PREFIX = "scans/"
MAX_PARTS = 2_000  # a run of 2,000,000 endpoints: the listing loop's bound


class BucketScanParts:
    def __init__(self, client: S3Client, bucket: str):
        self.client = client
        self.bucket = bucket

    def put_run(self, run: FanOutRun) -> str:
        key = f"{PREFIX}{run.run}/run.json"
        body = run.model_dump_json().encode()
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        return key

    def run(self, name: str) -> FanOutRun:
        key = f"{PREFIX}{name}/run.json"
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        try:
            return FanOutRun.model_validate_json(body)
        except ValidationError as exc:
            raise ValueError(f"s3://{self.bucket}/{key} is not a fanned-out scan's run: {str(exc)[:500]}") from None

    def put_listing(self, run: str, body: bytes) -> str:
        key = f"{PREFIX}{run}/listing.json"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
        return key

    def listing(self, run: str) -> list[dict[str, Any]]:
        """The run's listing; raises (naming the object) when it cannot be read: without it nothing is known of
        what the chunks should have covered, and the merge fails loudly (ScanFanOutFailedAlarm)."""
        key = f"{PREFIX}{run}/listing.json"
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        doc = json.loads(body)
        if not isinstance(doc, list) or not all(isinstance(i, dict) and "EndpointName" in i for i in doc):
            raise ValueError(f"s3://{self.bucket}/{key} is not a scan's listing (a list of endpoint summaries)")
        return doc

    def put_part(self, run: str, first: int, doc: Mapping[str, Any]) -> str:
        key = f"{PREFIX}{run}/parts/{first:09d}.json"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=dump(doc), ContentType="application/json")
        return key

    def parts(self, run: str) -> dict[int, dict[str, Any] | str]:
        """Each part by the listing index it starts at: its document, or why it could not be read."""
        prefix = f"{PREFIX}{run}/parts/"
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])][:MAX_PARTS]
        out: dict[int, dict[str, Any] | str] = {}
        for key in keys:
            name = key[len(prefix) :].removesuffix(".json")
            if not name.isdigit():
                continue  # not a part this version writes
            try:
                doc = json.loads(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
            except (ClientError, BotoCoreError, ValueError) as exc:
                out[int(name)] = f"its part s3://{self.bucket}/{key} could not be read ({type(exc).__name__})"
                continue
            out[int(name)] = doc if isinstance(doc, dict) else f"s3://{self.bucket}/{key} is not an object"
        return out


class StepFunctionsExecutions:
    """Starts the stack's fan-out state machine (a Standard one: its Distributed Map runs child executions)."""

    def __init__(self, client: SFNClient, state_machine_arn: str):
        self.client = client
        self.arn = state_machine_arn

    def start(self, name: str, doc: Mapping[str, Any]) -> str:
        answer = self.client.start_execution(stateMachineArn=self.arn, name=name, input=json.dumps(doc))
        return answer["executionArn"]
