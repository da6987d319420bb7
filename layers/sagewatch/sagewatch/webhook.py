"""Posting JSON to a chat webhook (Slack incoming webhooks), with Slack's rate limiting honoured."""

from __future__ import annotations

import ipaddress
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_RETRY_AFTER_SECONDS = 30.0  # a longer wait is left to the Lambda retry
MAX_ATTEMPTS = 5
# The only URLs sagewatch posts to: whoever can write a webhook secret (or the routing table) cannot make it
# send findings anywhere else. SAGEWATCH_SLACK_URL_PREFIX may name a stand-in on a loopback or private
# address instead, for local tests (sam local, moto); nothing on the internet.
SLACK_HOOKS = "https://hooks.slack.com/"


def url_prefix(text: str) -> str:
    """The webhook URL prefix a setting may name: Slack's, or a local stand-in's. ValueError otherwise."""
    if text == SLACK_HOOKS:
        return text
    parts = urllib.parse.urlsplit(text)
    try:
        local = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and (
                parts.hostname in ("localhost", "host.docker.internal")
                or ipaddress.ip_address(parts.hostname or "").is_private
            )
        )
    except ValueError:
        local = False
    if not local:
        raise ValueError(
            f"must be {SLACK_HOOKS} (or a local stand-in on a loopback or private address), got {text!r:.80}"
        )
    return text


class WebhookError(RuntimeError):
    """The webhook refused a message; raised so that the invocation fails and is retried, then dead-lettered."""


@dataclass
class WebhookPoster:
    url: str
    timeout: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    prefix: str = SLACK_HOOKS

    def __post_init__(self) -> None:
        if not self.url.startswith(self.prefix):
            raise ValueError(f"the webhook URL must start with {self.prefix} (got something else)")

    def post(self, payload: dict[str, Any], *, deadline: float | None = None) -> int:
        """POST one payload; on 429 wait Retry-After (bounded) and try again. Returns attempts used."""
        body = json.dumps(payload).encode()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            request = urllib.request.Request(
                self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    if response.status == 200:
                        return attempt
                    raise WebhookError(f"webhook answered HTTP {response.status}")
            except urllib.error.HTTPError as exc:
                reason = exc.read().decode(errors="replace")[:200]
                if exc.code != 429:
                    raise WebhookError(f"webhook answered HTTP {exc.code}: {reason}") from exc
                wait = _retry_after(exc.headers.get("Retry-After"))
                if (
                    attempt == MAX_ATTEMPTS
                    or wait > MAX_RETRY_AFTER_SECONDS
                    or (deadline is not None and time.monotonic() + wait > deadline)
                ):
                    raise WebhookError(f"webhook rate-limited us (Retry-After {wait:g} s); giving up for now") from exc
                self.sleep(wait)
            except (urllib.error.URLError, TimeoutError) as exc:
                raise WebhookError(f"webhook unreachable: {exc}") from exc
        raise WebhookError(f"webhook still rate-limiting after {MAX_ATTEMPTS} attempts")


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except ValueError:
        return 1.0


def webhook_url(secret: str, prefix: str = SLACK_HOOKS) -> str:
    """The webhook URL from its Secrets Manager value: the URL itself, or JSON {"webhook_url": ...}; it must
    start with `prefix` (Slack's incoming webhooks)."""
    text = secret.strip()
    if text.startswith("{"):
        try:
            text = str(json.loads(text)["webhook_url"]).strip()
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError('the Slack secret is JSON without a "webhook_url" string') from exc
    if not text.startswith(prefix):
        raise ValueError(f"the Slack secret does not hold a Slack webhook URL (expected {prefix}...)")
    return text
