"""Sending notices where the routing table says (sagewatch.routing decides; this only sends): an SNS topic, a
Slack incoming webhook kept in Secrets Manager, or an email address (Amazon SES). A route that cannot be
reached never loses its findings: they go to the stack's topic, with a warning naming the route."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.app.extras import log
from sagewatch.aws.clients import Clients, error_code, error_message
from sagewatch.aws.sns import TopicPublisher
from sagewatch.digest import Digest
from sagewatch.lifecycle import Announcement
from sagewatch.monitoring import Alert
from sagewatch.notify import Notice, RemediationNotice, slack_payloads, sns_messages
from sagewatch.owners import Owner
from sagewatch.routing import Destination, RoutingTable, Subject, split
from sagewatch.webhook import SLACK_HOOKS, WebhookError, WebhookPoster, webhook_url

SECRET_MAX_AGE = 300  # seconds a webhook URL is cached: a rotated secret is picked up without a redeploy


class RouteError(RuntimeError):
    """A route could not be reached; the message says why."""


class RouteSender:
    def __init__(
        self, clients: Clients, *, email_from: str | None, chatbot: bool = False, slack_url_prefix: str = SLACK_HOOKS
    ):
        self.clients = clients
        self.email_from = email_from
        self.chatbot = chatbot
        self.slack_url_prefix = slack_url_prefix

    def send(self, to: Destination, notice: Notice) -> list[str]:
        try:
            if to.kind == "sns":
                return TopicPublisher(self.clients.sns(), to.target, chatbot=self.chatbot).publish(notice)
            if to.kind == "slack_secret":
                return self._slack(to.target, notice)
            return self._email(to.target, notice)
        except ClientError as exc:
            raise RouteError(f"{error_code(exc)}: {error_message(exc)[:200]}") from None
        except (BotoCoreError, WebhookError, ValueError, parameters.exceptions.GetParameterError) as exc:
            raise RouteError(f"{type(exc).__name__}: {str(exc)[:200]}") from None

    def _slack(self, secret_arn: str, notice: Notice) -> list[str]:
        secret = parameters.get_secret(secret_arn, max_age=SECRET_MAX_AGE)
        poster = WebhookPoster(webhook_url(str(secret), self.slack_url_prefix), prefix=self.slack_url_prefix)
        payloads = slack_payloads(notice)
        for p in payloads:
            poster.post(p)
        return [f"slack:{len(payloads)}"]

    def _email(self, address: str, notice: Notice) -> list[str]:
        if not self.email_from:
            raise RouteError("no sender address: set the stack parameter RouteEmailFrom (an SES identity)")
        ids = []
        for message in sns_messages(notice):
            body = json.loads(message.message)["email"]
            answer = self.clients.sesv2().send_email(
                FromEmailAddress=self.email_from,
                Destination={"ToAddresses": [address]},
                Content={"Simple": {"Subject": {"Data": message.subject}, "Body": {"Text": {"Data": body}}}},
            )
            ids.append(str(answer.get("MessageId", "")))
        return ids


@dataclass
class Router:
    """Splits a digest by route (each route gets a digest of its own findings) and sends a remediation notice to
    its endpoint's route. What the stack's topic gets back: the unmatched findings and those of routes that
    failed (or everything, with `copy_all`), with a warning for each failed route."""

    table: RoutingTable
    sender: RouteSender
    copy_all: bool = True
    ids: list[str] | None = None

    def deliver(self, notice: Notice) -> Notice | None:
        self.ids = []
        if isinstance(notice, Digest):
            return self._digest(notice)
        if isinstance(notice, RemediationNotice):
            return self._remediation(notice)
        if isinstance(notice, Alert) and notice.endpoint:
            return self._alert(notice)
        return notice

    def _alert(self, alert: Alert) -> Alert | None:
        """A Model Monitor or endpoint alert to its endpoint's route (rules on kind match findings only); the
        stack's topic too, unless CopyAllToDefault=false and the route took it."""
        routed, failure = self._send_one(Subject(alert.endpoint or "", alert.owner, alert.tags), alert)
        if failure:
            note = f"({failure})"
            return replace(alert, reason=f"{alert.reason} {note}" if alert.reason else note)
        return alert if self.copy_all or not routed else None

    def _digest(self, d: Digest) -> Digest | None:
        subjects = [
            (
                a,
                Subject(
                    a.finding.endpoint,
                    a.finding.owner,
                    d.endpoint_tags.get(a.finding.endpoint, {}),
                    a.finding.kind.value,
                ),
            )
            for a in d.announcements
        ]
        routed, unmatched = split(subjects, self.table)
        rules = {r.name: r for r in self.table.rules}
        warnings: list[str] = []
        fallback: list[Announcement] = []
        for name, announcements in routed.items():
            to = rules[name].to
            try:
                self.ids = (self.ids or []) + self.sender.send(to, replace(d, announcements=announcements, route=name))
            except Exception as exc:  # any failure of a route: its findings go to the stack's topic
                if not isinstance(exc, RouteError):
                    log.exception("routing rule %s failed", name)
                warnings.append(
                    f"routing rule {name!r} ({to.label}) could not be reached ({exc}); its "
                    f"{len(announcements)} findings are in this digest instead"
                )
                fallback += announcements
        if self.copy_all:
            kept = list(d.announcements)
        else:
            kept_ids = {id(a) for a in unmatched + fallback}
            kept = [a for a in d.announcements if id(a) in kept_ids]
        if not kept and not warnings:
            return None
        return replace(d, announcements=kept, warnings=d.warnings + tuple(warnings))

    def _remediation(self, n: RemediationNotice) -> RemediationNotice:
        record = n.record
        tags = record.get("tags") if isinstance(record.get("tags"), dict) else {}
        subject = Subject(str(n.request.get("endpoint") or ""), Owner.from_dict(record.get("owner")), tags or {})
        _, failure = self._send_one(subject, n)
        if failure:
            return RemediationNotice({**record, "warnings": [*list(record.get("warnings") or []), failure]})
        return n  # the stack's topic gets every executed action too

    def _send_one(self, subject: Subject, notice: Notice) -> tuple[bool, str | None]:
        """One notice to its subject's route: whether a rule took it, and why the route failed (None: it did not)."""
        rule = self.table.route(subject)
        if rule is None:
            return False, None
        try:
            self.ids = self.sender.send(rule.to, notice)
        except Exception as exc:  # any failure of a route: the notice goes to the stack's topic
            if not isinstance(exc, RouteError):
                log.exception("routing rule %s failed", rule.name)
            return True, f"routing rule {rule.name!r} ({rule.to.label}) could not be reached ({exc})"
        return True, None


def load_routing(name: str | None, email_domains: Sequence[str] = ()) -> RoutingTable | None:
    """The routing table in SSM parameter `name` (Powertools Parameters, cached five minutes). Raises
    sagewatch.settings.SettingsError naming the parameter, and the rule and field when the document is wrong."""
    from sagewatch.routing import RoutingError
    from sagewatch.settings import SettingsError

    if not name:
        return None
    try:
        doc: Any = parameters.get_parameter(name, transform="json", max_age=SECRET_MAX_AGE)
    except parameters.exceptions.TransformParameterError:
        raise SettingsError(f"SAGEWATCH_ROUTING_PARAMETER {name}: the parameter's value is not JSON") from None
    except parameters.exceptions.GetParameterError as exc:
        raise SettingsError(f"SAGEWATCH_ROUTING_PARAMETER {name} could not be read: {str(exc)[:200]}") from None
    try:
        return RoutingTable.from_document(doc, email_domains)
    except RoutingError as exc:
        raise SettingsError(f"SAGEWATCH_ROUTING_PARAMETER {name}: {exc}") from None
