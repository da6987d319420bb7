"""Build the real (boto3-backed) dependencies of each entry point."""

from __future__ import annotations

from sagewatch.aws.clients import Clients
from sagewatch.aws.cloudwatch import CloudWatchMetrics
from sagewatch.aws.events import FindingEvents
from sagewatch.aws.sagemaker import SageMakerInventory
from sagewatch.aws.sns import TopicPublisher
from sagewatch.aws.state import StateStore
from sagewatch.catalog import Catalog
from sagewatch.service import ScanDependencies
from sagewatch.settings import ScanSettings


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
