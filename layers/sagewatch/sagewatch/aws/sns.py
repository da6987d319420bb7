"""Publishing digests to the stack's topic (MessageStructure=json: a body per protocol)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sagewatch.digest import Digest, sns_messages, string_array
from sagewatch.monitoring import Alert, alert_sns_body, alert_subject
from sagewatch.remediation import remediation_notice
from sagewatch.weekly import summary_sns_body, summary_subject

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class TopicPublisher:
    def __init__(self, client: SNSClient, topic_arn: str, *, chatbot: bool = False):
        self.client = client
        self.topic_arn = topic_arn
        self.chatbot = chatbot

    def _publish(self, subject: str, body: str, attributes: dict[str, dict[str, str]]) -> str:
        """One MessageStructure=json message (`body` is the JSON object of per-protocol texts)."""
        attrs: Any = attributes
        response = self.client.publish(
            TopicArn=self.topic_arn, Subject=subject, Message=body, MessageStructure="json", MessageAttributes=attrs
        )
        return response["MessageId"]

    def publish_digest(self, digest: Digest) -> list[str]:
        return [self._publish(m.subject, m.message, m.attributes) for m in sns_messages(digest, chatbot=self.chatbot)]

    def publish_alert(self, alert: Alert) -> str:
        attributes = {
            "kind": string_array([alert.kind.value]),
            "severity": string_array([alert.severity]),
            "endpoint": string_array([alert.endpoint] if alert.endpoint else []),
            "reason": string_array(["alert"]),
        }
        body = json.dumps(alert_sns_body(alert, chatbot=self.chatbot))
        return self._publish(alert_subject(alert), body, attributes)

    def publish_remediation(self, record: dict[str, Any]) -> str:
        request = record["request"]
        title, lines = remediation_notice(record)
        text = "\n".join(
            [f"{title} at {record['executed_at']}.", "", *lines, f"Request id: {request.get('request_id')}"]
        )
        machine = json.dumps(record, default=str)
        body = {
            "default": text,
            "email": text,
            "email-json": machine,
            "sqs": machine,
            "lambda": machine,
            "https": machine,
        }
        attributes = {
            "kind": string_array(["remediation"]),
            "severity": string_array(["high"]),
            "endpoint": string_array([request["endpoint"]]),
            "reason": string_array([request["action"]]),
        }
        subject = f"sagewatch: {request['action']} on {request['endpoint']}"[:100]
        return self._publish(subject, json.dumps(body), attributes)

    def publish_summary(self, doc: dict[str, Any]) -> str:
        """The weekly cost digest (sagewatch.weekly)."""
        attributes = {"kind": string_array(["cost-report"]), "reason": string_array(["weekly"])}
        body = json.dumps(summary_sns_body(doc, chatbot=self.chatbot))
        return self._publish(summary_subject(doc), body, attributes)
