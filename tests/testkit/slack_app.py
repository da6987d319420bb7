"""Slack's side of the Slack app, for tests and `sam local`: interaction bodies as Slack sends them, signed with
a signing secret, as the function URL event Lambda hands over."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

from sagewatch.slackapp import signature

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documentation example's secret
APPROVER = ("U0123ABCD", "alice")
OTHER_APPROVER = ("U0456EFGH", "bob")
STRANGER = ("U0999ZZZZ", "mallory")
CHANNEL = "C0123456789"


def click_body(action: str, value: str, *, user: tuple[str, str] = APPROVER, channel: str = CHANNEL,
               response_url: str = "https://hooks.slack.com/actions/T000/1/abc") -> str:  # fmt: skip
    """A block_actions interaction body: the form Slack posts, with its one `payload` field."""
    payload = {
        "type": "block_actions",
        "user": {"id": user[0], "username": user[1], "name": user[1], "team_id": "T000"},
        "team": {"id": "T000", "domain": "example"},
        "channel": {"id": channel, "name": "ml-alerts"},
        "response_url": response_url,
        "trigger_id": "123.456.abc",
        "actions": [{"action_id": action, "block_id": "b1", "type": "button", "value": value, "action_ts": "1"}],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def url_event(body: str, *, timestamp: int, secret: str = SIGNING_SECRET, signed: str | None = None,
              retry: int | None = None) -> dict[str, Any]:  # fmt: skip
    """The function URL event (payload format 2.0) of a signed Slack request; `signed` overrides the signature."""
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": str(timestamp),
        "x-slack-signature": signed or signature(secret, str(timestamp), body.encode()),
        "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    if retry is not None:
        headers["x-slack-retry-num"] = str(retry)
        headers["x-slack-retry-reason"] = "http_timeout"
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/", "sourceIp": "54.0.0.1"}, "accountId": "anonymous"},
        "body": body,
        "isBase64Encoded": False,
    }


def signed_sample(path: str, *, now: int, response_url: str, secret: str = SIGNING_SECRET) -> dict[str, Any]:
    """A sample event of events/slack-actions/ made current: its `{response_url}` filled in (URL-encoded, in the
    body Slack signs), then `{timestamp}` set to `now` and `{signature}` computed over the body and the event's
    timestamp (a fixed stale timestamp stays stale; a forged signature stays forged)."""
    doc: dict[str, Any] = json.loads(Path(path).read_text())
    doc["body"] = doc["body"].replace(
        urllib.parse.quote("{response_url}", safe=""), urllib.parse.quote(response_url, safe="")
    )
    headers = doc["headers"]
    if headers["x-slack-request-timestamp"] == "{timestamp}":
        headers["x-slack-request-timestamp"] = str(now)
    if headers["x-slack-signature"] == "{signature}":
        headers["x-slack-signature"] = signature(secret, headers["x-slack-request-timestamp"], doc["body"].encode())
    return doc
