"""Will it keep serving? The keep-serving findings against the test kit's AWS: Service Quotas (which moto lacks),
the dependencies an endpoint needs to start instances, its log's error lines, auto scaling that cannot come back
from zero, and deployments that are stuck or failed. Reads that change rarely are made once a day."""

from datetime import timedelta

import boto3
import pytest

from sagewatch.app.judge import run_scan
from sagewatch.aws.serving import DAILY_PREFIX, TableDailyCache
from sagewatch.aws.state import StateStore
from sagewatch.aws.wiring import readers, serving_checks
from sagewatch.catalog import Catalog
from sagewatch.commands import request_for
from sagewatch.models import Kind
from sagewatch.settings import Thresholds
from sagewatch_testkit import faults, fleet, moto_ext, serving_aws
from sagewatch_testkit.aws_fixtures import id_table
from sagewatch_testkit.schemas import validate_report

REGION = moto_ext.DEFAULT_REGION
ACCOUNT = moto_ext.DEFAULT_ACCOUNT
MANIFEST = '{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}'
SERVICE_QUOTAS = ("ListServiceQuotas", "ListAWSDefaultServiceQuotas")


def _one(report, kind, endpoint):
    [found] = [f for f in report.findings if f.kind is kind and f.endpoint == endpoint]
    return found


def test_the_demo_fleet_says_what_will_stop_serving_with_its_evidence(demo, now):
    report = demo.scan(now)
    validate_report(report.to_dict())  # each kind's evidence held to finding.schema.json
    quota = _one(report, Kind.QUOTA_RISK, "ads-ranker").evidence["quota"]
    assert quota | {"by_variant": None} == {
        "instance_type": "ml.g5.4xlarge",
        "quota": 8.0,
        "quota_name": "ml.g5.4xlarge for endpoint usage",
        "quota_source": "applied",
        "in_use": 2,
        "can_reach": 12,
        "in_use_pct": 25.0,
        "endpoints": ["ads-ranker"],
        "by_variant": None,
    }
    updating = _one(report, Kind.STUCK_DEPLOYMENT, "translator-updating").evidence
    assert updating["status"] == "Updating" and updating["minutes"] == 30 * 24 * 60
    failed = _one(report, Kind.STUCK_DEPLOYMENT, "pricing-model").evidence
    assert failed["status"] == "InService" and "ping health check" in failed["failure_reason"]
    broken = _one(report, Kind.BROKEN_DEPENDENCY, "credit-scorer").evidence
    assert [(m["what"], m["ref"]) for m in broken["missing"]] == [
        ("model-artifact", "s3://sagewatch-demo-models/credit-scorer/model.tar.gz")
    ]
    zero = _one(report, Kind.SCALE_FROM_ZERO, "transcribe-async")
    assert zero.evidence["metric"] == "HasBacklogWithoutCapacity" and zero.evidence["autoscaling"]["min_capacity"] == 0
    gpu = _one(report, Kind.ERRORS, "summarizer-gpu")
    assert gpu.evidence["log_signatures"][0]["signature"] == "cuda-out-of-memory"
    assert gpu.evidence["log_group"] == "/aws/sagemaker/Endpoints/summarizer-gpu"
    assert gpu.recommendation.instance_type == "ml.g6e.xlarge"  # more GPU memory, priced
    ranker = _one(report, Kind.ERRORS, "search-ranker").evidence["log_signatures"]
    assert [s["signature"] for s in ranker] == ["timeout", "worker-died", "model-load-failure"]
    # the healthy endpoints whose dependencies were all checked: nothing said of them
    assert not [f for f in report.findings if f.kind is Kind.BROKEN_DEPENDENCY and f.endpoint != "credit-scorer"]


def test_quotas_and_dependencies_are_read_once_a_day(demo, now):
    demo.scan(now)
    first = dict(demo.calls)
    assert all(first[op] >= 1 for op in SERVICE_QUOTAS) and first["DescribeModel"] >= 1
    demo.calls.clear()
    demo.scan(now + timedelta(hours=1))
    assert not any(demo.calls[op] for op in (*SERVICE_QUOTAS, "DescribeModel", "GetRole", "DescribeImages"))
    demo.calls.clear()
    demo.scan(now + timedelta(hours=25))
    assert all(demo.calls[op] >= 1 for op in SERVICE_QUOTAS) and demo.calls["DescribeModel"] >= 1


def test_a_changed_quota_is_seen_the_next_day_not_before(demo, now):
    assert _one(demo.scan(now), Kind.QUOTA_RISK, "ads-ranker")
    serving_aws.set_service_quota(REGION, "ml.g5.4xlarge", 16)
    assert any(f.kind is Kind.QUOTA_RISK for f in demo.scan(now + timedelta(hours=2)).findings)  # kept a day
    assert not any(f.kind is Kind.QUOTA_RISK for f in demo.scan(now + timedelta(hours=25)).findings)


def test_service_quotas_not_readable_is_a_warning_never_a_finding(demo, now):
    faults.fail_call(demo.clients.service_quotas(), "ListAWSDefaultServiceQuotas", "AccessDeniedException")
    report = demo.scan(now)
    assert not any(f.kind is Kind.QUOTA_RISK for f in report.findings)
    assert any("Service Quotas could not be read (not allowed)" in w for w in report.warnings)
    assert report.errors == []


def _endpoint_needing(sm, name, *, image=None, artifact=None, role=None):
    s3 = boto3.client("s3", region_name=REGION)
    iam = boto3.client("iam", region_name=REGION)
    ecr = boto3.client("ecr", region_name=REGION)
    role = role or f"arn:aws:iam::{ACCOUNT}:role/{name}-role"
    if role.endswith(f"{name}-role"):
        iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")
    if image is None:
        ecr.create_repository(repositoryName=name)
        ecr.put_image(repositoryName=name, imageManifest=MANIFEST, imageTag="v1")
        image = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}:v1"
    if artifact is None:
        s3.create_bucket(Bucket=f"{name}-models")
        s3.put_object(Bucket=f"{name}-models", Key="model.tar.gz", Body=b"w")
        artifact = f"s3://{name}-models/model.tar.gz"
    sm.create_model(
        ModelName=f"{name}-model", ExecutionRoleArn=role, PrimaryContainer={"Image": image, "ModelDataUrl": artifact}
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    moto_ext.in_service(REGION, [name])
    return {"s3": s3, "iam": iam, "ecr": ecr}


def _broken(report, name):
    found = [f for f in report.findings if f.kind is Kind.BROKEN_DEPENDENCY and f.endpoint == name]
    return found[0].evidence if found else None


@pytest.mark.parametrize("what", ["endpoint-config", "model", "model-artifact", "image", "role"])
def test_each_dependency_that_disappears_is_found(harness, sm, now, what):
    clients = _endpoint_needing(sm, "svc")
    assert _broken(harness.scan(now), "svc") is None  # all there: nothing to say
    if what == "endpoint-config":
        sm.delete_endpoint_config(EndpointConfigName="svc-config")
    elif what == "model":
        sm.delete_model(ModelName="svc-model")
    elif what == "model-artifact":
        clients["s3"].delete_object(Bucket="svc-models", Key="model.tar.gz")
    elif what == "image":
        clients["ecr"].batch_delete_image(repositoryName="svc", imageIds=[{"imageTag": "v1"}])
    else:
        clients["iam"].delete_role(RoleName="svc-role")
    evidence = _broken(harness.scan(now + timedelta(days=1, minutes=1)), "svc")  # the next day's check
    assert evidence is not None and [m["what"] for m in evidence["missing"]] == [what]
    assert evidence["missing"][0]["why"]


def test_images_of_other_accounts_and_reads_that_are_denied_are_said_not_found(harness, sm, now):
    dlc = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3-gpu-py311"
    clients = _endpoint_needing(sm, "svc", image=dlc)
    clients["iam"].delete_role(RoleName="svc-role")
    faults.fail_call(harness.clients.s3(), "ListObjectsV2", "AccessDenied", status=403)
    evidence = _broken(harness.scan(now), "svc")
    assert evidence is not None and [m["what"] for m in evidence["missing"]] == ["role"]
    notes = {d["what"]: d["note"] for d in evidence["not_checked"]}
    assert notes == {
        "image": "not an image of this account's ECR",
        "model-artifact": "not allowed to read it (AccessDenied)",
    }


def _scan_with(harness, now, budget):
    reader = serving_checks(harness.clients, harness.daily, account=ACCOUNT, region=REGION)
    reader.dependency_budget = budget
    return run_scan(
        *readers(harness.clients), Catalog.load(), Thresholds(), now=now, region=REGION, account=None, serving=reader
    )


def test_dependencies_are_checked_a_bounded_number_of_endpoints_a_scan(harness, sm, now):
    for i in range(4):
        _endpoint_needing(sm, f"svc{i}")
    # each endpoint needs 5 calls (config, model, role, image, artifact: nothing shared): 12 calls check 3
    first = _scan_with(harness, now, 12)
    assert "dependencies of 1 endpoints are checked on the next scans (12 calls a scan)" in first.warnings
    before = harness.calls["DescribeModel"]
    later = _scan_with(harness, now + timedelta(hours=1), 12)
    assert harness.calls["DescribeModel"] - before == 1  # the one left over; the others are kept a day
    assert not any("checked on the next scans" in w for w in later.warnings)


def test_the_log_is_read_for_the_worst_errors_findings_only_and_a_missing_group_is_said(harness, sm, now):
    sims = [
        fleet.SimEndpoint(
            f"err-{i}",
            [fleet.SimVariant("AllTraffic", "ml.m5.large", 1, fleet.flat(1000), 0.02 + i / 100, cpu=40, memory=40)],
        )
        for i in range(7)
    ]
    fleet.seed(sm, sims, region=REGION, now=now)
    report = harness.scan(now)
    errors = [f for f in report.findings if f.kind is Kind.ERRORS]
    read = [f for f in errors if "log_group" in f.evidence]
    assert len(errors) == 7 and len(read) == 5 and harness.calls["FilterLogEvents"] == 5
    assert {f.endpoint for f in read} == {f"err-{i}" for i in range(2, 7)}  # the worst five
    assert all(f.evidence["log_note"].startswith("no log group") for f in read)


def test_the_findings_own_command_adds_what_brings_it_back_and_the_finding_resolves(demo, now, remediation_function):
    finding = _one(demo.scan(now), Kind.SCALE_FROM_ZERO, "transcribe-async")
    request = request_for(finding)  # what the notification's dry-run command sends
    assert request is not None and request["action"] == "scale-to-zero"
    dry = remediation_function.invoke(request)
    assert dry["status"] == "planned", dry
    real = {**request, "dry_run": False, "confirm": "transcribe-async", "request_id": "zero-0001"}
    done = remediation_function.invoke(real)
    assert done["status"] == "done", done
    policies = boto3.client("application-autoscaling", region_name=REGION).describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId="endpoint/transcribe-async/variant/AllTraffic"
    )["ScalingPolicies"]
    assert {p["PolicyType"] for p in policies} == {"TargetTrackingScaling", "StepScaling"}  # the owner's kept
    assert not any(f.kind is Kind.SCALE_FROM_ZERO for f in demo.scan(now + timedelta(minutes=30)).findings)


def test_an_inference_component_whose_update_rolled_back_is_said(demo, now):
    serving_aws.set_component_failure_reason(REGION, "llama-small", "CUDA out of memory while loading weights")
    [f] = [
        f for f in demo.scan(now).findings if f.kind is Kind.STUCK_DEPLOYMENT and f.inference_component == "llama-small"
    ]
    assert f.endpoint == "genai-shared" and f.evidence["failure_reason"].startswith("CUDA out of memory")


def test_the_daily_answers_live_in_the_state_table_beside_findings_and_expire(aws, now):
    ddb = boto3.client("dynamodb", region_name=REGION)
    table = id_table(ddb, "state")
    cache = TableDailyCache(ddb, table)
    cache.save("1/us-east-1", {"quotas": {"ml.g5.xlarge": {"value": 4, "source": "default"}}}, now)
    [(at, value)] = cache.load("1/us-east-1").values()
    assert at == now and value["ml.g5.xlarge"]["value"] == 4 and cache.load("2/us-east-1") == {}
    [item] = ddb.scan(TableName=table)["Items"]
    assert item["id"]["S"].startswith(DAILY_PREFIX) and int(item["expires_at"]["N"]) > now.timestamp()
    assert StateStore(ddb, table).load() == {}  # never read as a finding's state
    ddb.put_item(TableName=table, Item={"id": {"S": f"{DAILY_PREFIX}1/us-east-1#bad"}, "doc": {"S": "{not json"}})
    assert list(cache.load("1/us-east-1")) == ["quotas"]  # a damaged answer is checked again, not trusted
