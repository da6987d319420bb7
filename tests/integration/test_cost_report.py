"""The cost report on a moto fleet whose figures can be worked out by hand, in every format."""

import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from sagewatch.app.weekly import cost_report
from sagewatch.aws.cloudwatch import CloudWatchMetrics
from sagewatch.aws.sagemaker import SageMakerInventory
from sagewatch.catalog import Catalog
from sagewatch.cli import main
from sagewatch.costrender import COLUMNS, render_html, to_csv
from sagewatch.costs import UNRESERVED
from sagewatch.metrics import NS_INSTANCE
from sagewatch_testkit import browser, fleet, moto_ext
from sagewatch_testkit.fleet import SimComponent, SimEndpoint, SimVariant, flat
from sagewatch_testkit.schemas import validate_cost_report

REGION = moto_ext.DEFAULT_REGION
# A whole hour, so that the report's period (which ends at the last full hour) ends exactly here.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)

# ml.m5.xlarge $0.23/h (4 vCPU), ml.g5.12xlarge $7.09/h (48 vCPU, 192 GiB, 4 GPUs), ml.m5.large $0.115/h.
FLEET = [
    SimEndpoint("steady", [SimVariant("AllTraffic", "ml.m5.xlarge", 2, flat(1000))]),
    SimEndpoint(
        "shared",
        [
            SimVariant(
                "AllTraffic",
                "ml.g5.12xlarge",
                1,
                None,
                components=[
                    # 2 of 4 GPUs is its largest share: 50%
                    SimComponent(
                        "model-a",
                        flat(500),
                        cores=8,
                        accelerators=2,
                        memory_mb=40960,
                        utilization={"gpu": flat(35), "cpu": flat(10)},
                    ),
                    # 16 of 48 cores is its largest share: a third
                    SimComponent("model-b", None, cores=16, accelerators=1, memory_mb=16384),
                ],
            )
        ],
    ),
    SimEndpoint("young", [SimVariant("AllTraffic", "ml.m5.large", 1)], age_days=2),
    SimEndpoint("pay-per-use", [SimVariant("AllTraffic", None)]),
]


@pytest.fixture
def costed(aws, sm, harness):
    fleet.seed(sm, FLEET, region=REGION, now=NOW)
    # steady's CPU cycles 10-20-30-35% of its 4 vCPUs (CloudWatch sums cores), memory a flat 28%
    dims = {"EndpointName": "steady", "VariantName": "AllTraffic"}
    hours = [NOW - timedelta(hours=h) for h in range(1, 8 * 24 + 1)]
    cycle = [10, 20, 30, 35]
    moto_ext.put_series(
        REGION, NS_INSTANCE, "CPUUtilization", dims, [(t, cycle[i % 4] * 4) for i, t in enumerate(hours)]
    )
    moto_ext.put_series(REGION, NS_INSTANCE, "MemoryUtilization", dims, [(t, 28.0) for t in hours])
    return cost_report(
        SageMakerInventory(harness.sagemaker),
        CloudWatchMetrics(harness.cloudwatch),
        Catalog.load(),
        days=7,
        target_utilization_pct=70,
        now=NOW + timedelta(minutes=20),  # mid-hour: the period still ends at NOW
        region=REGION,
        account=None,
    )


def rows(report):
    return {(r.endpoint, r.variant if r.level != "endpoint" else None, r.component): r for r in report.rows}


def test_figures_match_the_hand_computed_ones(costed):
    r = rows(costed)
    steady = r[("steady", "AllTraffic", None)]
    assert steady.hours == 168
    assert steady.cost_usd == 77.28  # 0.23 x 2 instances x 168 h
    assert steady.monthly_cost_usd == 335.80  # 0.23 x 2 x 730
    assert steady.invocations == 168_000
    assert steady.cost_per_million_usd == 460.00  # 77.28 / 168,000 x 10^6
    # nearest rank over 168 hourly values: p50 is the 84th (20%), p95 the 160th (35%)
    assert (steady.usage.p50, steady.usage.p95) == ({"cpu": 20.0, "memory": 28.0}, {"cpu": 35.0, "memory": 28.0})
    assert steady.waste_usd == 38.64  # busiest p95 35% against a 70% target: half the capacity unneeded

    young = r[("young", "AllTraffic", None)]
    assert young.hours == 48 and young.cost_usd == 5.52  # 0.115 x 48
    assert young.invocations == 0 and young.waste_usd == 5.52  # no request at all: all of it

    serverless = r[("pay-per-use", "AllTraffic", None)]
    assert serverless.cost_usd is None and serverless.waste_usd is None  # unknown, never zero


def test_components_split_their_endpoints_cost_by_what_they_reserve(costed):
    r = rows(costed)
    variant = r[("shared", "AllTraffic", None)]
    a, b = r[("shared", "AllTraffic", "model-a")], r[("shared", "AllTraffic", "model-b")]
    rest = r[("shared", "AllTraffic", UNRESERVED)]
    assert variant.cost_usd == 1191.12  # 7.09 x 168
    assert (a.share, b.share, rest.share) == (0.5, 0.3333, 0.1667)
    assert (a.cost_usd, b.cost_usd, rest.cost_usd) == (595.56, 397.04, 198.52)
    assert round(a.cost_usd + b.cost_usd + rest.cost_usd, 2) == variant.cost_usd == r[("shared", None, None)].cost_usd
    assert round(a.monthly_cost_usd + b.monthly_cost_usd + rest.monthly_cost_usd, 2) == variant.monthly_cost_usd
    assert a.invocations == 84_000 and b.invocations == 0 and variant.invocations == 84_000
    assert a.usage.p95 == {"gpu": 35.0, "cpu": 10.0}
    assert a.waste_usd == 297.78  # GPU p95 35% of its reservation at a 70% target
    assert b.waste_usd == 397.04 and rest.waste_usd == 198.52  # unused model, unreserved capacity
    assert variant.waste_usd == 893.34


def test_totals_and_order(costed):
    t = costed.totals
    assert (t.cost_usd, t.monthly_cost_usd, t.invocations) == (1273.92, 5595.45, 252_000)
    assert t.waste_usd == 937.50  # 38.64 + 893.34 + 5.52
    assert [r.endpoint for r in costed.endpoints()] == ["shared", "steady", "young", "pay-per-use"]
    assert costed.errors == []
    validate_cost_report(costed.to_dict())


def test_csv_has_the_documented_columns_and_a_total_line(costed):
    lines = list(csv.DictReader(io.StringIO(to_csv(costed))))
    assert list(lines[0]) == COLUMNS
    # one row per endpoint of one variant (its endpoint row names the variant), then the TOTAL line
    assert len(lines) == len(costed.shown_rows()) + 1 == len(costed.rows) - 3 + 1
    steady = [x for x in lines if x["endpoint"] == "steady"]
    assert [(x["level"], x["variant"]) for x in steady] == [("endpoint", "AllTraffic")]
    shared = next(x for x in lines if x["endpoint"] == "shared" and x["component"] == "model-a")
    assert shared["cost_usd"] == "595.56" and shared["share"] == "0.5" and shared["gpu_p95"] == "35"
    serverless = next(x for x in lines if x["endpoint"] == "pay-per-use")
    assert serverless["cost_usd"] == "" and serverless["waste_usd"] == ""  # unknown is empty, not 0
    total = lines[-1]
    assert total["level"] == "TOTAL" and total["cost_usd"] == "1273.92" and total["waste_usd"] == "937.5"


def test_cli_formats(costed, capsys, tmp_path):
    assert main(["report", "--region", REGION, "--format", "json", "--days", "7"]) == 0
    doc = json.loads(capsys.readouterr().out)
    validate_cost_report(doc)
    assert {row["endpoint"] for row in doc["rows"]} == {"shared", "steady", "young", "pay-per-use"}
    assert main(["report", "--region", REGION]) == 0
    table = capsys.readouterr().out
    assert "model-a" in table and "TOTAL" in table and "(unreserved)" in table
    out = tmp_path / "report.html"
    assert main(["report", "--region", REGION, "--format", "html", "--output", str(out)]) == 0
    assert out.read_text().startswith("<!doctype html>")


@pytest.mark.parametrize(("args", "problem"), [(["--days", "0"], "outside 1-90"), (["--days", "x"], "whole number")])
def test_cli_refuses_bad_periods(args, problem, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["report", *args])
    assert exit_.value.code == 2 and problem in capsys.readouterr().err


def test_html_is_self_contained(costed):
    page = render_html(costed)
    assert page.count("<svg") == 3 and "model-a" in page
    for external in ("http://", "https://", "<script", "<link", "url("):
        assert external not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def _need_chromium():
    if browser.chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing: .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")


def test_html_renders_in_headless_chromium_without_console_errors(costed, tmp_path):
    _need_chromium()
    page = tmp_path / "report.html"
    page.write_text(render_html(costed), encoding="utf-8")
    run = browser.open_page(page, tmp_path / "report.png")
    assert run.console == []
    assert run.dom.count("<svg") == 3 and run.dom.count('<tr class="component">') == 3
    png = (tmp_path / "report.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000  # a drawn page, not a blank one


def test_the_page_fits_a_laptop_screen(costed, tmp_path):
    """At 1,280 px wide every column of the table is on screen: no horizontal scrolling."""
    _need_chromium()
    page = tmp_path / "report.html"
    page.write_text(render_html(costed), encoding="utf-8")
    document, viewport = browser.page_width(page, 1280)
    assert viewport > 1200 and document <= viewport, f"the page is {document} px wide in a {viewport} px viewport"


def test_the_width_check_sees_a_page_too_wide(tmp_path):
    """The gate above can fail: a page wider than the screen is caught."""
    _need_chromium()
    page = tmp_path / "wide.html"
    page.write_text('<!doctype html><body><div style="width:2000px">wide</div></body>', encoding="utf-8")
    document, viewport = browser.page_width(page, 1280)
    assert document > viewport


def test_the_browser_check_sees_console_errors(tmp_path):
    """The gate above can fail: a page with a script error is caught."""
    _need_chromium()
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><body><script>missingFunction()</script></body>", encoding="utf-8")
    assert any("missingFunction" in message for message in browser.open_page(page).console)
