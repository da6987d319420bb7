"""The Slack app's buttons (sagewatch.slackapp, sagewatch.app.slack_actions) with fakes for AWS: Slack's signature
(its published example), every refusal, and what an Apply token is bound to."""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagewatch.app.slack_actions import SlackActionsDependencies, receive, work
from sagewatch.chat import encode
from sagewatch.settings import SlackActionsSettings
from sagewatch.slackapp import APPLY, DRY_RUN, SlackRequestError, parse, signature, verify
from sagewatch_testkit.slack_app import (
    APPROVER,
    CHANNEL,
    OTHER_APPROVER,
    SIGNING_SECRET,
    STRANGER,
    click_body,
    url_event,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
REQUEST = {
    "action": "resize-variant",
    "endpoint": "docs",
    "variant": "AllTraffic",
    "instance_type": "ml.r5.xlarge",
    "instance_count": 3,
    "expect": {"instance_type": "ml.m5.4xlarge", "instance_count": 3},
    "dry_run": True,
}


def test_slacks_published_example_verifies():
    """docs.slack.dev, "Verifying requests from Slack": the secret, timestamp, body and signature it shows."""
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name"
        b"=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2F"
        b"hooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47"
        b"445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body) == expected
    headers = {"X-Slack-Request-Timestamp": "1531420618", "X-Slack-Signature": expected}
    verify("8f742231b10e8888abcd99yyyzzz85a5", headers, body, 1531420618 + 299)  # any header case
    with pytest.raises(SlackRequestError, match="more than five minutes"):
        verify("8f742231b10e8888abcd99yyyzzz85a5", headers, body, 1531420618 + 301)
    with pytest.raises(SlackRequestError, match="does not match"):
        verify("8f742231b10e8888abcd99yyyzzz85a5", headers, body + b"&x=1", 1531420618)


class FakeTokens:
    def __init__(self) -> None:
        self.items: dict[str, tuple[dict[str, Any], datetime]] = {}

    def put(self, token, grant, expires):
        self.items[token] = (dict(grant), expires)

    def get(self, token, now):
        found = self.items.get(token)
        return dict(found[0]) if found and found[1] > now else None

    def take(self, token, now):
        return self.items.pop(token, None) is not None


class FakeRemediation:
    """Plans REQUEST-like requests; `plan` is what the endpoint looks like now; remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.after = "ml.r5.xlarge"
        self.done: set[str] = set()

    def run(self, request, requested_by):
        self.calls.append((dict(request), dict(requested_by)))
        # the steps name a config for the minute they are planned in: a re-plan a minute later differs there
        steps = [f"create endpoint config docs-config-sw{len(self.calls)}"]
        plan = {"action": request["action"], "endpoint": request["endpoint"], "after": self.after, "steps": steps}
        if request.get("dry_run", True):
            return {"status": "planned", "dry_run": True, "plan": plan}
        self.done.add(request["request_id"])
        return {"status": "done", "dry_run": False, "plan": plan}


@pytest.fixture
def app():
    posts: list[tuple[str, dict[str, Any]]] = []
    queue: list[dict[str, Any]] = []
    deps = SlackActionsDependencies(FakeTokens(), FakeRemediation(), queue.append, lambda u, m: posts.append((u, m)))
    config = SlackActionsSettings(
        region="us-east-1",
        signing_secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:s",
        approvers=frozenset({APPROVER[0], OTHER_APPROVER[0]}),
        remediate_function="sagewatch-RemediateFunction",
        tokens_table="t",
        channels=frozenset({CHANNEL}),
        four_eyes=True,
    )

    class App:
        def click(self, action, value, *, user=APPROVER, channel=CHANNEL, at=NOW, **kw):
            event = url_event(
                click_body(action, value, user=user, channel=channel), timestamp=int(at.timestamp()), **kw
            )
            answer = receive(event, self.config, SIGNING_SECRET, deps, at)
            outcomes = [work(job, self.config, SIGNING_SECRET, deps, at) for job in queue]
            queue.clear()
            return answer, outcomes

        def token(self):
            message = posts[-1][1]
            return message["blocks"][1]["elements"][0]["value"]

    a = App()
    a.posts, a.deps, a.config = posts, deps, config
    return a


def test_dry_run_then_apply_by_another_approver_makes_the_change_once(app):
    answer, [planned] = app.click(DRY_RUN, encode(REQUEST))
    assert answer["statusCode"] == 200 and planned["status"] == "planned"
    token = app.token()
    assert app.posts[-1][1]["replace_original"] is False  # a new message: the digest stays
    _, [applied] = app.click(APPLY, token, user=OTHER_APPROVER, at=NOW + timedelta(minutes=3))
    assert applied == {"status": "done", "endpoint": "docs", "asked_by": APPROVER[0], "applied_by": OTHER_APPROVER[0]}
    real = [(r, who) for r, who in app.deps.remediation.calls if r.get("dry_run") is False]
    assert len(real) == 1
    request, who = real[0]
    assert request == {**REQUEST, "dry_run": False, "confirm": "docs", "request_id": request["request_id"]}
    assert who["slack"] == {"asked_by": {"id": APPROVER[0], "name": APPROVER[1]},
                            "applied_by": {"id": OTHER_APPROVER[0], "name": OTHER_APPROVER[1]}}  # fmt: skip
    assert app.posts[-1][1]["replace_original"] is True  # the Apply button is gone with its message
    # the same token again (a replay, a double click): nothing
    _, [again] = app.click(APPLY, token, user=OTHER_APPROVER, at=NOW + timedelta(minutes=4))
    assert again["status"] == "refused" and "already used" in again["reason"]
    assert len([r for r, _ in app.deps.remediation.calls if r.get("dry_run") is False]) == 1


def test_four_eyes_refuses_the_asker_and_keeps_the_token_for_another(app):
    app.click(DRY_RUN, encode(REQUEST))
    token = app.token()
    _, [mine] = app.click(APPLY, token, user=APPROVER)
    assert mine["status"] == "refused" and "Four-eyes" in mine["reason"]
    _, [theirs] = app.click(APPLY, token, user=OTHER_APPROVER)
    assert theirs["status"] == "done"


def test_an_expired_altered_or_foreign_token_does_nothing(app):
    app.click(DRY_RUN, encode(REQUEST))
    token = app.token()
    _, [late] = app.click(APPLY, token, user=OTHER_APPROVER, at=NOW + timedelta(minutes=16))
    assert "expired" in late["reason"]
    app.click(DRY_RUN, encode(REQUEST))
    token = app.token()
    for value in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 43, "../../etc", token + "=="):
        _, [outcome] = app.click(APPLY, value, user=OTHER_APPROVER)
        assert outcome["status"] == "refused", value
    _, [elsewhere] = app.click(APPLY, token, user=OTHER_APPROVER, channel="C0999999999")
    assert elsewhere["status"] == "refused"  # the channel list refuses it before the token is read
    assert not [r for r, _ in app.deps.remediation.calls if r.get("dry_run") is False]


def test_apply_refuses_when_the_plan_changed_since_the_dry_run(app):
    """The token is bound to the plan: another size, another action or endpoint now means another plan."""
    app.click(DRY_RUN, encode(REQUEST))
    token = app.token()
    app.deps.remediation.after = "ml.r5.2xlarge"  # the endpoint (or the catalog) moved on
    _, [outcome] = app.click(APPLY, token, user=OTHER_APPROVER)
    assert outcome["status"] == "changed"
    assert not [r for r, _ in app.deps.remediation.calls if r.get("dry_run") is False]
    said = app.posts[-1][1]["blocks"][0]["text"]["text"]
    assert "plan changed" in said
    assert 'after: "ml.r5.xlarge" is now "ml.r5.2xlarge"' in outcome["why"][0]  # why, not only that
    assert "is now" in said


@pytest.mark.parametrize(
    ("user", "channel", "why"),
    [(STRANGER, CHANNEL, "not one of sagewatch's approvers"), (APPROVER, "C0999999999", "act only in the channels")],
)
def test_strangers_and_other_channels_are_told_why_alone(app, user, channel, why):
    _, [outcome] = app.click(DRY_RUN, encode(REQUEST), user=user, channel=channel)
    assert outcome["status"] == "refused" and why in outcome["reason"]
    assert app.posts[-1][1]["response_type"] == "ephemeral"
    assert app.deps.remediation.calls == []


def test_a_dry_run_button_carries_only_what_sagewatch_writes(app):
    for value in (encode({**REQUEST, "dry_run": False}), encode({**REQUEST, "action": "restore-endpoint"}), "e30="):
        _, [outcome] = app.click(DRY_RUN, value)
        assert outcome["status"] == "invalid"
    assert app.deps.remediation.calls == []


def test_the_work_verifies_slacks_signature_again_and_an_unsigned_job_does_nothing(app):
    """Anyone who may invoke the function could hand it a job: only the request exactly as Slack signed it, within
    its five minutes, is acted on; anything else does nothing and is answered nowhere."""
    body = click_body(DRY_RUN, encode(REQUEST))
    event = url_event(body, timestamp=int(NOW.timestamp()))
    assert receive(event, app.config, SIGNING_SECRET, app.deps, NOW)["statusCode"] == 200
    [job] = app.deps.enqueue.__self__  # the queued work
    signed = job["sagewatch_slack_click"]
    assert set(signed) == {"body", "timestamp", "signature"}
    forged_body = base64.b64encode(click_body(APPLY, "x" * 43, user=STRANGER).encode()).decode()
    attempts = [
        {"sagewatch_slack_click": {"user": {"id": APPROVER[0], "name": "alice"}, "channel": CHANNEL,
                                   "response_url": "https://hooks.slack.com/a", "action": APPLY, "value": "x"}},
        {"sagewatch_slack_click": {**signed, "body": forged_body}},
        {"sagewatch_slack_click": {**signed, "signature": "v0=" + "0" * 64}},
        {"sagewatch_slack_click": "not a job"},
        {},
    ]  # fmt: skip
    for attempt in attempts:
        outcome = work(attempt, app.config, SIGNING_SECRET, app.deps, NOW)
        assert outcome["status"] == "unsigned", (attempt, outcome)
    late = work(job, app.config, SIGNING_SECRET, app.deps, NOW + timedelta(minutes=6))
    assert late["status"] == "unsigned" and "five minutes" in late["reason"]
    assert app.deps.remediation.calls == [] and app.posts == []
    assert work(job, app.config, SIGNING_SECRET, app.deps, NOW)["status"] == "planned"


def test_unsigned_stale_retried_and_foreign_requests_do_nothing(app):
    body = click_body(DRY_RUN, encode(REQUEST))
    stamp = int(NOW.timestamp())
    cases = {
        "forged": url_event(body, timestamp=stamp, signed="v0=" + "0" * 64),
        "another secret": url_event(body, timestamp=stamp, secret="another-secret-of-32-characters!"),
        "stale": url_event(body, timestamp=stamp - 301),
        "no headers": {**url_event(body, timestamp=stamp), "headers": {}},
    }
    for name, event in cases.items():
        answer = receive(event, app.config, SIGNING_SECRET, app.deps, NOW)
        assert answer["statusCode"] == 401, name
    for odd in ("²", "1e9", "-1", "9" * 40):  # digits int() refuses, or no Unix time at all
        event = url_event(body, timestamp=stamp)
        event["headers"]["x-slack-request-timestamp"] = odd
        assert receive(event, app.config, SIGNING_SECRET, app.deps, NOW)["statusCode"] == 401, odd
    retry = receive(url_event(body, timestamp=stamp, retry=1), app.config, SIGNING_SECRET, app.deps, NOW)
    assert retry["statusCode"] == 200
    base64ed = url_event(body, timestamp=stamp)
    base64ed |= {"body": base64.b64encode(body.encode()).decode(), "isBase64Encoded": True}
    assert receive(base64ed, app.config, SIGNING_SECRET, app.deps, NOW)["statusCode"] == 200  # decoded first
    not_slack = click_body(DRY_RUN, "x", response_url="https://evil.example/hook")
    answer = receive(url_event(not_slack, timestamp=stamp), app.config, SIGNING_SECRET, app.deps, NOW)
    assert answer["statusCode"] == 400 and "response_url" in answer["body"]


def test_parse_reads_a_block_actions_click():
    click = parse(click_body(APPLY, "t" * 43).encode())
    assert (click.user.id, click.user.name, click.channel, click.action) == (APPROVER[0], APPROVER[1], CHANNEL, APPLY)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(st.text(max_size=600), st.binary(max_size=600).map(lambda b: b.decode("latin-1"))),
    headers=st.dictionaries(
        st.sampled_from(["x-slack-signature", "x-slack-request-timestamp", "X-Slack-Signature", "x-slack-retry-num"]),
        st.text(max_size=80),
    ),
    b64=st.booleans(),
)
def test_any_request_is_answered_without_5xx_and_without_work(app, body, headers, b64):
    event = {"headers": headers, "body": body, "isBase64Encoded": b64}
    answer = receive(event, app.config, SIGNING_SECRET, app.deps, NOW)
    assert answer["statusCode"] < 500
    assert app.deps.remediation.calls == [] and app.posts == []


def test_a_failure_in_the_work_is_said_to_the_clicker_and_raised(app):
    def broken(request, requested_by):
        raise RuntimeError("the remediation function is throttled")

    app.deps.remediation.run = broken
    with pytest.raises(RuntimeError, match="throttled"):
        app.click(DRY_RUN, encode(REQUEST))
    assert app.posts[-1][1]["response_type"] == "ephemeral"
    assert "could not finish this click (RuntimeError)" in app.posts[-1][1]["text"]


def test_a_token_applies_exactly_its_own_plan_in_its_own_channel(app):
    """Tokens of two dry runs (another endpoint, another action): each applies only what it was minted for, and
    only in the channel its dry run was asked in."""
    other = {"action": "delete-endpoint", "endpoint": "sandbox", "expect": {"idle": True}, "dry_run": True}
    app.click(DRY_RUN, encode(REQUEST))
    first = app.token()
    app.click(DRY_RUN, encode(other))
    second = app.token()
    _, [applied] = app.click(APPLY, second, user=OTHER_APPROVER)
    assert applied["endpoint"] == "sandbox"
    [real] = [r for r, _ in app.deps.remediation.calls if r.get("dry_run") is False]
    assert (real["action"], real["endpoint"]) == ("delete-endpoint", "sandbox")
    app.config = replace(app.config, channels=frozenset())  # every channel may act...
    _, [elsewhere] = app.click(APPLY, first, user=OTHER_APPROVER, channel="C0888888888")
    assert elsewhere["status"] == "refused" and "another channel" in elsewhere["reason"]  # ...but not with this one


def test_a_body_larger_than_any_interaction_is_413_before_its_signature_is_computed(app):
    body = click_body(DRY_RUN, encode(REQUEST)) + "&pad=" + "x" * (64 * 1024)
    answer = receive(url_event(body, timestamp=int(NOW.timestamp())), app.config, SIGNING_SECRET, app.deps, NOW)
    assert answer["statusCode"] == 413  # signed or not: never hashed, never parsed
    assert app.deps.remediation.calls == [] and app.posts == []


def test_a_user_name_is_bounded_and_escaped_wherever_it_is_posted(app):
    """A Slack user name is the user's to choose: `<!channel>` or a link in it must reach Slack as text."""
    hostile = ("U0HOSTILE1", "<!channel> <https://evil.example|click> & *bold*" + "z" * 200)
    app.config = replace(app.config, approvers=app.config.approvers | {hostile[0]})
    app.click(DRY_RUN, encode(REQUEST), user=hostile)
    plan = app.posts[-1][1]["blocks"][0]["text"]["text"]
    _, [applied] = app.click(APPLY, app.token(), user=OTHER_APPROVER)
    assert applied["status"] == "done"
    app.click(DRY_RUN, encode(REQUEST), user=(STRANGER[0], hostile[1]))
    refused = app.posts[-1][1]["text"]
    for text in (plan, refused):
        assert "<!channel>" not in text and "<https://" not in text, text
        assert "&lt;!channel&gt;" in text and "z" * 100 not in text  # escaped, and bounded
