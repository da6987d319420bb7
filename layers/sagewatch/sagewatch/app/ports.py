"""What several use cases need from outside: sending a notice, reading CloudWatch metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sagewatch.metrics import MetricResults, MetricSpec, Windows
from sagewatch.models import Endpoint, ScanError
from sagewatch.notify import Notice


class Notifier(Protocol):
    """Sends a notice (sagewatch.notify renders it); returns the message ids."""

    def publish(self, notice: Notice) -> list[str]: ...


class MetricsReader(Protocol):
    def fetch(self, specs: Sequence[MetricSpec], windows: Windows) -> tuple[MetricResults, list[ScanError]]: ...

    def instance_metrics(self, endpoints: Sequence[Endpoint]) -> tuple[list[MetricSpec], list[ScanError]]: ...
