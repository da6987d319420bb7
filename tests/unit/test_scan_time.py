"""Will the scan keep finishing? Its time per endpoint against its function's timeout (sagewatch.scantime), said
before a scan dies at the limit; and the alarm that watches it is the metric the scan emits."""

from sagewatch.observability import SCAN_TIME_METRIC
from sagewatch.scantime import ScanTime
from sagewatch_testkit.template import load_template


def test_a_scan_well_within_its_timeout_says_nothing_but_its_figures():
    t = ScanTime(seconds=30.0, endpoints=1000, budget_seconds=300.0)
    assert t.seconds_per_endpoint == 0.03 and t.used_pct == 10.0
    assert t.endpoints_within == 8000  # 80% of 300 s at 0.03 s an endpoint
    assert t.warning is None


def test_a_scan_past_80_percent_of_its_timeout_says_how_many_endpoints_fit():
    t = ScanTime(seconds=255.0, endpoints=5000, budget_seconds=300.0)
    assert t.used_pct == 85.0 and t.endpoints_within == 4705
    assert t.warning is not None
    assert "255 s of the 300 s" in t.warning and "4,705 endpoints fit" in t.warning and "5,000" in t.warning


def test_without_a_known_timeout_or_endpoints_nothing_is_guessed():
    assert ScanTime(10.0, 100, None).warning is None and ScanTime(10.0, 100, None).endpoints_within is None
    assert ScanTime(1.0, 0, 300.0).seconds_per_endpoint is None and ScanTime(1.0, 0, 300.0).warning is None


def test_the_alarm_watches_the_metric_the_scan_emits():
    alarm = load_template()["Resources"]["ScanNearTimeoutAlarm"]["Properties"]
    assert alarm["MetricName"] == SCAN_TIME_METRIC and alarm["Threshold"] == 80


def test_an_hourly_scan_says_when_the_days_deep_scan_would_not_finish():
    """Hourly scans run in a third of the deep scan's time: the fleet can outgrow the deep scan while they fit."""
    t = ScanTime(seconds=60.0, endpoints=6000, budget_seconds=300.0, deep_rate=0.045)
    assert t.used_pct == 20.0 and t.deep_projected_pct == 90.0
    assert t.warning is not None
    assert "deep scan would take about 90%" in t.warning and "5,333 endpoints fit" in t.warning
    assert t.to_dict()["deep_projected_pct"] == 90.0
    fine = ScanTime(seconds=60.0, endpoints=6000, budget_seconds=300.0, deep_rate=0.02)
    assert fine.deep_projected_pct == 40.0 and fine.warning is None


def test_a_stack_that_fans_out_projects_no_deep_scan_and_says_the_next_ones_fan_out():
    """The deep scan fans out on its own at its last pace: no warning, no alarm for it from hourly scans."""
    t = ScanTime(seconds=60.0, endpoints=6000, budget_seconds=300.0, deep_rate=0.045, fans_out=True)
    assert t.deep_projected_pct is None and t.warning is None
    slow = ScanTime(seconds=255.0, endpoints=5000, budget_seconds=300.0, fans_out=True)
    assert slow.warning is not None and "fan out on the state machine" in slow.warning
    alone = ScanTime(seconds=255.0, endpoints=5000, budget_seconds=300.0)
    assert alone.warning is not None and "Turn fan-out on" in alone.warning
