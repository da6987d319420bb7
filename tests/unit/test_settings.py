import pytest

from sagewatch.settings import ScanSettings, SettingsError, Thresholds

TOPIC = "arn:aws:sns:us-east-1:123456789012:sagewatch"


def test_defaults_are_the_documented_ones():
    t = Thresholds()
    assert (t.idle_hours, t.utilization_days, t.target_utilization_pct, t.saturation_pct) == (24, 7, 70.0, 90.0)
    assert (t.error_rate_pct, t.min_error_invocations, t.min_monthly_savings_usd) == (1.0, 100, 10.0)


def test_environment_overrides_every_threshold():
    env = {
        "SAGEWATCH_IDLE_HOURS": "48",
        "SAGEWATCH_UTILIZATION_DAYS": "14",
        "SAGEWATCH_TARGET_UTILIZATION_PCT": "60",
        "SAGEWATCH_SATURATION_PCT": "85",
        "SAGEWATCH_ERROR_RATE_PCT": "0.5",
        "SAGEWATCH_MIN_ERROR_INVOCATIONS": "1000",
        "SAGEWATCH_MIN_MONTHLY_SAVINGS_USD": "50",
    }
    t = Thresholds.from_env(env)
    assert t == Thresholds(48, 14, 60.0, 85.0, 0.5, 1000, 50.0)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SAGEWATCH_IDLE_HOURS": "abc"}, "SAGEWATCH_IDLE_HOURS (--idle-hours) must be a whole number"),
        ({"SAGEWATCH_IDLE_HOURS": "1.5"}, "SAGEWATCH_IDLE_HOURS"),
        ({"SAGEWATCH_IDLE_HOURS": "0"}, "SAGEWATCH_IDLE_HOURS (--idle-hours) must be between 1 and 2160"),
        ({"SAGEWATCH_UTILIZATION_DAYS": "365"}, "SAGEWATCH_UTILIZATION_DAYS"),
        ({"SAGEWATCH_ERROR_RATE_PCT": "nan"}, "SAGEWATCH_ERROR_RATE_PCT (--error-rate) must be a number"),
        ({"SAGEWATCH_TARGET_UTILIZATION_PCT": "92"}, "must be below SAGEWATCH_SATURATION_PCT"),
    ],
)
def test_bad_values_name_the_setting(env, named):
    with pytest.raises(SettingsError, match=named.replace("(", r"\(").replace(")", r"\)")):
        Thresholds.from_env(env)


def test_flag_errors_lead_with_the_flag():
    with pytest.raises(SettingsError, match=r"^--saturation \(SAGEWATCH_SATURATION_PCT\) must be a number"):
        Thresholds.from_strings({"saturation_pct": "high"}, by="flag")


def test_scan_settings_need_a_topic_and_a_region():
    with pytest.raises(SettingsError, match="SAGEWATCH_TOPIC_ARN is required"):
        ScanSettings.from_env({"AWS_REGION": "us-east-1"})
    with pytest.raises(SettingsError, match="AWS_REGION is required"):
        ScanSettings.from_env({"SAGEWATCH_TOPIC_ARN": TOPIC})
    with pytest.raises(SettingsError, match="not an SNS topic ARN"):
        ScanSettings.from_env({"SAGEWATCH_TOPIC_ARN": "sagewatch", "AWS_REGION": "us-east-1"})


BASE = {"SAGEWATCH_TOPIC_ARN": TOPIC, "AWS_REGION": "eu-west-1", "SAGEWATCH_STATE_TABLE": "state"}


def test_scan_settings_are_frozen():
    s = ScanSettings.from_env({**BASE, "SAGEWATCH_IDLE_HOURS": "12"})
    assert s.region == "eu-west-1" and s.thresholds.idle_hours == 12 and s.catalog_path is None
    assert (s.state_table, s.renotify_days, s.event_bus, s.notifications.chatbot) == ("state", 7, "default", False)
    with pytest.raises(AttributeError):
        s.region = "us-east-1"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SAGEWATCH_STATE_TABLE": ""}, "SAGEWATCH_STATE_TABLE is required"),
        ({"SAGEWATCH_RENOTIFY_DAYS": "weekly"}, "SAGEWATCH_RENOTIFY_DAYS must be a whole number of days"),
        ({"SAGEWATCH_RENOTIFY_DAYS": "0"}, "SAGEWATCH_RENOTIFY_DAYS"),
        ({"SAGEWATCH_CHATBOT": "yes"}, "SAGEWATCH_CHATBOT must be true or false"),
        ({"SAGEWATCH_TOPIC_ARN": "arn:aws:sqs:us-east-1:123456789012:q"}, "not an SNS topic ARN"),
    ],
)
def test_notification_settings_are_checked(env, message):
    with pytest.raises(SettingsError, match=message):
        ScanSettings.from_env({**BASE, **env})


def test_notification_settings_are_read():
    s = ScanSettings.from_env({**BASE, "SAGEWATCH_RENOTIFY_DAYS": "3", "SAGEWATCH_CHATBOT": "TRUE"})
    assert s.renotify_days == 3 and s.notifications.chatbot is True


REPORT_ENV = {"AWS_REGION": "us-east-1", "SAGEWATCH_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (REPORT_ENV, "SAGEWATCH_BUCKET is required"),
        ({**REPORT_ENV, "SAGEWATCH_BUCKET": "b", "SAGEWATCH_REPORT_DAYS": "0"}, "SAGEWATCH_REPORT_DAYS must be"),
        ({**REPORT_ENV, "SAGEWATCH_BUCKET": "b", "SAGEWATCH_REPORT_DAYS": "a week"}, "got 'a week'"),
        ({**REPORT_ENV, "SAGEWATCH_BUCKET": "b", "SAGEWATCH_TARGET_UTILIZATION_PCT": "99"}, "between 10 and 95"),
        ({**REPORT_ENV, "SAGEWATCH_BUCKET": "b", "SAGEWATCH_TARGET_UTILIZATION_PCT": "most"}, "must be a number"),
    ],
)
def test_report_settings_fail_fast_naming_the_setting(env, message):
    from sagewatch.settings import ReportSettings

    with pytest.raises(SettingsError, match=message):
        ReportSettings.from_env(env)


def test_report_settings_are_read():
    from sagewatch.settings import ReportSettings

    settings = ReportSettings.from_env({**REPORT_ENV, "SAGEWATCH_BUCKET": "b", "SAGEWATCH_REPORT_DAYS": "14"})
    assert (settings.bucket, settings.days, settings.target_utilization_pct) == ("b", 14, 70.0)


def test_report_settings_need_only_what_the_report_uses():
    """The weekly function is not given the saturation threshold: its settings must not need it."""
    from sagewatch.settings import ReportSettings

    settings = ReportSettings.from_env(
        {**REPORT_ENV, "SAGEWATCH_BUCKET": "b", "SAGEWATCH_TARGET_UTILIZATION_PCT": "92"}  # above the default 90
    )
    assert settings.target_utilization_pct == 92.0


def test_the_cli_region_comes_from_aws_region_first(monkeypatch):
    """boto3 reads AWS_DEFAULT_REGION and the profile only; the CLI (and its help) honour AWS_REGION first."""
    from sagewatch.aws.clients import Clients

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    assert Clients.resolve().region == "eu-west-1"
    assert Clients.resolve("ap-south-1").region == "ap-south-1"  # --region wins
    monkeypatch.delenv("AWS_REGION")
    assert Clients.resolve().region == "us-east-2"
