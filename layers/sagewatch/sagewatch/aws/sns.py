"""Publishing digests to the stack's topic (MessageStructure=json: a body per protocol)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sagewatch.digest import Digest, sns_messages
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

    def publish_digest(self, digest: Digest) -> list[str]:
        ids = []
        for message in sns_messages(digest, chatbot=self.chatbot):
            attributes: Any = message.attributes
            response = self.client.publish(
                TopicArn=self.topic_arn,
                Subject=message.subject,
                Message=message.message,
                MessageStructure="json",
                MessageAttributes=attributes,
            )
            ids.append(response["MessageId"])
        return ids

    def publish_alert(self, alert: Alert) -> str:
        def attr(value: str | None) -> dict[str, str]:
            return {"DataType": "String.Array", "StringValue": json.dumps([value] if value else [])}

        attributes: Any = {
            "kind": attr(alert.kind.value),
            "severity": attr(alert.severity),
            "endpoint": attr(alert.endpoint),
            "reason": attr("alert"),
        }
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Subject=alert_subject(alert),
            Message=json.dumps(alert_sns_body(alert, chatbot=self.chatbot)),
            MessageStructure="json",
            MessageAttributes=attributes,
        )
        return response["MessageId"]

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

        def attr(value: str) -> dict[str, str]:
            return {"DataType": "String.Array", "StringValue": json.dumps([value])}

        attributes: Any = {
            "kind": attr("remediation"),
            "severity": attr("high"),
            "endpoint": attr(request["endpoint"]),
            "reason": attr(request["action"]),
        }
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Subject=f"sagewatch: {request['action']} on {request['endpoint']}"[:100],
            Message=json.dumps(body),
            MessageStructure="json",
            MessageAttributes=attributes,
        )
        return response["MessageId"]

    def publish_summary(self, doc: dict[str, Any]) -> str:
        """The weekly cost digest (sagewatch.weekly)."""
        attributes: Any = {
            "kind": {"DataType": "String.Array", "StringValue": json.dumps(["cost-report"])},
            "reason": {"DataType": "String.Array", "StringValue": json.dumps(["weekly"])},
        }
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Subject=summary_subject(doc),
            Message=json.dumps(summary_sns_body(doc, chatbot=self.chatbot)),
            MessageStructure="json",
            MessageAttributes=attributes,
        )
        return response["MessageId"]
