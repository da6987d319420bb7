"""The Slack app's buttons: Dry run (plan a finding's remediation) and Apply (carry out exactly that plan, once).

`receive` answers Slack's HTTP request within its three seconds: it verifies the signature and hands the click to
`work`, which runs in this function's own asynchronous invocation and answers through the click's response_url.
Nothing is done for a request Slack did not sign, a retry, a click by someone who is not an approver (or outside
the action channels), a button value sagewatch did not write, or an Apply token that was altered, replayed,
expired, used, or clicked by its own dry run's asker under four-eyes. Apply re-plans first and refuses if the plan
changed; the remediation function then applies every rail it always does (protect tag, stale and idle re-checks,
idempotency on the token's request id), audits and announces, recording who asked and who applied.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sagewatch.chat import ChatRequestError, decode
from sagewatch.settings import SlackActionsSettings
from sagewatch.slackapp import (
    APPLY,
    DRY_RUN,
    TOKEN,
    Click,
    Person,
    SlackRequestError,
    answer_message,
    apply_request_id,
    ephemeral,
    header,
    parse,
    plan_changes,
    plan_digest,
    plan_message,
    plan_summary,
    raw_body,
    refusal,
    signed_job,
    verified_click,
    verify,
)

TOKEN_LIFETIME = timedelta(minutes=15)


class Tokens(Protocol):
    def put(self, token: str, grant: Mapping[str, Any], expires: datetime) -> None: ...
    def get(self, token: str, now: datetime) -> dict[str, Any] | None: ...
    def take(self, token: str, now: datetime) -> bool: ...


class Remediation(Protocol):
    def run(self, request: Mapping[str, Any], requested_by: Mapping[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SlackActionsDependencies:
    tokens: Tokens
    remediation: Remediation
    enqueue: Callable[[Mapping[str, Any]], None]  # this function, asynchronously
    post: Callable[[str, Mapping[str, Any]], None]  # (response_url, message); only Slack's URLs


def _http(status: int, text: str = "") -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "text/plain; charset=utf-8"}, "body": text}


def receive(
    event: Mapping[str, Any],
    settings: SlackActionsSettings,
    signing_secret: str,
    deps: SlackActionsDependencies,
    now: datetime,
) -> dict[str, Any]:
    """Slack's HTTP request (a function URL event) -> the HTTP answer; a verified click is queued for `work`."""
    headers = event.get("headers") if isinstance(event.get("headers"), Mapping) else {}
    assert isinstance(headers, Mapping)
    try:
        body = raw_body(event)
        verify(signing_secret, headers, body, now.timestamp())
        if header(headers, "x-slack-retry-num") is not None:
            return _http(200)  # Slack's retry of a click already taken: the first delivery does the work
        click = parse(body)
    except SlackRequestError as exc:
        return _http(exc.status, str(exc))
    if not click.response_url.startswith(settings.slack_url_prefix):
        return _http(400, "the response_url is not Slack's")
    try:
        # the request as Slack signed it: the work verifies the signature again before it acts
        deps.enqueue({"sagewatch_slack_click": signed_job(headers, body)})
    except Exception as exc:  # nothing was done: Slack shows the click failed, and it can be clicked again
        return _http(503, f"the click could not be queued ({type(exc).__name__}): nothing was done, click again")
    return _http(200)


def who(asked: Person, applied: Person | None = None) -> dict[str, Any]:
    """What the remediation function records as the requester (a claim it cannot verify itself; this function
    verified Slack's signature)."""
    return {
        "requested_by": f"slack:{(applied or asked).id} ({(applied or asked).name})",
        "slack": {"asked_by": asked.to_dict(), "applied_by": applied.to_dict() if applied else None},
    }


def work(
    job: Mapping[str, Any],
    settings: SlackActionsSettings,
    signing_secret: str,
    deps: SlackActionsDependencies,
    now: datetime,
) -> dict[str, Any]:
    """One click, its Slack signature verified again: refused, planned (with an Apply button) or applied. Returns
    what happened, for the log. A job that is not exactly what Slack signed (an invocation by anyone who may invoke
    this function) does nothing and is answered nowhere: it names no URL sagewatch may trust."""
    try:
        click = verified_click(signing_secret, job.get("sagewatch_slack_click"), now.timestamp())
    except SlackRequestError as exc:
        return {"status": "unsigned", "reason": str(exc)}
    if not click.response_url.startswith(settings.slack_url_prefix):
        return {"status": "unsigned", "reason": "the response_url is not Slack's"}

    def say(message: Mapping[str, Any]) -> None:
        deps.post(click.response_url, message)

    why = refusal(click, settings.approvers, settings.channels)
    if why:
        say(ephemeral(why))
        return {"status": "refused", "reason": why, "user": click.user.id}
    try:
        if click.action == DRY_RUN:
            return _dry_run(click, settings, deps, now, say)
        if click.action == APPLY:
            return _apply(click, settings, deps, now, say)
    except Exception as exc:
        # said to the clicker, then raised (the function's errors and log have it); the work is never retried
        say(
            ephemeral(
                f"sagewatch could not finish this click ({type(exc).__name__}); see its log. Nothing more was done."
            )
        )
        raise
    return {"status": "ignored"}


def _dry_run(
    click: Click,
    settings: SlackActionsSettings,
    deps: SlackActionsDependencies,
    now: datetime,
    say: Callable[[Mapping[str, Any]], None],
) -> dict[str, Any]:
    try:
        request = decode(click.value)
    except ChatRequestError as exc:
        say(ephemeral(f"This Dry run button does not carry a request sagewatch wrote ({exc}): nothing was done."))
        return {"status": "invalid", "reason": str(exc)}
    result = deps.remediation.run(request, who(click.user))
    if result.get("status") != "planned":
        say({**answer_message(result, click.user, "Dry run"), "replace_original": False})
        return {"status": result.get("status"), "endpoint": request.get("endpoint")}
    token = secrets.token_urlsafe(32)
    expires = now + TOKEN_LIFETIME
    grant = {
        "request": request,
        "plan": plan_digest(result),
        "shown": plan_summary(result),  # what a refused Apply compares to say why the plan changed
        "asked_by": click.user.to_dict(),
        "channel": click.channel,
    }
    deps.tokens.put(token, grant, expires)
    say(plan_message(result, token, click.user, expires, four_eyes=settings.four_eyes))
    return {"status": "planned", "endpoint": request.get("endpoint"), "asked_by": click.user.id}


def _apply(
    click: Click,
    settings: SlackActionsSettings,
    deps: SlackActionsDependencies,
    now: datetime,
    say: Callable[[Mapping[str, Any]], None],
) -> dict[str, Any]:
    def refuse(reason: str) -> dict[str, Any]:
        say(ephemeral(f"{reason}: nothing was done."))
        return {"status": "refused", "reason": reason, "user": click.user.id}

    if not TOKEN.match(click.value):
        return refuse("This Apply button was altered")
    grant = deps.tokens.get(click.value, now)
    if grant is None:
        return refuse("This Apply button is unknown, expired or already used; ask for a new dry run")
    asked = Person(str(grant["asked_by"]["id"]), str(grant["asked_by"]["name"]))
    if grant.get("channel") != click.channel:
        return refuse("This Apply button belongs to another channel")
    if settings.four_eyes and asked.id == click.user.id:
        return refuse("Four-eyes: another approver than the one who asked for the dry run must apply it")
    if not deps.tokens.take(click.value, now):
        return refuse("This Apply button was already used or has expired")
    request: dict[str, Any] = dict(grant["request"])
    again = deps.remediation.run(request, who(asked, click.user))
    if again.get("status") != "planned" or plan_digest(again) != grant["plan"]:
        why = plan_changes(grant.get("shown") or {}, again)
        say(answer_message(again, click.user, "Not applied: the plan changed since the dry run (" + "; ".join(why)
                           + "); ask for a new one"))  # fmt: skip
        return {"status": "changed", "endpoint": request.get("endpoint"), "why": why}
    # the real run carries out the plan the dry run showed, or nothing: its digest travels in the request
    digest = (grant.get("shown") or {}).get("digest")
    expect = {**(request.get("expect") or {}), **({"plan_digest": digest} if digest else {})}
    real = {
        **request,
        **({"expect": expect} if expect else {}),
        "dry_run": False,
        "confirm": request["endpoint"],
        "request_id": apply_request_id(click.value),
    }
    done = deps.remediation.run(real, who(asked, click.user))
    say(answer_message(done, click.user, "Applied" if done.get("status") == "done" else "Apply"))
    return {
        "status": done.get("status"),
        "endpoint": request.get("endpoint"),
        "asked_by": asked.id,
        "applied_by": click.user.id,
    }
