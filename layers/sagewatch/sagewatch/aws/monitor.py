"""What the Model Monitor handler reads: the processing job, its schedule, its violations file.

An answer that says "no" (not found, access denied, invalid) becomes None or a ViolationsReadError, which the
alert reports; a transient failure (throttling, 5xx, network) is raised, so that Lambda retries the event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.clients import error_code, error_message, is_transient
from sagewatch.bounds import NAME_MAX, TEXT_MAX, bounded
from sagewatch.inventory import tags_to_dict
from sagewatch.monitoring import ViolationsReadError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

MAX_VIOLATIONS_BYTES = 10 * 1024 * 1024  # a violations file is kilobytes; refuse to load anything huge
_NAME_LIMIT = 63  # SageMaker names (jobs, schedules) are at most 63 characters: longer ones are not asked about


class MonitorReader:
    def __init__(self, sagemaker: SageMakerClient, s3: S3Client, endpoint_arn_prefix: str | None = None):
        self.sagemaker = sagemaker
        self.s3 = s3
        self.endpoint_arn_prefix = endpoint_arn_prefix  # arn:PARTITION:sagemaker:REGION:ACCOUNT:endpoint/

    def endpoint_tags(self, name: str) -> dict[str, str]:
        """The endpoint's tags (its owner, its route); none when they cannot be read: an alert never waits for
        them, nor fails for them."""
        if not self.endpoint_arn_prefix or len(name) > _NAME_LIMIT:
            return {}
        try:
            pages = self.sagemaker.get_paginator("list_tags").paginate(
                ResourceArn=self.endpoint_arn_prefix + name.lower()
            )
            return tags_to_dict(
                [{"Key": t["Key"], "Value": t.get("Value", "")} for p in pages for t in p.get("Tags", [])]
            )
        except (ClientError, BotoCoreError):
            return {}

    def processing_job(self, name: str) -> dict[str, Any] | None:
        if len(name) > NAME_MAX:
            return None
        try:
            return dict(self.sagemaker.describe_processing_job(ProcessingJobName=name))
        except (ClientError, BotoCoreError) as exc:
            if is_transient(exc):
                raise
            return None
        except (AttributeError, TypeError, ValueError):
            # botocore could not parse the answer into DescribeProcessingJob's shape (a field of another
            # type): a document that cannot be read is no monitoring run anyone can act on
            return None

    def monitoring_type(self, schedule: str | None) -> str | None:
        """DataQuality, ModelQuality, ModelBias or ModelExplainability; None if it cannot be told."""
        if not schedule or len(schedule) > _NAME_LIMIT:
            return None
        try:
            response = self.sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule)
        except (ClientError, BotoCoreError) as exc:
            if is_transient(exc):
                raise
            return None
        value = response.get("MonitoringType")
        return value if isinstance(value, str) and value else None

    def read(self, uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not bucket or not key:
            raise ViolationsReadError(f"{bounded(uri)} is not an S3 object URI")
        try:
            obj = self.s3.get_object(Bucket=bucket, Key=key)
            if int(obj.get("ContentLength", 0)) > MAX_VIOLATIONS_BYTES:
                raise ViolationsReadError(f"{uri} is larger than {MAX_VIOLATIONS_BYTES} bytes")
            body: bytes = obj["Body"].read(MAX_VIOLATIONS_BYTES + 1)
            if len(body) > MAX_VIOLATIONS_BYTES:
                raise ViolationsReadError(f"{uri} is larger than {MAX_VIOLATIONS_BYTES} bytes")
            return body
        except ClientError as exc:
            if is_transient(exc):
                raise
            code = error_code(exc)
            raise ViolationsReadError(
                bounded(f"cannot read {uri}: {code}: {error_message(exc)}", TEXT_MAX),
                not_found=code in ("NoSuchKey", "NoSuchBucket", "404", "NotFound"),
            ) from exc
        except BotoCoreError:
            raise  # the network: transient
