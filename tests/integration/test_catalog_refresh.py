"""`sagewatch catalog refresh`: botocore's Stubber answers the Price List API (and the test kit's own, last)."""

import json

import boto3
import pytest
from botocore.stub import Stubber

from sagewatch.aws.clients import Clients
from sagewatch.catalog import Catalog
from sagewatch.cli import main


def entry(name, price, vcpu, memory, gpu="0", gpu_memory="NA"):
    return json.dumps(
        {
            "product": {
                "productFamily": "ML Instance",
                "attributes": {
                    "instanceName": name,
                    "component": "Hosting",
                    "regionCode": "eu-west-1",
                    "vCpu": vcpu,
                    "memory": memory,
                    "gpu": gpu,
                    "gpuMemory": gpu_memory,
                },
            },
            "terms": {
                "OnDemand": {"A.B": {"priceDimensions": {"A.B.C": {"unit": "Hrs", "pricePerUnit": {"USD": price}}}}}
            },
        }
    )


@pytest.fixture
def stubbed_pricing(monkeypatch):
    client = boto3.client("pricing", region_name="us-east-1")
    stubber = Stubber(client)
    filters = [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "eu-west-1"},
        {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"},
    ]
    base = {"ServiceCode": "AmazonSageMaker", "Filters": filters, "FormatVersion": "aws_v1", "MaxResults": 100}
    stubber.add_response(
        "get_products", {"PriceList": [entry("ml.m5.xlarge", "0.258", "4", "16 GiB")], "NextToken": "page2"}, base
    )
    stubber.add_response(
        "get_products",
        {
            "PriceList": [
                entry("ml.g5.12xlarge", "7.98", "48", "192 GiB", "4", "24 GB"),
                entry("ml.m5.xlarge", "0.0", "4", "16 GiB"),  # a zero price row: ignored
            ]
        },
        {**base, "NextToken": "page2"},
    )
    stubber.activate()
    monkeypatch.setattr(Clients, "pricing", lambda self: client)
    monkeypatch.setattr(Clients, "probe", lambda self: "123456789012")  # the CLI's first call, answered here
    yield stubber
    stubber.assert_no_pending_responses()


def test_refresh_writes_a_catalog_of_the_region(stubbed_pricing, tmp_path, capsys):
    out = tmp_path / "catalog.json"
    assert main(["catalog", "refresh", "--region", "eu-west-1", "--output", str(out)]) == 0
    catalog = Catalog.load(out)
    assert catalog.region == "eu-west-1" and len(catalog) == 2
    m5, g5 = catalog.get("ml.m5.xlarge"), catalog.get("ml.g5.12xlarge")
    assert m5 is not None and m5.price_per_hour_usd == 0.258
    assert g5 is not None and (g5.accelerator_count, g5.accelerator_memory_gib) == (4, 96)
    assert "wrote 2 instance types" in capsys.readouterr().err


def test_refresh_refuses_a_bad_region(capsys):
    assert main(["catalog", "refresh", "--region", "Europe"]) == 2
    assert "not an AWS region name" in capsys.readouterr().err


def test_refresh_carries_the_provisioned_concurrency_price(stubbed_pricing, tmp_path, capsys):
    out = tmp_path / "eu.json"
    argv = ["catalog", "refresh", "--region", "eu-west-1", "--output", str(out)]
    assert main([*argv, "--provisioned-concurrency-price", "0.0000051"]) == 0
    catalog = Catalog.load(out)
    assert catalog.provisioned_concurrency_usd_per_gb_second == 0.0000051
    assert catalog.provisioned_concurrency_monthly_cost(1024, 1) == round(0.0000051 * 3600 * 730, 2)


@pytest.mark.parametrize("price", ["free", "-0.1", "2", "nan"])
def test_refresh_refuses_a_bad_provisioned_concurrency_price(price, tmp_path, capsys):
    argv = ["catalog", "refresh", "--region", "eu-west-1", "--output", str(tmp_path / "x.json")]
    assert main([*argv, "--provisioned-concurrency-price", price]) != 0
    assert "--provisioned-concurrency-price" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_refresh_from_the_test_kits_price_list_reproduces_the_bundled_catalog(aws, tmp_path, capsys):
    """The test kit answers GetProducts (moto has no Price List API: a call answered HTTP 500 after a minute of
    retries) with us-east-1's prices: what `catalog refresh` makes of them is the bundled catalog."""
    out = tmp_path / "catalog.json"
    assert main(["catalog", "refresh", "--region", "us-east-1", "--output", str(out)]) == 0
    refreshed, bundled = Catalog.load(out), Catalog.load()
    assert len(refreshed) == len(bundled) > 100
    assert all(refreshed.get(s.instance_type) == s for s in bundled)
    # a region the Price List has no SageMaker prices for is said, never an empty catalog
    assert main(["catalog", "refresh", "--region", "eu-west-1", "--output", str(tmp_path / "eu.json")]) == 1
    assert "no ml.* hosting prices for eu-west-1" in capsys.readouterr().err
