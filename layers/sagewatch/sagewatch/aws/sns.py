"""Publishing digests to the stack's topic (MessageStructure=json: a body per protocol)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagewatch.digest import Digest, sns_messages

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
