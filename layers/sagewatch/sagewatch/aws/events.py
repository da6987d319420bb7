"""Announced findings on EventBridge, for users to route anywhere."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sagewatch.lifecycle import Announcement
from sagewatch.monitoring import Alert
from sagewatch.notify import event_detail

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

SOURCE = "sagewatch"
DETAIL_TYPE = "SageMaker Endpoint Finding"
ALERT_DETAIL_TYPE = "SageMaker Endpoint Alert"
MAX_ENTRIES = 10  # PutEvents limit


class FindingEvents:
    def __init__(self, client: EventBridgeClient, bus: str = "default"):
        self.client = client
        self.bus = bus

    def put(self, announcements: list[Announcement], *, account: str | None, region: str) -> int:
        """Put one event per announcement; returns how many failed (PutEvents fails entries, not calls)."""
        entries: list[Any] = [
            {
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE,
                "EventBusName": self.bus,
                "Resources": [f"arn:aws:sagemaker:{region}:{account}:endpoint/{a.finding.endpoint.lower()}"]
                if account
                else [],
                "Detail": json.dumps({"reason": a.reason.value, **a.finding.to_dict()}),
            }
            for a in announcements
        ]
        failed = 0
        for i in range(0, len(entries), MAX_ENTRIES):
            response = self.client.put_events(Entries=entries[i : i + MAX_ENTRIES])
            failed += int(response.get("FailedEntryCount", 0))
        return failed

    def put_alert(self, alert: Alert) -> int:
        entry: Any = {
            "Source": SOURCE,
            "DetailType": ALERT_DETAIL_TYPE,
            "EventBusName": self.bus,
            "Resources": [f"arn:aws:sagemaker:{alert.region}:{alert.account}:endpoint/{alert.endpoint.lower()}"]
            if alert.account and alert.endpoint
            else [],
            "Detail": event_detail(alert),
        }
        return int(self.client.put_events(Entries=[entry]).get("FailedEntryCount", 0))
