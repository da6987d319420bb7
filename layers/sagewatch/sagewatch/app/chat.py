"""Chatbot's Dry run button: plan the remediation a notification carried, and say how to apply it. Never acts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from sagewatch.app.remediate import RemediationDependencies, answer
from sagewatch.chat import ChatRequestError, apply_command, decode
from sagewatch.remediation import RemediationRequest, describe_validation_error


def chat_dry_run(
    event: object, deps: RemediationDependencies, *, region: str, request_id: str, function: str
) -> dict[str, Any]:
    """The plan of the request in `event` ({"chat_request": ...}, what the notification carried), every rail of
    a dry run applied (protect tag, stale and idle re-checks); a planned one ends with `apply`, the command that
    carries it out through the remediation `function` with `request_id`. Anything else is answered `invalid`."""
    if not isinstance(event, Mapping) or set(event) != {"chat_request"}:
        return {
            "status": "invalid",
            "error": 'a chat dry run takes {"chat_request": ...}, what the notification carried',
        }
    try:
        doc = decode(event["chat_request"])
        request = RemediationRequest.model_validate(doc)
    except ChatRequestError as exc:
        return {"status": "invalid", "error": str(exc)}
    except ValidationError as exc:
        return {"status": "invalid", "error": describe_validation_error(exc)}
    result = answer(request, deps)
    if result.get("status") == "planned":
        result.pop("to_execute", None)  # `apply` says it exactly, last: what the channel shows at the end
        result["apply"] = apply_command(doc, region, request_id, function)
    return result
