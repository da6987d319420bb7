"""The stack keeps its own region's prices: the catalog refresh function (weekly, and at deploy as a custom
resource answering CloudFormation) writes catalog/<region>.json to the bucket; the functions load it at cold
start. The Price List API is not in moto: botocore's Stubber answers with real-shaped GetProducts entries
(the shape of tests/integration/test_catalog_refresh.py's). The custom-resource event follows the shape
CloudFormation documents (events/catalog-at-deploy.json); its ResponseURL is pointed at a local server."""

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.stub import Stubber

from sagewatch.aws.clients import Clients
from sagewatch.aws.wiring import stack_catalog
from sagewatch.catalog import Catalog
from sagewatch_testkit.functions import lambda_context, load_function, sample_event

REGION = "us-east-1"
BUCKET = "sagewatch-stack"
FILTERS = [
    {"Type": "TERM_MATCH", "Field": "regionCode", "Value": REGION},
    {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"},
]


def entry(name, price, vcpu, memory):
    return json.dumps(
        {
            "product": {
                "productFamily": "ML Instance",
                "attributes": {"instanceName": name, "component": "Hosting", "regionCode": REGION, "vCpu": vcpu,
                               "memory": memory, "gpu": "0", "gpuMemory": "NA"},
            },
            "terms": {"OnDemand": {"A.B": {"priceDimensions": {
                "A.B.C": {"unit": "Hrs", "pricePerUnit": {"USD": price}}}}}},
        }
    )  # fmt: skip


@contextmanager
def cloudformation():
    """A stand-in for the pre-signed S3 URL CloudFormation waits on: records each PUT."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/response", received
    finally:
        server.shutdown()


@pytest.fixture
def function(aws, monkeypatch):
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("SAGEWATCH_BUCKET", BUCKET)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    return load_function("catalog_refresh")


def stub(app, *, fail=False):
    client = boto3.client("pricing", region_name="us-east-1")
    stubber = Stubber(client)
    base = {"ServiceCode": "AmazonSageMaker", "Filters": FILTERS, "FormatVersion": "aws_v1", "MaxResults": 100}
    if fail:
        stubber.add_client_error("get_products", "ThrottlingException", "Rate exceeded", 400, base)
    else:
        stubber.add_response("get_products", {"PriceList": [entry("ml.m5.xlarge", "0.23", "4", "16 GiB")]}, base)
    stubber.activate()
    app.CLIENTS._cache["pricing@us-east-1"] = client
    return stubber


def test_the_weekly_run_writes_the_regions_catalog_and_the_functions_load_it(function):
    stub(function)
    result = function.lambda_handler(sample_event("catalog-refresh-schedule.json"), lambda_context("catalog"))
    assert result["status"] == "refreshed" and result["key"] == f"catalog/{REGION}.json"
    body = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=result["key"])["Body"].read()
    assert Catalog.from_document(json.loads(body)).get("ml.m5.xlarge").price_per_hour_usd == 0.23
    catalog, problem = stack_catalog(Clients(REGION), bucket=BUCKET, region=REGION)
    assert problem is None and catalog.get("ml.m5.xlarge").price_per_hour_usd == 0.23
    assert len(catalog) == 1  # the stored catalog, not the bundled one (which has 100+ types)


def test_without_a_stored_catalog_the_bundled_one_is_used_and_the_reason_given(aws):
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    catalog, problem = stack_catalog(Clients(REGION), bucket=BUCKET, region="eu-west-1")
    assert catalog.region == "us-east-1" and "catalog/eu-west-1.json could not be read" in problem


def test_at_deploy_it_answers_cloudformation_even_when_the_price_list_fails(function):
    event = sample_event("catalog-at-deploy.json")
    with cloudformation() as (url, received):
        stub(function, fail=True)
        result = function.lambda_handler({**event, "ResponseURL": url}, lambda_context("catalog"))
        assert result["status"] == "kept"
        [answer] = received
        assert answer["Status"] == "SUCCESS" and "bundled prices stay" in answer["Reason"]
        assert answer["RequestId"] == event["RequestId"] and answer["LogicalResourceId"] == "CatalogAtDeploy"
        stub(function)
        assert (
            function.lambda_handler({**event, "ResponseURL": url}, lambda_context("catalog"))["status"] == "refreshed"
        )
        assert received[1]["Status"] == "SUCCESS" and received[1]["Data"]["instance_types"] == "1"
        deleted = function.lambda_handler({**event, "RequestType": "Delete", "ResponseURL": url}, lambda_context("c"))
        assert deleted == {"status": "deleted"} and received[2]["Status"] == "SUCCESS"


def test_the_weekly_run_raises_when_the_price_list_fails_so_the_alarm_sees_it(function):
    from botocore.exceptions import ClientError

    stub(function, fail=True)
    with pytest.raises(ClientError):
        function.lambda_handler(sample_event("catalog-refresh-schedule.json"), lambda_context("catalog"))


def test_a_malformed_request_is_refused(function):
    result = function.lambda_handler({"RequestType": "Create", "ResponseURL": "ftp://x"}, lambda_context("catalog"))
    assert result["status"] == "invalid"
    assert function.lambda_handler({"refresh": "yes"}, lambda_context("catalog"))["status"] == "invalid"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"schema": "sagewatch.catalog/1"}', json.dumps({"instances": "x" * 1_000_000}).encode(), b"[]"],
)
def test_a_stored_catalog_that_is_not_one_falls_back_and_says_why(aws, body):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=f"catalog/{REGION}.json", Body=body)
    catalog, problem = stack_catalog(Clients(REGION), bucket=BUCKET, region=REGION)
    assert len(catalog) > 100 and "is not a catalog" in problem and len(problem) <= 500
