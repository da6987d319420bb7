"""Real-shaped CloudTrail records (tests/fixtures/cloudtrail/) made about an endpoint under test."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cloudtrail"
KINDS = {
    "iam-user": "create-endpoint-iam-user.json",
    "assumed-role": "create-endpoint-assumed-role.json",
    "root": "update-endpoint-root.json",
    "aws-service": "update-endpoint-aws-service.json",
    "denied": "create-endpoint-denied.json",
}


def record(
    kind: str,
    endpoint: str,
    when: datetime,
    *,
    event: str | None = None,
    account: str = "123456789012",
    region: str = "us-east-1",
    session: str | None = None,
) -> dict[str, Any]:
    """The fixture `kind`, about `endpoint` at `when` (and `event`: CreateEndpoint or UpdateEndpoint)."""
    doc: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / KINDS[kind]).read_text()))
    doc["eventTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    doc["awsRegion"] = region
    doc["recipientAccountId"] = account
    doc["eventID"] = f"{kind}-{endpoint}-{when.timestamp():.0f}-{event or doc['eventName']}"
    if event:
        doc["eventName"] = event
    doc["requestParameters"]["endpointName"] = endpoint
    identity = doc["userIdentity"]
    for key in ("arn", "accountId"):
        if key in identity:
            identity[key] = identity[key].replace("123456789012", account)
    if session and identity.get("type") == "AssumedRole":
        identity["arn"] = identity["arn"].rsplit("/", 1)[0] + f"/{session}"
        identity["principalId"] = identity["principalId"].split(":")[0] + f":{session}"
    return doc
