"""The two cadences' pure parts (sagewatch.cadence): when a scan is deep, what an hourly scan reads, and how it
merges what it judged with what the deep scan concluded."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sagewatch.cadence import Conclusion, Conclusions, deep_reason, last_deep_time, merge
from sagewatch.metrics import hourly_specs, plan_hourly, plan_queries
from sagewatch.models import Kind
from sagewatch.schedule import Profile, Rhythm, quiet_by_rhythm, rhythm_of
from sagewatch_testkit.builders import NOW, endpoint, oversized_finding, variant

KEY = "0123456789abcdef"


def stored(as_of=NOW - timedelta(hours=2), thresholds=KEY):
    return Conclusions(as_of=as_of, thresholds=thresholds, endpoints={})


@pytest.mark.parametrize(
    ("asked", "conclusions", "now", "reason"),
    [
        ("deep", stored(), NOW, "asked for"),
        ("auto", None, NOW, "the state table could not be read"),
        ("auto", Conclusions(), NOW, "no deep scan yet"),
        ("auto", stored(thresholds="other"), NOW, "the thresholds changed since the last deep scan"),
        ("auto", stored(), NOW, None),  # 10:00 today's; now 12:00 (deep hour 6)
        ("auto", stored(as_of=NOW - timedelta(hours=7)), NOW, "the day's deep scan (06:00 UTC)"),
        ("hourly", stored(as_of=NOW - timedelta(hours=7)), NOW, None),  # by hand: no day's deep scan forced
        ("hourly", stored(as_of=NOW - timedelta(days=3)), NOW, "the last deep scan is about to expire"),
    ],
)
def test_when_a_scan_is_deep(asked, conclusions, now, reason):
    assert deep_reason(asked, conclusions, now, hour=6, thresholds=KEY) == reason


def test_the_deep_scan_hour_is_the_latest_at_or_before_now():
    assert last_deep_time(NOW, 6) == NOW.replace(hour=6)
    assert last_deep_time(NOW, 12) == NOW
    assert last_deep_time(NOW, 13) == NOW.replace(hour=13) - timedelta(days=1)


@pytest.mark.parametrize(
    "v",
    [
        variant("cpu", "ml.m5.xlarge"),
        variant("gpu", "ml.g5.2xlarge"),
        variant("sls", serverless=True, provisioned=2),
        variant("ic", "ml.g5.12xlarge", components=("a", "b")),
    ],
    ids=["cpu", "gpu", "serverless", "components"],
)
def test_an_hourly_scan_reads_at_most_six_series_a_variant_and_less_than_a_deep_scan(v):
    ep = endpoint("ep", v)
    per_component = max(1, len(v.inference_components))
    assert len(hourly_specs(ep, v)) <= 4 + 2 * (per_component - 1)
    assert len(hourly_specs(ep, v, latency=True)) <= 5 + 3 * (per_component - 1)
    assert set(plan_hourly([ep], {"ep"})) < set(plan_queries([ep]))
    assert {s.name for s in hourly_specs(ep, v)} >= {"Invocations", "Invocation5XXErrors"}
    # p99 only where the endpoint has a latency target (nothing else needs it hourly)
    assert "ModelLatency" not in {s.name for s in hourly_specs(ep, v)}
    assert "ModelLatency" in {s.name for s in plan_hourly([ep], {"ep"})}


def test_an_asynchronous_endpoint_is_read_by_what_it_publishes():
    ep = endpoint("q", variant("AllTraffic", "ml.m5.xlarge"), is_async=True)
    assert {s.name for s in plan_hourly([ep])} == {
        "InvocationsProcesssed",
        "InvocationFailures",
        "ApproximateBacklogSize",
        "CPUUtilization",
        "MemoryUtilization",
    }


def _finding(kind: Kind, variant_name: str | None = "AllTraffic", fid: str | None = None):
    base = oversized_finding()
    return replace(base, kind=kind, variant=variant_name, id=fid or f"{kind.value}-{variant_name}", as_of=None)


def test_merge_carries_the_deep_conclusions_marked_as_of():
    deep = Conclusion("docs", NOW - timedelta(hours=3), NOW - timedelta(days=9), (_finding(Kind.OVERSIZED),))
    merged = merge([_finding(Kind.ERRORS), _finding(Kind.OVERSIZED, fid="hourly's own")], deep)
    assert [(f.kind, f.as_of) for f in merged] == [(Kind.ERRORS, None), (Kind.OVERSIZED, deep.as_of)]


def test_merge_says_what_a_full_judgement_says_of_idle_and_saturated():
    deep = Conclusion(
        "docs",
        NOW - timedelta(hours=3),
        NOW,
        (
            _finding(Kind.OVERSIZED),
            _finding(Kind.OFF_HOURS),
            _finding(Kind.DATA_CAPTURE, None),
            _finding(Kind.SATURATED, "B"),
            _finding(Kind.CONSOLIDATE, None),
        ),
    )
    # the whole endpoint idle: nothing else
    assert [f.kind for f in merge([_finding(Kind.IDLE, None)], deep)] == [Kind.IDLE]
    # newly saturated: no longer oversized, nor a consolidation candidate; its off-hours stays
    merged = merge([_finding(Kind.SATURATED)], deep)
    assert sorted(f.kind.value for f in merged) == ["data-capture", "off-hours", "saturated", "saturated"]
    # a saturated variant the deep scan found keeps the deep scan's finding (its fuller recommendation)
    again = merge([_finding(Kind.SATURATED, "B")], deep)
    assert [f.as_of for f in again if f.kind is Kind.SATURATED] == [deep.as_of]
    # an idle variant: nothing else about it
    assert Kind.SATURATED not in {f.kind for f in merge([_finding(Kind.IDLE, "B")], deep)}
    # the hourly scan's own kinds are never carried
    stale = replace(deep, findings=(_finding(Kind.ERRORS),))
    assert merge([], stale) == []


def test_a_conclusion_round_trips_and_a_bad_one_is_refused():
    rhythm = Rhythm("UTC", 1.5, "b" * 100 + "q" * 60 + "-" * 8)
    kept = Conclusion("docs", NOW, NOW - timedelta(days=2), (oversized_finding(),), {"AllTraffic": rhythm})
    doc = kept.to_doc()
    assert doc is not None and Conclusion.from_doc("docs", doc) == kept
    for bad, named in (
        ('{"as_of": "yesterday"}', "findings"),
        ('{"as_of": "2026-11-22T12:00:00Z", "modified": 3, "findings": []}', "modified"),
        ("[]", "conclusion"),
    ):
        with pytest.raises(ValueError, match=named):
            Conclusion.from_doc("docs", bad)
    with pytest.raises(ValueError, match="slots"):
        Rhythm.from_doc({"timezone": "UTC", "threshold": 1, "slots": "x" * 168})


def test_an_endpoint_updated_since_is_no_longer_described():
    kept = Conclusion("docs", NOW, NOW - timedelta(days=2))
    assert kept.describes(endpoint("docs", age=timedelta(days=3), modified_ago=timedelta(days=2)))
    assert not kept.describes(endpoint("docs", age=timedelta(days=3), modified_ago=timedelta(hours=1)))


def _weekday_profile() -> Profile:
    """Two weeks of a weekday-only endpoint (100 requests an hour 08-18 on weekdays)."""
    start = (NOW - timedelta(days=15)).date()
    days = {}
    for i in range(15):
        day = start + timedelta(days=i)
        days[day] = [100.0 if day.weekday() < 5 and 8 <= h < 18 else 0.0 for h in range(24)]
    return Profile("UTC", days)


def test_a_kept_rhythm_tells_a_weekend_from_a_silence_that_is_new():
    rhythm = rhythm_of(_weekday_profile(), NOW)
    sunday = NOW + timedelta(days=(6 - NOW.weekday()) % 7)  # NOW is a Sunday noon: the weekend so far
    assert quiet_by_rhythm(rhythm, 100.0, sunday - timedelta(hours=24), sunday)
    monday_noon = sunday + timedelta(days=1)
    assert not quiet_by_rhythm(rhythm, 100.0, monday_noon - timedelta(hours=24), monday_noon)  # it serves Mondays
    assert not quiet_by_rhythm(rhythm, 0.0, sunday - timedelta(hours=24), sunday)  # nothing served all week


def test_a_carried_finding_says_when_it_was_concluded_in_its_json_and_its_sentence():
    from sagewatch.models import Finding
    from sagewatch.notify.digest import evidence_sentence

    fresh = oversized_finding()
    carried = replace(fresh, as_of=NOW - timedelta(hours=5))
    assert "as_of" not in fresh.to_dict() and "as of" not in evidence_sentence(fresh)
    assert carried.to_dict()["as_of"] == "2026-11-22T07:00:00Z"
    assert Finding.from_dict(carried.to_dict()) == carried
    assert evidence_sentence(carried).endswith("(as of the deep scan of 2026-11-22 07:00 UTC)")
    with pytest.raises(ValueError, match="as_of"):
        Finding.from_dict({**carried.to_dict(), "as_of": "this morning"})


def test_a_rhythm_never_counts_the_silence_it_will_be_asked_about():
    """Days from the deep scan's idle window on are the hours the next hourly scans ask about: they are no habit."""
    profile = _weekday_profile()
    last = max(profile.days)
    rhythm = rhythm_of(profile, datetime(last.year, last.month, last.day, 6, tzinfo=UTC) - timedelta(days=1))
    slot = (last.weekday()) * 24 + 3  # 03:00 of the last day: read only on that day and two weeks before it
    assert rhythm.slots[slot] == "q"  # from earlier weeks
    only_recent = Profile("UTC", {last: [0.0] * 24, last - timedelta(days=1): [0.0] * 24})
    assert set(
        rhythm_of(only_recent, datetime(last.year, last.month, last.day, tzinfo=UTC) - timedelta(days=1)).slots
    ) == {"-"}
