"""Publishing notices to the stack's topic. What is sent is sagewatch.notify's: this only sends it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sagewatch.notify import Notice, sns_messages

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class TopicPublisher:
    def __init__(self, client: SNSClient, topic_arn: str, *, chatbot: bool = False):
        self.client = client
        self.topic_arn = topic_arn
        self.chatbot = chatbot

    def publish(self, notice: Notice) -> list[str]:
        """One MessageStructure=json message per part (only digests have more than one); their ids."""
        ids = []
        for m in sns_messages(notice, chatbot=self.chatbot):
            attributes: Any = m.attributes
            response = self.client.publish(
                TopicArn=self.topic_arn,
                Subject=m.subject,
                Message=m.message,
                MessageStructure="json",
                MessageAttributes=attributes,
            )
            ids.append(response["MessageId"])
        return ids
