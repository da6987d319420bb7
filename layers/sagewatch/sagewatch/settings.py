"""Settings, built once from the environment (Lambda) or from flags (CLI), validated up front.

Domain code receives these objects; it never reads os.environ itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sagewatch.catalog import pc_rate_in_range
from sagewatch.commitments import CommitmentOptions
from sagewatch.org import interval_of
from sagewatch.owners import DEFAULT_OWNER_TAGS
from sagewatch.webhook import SLACK_HOOKS, url_prefix


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class _Rule:
    env: str
    flag: str
    parse: Callable[[str], Any]
    low: float
    high: float
    help: str


def _int(text: str) -> int:
    return int(text.strip())


def _timezone(text: str) -> str:
    """An IANA time zone name (Europe/Berlin): off-hours schedules and the hour-of-week profile use it."""
    name = text.strip()
    try:
        if not re.fullmatch(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+){0,2}", name):
            raise ValueError(name)
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise ValueError(f"not an IANA time zone name: {name[:64]!r}") from None
    return name


def _float(text: str) -> float:
    value = float(text.strip())
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value


# One row per threshold: its environment variable, its CLI flag, its bounds and what it means.
_RULES: dict[str, _Rule] = {
    "idle_hours": _Rule(
        "SAGEWATCH_IDLE_HOURS",
        "--idle-hours",
        _int,
        1,
        24 * 90,
        "hours without invocations before an endpoint is idle",
    ),
    "utilization_days": _Rule(
        "SAGEWATCH_UTILIZATION_DAYS",
        "--utilization-days",
        _int,
        1,
        90,
        "days of utilization history used for right-sizing",
    ),
    "target_utilization_pct": _Rule(
        "SAGEWATCH_TARGET_UTILIZATION_PCT",
        "--target-utilization",
        _float,
        10,
        95,
        "projected peak utilization a right-sized variant must stay under",
    ),
    "saturation_pct": _Rule(
        "SAGEWATCH_SATURATION_PCT",
        "--saturation",
        _float,
        50,
        100,
        "normalized peak utilization above which a variant is saturated",
    ),
    "error_rate_pct": _Rule(
        "SAGEWATCH_ERROR_RATE_PCT",
        "--error-rate",
        _float,
        0.01,
        100,
        "5XX share of invocations above which a variant is failing",
    ),
    "min_error_invocations": _Rule(
        "SAGEWATCH_MIN_ERROR_INVOCATIONS",
        "--min-error-invocations",
        _int,
        1,
        10**9,
        "invocations needed in the idle window before the error rate counts",
    ),
    "min_monthly_savings_usd": _Rule(
        "SAGEWATCH_MIN_MONTHLY_SAVINGS_USD",
        "--min-savings",
        _float,
        0,
        10**6,
        "smallest monthly saving worth a resize recommendation",
    ),
    "regression_hours": _Rule(
        "SAGEWATCH_REGRESSION_HOURS",
        "--regression-hours",
        _int,
        1,
        24 * 14,
        "hours after an endpoint changed in which its p99 is compared with the week before the change",
    ),
    "schedule_days": _Rule(
        "SAGEWATCH_SCHEDULE_DAYS",
        "--schedule-days",
        _int,
        7,
        28,
        "days of hourly invocations the hour-of-week profile (off-hours, batch candidates) is built from",
    ),
    "stuck_minutes": _Rule(
        "SAGEWATCH_STUCK_MINUTES",
        "--stuck-minutes",
        _int,
        15,
        24 * 60,
        "minutes an endpoint may stay Creating, Updating or SystemUpdating before it is a stuck deployment",
    ),
    "schedule_timezone": _Rule(
        "SAGEWATCH_SCHEDULE_TIMEZONE",
        "--schedule-timezone",
        _timezone,
        0,
        0,
        "IANA time zone of the hour-of-week profile and of off-hours schedules (UTC, Europe/Berlin...)",
    ),
    "latency_p99_ms": _Rule(
        "SAGEWATCH_LATENCY_P99_MS",
        "--latency-p99-ms",
        _float,
        0,
        600_000,
        "p99 ModelLatency target (ms) of endpoints without a sagewatch:latency-p99-ms tag (0: none)",
    ),
}


@dataclass(frozen=True)
class Thresholds:
    idle_hours: int = 24
    utilization_days: int = 7
    target_utilization_pct: float = 70.0
    saturation_pct: float = 90.0
    error_rate_pct: float = 1.0
    min_error_invocations: int = 100
    min_monthly_savings_usd: float = 10.0
    latency_p99_ms: float = 0.0  # the default latency target; 0: endpoints without the tag have none
    regression_hours: int = 48  # a change this recent: its p99 is compared with the week before it
    schedule_days: int = 14  # hourly invocations read for the hour-of-week profile
    schedule_timezone: str = "UTC"  # IANA name: the profile's hours and the schedules' cron are local to it
    stuck_minutes: int = 90  # Creating/Updating/SystemUpdating longer than this: a stuck deployment

    def __post_init__(self) -> None:
        for f in fields(self):
            rule = _RULES[f.name]
            value = getattr(self, f.name)
            if isinstance(value, str):
                try:
                    rule.parse(value)
                except ValueError as exc:
                    raise SettingsError(f"{rule.env} ({rule.flag}): {exc}") from None
                continue
            if not rule.low <= value <= rule.high:
                raise SettingsError(
                    f"{rule.env} ({rule.flag}) must be between {rule.low:g} and {rule.high:g}, got {value!r}"
                )
        if self.target_utilization_pct >= self.saturation_pct:
            raise SettingsError(
                "SAGEWATCH_TARGET_UTILIZATION_PCT (--target-utilization) must be below "
                f"SAGEWATCH_SATURATION_PCT (--saturation): "
                f"{self.target_utilization_pct:g} >= {self.saturation_pct:g}"
            )

    @classmethod
    def from_strings(cls, values: Mapping[str, str | None], *, by: str = "env") -> Thresholds:
        """Thresholds from raw strings keyed by field name; absent or None keeps the default.

        `by` is "env" or "flag" and picks which name an error message uses first.
        """
        parsed: dict[str, Any] = {}
        for name, raw in values.items():
            if raw is None:
                continue
            rule = _RULES[name]
            label = f"{rule.env} ({rule.flag})" if by == "env" else f"{rule.flag} ({rule.env})"
            try:
                parsed[name] = rule.parse(raw)
            except ValueError as exc:
                if rule.parse is _timezone:
                    raise SettingsError(
                        f"{label} must be an IANA time zone name such as UTC or Europe/Berlin: {exc}"
                    ) from None
                kind = "a whole number" if rule.parse is _int else "a number"
                raise SettingsError(f"{label} must be {kind}, got {raw!r}") from None
        return cls(**parsed)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Thresholds:
        return cls.from_strings({name: env.get(rule.env) or None for name, rule in _RULES.items()})

    @classmethod
    def one_from_env(cls, env: Mapping[str, str], name: str) -> float:
        """One threshold alone, checked against its own bounds (for a function that uses only it)."""
        rule = _RULES[name]
        raw = env.get(rule.env) or None
        if raw is None:
            return float(getattr(cls(), name))
        try:
            value = float(rule.parse(raw))
        except ValueError:
            raise SettingsError(f"{rule.env} ({rule.flag}) must be a number, got {raw!r}") from None
        if not rule.low <= value <= rule.high:
            raise SettingsError(f"{rule.env} ({rule.flag}) must be between {rule.low:g} and {rule.high:g}, got {raw!r}")
        return value

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def threshold_flags() -> dict[str, tuple[str, str, Any]]:
    """CLI flag, help text and default for each threshold (for argparse)."""
    defaults = Thresholds()
    return {name: (r.flag, r.help, getattr(defaults, name)) for name, r in _RULES.items()}


def _require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is required but not set")
    return value


def _secret_arn(env: Mapping[str, str], name: str) -> str:
    arn = _require(env, name)
    if not arn.startswith("arn:") or ":secretsmanager:" not in arn:
        raise SettingsError(f"{name} is not a Secrets Manager ARN: {arn[:80]!r}")
    return arn


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("true", "false"):
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    return raw == "true"


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip() or default
    if raw not in allowed:
        raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw[:40]!r}")
    return raw


def _whole_days(env: Mapping[str, str], name: str, *, default: int, most: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise SettingsError(f"{name} must be a whole number of days from 1 to {most}, got {raw!r}")
    return int(raw)


def _topic_arn(env: Mapping[str, str], name: str) -> str:
    arn = _require(env, name)
    if not arn.startswith("arn:") or arn.count(":") != 5 or ":sns:" not in arn:
        raise SettingsError(f"{name} is not an SNS topic ARN: {arn!r}")
    return arn


@dataclass(frozen=True)
class Notifications:
    """Where a function's notices go: the stack's topic, with Chatbot's format on its https body or not."""

    topic_arn: str
    chatbot: bool = False
    # False in a member stack that leaves notifications to the central account (LocalNotifications): its
    # notices then only go to the bus, which forwards them.
    local: bool = True
    routing_parameter: str | None = None  # SSM parameter holding the routing table (sagewatch.routing)
    copy_all_to_default: bool = True  # the stack's topic gets routed findings too
    email_from: str | None = None  # SES identity that email routes send from
    slack_url_prefix: str = SLACK_HOOKS  # Slack routes post only to URLs starting so
    email_domains: tuple[str, ...] = ()  # recipient domains email routes may send to (none: no email route)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Notifications:
        parameter = env.get("SAGEWATCH_ROUTING_PARAMETER", "").strip()
        if parameter and not re.fullmatch(r"[\w./-]{1,2048}", parameter):
            raise SettingsError(f"SAGEWATCH_ROUTING_PARAMETER is not an SSM parameter name: {parameter[:80]!r}")
        sender = env.get("SAGEWATCH_ROUTE_EMAIL_FROM", "").strip()
        if sender and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", sender):
            raise SettingsError(f"SAGEWATCH_ROUTE_EMAIL_FROM is not an email address: {sender[:80]!r}")
        return cls(
            topic_arn=_topic_arn(env, "SAGEWATCH_TOPIC_ARN"),
            chatbot=_bool(env, "SAGEWATCH_CHATBOT", False),
            local=_bool(env, "SAGEWATCH_LOCAL_NOTIFICATIONS", True),
            routing_parameter=parameter or None,
            copy_all_to_default=_bool(env, "SAGEWATCH_COPY_ALL_TO_DEFAULT", True),
            email_from=sender or None,
            slack_url_prefix=slack_url_prefix(env),
            email_domains=_domains(env, "SAGEWATCH_ROUTE_EMAIL_DOMAINS"),
        )


_TAG_KEY = re.compile(r"^[\w.:/=+@ -]{1,128}$")


def owner_tag_keys(text: str, name: str) -> tuple[str, ...]:
    """Owner tag keys from a comma-separated setting or flag; blank is the default list."""
    if not text.strip():
        return DEFAULT_OWNER_TAGS
    keys = tuple(k.strip() for k in text.split(",") if k.strip())
    bad = [k for k in keys if not _TAG_KEY.match(k)]
    if bad or not keys:
        raise SettingsError(f"{name} must be tag keys separated by commas, got {(bad or [text])[0][:60]!r}")
    return keys


def _count(env: Mapping[str, str], name: str, *, default: int, most: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or int(raw) > most:
        raise SettingsError(f"{name} must be a whole number from 0 to {most}, got {raw[:40]!r}")
    return int(raw)


def _between(env: Mapping[str, str], name: str, *, default: int, least: int, most: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or not least <= int(raw) <= most:
        raise SettingsError(f"{name} must be a whole number from {least} to {most}, got {raw[:40]!r}")
    return int(raw)


def _event_bus(env: Mapping[str, str]) -> str:
    return env.get("SAGEWATCH_EVENT_BUS", "").strip() or "default"


@dataclass(frozen=True)
class ScanSettings:
    """Settings of the scheduled scan function."""

    region: str
    notifications: Notifications
    state_table: str
    thresholds: Thresholds
    renotify_days: int = 7
    event_bus: str = "default"
    catalog_path: Path | None = None
    bucket: str | None = None  # the stack bucket, where the catalog refresh keeps the region's prices
    # Seconds between scheduled scans (a rate() schedule), told to the central account so that it knows when
    # a member has gone silent; None for a cron schedule (it then goes by the time between two scans).
    interval_seconds: int | None = None
    owner_tags: tuple[str, ...] = DEFAULT_OWNER_TAGS  # tag keys naming an endpoint's owner, first wins
    owner_lookups: int = 20  # CloudTrail LookupEvents calls a scan may make (0: never)
    max_snooze_days: int = 30  # a sagewatch:snooze-until further than this from its first sighting is capped
    # Remediation enabled in the stack: findings' commands invoke its function; disabled: --local dry runs
    remediation: bool = True
    # No reserved concurrency (ReserveConcurrency=false): a scheduled scan takes lock#scan in the state table
    scan_lock: bool = False
    # The first scan from this hour (UTC) each day is the deep scan (sagewatch.cadence); the others are hourly
    deep_scan_hour: int = 6
    # Past this many listed endpoints a scan fans out on the state machine (sagewatch.app.fanout; 0: only when
    # the deep scan would not finish in time); None: the stack has no state machine, a scan stays one function
    fan_out_state_machine: str | None = None
    fan_out_endpoints: int = 2000
    fan_out_concurrency: int = 3  # chunks read at once (the Map's MaxConcurrency)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ScanSettings:
        catalog = env.get("SAGEWATCH_CATALOG_PATH", "").strip()
        schedule = env.get("SAGEWATCH_SCAN_SCHEDULE", "").strip()
        interval = interval_of(schedule) if schedule else None
        if schedule and interval is None and not schedule.startswith("cron("):
            raise SettingsError(f"SAGEWATCH_SCAN_SCHEDULE must be rate(...) or cron(...), got {schedule[:80]!r}")
        if interval is not None and interval < 60:
            raise SettingsError(f"SAGEWATCH_SCAN_SCHEDULE must be at least a minute apart, got {schedule[:80]!r}")
        return cls(
            owner_tags=owner_tag_keys(env.get("SAGEWATCH_OWNER_TAGS", ""), "SAGEWATCH_OWNER_TAGS"),
            owner_lookups=_count(env, "SAGEWATCH_OWNER_LOOKUPS", default=20, most=200),
            interval_seconds=interval,
            bucket=env.get("SAGEWATCH_BUCKET", "").strip() or None,
            region=_require(env, "AWS_REGION"),
            notifications=Notifications.from_env(env),
            state_table=_require(env, "SAGEWATCH_STATE_TABLE"),
            thresholds=Thresholds.from_env(env),
            renotify_days=_whole_days(env, "SAGEWATCH_RENOTIFY_DAYS", default=7, most=365),
            max_snooze_days=_whole_days(env, "SAGEWATCH_MAX_SNOOZE_DAYS", default=30, most=365),
            remediation=_choice(env, "SAGEWATCH_REMEDIATION", ("enabled", "disabled"), "enabled") == "enabled",
            scan_lock=_bool(env, "SAGEWATCH_SCAN_LOCK", default=False),
            deep_scan_hour=_count(env, "SAGEWATCH_DEEP_SCAN_HOUR", default=6, most=23),
            fan_out_state_machine=_state_machine_arn(env, "SAGEWATCH_FAN_OUT_STATE_MACHINE"),
            fan_out_endpoints=_count(env, "SAGEWATCH_FAN_OUT_ENDPOINTS", default=2000, most=1_000_000),
            fan_out_concurrency=_between(env, "SAGEWATCH_FAN_OUT_CONCURRENCY", default=3, least=1, most=20),
            event_bus=_event_bus(env),
            catalog_path=Path(catalog) if catalog else None,
        )


def _state_machine_arn(env: Mapping[str, str], name: str) -> str | None:
    arn = env.get(name, "").strip()
    if not arn:
        return None
    if not arn.startswith("arn:") or ":states:" not in arn or ":stateMachine:" not in arn:
        raise SettingsError(f"{name} is not a Step Functions state machine ARN: {arn[:120]!r}")
    return arn


@dataclass(frozen=True)
class ScanChunkSettings:
    """Settings of the fan-out's chunk function: where the state and the parts are (the thresholds, the owner
    tags and the time come with each chunk, as the starting scan decided them)."""

    region: str
    state_table: str
    bucket: str
    catalog_path: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ScanChunkSettings:
        catalog = env.get("SAGEWATCH_CATALOG_PATH", "").strip()
        return cls(
            region=_require(env, "AWS_REGION"),
            state_table=_require(env, "SAGEWATCH_STATE_TABLE"),
            bucket=_require(env, "SAGEWATCH_BUCKET"),
            catalog_path=Path(catalog) if catalog else None,
        )


@dataclass(frozen=True)
class SlackSettings:
    """Settings of the Slack notifier function."""

    webhook_secret_arn: str
    slack_url_prefix: str = SLACK_HOOKS
    buttons: bool = False  # the stack has the Slack app (SlackSigningSecretArn) and remediation: Dry run buttons

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackSettings:
        arn = _secret_arn(env, "SAGEWATCH_SLACK_WEBHOOK_SECRET_ARN")
        return cls(
            webhook_secret_arn=arn,
            slack_url_prefix=slack_url_prefix(env),
            buttons=_bool(env, "SAGEWATCH_SLACK_ACTIONS", default=False),
        )


_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")


def _domains(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = [d.strip().lower() for d in env.get(name, "").split(",") if d.strip()]
    bad = [d for d in raw if not _DOMAIN.match(d)]
    if bad:
        raise SettingsError(f"{name} must be comma-separated domain names (example.com), got {bad[0][:80]!r}")
    return tuple(raw)


def slack_url_prefix(env: Mapping[str, str]) -> str:
    raw = env.get("SAGEWATCH_SLACK_URL_PREFIX", "").strip() or SLACK_HOOKS
    try:
        return url_prefix(raw)
    except ValueError as exc:
        raise SettingsError(f"SAGEWATCH_SLACK_URL_PREFIX {exc}") from None


@dataclass(frozen=True)
class MonitorSettings:
    """Settings of the Model Monitor and endpoint-health function."""

    region: str
    notifications: Notifications
    idempotency_table: str
    event_bus: str = "default"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MonitorSettings:
        return cls(
            region=_require(env, "AWS_REGION"),
            notifications=Notifications.from_env(env),
            idempotency_table=_require(env, "SAGEWATCH_IDEMPOTENCY_TABLE"),
            event_bus=_event_bus(env),
        )


@dataclass(frozen=True)
class RemediateSettings:
    """Settings of the remediation function (its thresholds set the idle re-check's window)."""

    region: str
    notifications: Notifications
    bucket: str
    idempotency_table: str
    thresholds: Thresholds

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RemediateSettings:
        return cls(
            region=_require(env, "AWS_REGION"),
            notifications=Notifications.from_env(env),
            bucket=_require(env, "SAGEWATCH_BUCKET"),
            idempotency_table=_require(env, "SAGEWATCH_IDEMPOTENCY_TABLE"),
            thresholds=Thresholds.from_env(env),
        )


@dataclass(frozen=True)
class SlackActionsSettings:
    """Settings of the Slack app's function (its buttons): whose clicks count, where, and what they invoke."""

    region: str
    signing_secret_arn: str
    approvers: frozenset[str]
    remediate_function: str
    tokens_table: str
    channels: frozenset[str] = frozenset()
    four_eyes: bool = False
    slack_url_prefix: str = SLACK_HOOKS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackActionsSettings:
        arn = _secret_arn(env, "SAGEWATCH_SLACK_SIGNING_SECRET_ARN")
        approvers = _slack_ids(env, "SAGEWATCH_SLACK_APPROVERS", SLACK_USER_ID)
        if not approvers:
            raise SettingsError("SAGEWATCH_SLACK_APPROVERS must name at least one Slack user id (U...)")
        function = _require(env, "SAGEWATCH_REMEDIATE_FUNCTION")
        if not re.fullmatch(r"[A-Za-z0-9_:.-]{1,170}", function):
            raise SettingsError(f"SAGEWATCH_REMEDIATE_FUNCTION is not a Lambda function name or ARN: {function[:80]!r}")
        return cls(
            region=_require(env, "AWS_REGION"),
            signing_secret_arn=arn,
            approvers=approvers,
            remediate_function=function,
            tokens_table=_require(env, "SAGEWATCH_IDEMPOTENCY_TABLE"),
            channels=_slack_ids(env, "SAGEWATCH_SLACK_ACTION_CHANNELS", SLACK_CHANNEL_ID),
            four_eyes=_bool(env, "SAGEWATCH_SLACK_FOUR_EYES", default=False),
            slack_url_prefix=slack_url_prefix(env),
        )


# Slack's ids: users U... (W... in Enterprise Grid), channels C..., private G..., direct messages D...
SLACK_USER_ID = r"[UW][A-Z0-9]{2,20}"
SLACK_CHANNEL_ID = r"[CGD][A-Z0-9]{2,20}"


def _slack_ids(env: Mapping[str, str], name: str, pattern: str) -> frozenset[str]:
    ids = [part.strip() for part in env.get(name, "").split(",") if part.strip()]
    bad = [i for i in ids if not re.fullmatch(pattern, i)]
    if bad:
        raise SettingsError(f"{name} must be comma-separated Slack ids, got {bad[0][:40]!r}")
    return frozenset(ids)


@dataclass(frozen=True)
class ReportSettings:
    """Settings of the weekly cost report function: waste is measured against the target utilization only."""

    region: str
    notifications: Notifications
    bucket: str
    target_utilization_pct: float = 70.0
    days: int = 7
    max_snooze_days: int = 30  # how long a sagewatch:snooze-until may silence an endpoint
    schedule_timezone: str = "UTC"  # the hours "waste in time" is read in (sagewatch.schedule)
    commitments: bool = True  # Savings Plans and Cost Explorer's recommendation, net of waste
    commitment_options: CommitmentOptions = field(default_factory=CommitmentOptions)
    state_table: str | None = None  # where the day's Cost Explorer answers are kept

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReportSettings:
        options = commitment_options(env)
        return cls(
            region=_require(env, "AWS_REGION"),
            notifications=Notifications.from_env(env),
            bucket=_require(env, "SAGEWATCH_BUCKET"),
            target_utilization_pct=Thresholds.one_from_env(env, "target_utilization_pct"),
            days=_whole_days(env, "SAGEWATCH_REPORT_DAYS", default=7, most=90),
            max_snooze_days=_whole_days(env, "SAGEWATCH_MAX_SNOOZE_DAYS", default=30, most=365),
            schedule_timezone=Thresholds.from_strings(
                {"schedule_timezone": env.get("SAGEWATCH_SCHEDULE_TIMEZONE") or None}
            ).schedule_timezone,
            commitments=_bool(env, "SAGEWATCH_COMMITMENTS", True),
            commitment_options=options,
            state_table=env.get("SAGEWATCH_STATE_TABLE") or None,
        )


def provisioned_concurrency_rate(text: str, name: str) -> float | None:
    """A provisioned concurrency price (USD per GB-second) from a setting or flag; blank is None (unpriced)."""
    if not text.strip():
        return None
    try:
        rate = _float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a price in USD per GB-second, got {text.strip()[:40]!r}") from None
    if not pc_rate_in_range(rate):
        raise SettingsError(f"{name} must be above 0 and below 1 (USD per GB-second), got {rate:g}")
    return rate


@dataclass(frozen=True)
class CatalogSettings:
    """Settings of the catalog refresh function."""

    region: str
    bucket: str
    # The Price List's serverless provisioned concurrency products could not be identified from public
    # material, so the rate is the operator's (stack parameter ProvisionedConcurrencyUsdPerGbSecond).
    provisioned_concurrency_rate: float | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CatalogSettings:
        name = "SAGEWATCH_PC_USD_PER_GB_SECOND"
        return cls(
            region=_require(env, "AWS_REGION"),
            bucket=_require(env, "SAGEWATCH_BUCKET"),
            provisioned_concurrency_rate=provisioned_concurrency_rate(env.get(name, ""), name),
        )


def _minutes(env: Mapping[str, str], name: str, *, default: int, most: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise SettingsError(f"{name} must be a whole number of minutes from 1 to {most}, got {raw[:40]!r}")
    return int(raw)


def commitment_options(env: Mapping[str, str]) -> CommitmentOptions:
    """The Savings Plans term and payment option Cost Explorer's advice is asked for (stack parameters)."""
    try:
        return CommitmentOptions.parse(
            env.get("SAGEWATCH_SAVINGS_PLANS_TERM") or "ONE_YEAR",
            env.get("SAGEWATCH_SAVINGS_PLANS_PAYMENT") or "NO_UPFRONT",
        )
    except ValueError as exc:
        raise SettingsError(f"SAGEWATCH_SAVINGS_PLANS_TERM/PAYMENT: {exc}") from None


@dataclass(frozen=True)
class OrgSettings:
    """Settings of the central account's functions (aggregator, organization digest and cost report)."""

    region: str
    notifications: Notifications
    org_table: str
    bucket: str
    renotify_days: int = 7
    quiet_minutes: int = 10  # the digest waits until no member has reported for this long
    longest_minutes: int = 60  # ...but never longer than this after the first news
    organization_id: str | None = None
    idempotency_table: str | None = None  # the aggregator's (each forwarded event handled once)
    # what one member can make the central account do: alerts sent an hour (the rest summarised in the
    # digest), and finding records kept (a member's fleet with more open findings is not a real one)
    alerts_per_member_hour: int = 30
    records_per_member: int = 5000
    # the organization cost report's commitments (Cost Explorer from the central account, net of members' waste)
    commitments: bool = True
    commitment_options: CommitmentOptions = field(default_factory=CommitmentOptions)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OrgSettings:
        org = env.get("SAGEWATCH_ORGANIZATION_ID", "").strip()
        if org and not re.fullmatch(r"o-[a-z0-9]{10,32}", org):
            raise SettingsError(f"SAGEWATCH_ORGANIZATION_ID is not an organization id (o-...): {org[:40]!r}")
        quiet = _minutes(env, "SAGEWATCH_DIGEST_QUIET_MINUTES", default=10, most=720)
        longest = _minutes(env, "SAGEWATCH_DIGEST_LONGEST_MINUTES", default=60, most=1440)
        if longest < quiet:
            raise SettingsError(
                f"SAGEWATCH_DIGEST_LONGEST_MINUTES ({longest}) must not be below "
                f"SAGEWATCH_DIGEST_QUIET_MINUTES ({quiet})"
            )
        return cls(
            region=_require(env, "AWS_REGION"),
            notifications=Notifications.from_env(env),
            org_table=_require(env, "SAGEWATCH_ORG_TABLE"),
            bucket=_require(env, "SAGEWATCH_BUCKET"),
            renotify_days=_whole_days(env, "SAGEWATCH_RENOTIFY_DAYS", default=7, most=365),
            quiet_minutes=quiet,
            longest_minutes=longest,
            organization_id=org or None,
            idempotency_table=env.get("SAGEWATCH_IDEMPOTENCY_TABLE", "").strip() or None,
            alerts_per_member_hour=_count(env, "SAGEWATCH_ALERTS_PER_MEMBER_HOUR", default=30, most=10_000),
            records_per_member=_count(env, "SAGEWATCH_RECORDS_PER_MEMBER", default=5000, most=100_000),
            commitments=_bool(env, "SAGEWATCH_COMMITMENTS", True),
            commitment_options=commitment_options(env),
        )
