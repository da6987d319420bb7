"""sagewatch's events on EventBridge: announced findings, alerts, scan and cost summaries, remediation
notices. Users route them anywhere; a member stack's rule forwards them to the organization's central bus."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sagewatch.app.extras import extra
from sagewatch.aws.routes import Router
from sagewatch.aws.sns import TopicPublisher
from sagewatch.lifecycle import Announcement
from sagewatch.monitoring import Alert
from sagewatch.notify import Notice, RemediationNotice, WeeklyNotice, event_detail
from sagewatch.notify.limits import EVENT_MAX_BYTES, utf8_len
from sagewatch.notify.remediation import fitting_record
from sagewatch.org import (
    ALERT_DETAIL_TYPE,
    COST_SUMMARY_DETAIL_TYPE,
    FINDING_DETAIL_TYPE,
    REMEDIATION_DETAIL_TYPE,
)

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

SOURCE = "sagewatch"
DETAIL_TYPE = FINDING_DETAIL_TYPE
MAX_ENTRIES = 10  # PutEvents limit
DETAIL_MAX_BYTES = EVENT_MAX_BYTES - 4096  # room for source, detail type and resources


class EventTooLargeError(ValueError):
    """A document that does not fit one EventBridge entry (the senders bound theirs: a bug)."""


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

    def put_document(self, detail_type: str, doc: Mapping[str, Any]) -> str | None:
        """One document as one event; its event id, or None when EventBridge failed the entry."""
        detail = json.dumps(doc, default=str)
        if utf8_len(detail) > DETAIL_MAX_BYTES:
            raise EventTooLargeError(f"{detail_type} of {utf8_len(detail)} bytes does not fit one event")
        entry: Any = {"Source": SOURCE, "DetailType": detail_type, "EventBusName": self.bus, "Detail": detail}
        response = self.client.put_events(Entries=[entry])
        if int(response.get("FailedEntryCount", 0)):
            return None
        return str(response["Entries"][0].get("EventId") or "") or None


class StackNotifier:
    """Where a function's notices go: the stack's topic (unless the stack leaves notifications to the central
    account: LocalNotifications=false), and, for cost summaries and remediation notices, a copy on the bus
    (a member's forwarding rule takes it to the organization). Alerts and findings go to the bus through
    their use cases. With a routing table, each route gets its own findings first (and the topic what is left,
    or everything: CopyAllToDefault). Returns the message ids (none when nothing was published)."""

    def __init__(self, topic: TopicPublisher | None, events: FindingEvents, router: Router | None = None):
        self.topic = topic
        self.events = events
        self.router = router  # the routing table's routes (sagewatch.aws.routes), when there is one

    def publish(self, notice: Notice) -> list[str]:
        routed: list[str] = []
        local: Notice | None = notice
        if self.router is not None:
            router = self.router
            # a route that fails in any way leaves the notice to the stack's topic, whole
            whole: Notice | None = notice
            local = extra("the routing table's routes", lambda: router.deliver(notice), whole)
            routed = list(router.ids or [])
        ids = self.topic.publish(local) if self.topic and local is not None else []
        ids += routed
        if isinstance(notice, WeeklyNotice):
            self.events.put_document(COST_SUMMARY_DETAIL_TYPE, notice.summary)
        elif isinstance(notice, RemediationNotice):
            # the whole record when it fits one event, else its shorter forms (a plan of many calls: the audit
            # record in the bucket keeps everything)
            self.events.put_document(REMEDIATION_DETAIL_TYPE, fitting_record(notice, DETAIL_MAX_BYTES))
        return ids
