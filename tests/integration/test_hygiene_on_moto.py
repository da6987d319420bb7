"""Configuration hygiene on moto, through the CLI: serverless provisioned concurrency mostly unused over the
fortnight (read with the hour-of-week series), and shadow variants (which moto drops: the test kit keeps a
config's ShadowProductionVariants and DescribeEndpoint answers them) found, costed and listed in the cost report."""

import json
from datetime import UTC, datetime

import pytest

from sagewatch.cli import main
from sagewatch.models import Kind
from sagewatch.notify.digest import _SENTENCES
from sagewatch_testkit import fleet, moto_ext
from sagewatch_testkit.fleet import SimEndpoint, SimVariant, flat
from sagewatch_testkit.schemas import validate_cost_report, validate_report

REGION = moto_ext.DEFAULT_REGION
BUSY = {"cpu": 60, "memory": 60}


@pytest.fixture
def hygiene(sm):
    fleet.seed(
        sm,
        [
            SimEndpoint(
                "faq-warm",
                [SimVariant("AllTraffic", None, invocations=flat(30), provisioned=10, pc_use=(0.05, 0.3))],
                history_days=15,
            ),
            SimEndpoint(
                "faq-hot",
                [SimVariant("AllTraffic", None, invocations=flat(30), provisioned=4, pc_use=(0.6, 1.0))],
                history_days=15,
            ),
            SimEndpoint(
                "ranker",
                [SimVariant("prod", "ml.m5.xlarge", 2, flat(500), **BUSY)],
                shadows=[SimVariant("candidate", "ml.m5.2xlarge", 1)],
            ),
            SimEndpoint(
                "ranker-new",
                [SimVariant("prod", "ml.m5.xlarge", 2, flat(500), **BUSY)],
                shadows=[SimVariant("candidate", "ml.m5.2xlarge", 1)],
                age_days=5,
            ),
        ],
        region=REGION,
        now=datetime.now(UTC),
    )
    return sm


def run(capsys, *args: str) -> dict:
    assert main([*args, "--region", REGION, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_test_kit_answers_shadow_variants_as_sagemaker_does(hygiene):
    described = hygiene.describe_endpoint(EndpointName="ranker")
    assert [(v["VariantName"], v["CurrentInstanceCount"]) for v in described["ShadowProductionVariants"]] == [
        ("candidate", 1)
    ]
    config = hygiene.describe_endpoint_config(EndpointConfigName="ranker-config")
    assert config["ShadowProductionVariants"][0]["InstanceType"] == "ml.m5.2xlarge"
    assert "ShadowProductionVariants" not in hygiene.describe_endpoint(EndpointName="faq-warm")


def test_mostly_unused_provisioned_concurrency_and_an_old_shadow_are_found(hygiene, capsys):
    doc = run(capsys, "scan")
    validate_report(doc)
    pc = [f for f in doc["findings"] if f["kind"] == "provisioned-concurrency"]
    assert [f["endpoint"] for f in pc] == ["faq-warm"]  # faq-hot's slots are busy 60% of the time
    ev = pc[0]["evidence"]
    assert ev["provisioned_concurrency"] == 10 and ev["recommended_provisioned_concurrency"] == 3
    assert ev["utilization_pct"] == pytest.approx(5.0, abs=0.5) and ev["peak_utilization_pct"] == 30.0
    assert pc[0]["recommendation"]["action"] == "investigate"
    assert "10 provisioned slots busy" in _SENTENCES[Kind.PROVISIONED_CONCURRENCY](ev)

    shadow = [f for f in doc["findings"] if f["kind"] == "shadow-variant"]
    assert [(f["endpoint"], f["variant"]) for f in shadow] == [("ranker", "candidate")]  # ranker-new: 5 days
    assert shadow[0]["instance_type"] == "ml.m5.2xlarge" and shadow[0]["monthly_savings_usd"] > 0
    assert shadow[0]["monthly_cost_usd"] == shadow[0]["monthly_savings_usd"]


def test_the_cost_report_costs_shadow_instances(hygiene, capsys):
    doc = run(capsys, "report")
    validate_cost_report(doc)
    rows = [r for r in doc["rows"] if r["endpoint"] == "ranker"]
    shadow = [r for r in rows if r.get("shadow")]
    assert [(r["variant"], r["instance_type"]) for r in shadow] == [("candidate", "ml.m5.2xlarge")]
    assert shadow[0]["waste_usd"] is None and shadow[0]["monthly_cost_usd"] > 0
    [whole] = [r for r in rows if r["level"] == "endpoint"]
    variants = [r for r in rows if r["level"] == "variant"]
    assert whole["monthly_cost_usd"] == pytest.approx(sum(r["monthly_cost_usd"] for r in variants), abs=0.02)
