"""Savings in time (pure): the hour-of-week profile of a variant's traffic, the off-hours it could scale down in,
the scheduled actions that would do it, and whether its traffic fits in a few hours a day (a batch candidate).

Everything is read in the stack's ScheduleTimezone: a working day is a local working day, and a daylight-saving
change moves neither the profile nor the schedule (the scheduled actions carry the same Timezone). Hours are
CloudWatch's hourly datapoints; an hour in which the instance published no CPUUtilization is a gap (unknown),
never a quiet hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

ORIGIN = 1_577_836_800  # sagewatch.metrics.ORIGIN: datapoint times are seconds since it

QUIET_SHARE = 0.01  # an hour is quiet under 1% of the busy-hour average
MIN_QUIET_HOURS = 8  # consecutive quiet hours that make a nightly off-hours window
MOST_DAYS = 0.8  # "on most days": the share of working days an hour must be quiet on
WEEK_AGREEMENT = 0.9  # each week read must be quiet in this share of the window's hours (else: not stable)
MIN_DAY_HOURS = 6  # a day with fewer known hours (the window's edges, gaps) tells nothing
FULL_DAY_HOURS = 20  # a day with at least this many known hours counts for nightly windows and batch patterns
BATCH_HOURS = 3  # a batch candidate serves...
BATCH_SHARE = 0.95  # ...this share of its traffic within this many hours a day
BATCH_WEEK_SHARE = 0.90  # and every week read does nearly so


def mean(values: Sequence[float]) -> float:
    """statistics.mean is exact (Fractions) and ~20x slower: a 5,000-endpoint scan averages a million hours."""
    return sum(values) / len(values)


DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
WEEKS_PER_MONTH = 730 / 168  # a month of 730 hours, as the catalog prices it


@dataclass(frozen=True)
class Profile:
    """A variant's hourly invocations over the schedule window, by local date and hour (None: a gap)."""

    timezone: str
    days: dict[date, list[float | None]]  # local date -> 24 hours
    cpu: dict[date, list[float | None]] = field(default_factory=dict)  # normalized CPU %, same shape
    gap_hours: int = 0  # hours of the window without metrics

    @property
    def known_hours(self) -> int:
        return sum(v is not None for d in self.days.values() for v in d)

    def counted(self, minimum: int = MIN_DAY_HOURS) -> list[date]:
        return sorted(d for d, hours in self.days.items() if sum(v is not None for v in hours) >= minimum)

    def hour_of_week(self, source: Mapping[date, list[float | None]] | None = None) -> list[float | None]:
        """168 averages, Monday 00:00 first (local time); None where no day had that hour."""
        slots: list[list[float]] = [[] for _ in range(168)]
        for day, hours in (self.days if source is None else source).items():
            for h, v in enumerate(hours):
                if v is not None:
                    slots[day.weekday() * 24 + h].append(v)
        return [mean(s) if s else None for s in slots]

    def busy_average(self) -> float:
        """The mean of the busiest quarter of the week's hours: what "busy" means for this variant."""
        known = sorted((v for v in self.hour_of_week() if v is not None), reverse=True)
        top = known[: max(1, len(known) // 4)]
        return mean(top) if top else 0.0

    def to_evidence(self) -> dict[str, object]:
        """Compact: 168 hourly averages of invocations (and normalized CPU), Monday 00:00 local first."""
        doc: dict[str, object] = {
            "timezone": self.timezone,
            "starts": "MON 00:00",
            "days": len(self.counted()),
            "gap_hours": self.gap_hours,
            "invocations": [_compact(v) for v in self.hour_of_week()],
        }
        if self.cpu:
            doc["cpu_pct"] = [_compact(v) for v in self.hour_of_week(self.cpu)]
        return doc


def _compact(value: float | None) -> float | None:
    if value is None:
        return None
    return round(value) if abs(value) >= 100 else round(value, 1)


def build_profile(
    invocations: Mapping[int, float],
    coverage: Iterable[int] | None,
    start: datetime,
    end: datetime,
    timezone: str,
    cpu: Mapping[int, float] | None = None,
) -> Profile:
    """The profile of hourly `invocations` (seconds since ORIGIN -> sum) from `start` to `end`. `coverage`: the
    times the instance published metrics at (None: every hour counts; a missing invocation datapoint is zero).
    A datapoint counts for the clock hour it starts in (GetMetricData's periods start at its StartTime, which
    need not be on the hour).

    Local hours come from each UTC hour: on the night clocks go back two UTC hours share a local hour (their
    mean is kept); on the night they go forward one local hour has no UTC hour (a gap)."""
    by_hour: dict[int, float] = {}
    for t, v in invocations.items():
        hour = t - t % 3600
        by_hour[hour] = by_hour.get(hour, 0.0) + v
    covered = None if coverage is None else {t - t % 3600 for t in coverage}
    cpu_by_hour = {t - t % 3600: v for t, v in (cpu or {}).items()}
    sums: dict[date, list[list[float]]] = {}
    cpus: dict[date, list[list[float]]] = {}
    gaps = 0
    for key in _hours(start, end):
        local_day, local_hour = _local(key, timezone)
        day = sums.get(local_day)
        if day is None:
            day = sums[local_day] = [[] for _ in range(24)]
        if covered is not None and key not in covered:
            gaps += 1
            continue
        day[local_hour].append(by_hour.get(key, 0.0))
        if key in cpu_by_hour:
            cpu_day = cpus.get(local_day)
            if cpu_day is None:
                cpu_day = cpus[local_day] = [[] for _ in range(24)]
            cpu_day[local_hour].append(cpu_by_hour[key])
    return Profile(
        timezone=timezone,
        days={d: [mean(v) if v else None for v in hours] for d, hours in sums.items()},
        cpu={d: [mean(v) if v else None for v in hours] for d, hours in cpus.items()},
        gap_hours=gaps,
    )


HABIT_READ = 0.8  # habitually quiet: the share of the silent hours that an earlier week must have been read at
WEEK = timedelta(days=7)


def habitually_quiet(profile: Profile, start: datetime, end: datetime) -> bool:
    """Whether a silence from `start` to `end` is the variant's weekly rhythm: it served in the week up to `end`
    (no weekly rhythm explains a whole silent week), and each hour of the silence was quiet at the same local
    hour of the week in every earlier week read (at least one earlier week read for most of them). A weekday-only
    endpoint on a Sunday is then quiet by habit, which off-hours speaks of, not idle; a nightly job that missed
    its night, or an endpoint whose traffic stopped, is not."""
    threshold = QUIET_SHARE * profile.busy_average()
    if threshold <= 0 or not any((_at(profile, key) or 0.0) >= threshold for key in _hours(end - WEEK, end)):
        return False  # nothing served in the profile, or not for a week: stopped, not a rhythm
    first = min(profile.days)
    hours = read = 0
    for key in _hours(start, end):
        day, hour = _local(key, profile.timezone)
        earlier = [
            value
            for weeks in range(1, (day - first).days // 7 + 1)
            if (value := profile.days.get(day - timedelta(weeks=weeks), [None] * 24)[hour]) is not None
        ]
        if any(v >= threshold for v in earlier):
            return False  # it used to serve at this hour: the silence is new
        hours, read = hours + 1, read + bool(earlier)
    return hours > 0 and read >= HABIT_READ * hours


@dataclass(frozen=True)
class Rhythm:
    """A variant's weekly rhythm as the deep scan read it (sagewatch.cadence): what an hourly scan needs to tell
    a silence that is the variant's habit (a weekday endpoint on a Sunday) from one that is new, without reading
    ScheduleDays of series again. Kept with the deep scan's conclusions: a few hundred bytes."""

    timezone: str
    threshold: float  # an hour under this many requests is quiet (QUIET_SHARE of the busy-hour average)
    # 168 characters, Monday 00:00 local first: "b" served at that hour in a week read, "q" quiet in every week
    # read, "-" never read
    slots: str

    def to_doc(self) -> dict[str, object]:
        return {"timezone": self.timezone, "threshold": self.threshold, "slots": self.slots}

    @classmethod
    def from_doc(cls, doc: Mapping[str, object]) -> Rhythm:
        timezone, threshold, slots = doc.get("timezone"), doc.get("threshold"), doc.get("slots")
        if not isinstance(timezone, str) or not isinstance(threshold, int | float) or not isinstance(slots, str):
            raise ValueError("a rhythm needs timezone, threshold and slots")
        if len(slots) != 168 or set(slots) - set("bq-"):
            raise ValueError("a rhythm's slots are 168 of b, q and -")
        ZoneInfo(timezone)  # an unknown zone raises here, not in the rule
        return cls(timezone, float(threshold), slots)


def rhythm_of(profile: Profile, before: datetime) -> Rhythm:
    """The rhythm of `profile` from its days before `before`'s local date (the deep scan's idle window start: the
    hours the next day's hourly scans ask about all fall after it): judged, as habitually_quiet judges them, on
    earlier weeks only, never on themselves."""
    threshold = QUIET_SHARE * profile.busy_average()
    cutoff = before.astimezone(ZoneInfo(profile.timezone)).date()
    slots = ["-"] * 168
    for day, hours in profile.days.items():
        if day >= cutoff:
            continue
        for hour, value in enumerate(hours):
            if value is None:
                continue
            slot = day.weekday() * 24 + hour
            if value >= threshold:
                slots[slot] = "b"
            elif slots[slot] == "-":
                slots[slot] = "q"
    return Rhythm(profile.timezone, threshold, "".join(slots))


def quiet_by_rhythm(rhythm: Rhythm, busiest_hour: float, start: datetime, end: datetime) -> bool:
    """habitually_quiet from a kept Rhythm: it served in the week read (`busiest_hour`: the most requests of one
    hour in the scan's utilization window), and each silent hour was quiet at that hour of the week in the weeks
    the deep scan read (most of them read at all)."""
    if rhythm.threshold <= 0 or busiest_hour < rhythm.threshold:
        return False  # nothing served lately: stopped, not a rhythm
    hours = read = 0
    for key in _hours(start, end):
        day, hour = _local(key, rhythm.timezone)
        slot = rhythm.slots[day.weekday() * 24 + hour]
        if slot == "b":
            return False  # it used to serve at this hour: the silence is new
        hours, read = hours + 1, read + (slot == "q")
    return hours > 0 and read >= HABIT_READ * hours


def _at(profile: Profile, key: int) -> float | None:
    """The profile's value at a UTC hour (seconds since ORIGIN), None when unknown."""
    day, hour = _local(key, profile.timezone)
    hours = profile.days.get(day)
    return None if hours is None else hours[hour]


def _hours(start: datetime, end: datetime) -> range:
    """The whole clock hours from the one `start` falls in to the last that ends by `end` (seconds since ORIGIN)."""
    first = _floor(int(start.timestamp()) - ORIGIN)
    return range(first, int(end.timestamp()) - ORIGIN - 3600 + 1, 3600)


@lru_cache(maxsize=4096)
def _local(key: int, timezone: str) -> tuple[date, int]:
    """The local date and hour of a UTC hour (seconds since ORIGIN): every variant of a scan shares its hours."""
    local = datetime.fromtimestamp(key + ORIGIN, ZoneInfo(timezone))
    return local.date(), local.hour


def _floor(seconds: int) -> int:
    """The start of the clock hour (seconds since ORIGIN, which is on the hour)."""
    return seconds - seconds % 3600


@dataclass(frozen=True)
class ScheduledAction:
    """One Application Auto Scaling scheduled action: at `cron` (local to `timezone`), these limits."""

    name: str  # sagewatch-offhours-<down|up>[-<component>]
    cron: str
    min_capacity: int
    max_capacity: int

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "schedule": self.cron,
            "min_capacity": self.min_capacity,
            "max_capacity": self.max_capacity,
        }


@dataclass(frozen=True)
class OffHours:
    """When a variant is quiet: a nightly window on working days and/or whole days of the week."""

    nightly_start: int | None  # local hour the quiet window starts (None: no nightly window)
    nightly_hours: int
    off_days: tuple[int, ...]  # weekdays (0 = Monday) quiet all day, every week read
    holidays: tuple[date, ...]  # working days that were quiet all day (left out of the nightly analysis)
    quiet_threshold: float
    busy_average: float
    week_agreement: tuple[float, ...]  # per week read: share of the window's hours quiet that week
    stable: bool
    note: str = ""

    @property
    def found(self) -> bool:
        return self.stable and (self.nightly_start is not None or bool(self.off_days))

    def down_hours(self) -> list[int]:
        """Hours of the week (Monday 00:00 local = 0) the schedule keeps the variant down: simulated from its
        two triggers (down at the window's start every day, up at its end on working days)."""
        down, up = self.triggers()
        state, hours = False, []
        for lap in range(2):  # the second week starts in the state the first ended in
            for hour in range(168):
                day, h = divmod(hour, 24)
                if h == up[0] and day in up[1]:
                    state = False
                if h == down[0] and day in down[1]:
                    state = True
                if lap == 1 and state:
                    hours.append(hour)
        return hours

    def triggers(self) -> tuple[tuple[int, tuple[int, ...]], tuple[int, tuple[int, ...]]]:
        """(hour, weekdays) of the scale-down and of the scale-up."""
        working = tuple(d for d in range(7) if d not in self.off_days)
        if self.nightly_start is not None:
            end = (self.nightly_start + self.nightly_hours) % 24
            return (self.nightly_start, tuple(range(7))), (end, working)
        after_off = tuple(d for d in working if (d - 1) % 7 in self.off_days)
        return (0, self.off_days), (0, after_off)

    def actions(self, low: tuple[int, int], high: tuple[int, int], suffix: str = "") -> list[ScheduledAction]:
        (down_hour, down_days), (up_hour, up_days) = self.triggers()
        tail = f"-{suffix}" if suffix else ""
        return [
            ScheduledAction(f"sagewatch-offhours-down{tail}", cron(down_hour, down_days), *low),
            ScheduledAction(f"sagewatch-offhours-up{tail}", cron(up_hour, up_days), *high),
        ]

    def to_evidence(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "busy_hour_average": round(self.busy_average, 2),
            "quiet_threshold": round(self.quiet_threshold, 3),
            "off_days": [DAYS[d] for d in self.off_days],
            "holidays": [d.isoformat() for d in self.holidays],
            "week_agreement_pct": [round(100 * a, 1) for a in self.week_agreement],
            "stable": self.stable,
        }
        if self.nightly_start is not None:
            end = (self.nightly_start + self.nightly_hours) % 24
            doc["nightly"] = {
                "start": f"{self.nightly_start:02d}:00",
                "end": f"{end:02d}:00",
                "hours": self.nightly_hours,
            }
        if self.found:
            doc["down_hours_per_week"] = len(self.down_hours())
        if self.note:
            doc["note"] = self.note
        return doc


def cron(hour: int, days: Iterable[int]) -> str:
    """An Application Auto Scaling cron expression: at `hour`:00 on these weekdays (0 = Monday)."""
    chosen = sorted(set(days))
    if len(chosen) == 7:
        return f"cron(0 {hour} * * ? *)"
    return f"cron(0 {hour} ? * {','.join(DAYS[d] for d in chosen)} *)"


def _quiet(value: float | None, threshold: float) -> bool | None:
    return None if value is None else value < threshold


def off_hours(profile: Profile, *, min_quiet_hours: int = MIN_QUIET_HOURS) -> OffHours | None:
    """When the variant is quiet, consistently across the weeks read; None when it has no busy hours at all.
    An OffHours that is not `found` says why in its note (too short, not stable)."""
    busy = profile.busy_average()
    if busy <= 0:
        return None
    threshold = QUIET_SHARE * busy
    counted = profile.counted()
    full = set(profile.counted(FULL_DAY_HOURS))
    quiet_days = {d for d in counted if all(_quiet(v, threshold) in (True, None) for v in profile.days[d])}
    full_window = len({d.weekday() for d in counted}) == 7 and len(counted) >= 13
    off_days = []
    for weekday in range(7):
        dates = [d for d in counted if d.weekday() == weekday]
        if (
            dates
            and all(d in quiet_days for d in dates)
            and any(d in full for d in dates)  # an evening at the window's edge is no quiet day
            and (len(dates) >= 2 or not full_window)
        ):
            off_days.append(weekday)
    if len(off_days) == 7:
        return None  # no day has traffic: the idle rule speaks of it
    holidays = tuple(sorted(d for d in quiet_days & full if d.weekday() not in off_days))
    working = [d for d in profile.counted(FULL_DAY_HOURS) if d.weekday() not in off_days and d not in quiet_days]
    if not working and not off_days:
        return OffHours(None, 0, (), holidays, threshold, busy, (), True, "no full working day of metrics")
    start, length = _nightly(profile, working, threshold)
    note = ""
    if length < min_quiet_hours:
        if start is not None:
            note = (
                f"quiet {length} consecutive hours on most working days (from {start:02d}:00): fewer than "
                f"{min_quiet_hours}"
            )
        start, length = None, 0
    agreement = _weeks_agree(profile, working, start, length, threshold)
    stable = all(a >= WEEK_AGREEMENT for a in agreement)
    if not stable:
        note = (
            f"the traffic pattern is not stable: one week read was quiet in only {100 * min(agreement):.0f}% of "
            "the off-hours the others were quiet in; no schedule is proposed"
        )
    elif not off_days and start is None and not note:
        note = f"no {min_quiet_hours} consecutive quiet hours on most working days, and no quiet weekday"
    return OffHours(
        nightly_start=start,
        nightly_hours=length,
        off_days=tuple(off_days),
        holidays=holidays,
        quiet_threshold=threshold,
        busy_average=busy,
        week_agreement=tuple(agreement),
        stable=stable,
        note=note,
    )


def _nightly(profile: Profile, working: list[date], threshold: float) -> tuple[int | None, int]:
    """The longest run of hours (through midnight) quiet on most working days: (start hour, length)."""
    if not working:
        return None, 0
    candidate = []
    for h in range(24):
        seen = [_quiet(profile.days[d][h], threshold) for d in working]
        known = [q for q in seen if q is not None]
        candidate.append(bool(known) and sum(known) / len(known) >= MOST_DAYS)
    if all(candidate):
        return None, 0  # quiet every hour of every working day: not a nightly pattern
    best_start, best_len = None, 0
    for s in range(24):
        if not candidate[s] or candidate[(s - 1) % 24]:
            continue  # runs start right after a busy hour
        n = 0
        while n < 24 and candidate[(s + n) % 24]:
            n += 1
        if n > best_len:
            best_start, best_len = s, n
    return best_start, best_len


def _weeks_agree(
    profile: Profile, working: list[date], start: int | None, length: int, threshold: float
) -> list[float]:
    """Per week read (seven days back from the last): the share of the proposed quiet working-day hours that
    were quiet that week. A week whose nights were busy makes the pattern unstable."""
    if start is None or not working:
        return []
    hours = [(start + i) % 24 for i in range(length)]
    last = max(working)
    weeks: dict[int, list[bool]] = {}
    for d in working:
        week = (last - d).days // 7
        for h in hours:
            q = _quiet(profile.days[d][h], threshold)
            if q is not None:
                weeks.setdefault(week, []).append(q)
    return [sum(v) / len(v) for _, v in sorted(weeks.items()) if v]


@dataclass(frozen=True)
class BatchPattern:
    """A variant that serves nearly all its traffic within a few hours a day."""

    start: int  # local hour
    hours: int
    share: float  # of the traffic, over the whole window
    week_shares: tuple[float, ...]

    def to_evidence(self) -> dict[str, object]:
        return {
            "busy_window": {
                "start": f"{self.start:02d}:00",
                "end": f"{(self.start + self.hours) % 24:02d}:00",
                "hours": self.hours,
            },
            "share_pct": round(100 * self.share, 1),
            "week_share_pct": [round(100 * s, 1) for s in self.week_shares],
        }


def batch_pattern(profile: Profile) -> BatchPattern | None:
    """The fewest consecutive hours (up to BATCH_HOURS, through midnight) that carry BATCH_SHARE of the traffic,
    in every week read nearly as much (BATCH_WEEK_SHARE); None when there is no such window."""
    days = profile.counted(FULL_DAY_HOURS)
    day = _average_day(profile, days)
    total = sum(day)
    if total <= 0:
        return None
    for width in range(1, BATCH_HOURS + 1):
        start, share = max(
            ((s, sum(day[(s + i) % 24] for i in range(width)) / total) for s in range(24)), key=lambda p: p[1]
        )
        if share >= BATCH_SHARE:
            last = max(days)
            weeks: dict[int, list[date]] = {}
            for d in days:
                weeks.setdefault((last - d).days // 7, []).append(d)
            shares = []
            for _, group in sorted(weeks.items()):
                week_day = _average_day(profile, group)
                week_total = sum(week_day)
                if week_total > 0:
                    shares.append(sum(week_day[(start + i) % 24] for i in range(width)) / week_total)
            if all(s >= BATCH_WEEK_SHARE for s in shares):
                return BatchPattern(start, width, share, tuple(shares))
            return None
    return None


def _average_day(profile: Profile, days: list[date]) -> list[float]:
    out = []
    for h in range(24):
        values = [v for d in days if (v := profile.days[d][h]) is not None]
        out.append(mean(values) if values else 0.0)
    return out


def monthly(hours_per_week: float, hourly_usd: float) -> float:
    """What `hours_per_week` hours of something billed `hourly_usd` cost a month (730 hours)."""
    return round(hours_per_week * WEEKS_PER_MONTH * hourly_usd, 2)
