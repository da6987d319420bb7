"""Which findings a scan announces, across a sequence of scans."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from sagewatch.catalog import Catalog
from sagewatch.lifecycle import FindingState, Reason, announce_all, decide, material_change, snoozes
from sagewatch.models import Action
from sagewatch.rules import judge_endpoint
from sagewatch.settings import Thresholds
from sagewatch_testkit.builders import NOW, endpoint, results, variant, windows

CATALOG = Catalog.load()


def idle_finding(name="quiet", itype="ml.m5.2xlarge"):
    [f] = judge_endpoint(endpoint(name, variant("v", itype)), results(), CATALOG, Thresholds(), windows())
    return f


def run(findings, states, now=NOW, *, judged=None, listed=None, complete=True, snoozed=None, renotify=7):
    names = {f.endpoint for f in findings}
    return decide(
        findings,
        {s.id: s for s in states},
        now=now,
        renotify_days=renotify,
        judged=names if judged is None else judged,
        listed=names if listed is None else listed,
        complete=complete,
        snoozed=snoozed or {},
    )


def reasons(p):
    return [(a.reason, a.finding.endpoint) for a in p.announcements]


def test_sequence_new_unchanged_changed_reminder_resolved():
    f = idle_finding()
    first = run([f], [])
    assert reasons(first) == [(Reason.NEW, "quiet")]
    [state] = first.states
    assert state.open and state.last_notified == NOW and state.first_seen == NOW

    second = run([f], first.states, NOW + timedelta(hours=1))
    assert second.announcements == [] and second.unchanged == 1
    assert second.states[0].last_notified == NOW and second.states[0].last_seen == NOW + timedelta(hours=1)

    bigger = replace(f, monthly_savings_usd=f.monthly_savings_usd * 1.5)
    third = run([bigger], second.states, NOW + timedelta(hours=2))
    assert reasons(third) == [(Reason.CHANGED, "quiet")]
    assert third.announcements[0].previous.monthly_savings_usd == f.monthly_savings_usd

    fourth = run([bigger], third.states, NOW + timedelta(days=7, hours=2))
    assert reasons(fourth) == [(Reason.REMINDER, "quiet")]
    fifth = run([bigger], fourth.states, NOW + timedelta(days=7, hours=3))
    assert fifth.announcements == []

    gone = run([], fifth.states, NOW + timedelta(days=8), judged={"quiet"}, listed={"quiet"})
    assert reasons(gone) == [(Reason.RESOLVED, "quiet")]
    assert not gone.states[0].open and gone.states[0].expires_at == NOW + timedelta(days=38)

    again = run([], gone.states, NOW + timedelta(days=9), judged={"quiet"}, listed={"quiet"})
    assert again.announcements == [] and again.states == []  # resolved once only


def test_a_finding_that_comes_back_after_resolution_is_new_again():
    f = idle_finding()
    resolved = run([], run([f], []).states, NOW + timedelta(days=1), judged={"quiet"}, listed={"quiet"})
    back = run([f], resolved.states, NOW + timedelta(days=2))
    assert reasons(back) == [(Reason.NEW, "quiet")]


@pytest.mark.parametrize(("factor", "changed"), [(1.19, False), (0.81, False), (1.21, True), (0.79, True)])
def test_savings_must_move_more_than_20_percent(factor, changed):
    f = idle_finding()
    g = replace(f, monthly_savings_usd=f.monthly_savings_usd * factor)
    assert material_change(f, g) is changed


def test_another_recommendation_is_a_change():
    f = idle_finding()
    g = replace(f, recommendation=replace(f.recommendation, action=Action.INVESTIGATE))
    assert material_change(f, g)


def test_disappearing_without_being_judged_is_not_resolved():
    states = run([idle_finding()], []).states
    later = NOW + timedelta(hours=1)
    # the endpoint errored this time (not judged), or the scan was incomplete: keep the record, say nothing
    assert run([], states, later, judged=set(), listed={"quiet"}).announcements == []
    assert run([], states, later, judged={"quiet"}, listed={"quiet"}, complete=False).announcements == []
    # deleted endpoints are resolved
    assert reasons(run([], states, later, judged=set(), listed=set())) == [(Reason.RESOLVED, "quiet")]


def test_snoozed_endpoint_is_silent_and_speaks_when_the_snooze_ends():
    f = idle_finding()
    quiet = run([f], [], snoozed={"quiet": date(2026, 12, 1)})
    assert quiet.announcements == [] and quiet.states[0].last_notified is None
    after = run([f], quiet.states, NOW + timedelta(days=10))
    assert reasons(after) == [(Reason.NEW, "quiet")]
    assert after.states[0].first_seen == NOW  # seen since the first scan


def test_a_finding_never_announced_is_dropped_silently_when_it_goes():
    states = run([idle_finding()], [], snoozed={"quiet": date(2026, 12, 1)}).states
    gone = run([], states, NOW + timedelta(days=1), judged={"quiet"}, listed={"quiet"})
    assert gone.announcements == [] and gone.states[0].open is False


def test_resolution_on_a_snoozed_endpoint_is_silent_too():
    states = run([idle_finding()], []).states
    gone = run(
        [], states, NOW + timedelta(days=1), judged={"quiet"}, listed={"quiet"}, snoozed={"quiet": date(2026, 12, 1)}
    )
    assert gone.announcements == [] and gone.states[0].open is False


def test_snooze_tags():
    tags = {
        "a": {"sagewatch:snooze-until": "2026-12-01"},
        "b": {"sagewatch:snooze-until": "2026-11-22"},
        "c": {"sagewatch:snooze-until": "next week"},
        "d": {},
    }
    active, problems, _ = snoozes(tags, date(2026, 11, 22))
    assert active == {"a": date(2026, 12, 1)}  # b speaks again on its date
    assert problems == ["c: tag sagewatch:snooze-until='next week' is not a YYYY-MM-DD date; not snoozed"]


def test_an_eternal_snooze_is_read_as_the_cap_from_when_it_was_first_seen():
    tags = {"forever": {"sagewatch:snooze-until": "2999-01-01"}}
    active, problems, anchors = snoozes(tags, date(2026, 11, 22), max_days=30)
    assert active == {"forever": date(2026, 12, 22)}
    assert problems == [
        "forever: tag sagewatch:snooze-until=2999-01-01 is more than 30 days (MaxSnoozeDays) after it was first "
        "seen on 2026-11-22: read as 2026-12-22"
    ]
    # the anchor is kept between scans: the cap does not move with today
    active, _, anchors = snoozes(tags, date(2026, 12, 21), max_days=30, anchors=anchors)
    assert active == {"forever": date(2026, 12, 22)} and anchors["forever"].since == date(2026, 11, 22)
    active, problems, _ = snoozes(tags, date(2026, 12, 22), max_days=30, anchors=anchors)
    assert active == {} and "read as 2026-12-22" in problems[0]  # it speaks again, and says why
    # a new date is a new snooze: its own cap
    renewed = {"forever": {"sagewatch:snooze-until": "2027-01-05"}}
    active, problems, _ = snoozes(renewed, date(2026, 12, 22), max_days=30, anchors=anchors)
    assert active == {"forever": date(2027, 1, 5)} and problems == []


def test_state_round_trips_through_its_item():
    [state] = run([idle_finding()], []).states
    assert FindingState.from_item(state.to_item()) == state


def test_one_digest_for_many_findings():
    findings = [idle_finding(f"ep-{i}") for i in range(50)]
    p = run(findings, [])
    assert len(p.announcements) == 50 and len(p.states) == 50


def test_without_state_every_finding_is_announced():
    assert [a.reason for a in announce_all([idle_finding()]).announcements] == [Reason.NEW]
