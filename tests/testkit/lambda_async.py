"""Lambda's asynchronous-invocation contract, for tests: up to 2 retries, then the on-failure destination.

The record sent to an SQS destination follows AWS's documented shape (requestContext, requestPayload,
responsePayload), so tests can show that a failed event arrives in the dead-letter queue intact.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def invoke_async(
    handler: Callable[[Any, Any], Any],
    event: dict[str, Any],
    context: Any,
    *,
    sqs: Any,
    on_failure_queue_url: str,
    retries: int = 2,
) -> Any:
    error: Exception | None = None
    attempts = retries + 1
    for _ in range(attempts):
        try:
            return handler(event, context)
        except Exception as exc:  # Lambda treats any error alike
            error = exc
    assert error is not None
    record = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": context.invoked_function_arn,
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
    }
    sqs.send_message(QueueUrl=on_failure_queue_url, MessageBody=json.dumps(record))
    return None
