"""The Slack notifier: each SNS message's notice, as Block Kit posts on an incoming webhook."""

from __future__ import annotations

import json
from typing import Any, Protocol

from sagewatch.notify import from_document, slack_payloads


class Poster(Protocol):
    def post(self, payload: dict[str, Any], *, deadline: float | None = None) -> int: ...


def deliver_to_slack(
    messages: list[str], poster: Poster, *, deadline: float | None = None, buttons: bool = False
) -> dict[str, Any]:
    """Post each SNS message's notice to Slack as Block Kit messages (`buttons`: with the Slack app's Dry run
    buttons). Any failure raises, so that the invocation is retried and finally dead-lettered with its event:
    nothing is dropped silently."""
    batches: list[list[dict[str, Any]]] = []
    for n, message in enumerate(messages, 1):
        try:
            doc = json.loads(message)
            if not isinstance(doc, dict):
                raise TypeError(f"a JSON {type(doc).__name__}, not an object")
            batches.append(slack_payloads(from_document(doc), buttons=buttons))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"SNS message {n} is not a sagewatch digest, alert, notice: {str(exc)[:300]}") from exc
    posted = attempts = 0
    for payloads in batches:
        for payload in payloads:
            attempts += poster.post(payload, deadline=deadline)
            posted += 1
    return {"digests": len(batches), "slack_messages": posted, "attempts": attempts}
