"""What the Model Monitor handler reads: the processing job, its schedule, its violations file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.clients import error_code, error_message
from sagewatch.monitoring import ViolationsReadError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

MAX_VIOLATIONS_BYTES = 10 * 1024 * 1024  # a violations file is kilobytes; refuse to load anything huge


class MonitorReader:
    def __init__(self, sagemaker: SageMakerClient, s3: S3Client):
        self.sagemaker = sagemaker
        self.s3 = s3

    def processing_job(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.sagemaker.describe_processing_job(ProcessingJobName=name))
        except (ClientError, BotoCoreError):
            return None

    def monitoring_type(self, schedule: str | None) -> str | None:
        """DataQuality, ModelQuality, ModelBias or ModelExplainability; None if it cannot be told."""
        if not schedule:
            return None
        try:
            response = self.sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule)
        except (ClientError, BotoCoreError):
            return None
        value = response.get("MonitoringType")
        return str(value) if value else None

    def read(self, uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            obj = self.s3.get_object(Bucket=bucket, Key=key)
            if int(obj.get("ContentLength", 0)) > MAX_VIOLATIONS_BYTES:
                raise ViolationsReadError(f"{uri} is larger than {MAX_VIOLATIONS_BYTES} bytes")
            body: bytes = obj["Body"].read()
            return body
        except ClientError as exc:
            code = error_code(exc)
            raise ViolationsReadError(
                f"cannot read {uri}: {code}: {error_message(exc)}",
                not_found=code in ("NoSuchKey", "NoSuchBucket", "404", "NotFound"),
            ) from exc
        except BotoCoreError as exc:
            raise ViolationsReadError(f"cannot read {uri}: {exc}") from exc
