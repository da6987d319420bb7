"""What several use cases need from outside: sending a notice, reading CloudWatch metrics, a lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sagewatch.metrics import MetricResults, MetricSpec, Windows
from sagewatch.models import Endpoint, ScanError
from sagewatch.notify import Notice


class Notifier(Protocol):
    """Sends a notice (sagewatch.notify renders it); returns the message ids."""

    def publish(self, notice: Notice) -> list[str]: ...


class DeliveryError(RuntimeError):
    """Sending a notice failed: the one failure that fails an invocation (Lambda retries the event, then the
    dead-letter queue keeps it). Everything else about a notice is an enrichment (sagewatch.app.extras)."""


def deliver(publisher: Notifier, notice: Notice) -> list[str]:
    """publisher.publish(notice), with any failure raised as DeliveryError (its cause chained)."""
    try:
        return publisher.publish(notice)
    except Exception as exc:
        raise DeliveryError(f"the notice could not be sent: {type(exc).__name__}: {str(exc)[:300]}") from exc


class MetricsReader(Protocol):
    def fetch(self, specs: Sequence[MetricSpec], windows: Windows) -> tuple[MetricResults, list[ScanError]]: ...

    def instance_metrics(self, endpoints: Sequence[Endpoint]) -> tuple[list[MetricSpec], list[ScanError]]: ...

    def container_metrics(self, endpoints: Sequence[Endpoint]) -> tuple[list[MetricSpec], list[str]]: ...


@dataclass(frozen=True)
class Lease:
    """The answer to taking a lock: taken (by this run), or held by another run until `until`."""

    taken: bool
    holder: str
    until: datetime


class Lock(Protocol):
    """One run at a time where Lambda's reserved concurrency does not see to it (ReserveConcurrency=false)."""

    def acquire(self, holder: str, now: datetime, until: datetime) -> Lease: ...

    def release(self, holder: str) -> None: ...
