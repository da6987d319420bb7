from collections import Counter
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from sagewatch.aws.clients import Clients
from sagewatch.aws.cloudwatch import CloudWatchMetrics
from sagewatch.aws.sagemaker import SageMakerInventory
from sagewatch.catalog import Catalog
from sagewatch.report import ScanReport
from sagewatch.scan import run_scan
from sagewatch.settings import Thresholds
from sagewatch_testkit import faults, moto_ext

REGION = moto_ext.DEFAULT_REGION


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch):
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture
def aws():
    moto_ext.install()
    with mock_aws():
        yield


@pytest.fixture
def now():
    return datetime.now(UTC)


class Harness:
    """One scan's clients, with every API call counted."""

    def __init__(self) -> None:
        session = boto3.session.Session(region_name=REGION)
        self.calls: Counter[str] = faults.count_calls(session.events)
        self.clients = Clients(REGION, session)

    @property
    def sagemaker(self):
        return self.clients.sagemaker()

    @property
    def cloudwatch(self):
        return self.clients.cloudwatch()

    def scan(self, now: datetime, thresholds: Thresholds | None = None) -> ScanReport:
        return run_scan(
            SageMakerInventory(self.sagemaker),
            CloudWatchMetrics(self.cloudwatch),
            Catalog.load(),
            thresholds or Thresholds(),
            now=now,
            region=REGION,
            account=None,
        )


@pytest.fixture
def harness(aws):
    return Harness()


@pytest.fixture
def sm(aws):
    return boto3.client("sagemaker", region_name=REGION)
