"""boto3 clients with the retry behaviour sagewatch relies on."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoRegionError,
    ParamValidationError,
    ReadTimeoutError,
)

from sagewatch import __version__

if TYPE_CHECKING:
    from mypy_boto3_application_autoscaling import ApplicationAutoScalingClient
    from mypy_boto3_ce import CostExplorerClient
    from mypy_boto3_cloudtrail import CloudTrailClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_compute_optimizer import ComputeOptimizerClient
    from mypy_boto3_cost_optimization_hub import CostOptimizationHubClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_organizations import OrganizationsClient
    from mypy_boto3_pricing import PricingClient
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_savingsplans import SavingsPlansClient
    from mypy_boto3_service_quotas import ServiceQuotasClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_sts import STSClient

# SageMaker publishes no control-plane TPS; AWS advises generous adaptive retries for throttling.
# Adaptive mode also rate-limits the client on the first throttle (a token bucket every thread shares),
# so the discovery pool below can be wide: throttling slows it down, it does not turn into failures.
MAX_POOL = 32
RETRY_CONFIG = Config(
    retries={"max_attempts": 10, "mode": "adaptive"},
    user_agent_extra=f"sagewatch/{__version__}",
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=MAX_POOL,  # one connection per discovery thread (botocore's default is 10)
)

CLOUDWATCH_CONFIG = RETRY_CONFIG.merge(Config(parameter_validation=False))
# A synchronous invoke is never retried by the SDK (a retry could act twice if the request_id were not there),
# and a real run may take minutes (inference components delete asynchronously).
INVOKE_CONFIG = Config(read_timeout=900, connect_timeout=10, retries={"total_max_attempts": 1})
# The CLI's first call: an unreachable endpoint (no network, a wrong AWS_ENDPOINT_URL, a proxy that swallows
# requests) fails in seconds, not after ten adaptive retries of 5 + 30 seconds each.
PROBE_CONFIG = RETRY_CONFIG.merge(
    Config(connect_timeout=2, read_timeout=2, retries={"total_max_attempts": 2, "mode": "standard"})
)
PROBE_SECONDS = 10


class UnreachableError(Exception):
    """AWS (or the endpoint AWS_ENDPOINT_URL names) did not answer the first call in time."""


NOT_FOUND_CODES = {"ResourceNotFound", "ResourceNotFoundException"}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def conditional_failed(exc: ClientError) -> bool:
    """DynamoDB refused a conditional write because its condition did not hold (not an outage)."""
    return error_code(exc) == "ConditionalCheckFailedException"


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", str(exc)))


TRANSIENT_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "RequestTimeout",
}


def is_transient(exc: Exception) -> bool:
    """An AWS error that a later retry may not meet (throttling, 5xx, the network): raise it so that Lambda
    retries the event, instead of treating it as an answer."""
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return error_code(exc) in TRANSIENT_CODES or status >= 500
    return isinstance(exc, BotoCoreError) and not isinstance(exc, ParamValidationError)


def is_not_found(exc: ClientError) -> bool:
    # SageMaker answers Describe* on a missing resource with ValidationException "Could not find ...".
    code = error_code(exc)
    return code in NOT_FOUND_CODES or (code == "ValidationException" and "could not find" in error_message(exc).lower())


class Clients:
    """One boto3 session's clients, created lazily and reused (across warm Lambda invocations too)."""

    def __init__(self, region: str, session: boto3.session.Session | None = None):
        self.region = region
        self.session = session or boto3.session.Session(region_name=region)
        self._cache: dict[str, Any] = {}

    @classmethod
    def resolve(cls, region: str | None = None) -> Clients:
        """Clients for `region`, else AWS_REGION, else AWS_DEFAULT_REGION or the profile's region (boto3 reads
        only the last two; AWS_REGION is what Lambda and most SDKs set, and what the CLI's help names)."""
        region = region or os.environ.get("AWS_REGION", "").strip() or None
        session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
        if not session.region_name:
            raise NoRegionError()
        return cls(session.region_name, session)

    def _client(self, service: str, region: str | None = None, config: Config = RETRY_CONFIG) -> Any:
        key = f"{service}@{region or self.region}"
        if key not in self._cache:
            self._cache[key] = self.session.client(service, region_name=region or self.region, config=config)  # type: ignore[call-overload]
        return self._cache[key]

    def sagemaker(self) -> SageMakerClient:
        client: SageMakerClient = self._client("sagemaker")
        return client

    def cloudwatch(self) -> CloudWatchClient:
        # sagewatch builds every GetMetricData query itself (MetricSpec.to_query); botocore's client-side check
        # of 500 nested queries a call cost more CPU than the call's latency. CloudWatch still validates them.
        client: CloudWatchClient = self._client("cloudwatch", config=CLOUDWATCH_CONFIG)
        return client

    def sns(self) -> SNSClient:
        client: SNSClient = self._client("sns")
        return client

    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb")
        return client

    def events(self) -> EventBridgeClient:
        client: EventBridgeClient = self._client("events")
        return client

    def autoscaling(self) -> ApplicationAutoScalingClient:
        client: ApplicationAutoScalingClient = self._client("application-autoscaling")
        return client

    def tagging(self) -> ResourceGroupsTaggingAPIClient:
        client: ResourceGroupsTaggingAPIClient = self._client("resourcegroupstaggingapi")
        return client

    def s3(self) -> S3Client:
        client: S3Client = self._client("s3")
        return client

    def sts(self) -> STSClient:
        client: STSClient = self._client("sts")
        return client

    def stepfunctions(self) -> SFNClient:
        client: SFNClient = self._client("stepfunctions")
        return client

    def lambda_(self) -> LambdaClient:
        client: LambdaClient = self._client("lambda", config=INVOKE_CONFIG)
        return client

    def pricing(self) -> PricingClient:
        # The Price List API lives in a few regions only; us-east-1 serves every region's prices.
        client: PricingClient = self._client("pricing", "us-east-1")
        return client

    def ce(self) -> CostExplorerClient:
        # Cost Explorer has one endpoint, in us-east-1, for every region's costs
        client: CostExplorerClient = self._client("ce", "us-east-1")
        return client

    def savingsplans(self) -> SavingsPlansClient:
        client: SavingsPlansClient = self._client("savingsplans", "us-east-1")  # a global service
        return client

    def compute_optimizer(self) -> ComputeOptimizerClient:
        client: ComputeOptimizerClient = self._client("compute-optimizer")
        return client

    def cost_optimization_hub(self) -> CostOptimizationHubClient:
        # the hub answers in us-east-1 only, for every region (ListRecommendations filters by region)
        client: CostOptimizationHubClient = self._client("cost-optimization-hub", "us-east-1")
        return client

    def probe(self) -> str:
        """The account, asked once with short timeouts and one retry: what the CLI calls first, so that no
        network fails within PROBE_SECONDS naming the endpoint it tried. Raises UnreachableError."""
        sts = self._client("sts", config=PROBE_CONFIG)
        try:
            return str(sts.get_caller_identity()["Account"])
        except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError) as exc:
            raise UnreachableError(
                f"cannot reach AWS at {sts.meta.endpoint_url} (STS in {self.region}): {exc}. Check the network "
                "or proxy, the region, and AWS_ENDPOINT_URL if it is set"
            ) from exc

    def account_id(self) -> str | None:
        try:
            return self.sts().get_caller_identity()["Account"]
        except ClientError:
            return None

    def organizations(self) -> OrganizationsClient:
        # Organizations is a global service answered in us-east-1 (aws partition)
        client: OrganizationsClient = self._client("organizations", "us-east-1")
        return client

    def ec2(self) -> EC2Client:
        client: EC2Client = self._client("ec2")
        return client

    def cloudtrail(self) -> CloudTrailClient:
        client: CloudTrailClient = self._client("cloudtrail")
        return client

    def sesv2(self) -> SESV2Client:
        client: SESV2Client = self._client("sesv2")
        return client

    def service_quotas(self) -> ServiceQuotasClient:
        client: ServiceQuotasClient = self._client("service-quotas")
        return client

    def logs(self) -> CloudWatchLogsClient:
        client: CloudWatchLogsClient = self._client("logs")
        return client

    def ecr(self) -> ECRClient:
        client: ECRClient = self._client("ecr")
        return client

    def iam(self) -> IAMClient:
        client: IAMClient = self._client("iam")
        return client
