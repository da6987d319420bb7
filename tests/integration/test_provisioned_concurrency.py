"""Serverless provisioned concurrency on moto: priced from the stack's stored catalog, found when idle, removed
by hand through the remediation function (dry run, then real), and nothing found when it is used or absent.

moto keeps ServerlessConfig.ProvisionedConcurrency and answers DescribeEndpoint with CurrentServerlessConfig, as
the API reference documents both. The price per GB-second is illustrative: no public source in reach gave
SageMaker's, so the stack takes it as a parameter and the tests check the arithmetic.
"""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import boto3
import pytest

from sagewatch.app.catalog import refresh_catalog
from sagewatch.app.judge import run_scan
from sagewatch.aws.catalog_store import CatalogStore
from sagewatch.aws.clients import Clients
from sagewatch.aws.wiring import readers, stack_catalog
from sagewatch.catalog import Catalog
from sagewatch.settings import CatalogSettings, SettingsError, Thresholds
from sagewatch_testkit import aws_rules, fleet, moto_ext

ROOT = Path(__file__).resolve().parents[2]
REGION = moto_ext.DEFAULT_REGION
BUCKET = "sagewatch-remediation"
RATE = 0.0000048
WARM = round(3 * 2048 / 1024 * RATE * 3600 * 730, 2)  # 3 slots of 2 GB, all month

FLEET = [
    fleet.SimEndpoint("reranker-warm", [fleet.SimVariant("AllTraffic", None, provisioned=3)], note="idle, warm"),
    fleet.SimEndpoint(
        "reranker-busy",
        [fleet.SimVariant("AllTraffic", None, invocations=fleet.flat(40), provisioned=3)],
        note="used: its warm capacity is doing its job",
    ),
    fleet.SimEndpoint("reranker-cold", [fleet.SimVariant("AllTraffic", None)], note="idle, no provisioned concurrency"),
]


class BundledPrices:
    """The Price List answered with the bundled catalog's rows (the refresh is tested against Stubber elsewhere)."""

    def hosting_prices(self, region):
        for spec in Catalog.load():
            yield json.dumps(
                {
                    "product": {"attributes": {"instanceName": spec.instance_type, "component": "Hosting"}},
                    "terms": {
                        "OnDemand": {"t": {"priceDimensions": {"d": {"unit": "Hrs", "pricePerUnit": {"USD": "0.5"}}}}}
                    },
                }
            )


@pytest.fixture
def stack(aws, sm):
    fleet.seed(sm, FLEET, region=REGION, now=datetime.now(UTC))
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    settings = CatalogSettings.from_env(
        {"AWS_REGION": REGION, "SAGEWATCH_BUCKET": BUCKET, "SAGEWATCH_PC_USD_PER_GB_SECOND": str(RATE)}
    )
    refresh_catalog(
        BundledPrices(),
        CatalogStore(s3, BUCKET),
        REGION,
        date.today(),
        provisioned_concurrency_rate=settings.provisioned_concurrency_rate,
    )
    return s3


def scan(catalog):
    clients = Clients(REGION)
    return run_scan(*readers(clients), catalog, Thresholds(), now=datetime.now(UTC), region=REGION, account=None)


def test_idle_warm_serverless_endpoint_is_found_with_its_cost(stack):
    catalog, problem = stack_catalog(Clients(REGION), bucket=BUCKET, region=REGION)
    assert problem is None and catalog.provisioned_concurrency_usd_per_gb_second == RATE
    report = scan(catalog)
    found = {(f.endpoint, f.variant, f.recommendation.action.value): f for f in report.findings}
    warm = found[("reranker-warm", "AllTraffic", "remove-provisioned-concurrency")]
    assert warm.monthly_cost_usd == warm.monthly_savings_usd == WARM
    assert warm.evidence["provisioned_concurrency"] == 3 and warm.evidence["memory_mb"] == 2048
    assert ("reranker-cold", None, "investigate") in found  # serverless without it stays free when idle
    assert found[("reranker-cold", None, "investigate")].monthly_savings_usd == 0
    assert not [f for f in report.findings if f.endpoint == "reranker-busy"]
    assert report.to_dict()["warnings"] == []  # the stored catalog is this region's


def test_without_a_price_the_finding_stays_and_says_why(aws, sm):
    fleet.seed(sm, FLEET[:1], region=REGION, now=datetime.now(UTC))
    [f] = scan(Catalog.load()).findings
    assert f.recommendation.action.value == "remove-provisioned-concurrency" and f.monthly_savings_usd is None
    assert "ProvisionedConcurrencyUsdPerGbSecond" in f.evidence["note"]


def test_a_bad_price_setting_fails_the_cold_start_naming_it():
    with pytest.raises(SettingsError, match="SAGEWATCH_PC_USD_PER_GB_SECOND"):
        CatalogSettings.from_env(
            {"AWS_REGION": REGION, "SAGEWATCH_BUCKET": BUCKET, "SAGEWATCH_PC_USD_PER_GB_SECOND": "1.5"}
        )


@pytest.fixture
def remediate(stack, remediation_function):
    return remediation_function.invoke


def event(name):
    return json.loads((ROOT / "events" / "remediate" / f"{name}.json").read_text())


def test_remove_provisioned_concurrency_dry_run_then_real(remediate, sm, stack):
    dry = remediate(event("remove-provisioned-concurrency-dry-run"))
    assert dry["status"] == "planned", dry
    assert dry["plan"]["monthly_cost_change_usd"] == -WARM
    assert sm.describe_endpoint(EndpointName="reranker-warm")["EndpointConfigName"] == "reranker-warm-config"

    done = remediate(event("remove-provisioned-concurrency-execute"))
    assert done["status"] == "done", done
    aws_rules.CLOCK.sleep(aws_rules.DURATIONS.endpoint_update)  # the update takes its minutes
    live = sm.describe_endpoint(EndpointName="reranker-warm")
    config = sm.describe_endpoint_config(EndpointConfigName=live["EndpointConfigName"])
    assert live["EndpointConfigName"] != "reranker-warm-config"
    assert config["ProductionVariants"][0]["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    sm.describe_endpoint_config(EndpointConfigName="reranker-warm-config")  # kept, for rolling back
    audits = stack.list_objects_v2(Bucket=BUCKET, Prefix="audit/").get("Contents", [])
    assert len(audits) == 1


def test_remove_provisioned_concurrency_where_there_is_none_is_refused(remediate, sm):
    result = remediate({**event("remove-provisioned-concurrency-dry-run"), "endpoint": "reranker-cold"})
    assert result["status"] == "refused" and "no provisioned concurrency to remove" in result["error"]
