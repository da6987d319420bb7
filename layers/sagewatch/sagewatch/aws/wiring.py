"""Build the real (boto3-backed) dependencies of each entry point."""

from __future__ import annotations

from sagewatch.aws.clients import Clients
from sagewatch.aws.cloudwatch import CloudWatchMetrics
from sagewatch.aws.sagemaker import SageMakerInventory
from sagewatch.aws.sns import TopicPublisher
from sagewatch.catalog import Catalog
from sagewatch.service import ScanDependencies
from sagewatch.settings import ScanSettings


def scan_dependencies(settings: ScanSettings, account: str | None, clients: Clients | None = None) -> ScanDependencies:
    clients = clients or Clients(settings.region)
    return ScanDependencies(
        inventory=SageMakerInventory(clients.sagemaker()),
        metrics=CloudWatchMetrics(clients.cloudwatch()),
        publisher=TopicPublisher(clients.sns(), settings.topic_arn),
        catalog=Catalog.load(settings.catalog_path),
        account=account,
    )
