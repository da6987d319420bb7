"""Publishing the scan's summary to the stack's topic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sagewatch.report import ScanReport, render_summary

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class TopicPublisher:
    def __init__(self, client: SNSClient, topic_arn: str):
        self.client = client
        self.topic_arn = topic_arn

    def publish_summary(self, report: ScanReport) -> str:
        subject, body = render_summary(report)
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Subject=subject,
            Message=body,
            MessageAttributes={
                "findings": {"DataType": "Number", "StringValue": str(len(report.findings))},
                "region": {"DataType": "String", "StringValue": report.region},
            },
        )
        return response["MessageId"]
