"""The hour-of-week profile and what it finds: off-hours (nightly windows, quiet weekdays), batch patterns; at
their edges (7 vs 8 quiet hours, an unstable week, a holiday, gaps in the metrics, daylight saving)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sagewatch.schedule import (
    ORIGIN,
    BatchPattern,
    batch_pattern,
    build_profile,
    cron,
    monthly,
    off_hours,
)
from sagewatch.settings import SettingsError, Thresholds

END = datetime(2026, 12, 2, 18, 15, tzinfo=UTC)  # a Wednesday


def series(
    traffic: Callable[[datetime], float], days: int = 14, tz: str = "UTC", end: datetime = END
) -> tuple[dict[int, float], datetime]:
    """Hourly invocations as CloudWatch returns them (no datapoint for an hour without requests), from the
    local clock of `tz`."""
    start = (end - timedelta(days=days)).replace(minute=0)
    out, t = {}, start
    while t + timedelta(hours=1) <= end:
        value = traffic(t.astimezone(ZoneInfo(tz)))
        if value > 0:
            out[int(t.timestamp()) - ORIGIN] = value
        t += timedelta(hours=1)
    return out, start


def profile_of(traffic: Callable[[datetime], float], days: int = 14, tz: str = "UTC", coverage=None):
    points, start = series(traffic, days, tz)
    return build_profile(points, coverage, start, END, tz)


def working(start: int = 8, end: int = 18, weekend: bool = False) -> Callable[[datetime], float]:
    return lambda t: 1000.0 if (weekend or t.weekday() < 5) and start <= t.hour < end else 0.0


def test_a_working_hours_variant_is_quiet_at_night_and_at_weekends():
    found = off_hours(profile_of(working()))
    assert found is not None and found.found
    assert (found.nightly_start, found.nightly_hours) == (18, 14)
    assert found.off_days == (5, 6)
    down, up = found.triggers()
    assert down == (18, tuple(range(7))) and up == (8, (0, 1, 2, 3, 4))
    # Friday 18:00 to Monday 08:00 and every weeknight: 4 x 14 + 62 hours
    assert len(found.down_hours()) == 4 * 14 + 62
    assert [a.cron for a in found.actions((1, 1), (4, 4))] == [
        "cron(0 18 * * ? *)",
        "cron(0 8 ? * MON,TUE,WED,THU,FRI *)",
    ]


@pytest.mark.parametrize(("quiet", "expected"), [(7, False), (8, True)])
def test_eight_quiet_hours_make_a_window_seven_do_not(quiet, expected):
    """Busy every day (weekends too) but for `quiet` hours from 22:00."""
    found = off_hours(profile_of(lambda t: 0.0 if (t.hour - 22) % 24 < quiet else 500.0))
    assert found is not None
    assert found.found is expected
    if expected:
        assert (found.nightly_start, found.nightly_hours) == (22, 8)
    else:
        assert "fewer than 8" in found.note


def test_a_week_with_busy_nights_makes_the_pattern_unstable():
    """One of the two weeks read served requests all night: no schedule, and the evidence says why."""

    def traffic(t: datetime) -> float:
        if t.weekday() >= 5:
            return 0.0
        if t.date() >= date(2026, 11, 25):  # the last week: nights busy too
            return 1000.0 if t.hour >= 6 else 600.0
        return 1000.0 if 8 <= t.hour < 18 else 0.0

    found = off_hours(profile_of(traffic))
    assert found is not None
    assert found.nightly_start is None  # no night was quiet on most working days
    assert found.off_days == (5, 6)  # the weekends were, every week


def test_an_unstable_week_is_said_when_most_days_still_agree():
    """Every night hour quiet on 8 of the 9 working days read, but the last week's on only 4 of 5 (80%): one
    whole night of traffic in a week is not a stable pattern."""

    def traffic(t: datetime) -> float:
        if t.weekday() >= 5:
            return 0.0
        if 8 <= t.hour < 18 or t.date() == date(2026, 12, 1):
            return 1000.0
        return 0.0

    found = off_hours(profile_of(traffic))
    assert found is not None
    assert not found.stable and not found.found
    assert "not stable" in found.note
    assert found.to_evidence()["stable"] is False


def test_a_holiday_is_left_out_not_taken_for_instability():
    def traffic(t: datetime) -> float:
        if t.date() == date(2026, 11, 26):  # a Thursday off
            return 0.0
        return working()(t)

    found = off_hours(profile_of(traffic))
    assert found is not None and found.found
    assert found.holidays == (date(2026, 11, 26),)
    assert found.off_days == (5, 6)  # Thursday is not an off day: the other Thursday was busy


def test_gaps_in_the_metrics_are_not_quiet_hours():
    """Hours in which the instance published no CPU are gaps: a day of them is no quiet day."""
    points, start = series(lambda t: 1000.0)  # busy around the clock
    covered = {t for t in range(int(start.timestamp()) - ORIGIN, int(END.timestamp()) - ORIGIN, 3600)}
    gaps = {t for t in covered if datetime.fromtimestamp(t + ORIGIN, UTC).date() == date(2026, 11, 28)}
    profile = build_profile(points, covered - gaps, start, END, "UTC")
    assert profile.gap_hours == 24
    assert date(2026, 11, 28) not in profile.counted()
    found = off_hours(profile)
    assert found is not None and not found.found and found.off_days == ()
    # without the coverage a missing datapoint would be zero: the same day would look like a quiet Saturday
    assert off_hours(build_profile({t: v for t, v in points.items() if t not in gaps}, None, start, END, "UTC"))


def test_the_profile_follows_the_local_clock_through_daylight_saving():
    """Busy 09-17 Berlin time across the end of summer time (25 October 2026): the window stays 17-09 local,
    and the crons (with Timezone) are in local time."""
    end = datetime(2026, 11, 4, 12, tzinfo=UTC)
    points, start = series(working(9, 17), days=21, tz="Europe/Berlin", end=end)
    profile = build_profile(points, None, start, end, "Europe/Berlin")
    found = off_hours(profile)
    assert found is not None and found.found
    assert (found.nightly_start, found.nightly_hours) == (17, 16)
    # read in UTC the same traffic moves by an hour on 25 October: the common quiet window is an hour shorter
    in_utc = off_hours(build_profile(points, None, start, end, "UTC"))
    assert in_utc is not None and in_utc.nightly_hours == 15


def test_the_hour_of_week_profile_is_168_compact_figures():
    doc = profile_of(working()).to_evidence()
    assert len(doc["invocations"]) == 168 and doc["timezone"] == "UTC"
    assert doc["invocations"][8] == 1000 and doc["invocations"][7] == 0
    assert doc["invocations"][24 * 5 + 10] == 0  # Saturday 10:00


def test_a_nightly_burst_is_a_batch_pattern():
    pattern = batch_pattern(profile_of(lambda t: 5000.0 if t.hour in (1, 2) else 0.0))
    assert pattern == BatchPattern(start=1, hours=2, share=1.0, week_shares=(1.0, 1.0))
    assert pattern.to_evidence()["busy_window"] == {"start": "01:00", "end": "03:00", "hours": 2}


def test_a_burst_across_midnight_is_one_window():
    pattern = batch_pattern(profile_of(lambda t: 5000.0 if t.hour in (23, 0) else 0.0))
    assert pattern is not None and (pattern.start, pattern.hours) == (23, 2)


@pytest.mark.parametrize(
    ("traffic", "why"),
    [
        (lambda t: 1000.0 if 8 <= t.hour < 18 else 0.0, "ten busy hours"),
        (lambda t: 5000.0 if t.hour in (1, 2) else 100.0, "only 89% within the burst"),
    ],
)
def test_traffic_spread_over_the_day_is_no_batch_pattern(traffic, why):
    assert batch_pattern(profile_of(traffic)) is None, why


def test_a_burst_that_moved_in_one_week_is_no_batch_pattern():
    def traffic(t: datetime) -> float:
        hour = 1 if t.date() < date(2026, 11, 25) else 13
        return 5000.0 if t.hour == hour else 0.0

    assert batch_pattern(profile_of(traffic)) is None


def test_no_traffic_at_all_is_for_the_idle_rule():
    assert off_hours(profile_of(lambda t: 0.0)) is None
    assert batch_pattern(profile_of(lambda t: 0.0)) is None


def test_cron_and_monthly():
    assert cron(7, range(7)) == "cron(0 7 * * ? *)"
    assert cron(0, (5, 6)) == "cron(0 0 ? * SAT,SUN *)"
    assert monthly(168, 1.0) == 730.0


def test_a_bad_schedule_timezone_fails_fast_naming_it():
    with pytest.raises(SettingsError, match=r"SAGEWATCH_SCHEDULE_TIMEZONE.*IANA"):
        Thresholds.from_env({"SAGEWATCH_SCHEDULE_TIMEZONE": "Mars/Olympus"})
    with pytest.raises(SettingsError, match="SAGEWATCH_SCHEDULE_TIMEZONE"):
        Thresholds.from_env({"SAGEWATCH_SCHEDULE_TIMEZONE": "../../etc/passwd"})
    with pytest.raises(SettingsError, match="SAGEWATCH_SCHEDULE_DAYS"):
        Thresholds.from_env({"SAGEWATCH_SCHEDULE_DAYS": "3"})
    assert Thresholds.from_env({"SAGEWATCH_SCHEDULE_TIMEZONE": "Europe/Berlin"}).schedule_timezone == "Europe/Berlin"
