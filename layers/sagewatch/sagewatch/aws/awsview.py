"""Compute Optimizer's idle recommendations for SageMaker endpoints (sagewatch.awsview sets them beside the
scan's): GetIdleRecommendations filtered to SageMakerEndpoint, one call a page, kept for the day (the state
table for the scan function, a file for the CLI). Not enrolled or denied is said once in the report, never an
error."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from sagewatch.aws.clients import error_code
from sagewatch.aws.serving import DENIED, DailyCache, kept_for_the_day
from sagewatch.awsview import NOT_ENROLLED, NOT_READ, AwsIdle, idle_from_api

if TYPE_CHECKING:
    from mypy_boto3_compute_optimizer import ComputeOptimizerClient

KEY = "compute-optimizer/idle"
PAGES = 10  # 1,000 recommendations a page
NOT_ENROLLED_CODES = ("OptInRequiredException",)


class ComputeOptimizerReader:
    def __init__(self, client: ComputeOptimizerClient, cache: DailyCache | None, scope: str):
        self.client = client
        self.cache = cache
        self.scope = scope
        self.calls = 0

    def idle(self, now: datetime) -> AwsIdle:
        doc, _ = kept_for_the_day(self.cache, self.scope, KEY, now, self._read)
        return _from_doc(doc)

    def _read(self) -> dict[str, Any]:
        pages: list[dict[str, Any]] = []
        token = None
        try:
            for _ in range(PAGES):
                params: dict[str, Any] = {"filters": [{"name": "ResourceType", "values": ["SageMakerEndpoint"]}]}
                if token:
                    params["nextToken"] = token
                self.calls += 1
                page = dict(self.client.get_idle_recommendations(**params))
                # kept as plain JSON (the day's cache): what sagewatch.awsview reads, timestamps as text
                pages.append(
                    json.loads(
                        json.dumps(
                            {
                                "idleRecommendations": page.get("idleRecommendations", []),
                                "errors": page.get("errors", []),
                            },
                            default=str,
                        )
                    )
                )
                token = page.get("nextToken")
                if not token:
                    break
        except ClientError as exc:
            code = error_code(exc)
            if code in NOT_ENROLLED_CODES:
                return {"status": NOT_ENROLLED, "note": "Compute Optimizer: this account is not enrolled"}
            transient = code not in DENIED
            return {"status": NOT_READ, "note": f"Compute Optimizer: not read ({code})", "transient": transient}
        except BotoCoreError as exc:
            return {
                "status": NOT_READ,
                "note": f"Compute Optimizer: not read ({type(exc).__name__})",
                "transient": True,
            }
        return {"status": "read", "pages": pages}


def _from_doc(doc: dict[str, Any]) -> AwsIdle:
    if doc.get("status") != "read":
        return AwsIdle(str(doc.get("status") or NOT_READ), note=str(doc.get("note") or "") or None)
    return idle_from_api(doc.get("pages") or [])
