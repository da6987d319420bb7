"""The stack bucket's reports/ prefix: each cost report as CSV, HTML and JSON, and latest.json for the trend."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from sagewatch.aws.clients import error_code
from sagewatch.costrender import render_html, to_csv
from sagewatch.costs import SCHEMA, CostReport
from sagewatch.orgcost import OrgCostReport
from sagewatch.orgcost import render_html as org_html
from sagewatch.orgcost import to_csv as org_csv
from sagewatch.weekly import ReportLocation

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PREFIX = "reports/"
LATEST = f"{PREFIX}latest.json"


class ReportStore:
    def __init__(self, client: S3Client, bucket: str):
        self.client = client
        self.bucket = bucket

    def latest(self) -> dict[str, Any] | None:
        """The last report stored (its JSON), or None: none yet, or not one this version can read."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=LATEST)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        try:
            doc = json.loads(body)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) and doc.get("schema") == SCHEMA else None

    def put(self, report: CostReport) -> ReportLocation:
        folder = f"{PREFIX}{report.end:%Y-%m-%d}/"
        doc = json.dumps(report.to_dict(), indent=1)
        bodies = {
            "csv": (to_csv(report), "text/csv; charset=utf-8"),
            "html": (render_html(report), "text/html; charset=utf-8"),
            "json": (doc, "application/json"),
        }
        keys = {}
        for fmt, (body, content_type) in bodies.items():
            key = f"{folder}cost-report.{fmt}"
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body.encode(), ContentType=content_type)
            keys[fmt] = key
        # Last: a report is "latest" only once all of its files are there.
        self.client.put_object(Bucket=self.bucket, Key=LATEST, Body=doc.encode(), ContentType="application/json")
        return ReportLocation(self.bucket, keys)


ORG_PREFIX = "org-reports/"


class OrgReportStore:
    """The central bucket's org-reports/ prefix: each organization cost report as CSV, HTML and JSON."""

    def __init__(self, client: S3Client, bucket: str):
        self.client = client
        self.bucket = bucket

    def put(self, report: OrgCostReport) -> ReportLocation:
        folder = f"{ORG_PREFIX}{report.generated_at:%Y-%m-%d}/"
        bodies = {
            "csv": (org_csv(report), "text/csv; charset=utf-8"),
            "html": (org_html(report), "text/html; charset=utf-8"),
            "json": (json.dumps(report.to_dict(), indent=1), "application/json"),
        }
        keys = {}
        for fmt, (body, content_type) in bodies.items():
            key = f"{folder}org-cost-report.{fmt}"
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body.encode(), ContentType=content_type)
            keys[fmt] = key
        return ReportLocation(self.bucket, keys)
