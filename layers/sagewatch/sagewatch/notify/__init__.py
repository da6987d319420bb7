"""The one notification path: every message sagewatch sends (scan digests, Model Monitor and endpoint alerts,
remediation notices, weekly cost digests) is a typed notice rendered here, in every form its destinations
read, within their size budgets and escaped for chat. The AWS adapters only send what this returns.

    notice -> sns_messages()  -> SNS (email text, JSON for SQS/Lambda/email-json, Chatbot on https)
           -> event_detail()  -> EventBridge (alerts; findings go one event each, see finding_details)
    SNS JSON -> slack_payloads() -> the Slack notifier's Block Kit messages
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from sagewatch.digest import DIGEST_SCHEMA, Digest
from sagewatch.monitoring import Alert
from sagewatch.notify import alert as alerts
from sagewatch.notify import digest as digests
from sagewatch.notify import org as orgs
from sagewatch.notify import orgcost, weekly
from sagewatch.notify import remediation as remediations
from sagewatch.notify.core import Rendering, SnsMessage, sns_message
from sagewatch.notify.limits import EVENT_MAX_BYTES, SNS_MAX_BYTES, utf8_len
from sagewatch.notify.orgcost import OrgCostNotice
from sagewatch.notify.remediation import REMEDIATION_SCHEMA, RemediationNotice
from sagewatch.notify.weekly import WeeklyNotice
from sagewatch.org import ORG_DIGEST_SCHEMA, OrgDigest
from sagewatch.orgcost import ORG_COST_SUMMARY_SCHEMA
from sagewatch.weekly import SUMMARY_SCHEMA

Notice = Digest | OrgDigest | Alert | RemediationNotice | WeeklyNotice | OrgCostNotice

__all__ = [
    "Notice",
    "OrgCostNotice",
    "OrgDigest",
    "RemediationNotice",
    "SnsMessage",
    "WeeklyNotice",
    "event_detail",
    "from_document",
    "slack_payloads",
    "sns_messages",
]


class NoticeTooLargeError(RuntimeError):
    """No detail level of a notice fits its budget: a bug in a renderer (every last level is bounded)."""


def _levels(notice: Alert | RemediationNotice | WeeklyNotice | OrgCostNotice) -> list[Callable[[], Rendering]]:
    if isinstance(notice, OrgCostNotice):
        return [partial(orgcost.render, notice)]
    if isinstance(notice, Alert):
        return [partial(alerts.render, notice, level) for level in range(len(alerts.LEVELS))]
    if isinstance(notice, RemediationNotice):
        return [partial(remediations.render, notice, level) for level in range(len(remediations.LEVELS))]
    return [partial(weekly.render, notice)]


def sns_messages(notice: Notice, *, chatbot: bool = False, limit: int = SNS_MAX_BYTES) -> list[SnsMessage]:
    """The SNS publish(es) for `notice`: a digest splits into parts, anything else is rendered at the most
    detailed level that fits (it says how many items were left out, and where to read them all)."""
    if isinstance(notice, Digest):
        return digests.sns_messages(notice, chatbot=chatbot, limit=limit)
    if isinstance(notice, OrgDigest):
        return orgs.sns_messages(notice, chatbot=chatbot, limit=limit)
    for render in _levels(notice):
        message = sns_message(render(), chatbot=chatbot)
        if message.size <= limit:
            return [message]
    raise NoticeTooLargeError(f"{type(notice).__name__} does not fit in {limit} bytes at any detail level")


def event_detail(alert: Alert, *, limit: int = EVENT_MAX_BYTES - 4096) -> str:
    """The EventBridge detail of an alert: its document at the most detailed level that fits one entry (the
    margin leaves room for source, detail type and resources)."""
    for level in range(len(alerts.LEVELS)):
        detail = json.dumps(alerts.document(alert, level), default=str)
        if utf8_len(detail) <= limit:
            return detail
    raise NoticeTooLargeError("alert does not fit in an EventBridge entry at any detail level")


def from_document(doc: Mapping[str, Any]) -> Notice:
    """The notice a machine document (what SNS delivers to Lambda and SQS) describes. Raises ValueError."""
    schema = doc.get("schema")
    if schema == alerts.ALERT_SCHEMA:
        return alerts.from_document(doc)
    if schema == SUMMARY_SCHEMA:
        return WeeklyNotice.from_document(doc)
    if schema == REMEDIATION_SCHEMA:
        return RemediationNotice.from_document(doc)
    if schema == DIGEST_SCHEMA:
        return digests.digest_from_json(doc)
    if schema == ORG_DIGEST_SCHEMA:
        return orgs.org_digest_from_json(doc)
    if schema == ORG_COST_SUMMARY_SCHEMA:
        return OrgCostNotice.from_document(doc)
    raise ValueError(f"unknown schema {str(schema)[:80]!r}")


def slack_payloads(notice: Notice, *, buttons: bool = False) -> list[dict[str, Any]]:
    """Block Kit webhook payloads: within Slack's limits, everything from data escaped. `buttons`: a digest's
    findings get the Slack app's Dry run button."""
    if isinstance(notice, Digest):
        return digests.render_slack(notice, buttons=buttons)
    if isinstance(notice, OrgDigest):
        return orgs.render_slack(notice)
    if isinstance(notice, OrgCostNotice):
        return orgcost.slack(notice)
    if isinstance(notice, Alert):
        return alerts.slack(notice)
    if isinstance(notice, RemediationNotice):
        return remediations.slack(notice)
    return weekly.slack(notice)
