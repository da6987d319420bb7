"""Answering a CloudFormation custom resource: one PUT of a JSON document to the pre-signed ResponseURL."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from sagewatch.requests import CustomResourceRequest

RESPONSE_TIMEOUT_SECONDS = 20


def respond(
    request: CustomResourceRequest, *, success: bool, reason: str, physical_id: str, data: dict[str, Any]
) -> int:
    """Tell CloudFormation how the resource went; returns the HTTP status. Never sends a body over 4 KB."""
    body = json.dumps(
        {
            "Status": "SUCCESS" if success else "FAILED",
            "Reason": reason[:1000],
            "PhysicalResourceId": physical_id,
            "StackId": request.StackId,
            "RequestId": request.RequestId,
            "LogicalResourceId": request.LogicalResourceId,
            "Data": {k: str(v)[:200] for k, v in data.items()},
        }
    ).encode()
    put = urllib.request.Request(
        request.ResponseURL, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(put, timeout=RESPONSE_TIMEOUT_SECONDS) as answer:
        return int(answer.status)
