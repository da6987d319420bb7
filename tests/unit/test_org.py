"""The organization's view, pure: what members send, how the aggregator keeps it, silence, debounce, the digest
in every form (bounded and escaped: everything in it came from another account), and the cost report."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from sagewatch.lifecycle import Announcement, Reason
from sagewatch.models import Action, Finding, Kind, Recommendation, Severity
from sagewatch.notify import from_document, slack_payloads, sns_messages
from sagewatch.notify.limits import SLACK_BLOCKS_MAX, SLACK_SECTION_MAX
from sagewatch.notify.org import render_email, render_json
from sagewatch.org import (
    SCAN_SUMMARY_SCHEMA,
    Debounce,
    Member,
    MemberSummary,
    OrgDigest,
    OrgEventError,
    OrgFinding,
    Origin,
    interval_of,
    org_digest,
    parse_announcement,
    receive_announcement,
    silence_news,
    stale_findings,
)
from sagewatch.orgcost import MemberCost, OrgCostReport, current_members, render_html, to_csv
from sagewatch.settings import OrgSettings, ScanSettings, SettingsError
from sagewatch.weekly import SUMMARY_SCHEMA

T0 = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
A, B = "111111111111", "222222222222"


def finding(endpoint: str = "churn-model", savings: float = 100.0, fid: str | None = None) -> Finding:
    return Finding(
        id=fid or f"sw-{endpoint}",
        kind=Kind.IDLE,
        severity=Severity.HIGH,
        endpoint=endpoint,
        variant=None,
        inference_component=None,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        evidence={"idle_hours": 24},
        recommendation=Recommendation(Action.DELETE_ENDPOINT, None, None, f"Delete endpoint {endpoint}."),
        monthly_cost_usd=savings,
        monthly_savings_usd=savings,
    )


def summary(at: datetime = T0, **overrides) -> dict:
    doc = {
        "schema": SCAN_SUMMARY_SCHEMA,
        "account": A,
        "region": "us-east-1",
        "scanned_at": at.isoformat(),
        "interval_seconds": 3600,
        "endpoints": 3,
        "findings": 1,
        "findings_by_kind": {"idle": 1},
        "fleet_monthly_cost_usd": 1234.5,
        "monthly_savings_usd": 100.0,
        "complete": True,
        "errors": 0,
        "warnings": [],
        "open_finding_ids": ["sw-churn-model"],
        "open_finding_ids_complete": True,
    }
    return doc | overrides


def member(account: str = A, region: str = "us-east-1", at: datetime = T0, **overrides) -> Member:
    return Member(account, region, MemberSummary.from_detail(summary(at, **overrides)))


# --- what members send -------------------------------------------------------------------------------------


def test_rate_schedules_give_the_interval_and_cron_does_not():
    assert interval_of("rate(1 hour)") == 3600 and interval_of("rate(15 minutes)") == 900
    assert interval_of("rate(2 days)") == 172800 and interval_of("cron(0 * * * ? *)") is None


def test_scan_schedule_setting():
    env = {"AWS_REGION": "us-east-1", "SAGEWATCH_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "SAGEWATCH_STATE_TABLE": "s"}
    assert ScanSettings.from_env(env | {"SAGEWATCH_SCAN_SCHEDULE": "rate(30 minutes)"}).interval_seconds == 1800
    assert ScanSettings.from_env(env | {"SAGEWATCH_SCAN_SCHEDULE": "cron(0 8 * * ? *)"}).interval_seconds is None
    with pytest.raises(SettingsError, match="SAGEWATCH_SCAN_SCHEDULE must be rate"):
        ScanSettings.from_env(env | {"SAGEWATCH_SCAN_SCHEDULE": "every hour"})


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"schema": "x"}, "not a scan summary"),
        ({"endpoints": -1}, "endpoints must be between 0 and"),
        ({"endpoints": True}, "endpoints must be a whole number"),
        ({"findings": 1.5}, "findings must be a whole number"),
        ({"fleet_monthly_cost_usd": "a lot"}, "fleet_monthly_cost_usd must be a finite number"),
        ({"fleet_monthly_cost_usd": 1e308}, "fleet_monthly_cost_usd must be between 0 and 1e"),
        ({"fleet_monthly_cost_usd": float("inf")}, "fleet_monthly_cost_usd must be a finite number"),
        ({"monthly_savings_usd": float("nan")}, "monthly_savings_usd must be a finite number"),
        ({"scanned_at": "yesterday"}, "scanned_at is not an ISO 8601 time"),
        ({"scanned_at": 20261123}, "scanned_at must be an ISO 8601 time"),
        ({"scanned_at": "2026-11-23T09:05:00"}, "scanned_at has no time zone"),
        ({"interval_seconds": 5}, "interval_seconds must be a whole number from 60 to 604800"),
        ({"interval_seconds": 5 * 10**13}, "interval_seconds must be a whole number from 60 to 604800"),
        ({"open_finding_ids": [7]}, "open_finding_ids must be a list of strings"),
        ({"open_finding_ids": "sw-1"}, "open_finding_ids must be a list"),
        ({"findings_by_kind": ["idle"]}, "findings_by_kind must be an object"),
    ],
)
def test_a_malformed_scan_summary_is_refused_naming_the_field(change, problem):
    with pytest.raises(OrgEventError, match=problem):
        MemberSummary.from_detail(summary() | change)


def test_origin_comes_from_the_envelope_and_must_look_like_one():
    assert Origin.of(A, "eu-west-1", T0).key == f"{A}#eu-west-1"
    with pytest.raises(OrgEventError, match="not a 12-digit account id"):
        Origin.of("12345", "us-east-1", T0)
    with pytest.raises(OrgEventError, match="not an AWS region name"):
        Origin.of(A, "us-east-1; DROP", T0)


def test_a_finding_event_is_its_reason_and_finding():
    reason, f = parse_announcement({"reason": "new", **finding().to_dict()})
    assert reason is Reason.NEW and f == finding()
    with pytest.raises(OrgEventError, match="unknown reason"):
        parse_announcement({"reason": "spam", **finding().to_dict()})
    with pytest.raises(OrgEventError, match="not a sagewatch finding"):
        parse_announcement({"reason": "new", "id": "x"})


# --- how the aggregator keeps findings ---------------------------------------------------------------------


def test_news_merges_until_the_digest_says_it():
    o = Origin(A, "us-east-1", T0)
    new = receive_announcement(None, o, Reason.NEW, finding(), None)
    assert new is not None and new.pending is Reason.NEW and new.open
    changed = receive_announcement(new, o, Reason.CHANGED, finding(savings=300), finding())
    assert changed is not None and changed.pending is Reason.NEW  # never digested: still news
    assert receive_announcement(new, o, Reason.RESOLVED, finding(), None) is None  # came and went: nothing
    settled = OrgFinding(A, "us-east-1", finding(), True, T0, None)
    again = receive_announcement(settled, o, Reason.CHANGED, finding(savings=300), finding())
    assert again is not None and again.pending is Reason.CHANGED and again.previous == finding()
    gone = receive_announcement(settled, o, Reason.RESOLVED, finding(), None)
    assert gone is not None and gone.pending is Reason.RESOLVED and not gone.open


def test_findings_a_complete_scan_no_longer_has_are_closed_silently():
    kept = OrgFinding(A, "us-east-1", finding("churn-model"), True, T0 - timedelta(hours=1))
    stale = OrgFinding(A, "us-east-1", finding("old"), True, T0 - timedelta(hours=1))
    elsewhere = OrgFinding(B, "us-east-1", finding("old"), True, T0 - timedelta(hours=1))
    assert stale_findings([kept, stale, elsewhere], member()) == [stale]
    incomplete = member(complete=False)
    assert stale_findings([kept, stale], incomplete) == []  # an endpoint not read is not a fixed one
    too_many = member(open_finding_ids=[], open_finding_ids_complete=False)
    assert stale_findings([kept, stale], too_many) == []


def test_a_late_summary_never_replaces_a_newer_one():
    m = member(at=T0)
    assert m.with_summary(MemberSummary.from_detail(summary(T0 - timedelta(hours=1)))) is m
    later = m.with_summary(MemberSummary.from_detail(summary(T0 + timedelta(hours=1))))
    assert later.previous_scan == T0 and later.summary.scanned_at == T0 + timedelta(hours=1)


# --- silence and debounce ----------------------------------------------------------------------------------


def test_silent_after_two_scan_intervals():
    m = member()
    assert not m.silent_at(T0 + timedelta(hours=2, minutes=9))
    assert m.silent_at(T0 + timedelta(hours=2, minutes=11))
    daily = member(interval_seconds=86400)
    assert not daily.silent_at(T0 + timedelta(hours=30))
    cron = Member(A, "us-east-1", MemberSummary.from_detail(summary(interval_seconds=None)), T0 - timedelta(hours=6))
    assert not cron.silent_at(T0 + timedelta(hours=12)) and cron.silent_at(T0 + timedelta(hours=13))


def test_silence_is_announced_once_reminded_and_its_end_too():
    now = T0 + timedelta(hours=3)
    m = member()
    assert silence_news([m], now, timedelta(days=7)).silent == [m]
    told = Member(m.account, m.region, m.summary, silent_announced_at=now)
    assert not silence_news([told], now + timedelta(days=1), timedelta(days=7))
    assert silence_news([told], now + timedelta(days=7), timedelta(days=7)).reminded == [told]
    back = Member(m.account, m.region, MemberSummary.from_detail(summary(now)), silent_announced_at=now)
    assert silence_news([back], now + timedelta(minutes=5), timedelta(days=7)).back == [back]


def test_debounce_waits_for_quiet_but_not_forever():
    d = Debounce(timedelta(minutes=10), timedelta(hours=1))
    assert not d.due([], T0)
    news = [T0, T0 + timedelta(minutes=4)]
    assert not d.due(news, T0 + timedelta(minutes=13)) and d.due(news, T0 + timedelta(minutes=14))
    steady = [T0 + timedelta(minutes=m) for m in range(0, 61, 5)]
    assert d.due(steady, T0 + timedelta(minutes=61))  # members never stop: an hour is the most it waits


def test_org_settings_fail_naming_the_setting():
    env = {"AWS_REGION": "us-east-1", "SAGEWATCH_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t", "SAGEWATCH_BUCKET": "b"}
    with pytest.raises(SettingsError, match="SAGEWATCH_ORG_TABLE is required"):
        OrgSettings.from_env(env)
    env["SAGEWATCH_ORG_TABLE"] = "org"
    assert OrgSettings.from_env(env).quiet_minutes == 10
    with pytest.raises(SettingsError, match="SAGEWATCH_ORGANIZATION_ID is not an organization id"):
        OrgSettings.from_env(env | {"SAGEWATCH_ORGANIZATION_ID": "123"})
    with pytest.raises(SettingsError, match="SAGEWATCH_DIGEST_QUIET_MINUTES must be a whole number"):
        OrgSettings.from_env(env | {"SAGEWATCH_DIGEST_QUIET_MINUTES": "0"})
    with pytest.raises(SettingsError, match="must not be below"):
        OrgSettings.from_env(env | {"SAGEWATCH_DIGEST_QUIET_MINUTES": "90"})


# --- the digest -----------------------------------------------------------------------------------------


def digest_of(
    members: list[Member], pending: list[OrgFinding], now: datetime = T0 + timedelta(minutes=15)
) -> OrgDigest:
    return org_digest(members, pending, silence_news(members, now, timedelta(days=7)), now=now, names={A: "ml-prod"})


def test_the_digest_groups_by_account_and_region_and_adds_up():
    members = [member(), member(region="eu-west-1"), member(B)]
    pending = [
        OrgFinding(A, "eu-west-1", finding("a"), True, T0, Reason.NEW),
        OrgFinding(B, "us-east-1", finding("b"), False, T0, Reason.RESOLVED),
    ]
    d = digest_of(members, pending)
    assert d.totals["accounts"] == 2 and d.totals["regions"] == 2 and d.totals["members"] == 3
    assert d.totals["fleet_monthly_cost_usd"] == round(3 * 1234.5, 2)
    assert [(m.account, m.region, [a.reason.value for a in news]) for m, news in d.groups()] == [
        (A, "eu-west-1", ["new"]),
        (A, "us-east-1", []),
        (B, "us-east-1", ["resolved"]),
    ]
    text = render_email(d)
    assert "ml-prod (111111111111) / eu-west-1" in text and "nothing new" in text
    assert "--region eu-west-1" in text  # the command runs in the member's region
    assert from_document(render_json(d)) == d  # what the Slack notifier reads back


def test_each_members_commands_carry_local_unless_its_stack_deploys_remediation():
    members = [member(), member(B, remediation_function=True)]
    pending = [
        OrgFinding(A, "us-east-1", finding("a", fid="sw-a"), True, T0, Reason.NEW),
        OrgFinding(B, "us-east-1", finding("b", fid="sw-b"), True, T0, Reason.NEW),
    ]
    d = digest_of(members, pending)
    commands = {a["account"]: a["command"] for a in render_json(d)["announcements"]}
    assert commands[A].startswith("sagewatch remediate ") and commands[A].endswith(" --local")
    assert commands[B].startswith("sagewatch remediate ") and "--local" not in commands[B]
    text = render_email(d)
    assert f"In that account: {commands[A]}" in text and f"In that account: {commands[B]}" in text
    # the flag survives the org table
    assert MemberSummary.from_doc(members[1].summary.to_doc()).remediation_function is True


def test_a_silent_member_is_named_first_in_every_form():
    now = T0 + timedelta(hours=3)
    members = [member(at=now), member(B, at=T0)]
    d = digest_of(members, [], now)
    assert [m.account for m in d.silent] == [B]
    text = render_email(d)
    assert text.index("SILENT MEMBERS (1)") < text.index("ml-prod")
    [message] = sns_messages(d)
    assert "1 silent member" in message.subject
    assert json.loads(message.attributes["kind"]["StringValue"]) == ["silent-member"]
    [payload] = slack_payloads(d)
    assert ":rotating_light: silent" in payload["blocks"][1]["elements"][0]["text"]


HOSTILE = "<!channel> @here <https://evil.example|click> `rm -rf` *bold*"


def test_data_from_members_cannot_ping_or_link_in_chat():
    hostile = Finding.from_dict(finding().to_dict() | {"endpoint": HOSTILE})
    pending = [OrgFinding(A, "us-east-1", hostile, True, T0, Reason.NEW)]
    d = org_digest([member()], pending, silence_news([], T0, timedelta(days=7)), now=T0, names={A: HOSTILE})
    for payload in slack_payloads(d):
        blob = json.dumps(payload)
        assert "<!channel>" not in blob and "<https://evil" not in blob and "@here" not in blob
    chatbot = json.loads(json.loads(sns_messages(d, chatbot=True)[0].message)["https"])
    assert "<!channel>" not in json.dumps(chatbot)


def test_a_large_organization_fits_slack_and_sns():
    members = [member(f"{i:012d}", r) for i in range(1, 61) for r in ("us-east-1", "eu-west-1")]
    pending = [
        OrgFinding(m.account, m.region, finding(f"ep-{i}-{'x' * 200}", fid=f"sw-{i}"), True, T0, Reason.NEW)
        for i, m in enumerate(members * 5)
    ]
    d = digest_of(members, pending)
    messages = sns_messages(d)
    assert len(messages) > 1 and all(m.size <= 256 * 1024 for m in messages)
    parts = [from_document(json.loads(json.loads(m.message)["sqs"])) for m in messages]
    assert sum(len(p.announcements) for p in parts) == len(pending)  # split, never lost
    assert all(p.totals["members"] == 120 for p in parts)  # every part carries the organization's totals
    for payload in slack_payloads(d):
        assert len(payload["blocks"]) <= SLACK_BLOCKS_MAX
        assert all(len(b.get("text", {}).get("text", "")) <= SLACK_SECTION_MAX for b in payload["blocks"])


# --- the organization cost report ----------------------------------------------------------------------------


def cost(
    account: str, region: str, cost_usd: float, *, previous: float | None = None, end: datetime = T0
) -> MemberCost:
    doc = {
        "schema": SUMMARY_SCHEMA,
        "period": {"start": (end - timedelta(days=7)).isoformat(), "end": end.isoformat()},
        "totals": {"cost_usd": cost_usd, "monthly_cost_usd": cost_usd * 4.3, "waste_usd": cost_usd / 4},
        "previous": {"cost_usd": previous} if previous is not None else None,
        "by_family": {
            "g5": {"cost_usd": cost_usd * 0.75, "waste_usd": cost_usd / 4},
            "m5": {"cost_usd": cost_usd * 0.25, "waste_usd": 0},
        },
        "top_endpoints": [
            {"endpoint": f"{account[:1]}-{region}-top", "instance_type": "ml.g5.2xlarge", "cost_usd": cost_usd / 2}
        ],
    }
    return MemberCost.from_detail(account, region, doc)


def test_the_cost_report_adds_up_per_account_region_and_family():
    members = [
        cost(A, "us-east-1", 100, previous=80),
        cost(A, "eu-west-1", 50),
        cost(B, "us-east-1", 200, previous=250),
    ]
    report = OrgCostReport(T0, members, {A: "ml-prod"}, {(A, "us-east-1"): 2, (B, "us-east-1"): 1}, [(B, "eu-west-1")])
    assert report.totals["cost_usd"] == 350 and report.totals["waste_usd"] == 87.5
    assert [(r.key, r.cost_usd, r.findings) for r in report.by_account()] == [(B, 200, 1), (A, 150, 2)]
    assert [(r.key, r.cost_usd) for r in report.by_region()] == [("us-east-1", 300), ("eu-west-1", 50)]
    assert [(r.key, r.cost_usd) for r in report.by_family()] == [("g5", 262.5), ("m5", 87.5)]
    assert report.trend == {"members_compared": 2, "cost_usd": 300, "previous_cost_usd": 330, "change_pct": -9.1}
    assert report.top_endpoints()[0]["account"] == B
    assert report.to_dict()["missing"] == [{"account": B, "region": "eu-west-1"}]


def test_only_this_weeks_summaries_count_and_the_newest_wins():
    old = cost(A, "us-east-1", 999, end=T0 - timedelta(days=9))
    newer = cost(A, "us-east-1", 100, end=T0)
    mid = cost(A, "us-east-1", 50, end=T0 - timedelta(days=1))
    current, missing = current_members([old, mid, newer], [(A, "us-east-1"), (B, "us-east-1")], T0)
    assert [c.cost_usd for c in current] == [100] and missing == [(B, "us-east-1")]


def test_cost_renderings_escape_member_data():
    evil = MemberCost.from_detail(
        A,
        "us-east-1",
        {
            **cost(A, "us-east-1", 10).to_doc(),
            "top_endpoints": [{"endpoint": '=HYPERLINK("http://x")<script>', "cost_usd": 10, "waste_usd": 1}],
        },
    )
    report = OrgCostReport(T0, [evil], {A: "<b>team</b>"})
    html = render_html(report)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>team" not in html
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    [endpoint] = [r for r in rows if r[0] == "endpoint"]
    assert endpoint[1].startswith("'=")  # no formula when opened in a spreadsheet


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"schema": "x"}, "not a cost summary"),
        ({"totals": None}, "needs totals and period"),
        (
            {"totals": {"cost_usd": -5, "monthly_cost_usd": 1, "waste_usd": 0}},
            "cost_usd must be between 0 and 1e",
        ),
        (
            {"totals": {"cost_usd": 2e9, "monthly_cost_usd": 1, "waste_usd": 0}},
            "cost_usd must be between 0 and 1e",
        ),
        (
            {"totals": {"cost_usd": float("inf"), "monthly_cost_usd": 1, "waste_usd": 0}},
            "cost_usd must be a finite number",
        ),
        ({"by_family": []}, "by_family must be an object"),
        ({"top_endpoints": {}}, "top_endpoints must be a list"),
        ({"commitment_waste": {}}, "commitment_waste must be a list"),
        ({"commitment_waste": [{"endpoint": "e", "kind": "idle", "hourly_usd": -1}]}, "hourly_usd must be between"),
    ],
)
def test_a_malformed_cost_summary_is_refused_naming_the_field(change, problem):
    with pytest.raises(OrgEventError, match=problem):
        MemberCost.from_detail(A, "us-east-1", cost(A, "us-east-1", 10).to_doc() | change)


def test_a_members_forwarded_waste_is_kept_bounded_and_named_by_its_account():
    doc = cost(A, "us-east-1", 10).to_doc() | {
        "commitment_waste": [
            {"endpoint": "x" * 500, "variant": None, "kind": "idle", "hourly_usd": 1.25},
            "not an item",
            {"endpoint": "b", "variant": "v", "kind": "off-hours", "hourly_usd": 0.5},
        ]
    }
    member = MemberCost.from_detail(A, "us-east-1", doc)
    assert [(w.account, w.region, w.kind, w.hourly_usd) for w in member.waste] == [
        (A, "us-east-1", "idle", 1.25),
        (A, "us-east-1", "off-hours", 0.5),
    ]
    assert len(member.waste[0].endpoint) <= 256
    again = MemberCost.from_detail(A, "us-east-1", member.to_doc())  # what the org table keeps reads back
    assert again.waste == member.waste
    report = OrgCostReport(T0, [member, cost(B, "us-east-1", 5)])
    assert [w.account for w in report.waste()] == [A, A] and report.to_dict()["commitments"] is None


def test_announcement_round_trip_keeps_the_previous_finding():
    d = OrgDigest(T0, [], [], {})
    assert d.count(Reason.NEW) == 0
    a = Announcement(Reason.CHANGED, finding(savings=300), finding())
    doc = render_json(
        org_digest(
            [member()],
            [OrgFinding(A, "us-east-1", a.finding, True, T0, Reason.CHANGED, a.previous)],
            silence_news([], T0, timedelta(days=7)),
            now=T0,
            names={},
        )
    )
    assert from_document(doc).announcements[0].announcement.previous == finding()  # fmt: skip


def test_the_organization_cost_digest_in_every_form():
    from sagewatch.orgcost import org_cost_summary

    members = [cost(A, "us-east-1", 100, previous=80), cost(B, "eu-west-1", 50)]
    report = OrgCostReport(T0, members, {A: HOSTILE})
    doc = org_cost_summary(report, "central", {"csv": "org-reports/2026-11-23/org-cost-report.csv"})
    notice = from_document(json.loads(json.dumps(doc)))
    [message] = sns_messages(notice, chatbot=True)
    body = json.loads(message.message)
    assert "s3://central/org-reports/2026-11-23/org-cost-report.csv" in body["email"]
    assert "+25.0% against the week before, 1 of 2 members compared" in body["email"]
    assert "<!channel>" not in body["https"]
    [payload] = slack_payloads(notice)
    assert "<!channel>" not in json.dumps(payload) and payload["blocks"][0]["type"] == "header"
