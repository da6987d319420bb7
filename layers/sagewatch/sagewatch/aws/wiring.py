"""Build the real (boto3-backed) dependencies of each entry point."""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config

from sagewatch.aws.clients import Clients
from sagewatch.aws.cloudwatch import CloudWatchMetrics
from sagewatch.aws.events import FindingEvents
from sagewatch.aws.remediate import RemediationTarget
from sagewatch.aws.reports import ReportStore
from sagewatch.aws.sagemaker import SageMakerInventory
from sagewatch.aws.sns import TopicPublisher
from sagewatch.aws.state import StateStore
from sagewatch.catalog import Catalog
from sagewatch.notify import Notice
from sagewatch.remediation import RemediationError, RemediationRequest
from sagewatch.service import RemediationDependencies, ScanDependencies, WeeklyDependencies, remediate
from sagewatch.settings import ReportSettings, ScanSettings, Thresholds


def scan_dependencies(
    settings: ScanSettings, account: str | None, clients: Clients | None = None, catalog: Catalog | None = None
) -> ScanDependencies:
    """Cheap to call per invocation when the clients and the catalog are made once, at cold start."""
    clients = clients or Clients(settings.region)
    return ScanDependencies(
        inventory=SageMakerInventory(clients.sagemaker()),
        metrics=CloudWatchMetrics(clients.cloudwatch()),
        publisher=TopicPublisher(clients.sns(), settings.topic_arn, chatbot=settings.chatbot),
        events=FindingEvents(clients.events(), settings.event_bus),
        state=StateStore(clients.dynamodb(), settings.state_table),
        catalog=catalog or Catalog.load(settings.catalog_path),
        account=account,
    )


def weekly_dependencies(
    settings: ReportSettings, account: str | None, clients: Clients | None = None, catalog: Catalog | None = None
) -> WeeklyDependencies:
    clients = clients or Clients(settings.region)
    return WeeklyDependencies(
        inventory=SageMakerInventory(clients.sagemaker()),
        metrics=CloudWatchMetrics(clients.cloudwatch()),
        catalog=catalog or Catalog.load(),
        archive=ReportStore(clients.s3(), settings.bucket),
        publisher=TopicPublisher(clients.sns(), settings.topic_arn, chatbot=settings.chatbot),
        account=account,
    )


# A synchronous invoke must never be retried by the SDK (a retry could act twice if the request_id were
# not there), and a real run may take minutes (inference components delete asynchronously).
INVOKE_CONFIG = Config(read_timeout=900, connect_timeout=10, retries={"total_max_attempts": 1})


def invoke_remediation(
    clients: Clients, request: dict[str, Any], *, function: str | None, stack: str
) -> dict[str, Any]:
    """Invoke the deployed remediation function (found through its stack unless named) and return its answer."""
    if function is None:
        cfn = clients.session.client("cloudformation", region_name=clients.region)
        resource = cfn.describe_stack_resource(StackName=stack, LogicalResourceId="RemediateFunction")
        function = str(resource["StackResourceDetail"]["PhysicalResourceId"])
    client = clients.session.client("lambda", region_name=clients.region, config=INVOKE_CONFIG)
    response = client.invoke(FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(request))
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        return {"status": "error", "error": payload.get("errorMessage") if isinstance(payload, dict) else payload}
    result: dict[str, Any] = payload
    return result


class _NoAnnouncement:
    """--local without --topic-arn: the caller reads the answer; nothing is published."""

    def publish(self, notice: Notice) -> list[str]:
        return [""]


def local_remediation(
    clients: Clients, request: dict[str, Any], *, bucket: str | None, topic_arn: str | None
) -> dict[str, Any]:
    """The same service with the caller's own credentials (no idempotency table: keep request ids unique)."""
    deps = RemediationDependencies(
        actor=RemediationTarget(clients.sagemaker(), clients.s3(), clients.autoscaling(), clients.cloudwatch(), bucket),
        metrics=CloudWatchMetrics(clients.cloudwatch()),
        announcer=TopicPublisher(clients.sns(), topic_arn) if topic_arn else _NoAnnouncement(),
        catalog=Catalog.load(),
        thresholds=Thresholds(),
        account=clients.account_id(),
    )
    try:
        return remediate(RemediationRequest.model_validate(request), deps)
    except RemediationError as exc:
        return {"status": "refused", "error": str(exc)}
