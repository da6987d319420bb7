"""Simulated SageMaker fleets with metric history, seeded into moto.

`demo_fleet()` is a dozen-odd endpoints covering every rule and every trap (async, inference
components, serverless, too new, ignored, not InService). `bench_fleet(n)` is a large mixed fleet.
Seeding creates resources through the real SageMaker API (so it works against mock_aws or a moto
server in this process), then sets ages, statuses and metric history on the backends directly.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3

from sagewatch.catalog import Accelerator, Catalog
from sagewatch.metrics import COMPONENT_UTILIZATION_METRICS, NS_COMPONENTS, NS_INSTANCE, NS_RUNTIME

DEFAULT_ACCOUNT = "123456789012"  # moto's default account (moto_ext.DEFAULT_ACCOUNT)

Profile = Callable[[int], float]  # hour index (0 = oldest) -> value
HISTORY_DAYS = 8
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"


def flat(value: float) -> Profile:
    return lambda _h: value


def diurnal(peak: float, trough_share: float = 0.3, seed: int = 0) -> Profile:
    """Daily cycle peaking at `peak` in the busiest hour, with a little deterministic noise."""
    rng = random.Random(seed)
    noise = [rng.uniform(0.9, 1.0) for _ in range(24 * 64)]

    def profile(h: int) -> float:
        day = 0.5 - 0.5 * math.cos(2 * math.pi * ((h % 24) - 2) / 24)  # peak at 14:00
        return peak * (trough_share + (1 - trough_share) * day) * noise[h % len(noise)]

    return profile


class Clocked:
    """A profile of the wall clock (UTC) rather than of the hour index: working hours, a nightly batch."""

    def __init__(self, at: Callable[[datetime], float]):
        self.at = at

    def __call__(self, h: int) -> float:  # only seeding calls profiles, and it asks `at` for clocked ones
        raise TypeError("a clocked profile is read by time (_value)")


def _value(profile: Profile, start: datetime, h: int) -> float:
    at = getattr(profile, "at", None)
    return float(at(start + timedelta(hours=h))) if at is not None else profile(h)


def working_hours(peak: float, start: int = 8, end: int = 18, weekdays: int = 5) -> Clocked:
    """About `peak` requests an hour from `start` to `end` (UTC) on the first `weekdays` days of the week, none
    at other times."""

    def at(t: datetime) -> float:
        if t.weekday() >= weekdays or not start <= t.hour < end:
            return 0.0
        return peak * (0.85 + 0.05 * (t.hour % 4))

    return Clocked(at)


def nightly(peak: float, start: int = 1, hours: int = 2) -> Clocked:
    """A burst of `peak` requests an hour from `start` (UTC) for `hours` every night; nothing else."""
    return Clocked(lambda t: peak if (t.hour - start) % 24 < hours else 0.0)


@dataclass
class SimComponent:
    name: str
    invocations: Profile | None = None  # None: no datapoints at all (no traffic)
    errors_5xx_share: float = 0.0
    # What one copy reserves (ComputeResourceRequirements), and how many copies run.
    cores: float = 0.0
    accelerators: int = 1
    memory_mb: int = 8192
    copies: int = 1
    # Normalized utilization of the reservation, 0-100, as /aws/sagemaker/InferenceComponents publishes it.
    utilization: dict[str, Profile] = field(default_factory=dict)
    latency_ms: tuple[float, float] = (40.0, 90.0)  # ModelLatency (p50, p99) of every hour with requests


@dataclass
class SimVariant:
    name: str
    instance_type: str | None  # None = serverless
    count: int = 1
    invocations: Profile | None = None  # requests per hour; None: no datapoints (zero traffic)
    errors_5xx_share: float = 0.0
    cpu: float | None = None  # peak normalized utilization, 0-100 (None: not published)
    memory: float | None = None
    gpu: float | None = None
    gpu_memory: float | None = None
    components: list[SimComponent] = field(default_factory=list)
    autoscaling: tuple[int, int] | None = None  # (min, max) instances, with a target tracking policy
    # what that policy tracks: invocations per instance, or (asynchronous) the backlog per instance
    scaling_metric: str = "SageMakerVariantInvocationsPerInstance"
    provisioned: int = 0  # serverless only: ProvisionedConcurrency
    # serverless with provisioned concurrency: ServerlessProvisionedConcurrencyUtilization (0-1) of every hour
    # with requests, and of one hour a day its busiest minute (None: not published)
    pc_use: tuple[float, float] | None = None
    quota: float | None = None  # the account's applied "<type> for endpoint usage" quota (Service Quotas)
    latency_ms: tuple[float, float] = (40.0, 90.0)  # ModelLatency (p50, p99) of every hour with requests


@dataclass
class SimEndpoint:
    name: str
    variants: list[SimVariant]
    age_days: float = 30.0
    is_async: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    status: str = "InService"
    backlog: Profile | None = None  # async queue depth per hour
    note: str = ""
    history_days: float = 0.0  # days of metrics when more than HISTORY_DAYS (the hour-of-week profile's)
    failure_reason: str | None = None  # an update that failed and rolled back (the endpoint stays InService)
    artifact: str | None = None  # the model's ModelDataUrl (stored in S3 unless artifact_missing)
    artifact_missing: bool = False
    log: tuple[str, ...] = ()  # lines of its log group over the last hours (the model server's own words)
    capture_pct: int | None = None  # DataCaptureConfig's InitialSamplingPercentage (None: no capture)
    shadows: list[SimVariant] = field(default_factory=list)  # ShadowProductionVariants (instance variants)


def demo_fleet() -> list[SimEndpoint]:
    """Every rule and the traps a naive scan falls into; `note` says what sagewatch should conclude."""
    return [
        SimEndpoint(
            "fraud-detector-prod",
            [SimVariant("AllTraffic", "ml.m5.xlarge", 2, diurnal(2400, seed=1), 0.001, cpu=62, memory=55)],
            note="healthy: no finding",
        ),
        SimEndpoint(
            "churn-model-staging",
            [SimVariant("AllTraffic", "ml.m5.2xlarge", 1, cpu=2, memory=20)],
            tags={"owner": "maria.garcia", "team": "growth"},
            note="idle for weeks: delete-endpoint",
        ),
        SimEndpoint(
            "recsys-ab-test",
            [
                SimVariant("control", "ml.c5.2xlarge", 1, diurnal(900, seed=2), cpu=48, memory=40),
                SimVariant("challenger", "ml.c5.2xlarge", 1, cpu=3, memory=38),
            ],
            note="one idle variant beside a busy one: remove-variant",
        ),
        SimEndpoint(
            "image-embedder",
            [
                SimVariant(
                    "AllTraffic",
                    "ml.g5.2xlarge",
                    4,
                    diurnal(600, seed=3),
                    cpu=10,
                    memory=20,
                    gpu=15,
                    gpu_memory=30,
                    autoscaling=(4, 8),
                )
            ],
            note="GPU fleet at 15%, auto scaled 4-8: oversized, fewer and smaller g5 with the limits scaled down",
        ),
        SimEndpoint(
            "llm-chat-prod",
            [
                SimVariant(
                    "AllTraffic",
                    "ml.g5.12xlarge",
                    1,
                    diurnal(3000, seed=4),
                    cpu=35,
                    memory=50,
                    gpu=96,
                    gpu_memory=80,
                )
            ],
            tags={"team": "genai-platform"},
            capture_pct=100,
            note="GPUs at 96%: saturated, scale out; and every prompt captured to S3, kept forever: data-capture",
        ),
        SimEndpoint(
            "doc-classifier",
            [SimVariant("AllTraffic", "ml.m5.4xlarge", 3, diurnal(300, seed=5), cpu=12, memory=18)],
            note="three big CPU instances at 12%: oversized",
        ),
        SimEndpoint(
            "search-ranker",
            [SimVariant("AllTraffic", "ml.c6i.xlarge", 2, diurnal(50_000, seed=6), 0.03, cpu=55, memory=40)],
            log=(
                *["[WARN] WORKER TIMEOUT (pid:412) while handling /invocations after 60 s"] * 40,
                *["Backend worker process died."] * 6,
                "Load model failed: ranker, error: worker died",
            ),
            note="3% server errors: errors, its log saying the model server times out",
        ),
        SimEndpoint(
            "memory-hungry-ner",
            [SimVariant("AllTraffic", "ml.c5.xlarge", 2, diurnal(800, seed=7), cpu=30, memory=95)],
            note="memory at 95%: saturated, moves to a memory-optimised type",
        ),
        SimEndpoint(
            "batch-scoring-async",
            [SimVariant("AllTraffic", "ml.m5.xlarge", 1, cpu=1, memory=15)],
            is_async=True,
            note="async, nothing processed, empty queue: scale-to-zero",
        ),
        SimEndpoint(
            "video-tagger-async",
            [
                SimVariant(
                    "AllTraffic",
                    "ml.g4dn.xlarge",
                    1,
                    diurnal(120, seed=8),
                    cpu=50,
                    memory=45,
                    gpu=60,
                    gpu_memory=55,
                )
            ],
            is_async=True,
            backlog=diurnal(40, seed=9),
            note="async and busy: publishes no Invocations, must not be called idle",
        ),
        SimEndpoint(
            "genai-shared",
            [
                SimVariant(
                    "AllTraffic",
                    "ml.g6.12xlarge",
                    1,
                    None,
                    cpu=40,
                    memory=60,
                    gpu=62,
                    gpu_memory=70,
                    components=[
                        SimComponent(
                            "llama-small",
                            diurnal(700, seed=10),
                            cores=8,
                            accelerators=2,
                            memory_mb=65536,
                            utilization={"gpu": diurnal(75, seed=12), "gpu_memory": flat(80), "cpu": diurnal(30)},
                        ),
                        SimComponent(
                            "mistral-finetune",
                            diurnal(90, seed=11),
                            cores=4,
                            accelerators=1,
                            memory_mb=32768,
                            utilization={"gpu": diurnal(20, seed=13), "gpu_memory": flat(60), "cpu": diurnal(10)},
                        ),
                    ],
                )
            ],
            note="inference components: traffic only per component, busy",
        ),
        SimEndpoint(
            "genai-sandbox",
            [
                SimVariant(
                    "AllTraffic",
                    "ml.g5.2xlarge",
                    1,
                    None,
                    cpu=1,
                    memory=30,
                    gpu=0,
                    gpu_memory=40,
                    components=[SimComponent("sandbox-model-a")],
                )
            ],
            tags={
                "sagemaker:user-profile-arn": "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-demo1234/priya",
                "sagemaker:domain-arn": "arn:aws:sagemaker:us-east-1:123456789012:domain/d-demo1234",
            },
            note="inference components with no traffic: delete-endpoint",
        ),
        SimEndpoint(
            "sentiment-serverless",
            [SimVariant("AllTraffic", None)],
            note="serverless and idle: costs nothing, low-severity investigate",
        ),
        SimEndpoint(
            "new-launch",
            [SimVariant("AllTraffic", "ml.m5.large", 1, cpu=1, memory=10)],
            age_days=0.25,
            note="six hours old, no traffic yet: not idle",
        ),
        SimEndpoint(
            "support-chatbot",
            [SimVariant("AllTraffic", "ml.c5.xlarge", 4, working_hours(1500), cpu=65, memory=40)],
            tags={"team": "support"},
            history_days=15,
            note="busy 08-18 UTC on weekdays only, 4 instances all week: off-hours (schedule-scaling to 1)",
        ),
        SimEndpoint(
            "nightly-scorer",
            [SimVariant("AllTraffic", "ml.c5.xlarge", 1, nightly(5000), cpu=50, memory=30)],
            tags={"team": "risk"},
            history_days=15,
            note="serves every request between 01:00 and 03:00 UTC, runs all day: batch-candidate",
        ),
        *[
            SimEndpoint(
                f"tiny-{name}",
                [SimVariant("AllTraffic", "ml.c5.large", 1, diurnal(200, seed=20 + i), cpu=8, memory=20)],
                tags={"team": "nlp"},
                note="one of four small endpoints under 30% of one instance: consolidate (one finding for the four)",
            )
            for i, name in enumerate(("langid", "sentiment", "spam", "toxicity"))
        ],
        # --- will it keep serving? ---
        SimEndpoint(
            "ads-ranker",
            [
                SimVariant(
                    "AllTraffic",
                    "ml.g5.4xlarge",
                    2,
                    diurnal(4000, seed=30),
                    cpu=45,
                    memory=50,
                    gpu=55,
                    gpu_memory=60,
                    autoscaling=(2, 12),
                    quota=8,
                )
            ],
            tags={"team": "ads"},
            note="auto scaling may reach 12 ml.g5.4xlarge, the quota allows 8: quota-risk",
        ),
        SimEndpoint(
            "pricing-model",
            [SimVariant("AllTraffic", "ml.m5.large", 1, diurnal(900, seed=31), cpu=50, memory=40)],
            failure_reason=(
                "Failed to update endpoint pricing-model: the primary container for production variant AllTraffic "
                "did not pass the ping health check. Please check CloudWatch logs for this endpoint."
            ),
            tags={"team": "pricing"},
            note="InService, but its last update failed and rolled back: stuck-deployment",
        ),
        SimEndpoint(
            "credit-scorer",
            [SimVariant("AllTraffic", "ml.m5.large", 1, diurnal(700, seed=32), cpu=45, memory=35)],
            artifact="s3://sagewatch-demo-models/credit-scorer/model.tar.gz",
            artifact_missing=True,
            tags={"team": "risk"},
            note="its model artifact was deleted from S3: broken-dependency",
        ),
        SimEndpoint(
            "summarizer-gpu",
            [
                SimVariant(
                    "AllTraffic",
                    "ml.g5.xlarge",
                    1,
                    diurnal(2000, seed=33),
                    0.04,
                    cpu=40,
                    memory=55,
                    gpu=70,
                    gpu_memory=85,
                )
            ],
            artifact="s3://sagewatch-demo-models/summarizer/model.tar.gz",
            log=(
                *[
                    "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; "
                    "22.20 GiB total capacity; 19.85 GiB already allocated)"
                ]
                * 25,
                "Backend worker process died.",
            ),
            tags={"team": "genai-platform"},
            note="4% server errors, CUDA out of memory in its log: errors, a type with more GPU memory priced",
        ),
        SimEndpoint(
            "transcribe-async",
            [
                SimVariant(
                    "AllTraffic",
                    "ml.g4dn.xlarge",
                    1,
                    diurnal(150, seed=34),
                    cpu=50,
                    memory=45,
                    gpu=60,
                    gpu_memory=55,
                    autoscaling=(0, 4),
                    scaling_metric="ApproximateBacklogSizePerInstance",
                )
            ],
            is_async=True,
            backlog=diurnal(30, seed=35),
            note="async, auto scaling down to 0 with target tracking only: scale-from-zero",
        ),
        SimEndpoint(
            "legacy-ignored",
            [SimVariant("AllTraffic", "ml.m5.xlarge", 1)],
            tags={"sagewatch:ignore": "true"},
            note="tagged sagewatch:ignore=true: skipped",
        ),
        SimEndpoint(
            "translator-updating",
            [SimVariant("AllTraffic", "ml.m5.xlarge", 1)],
            status="Updating",
            note="Updating for 30 days: skipped, and a stuck-deployment",
        ),
    ]


# Who created the untagged demo endpoints, as CloudTrail's event history tells it (tests/fixtures/cloudtrail/)
DEMO_CREATORS = {"image-embedder": ("assumed-role", "alice"), "doc-classifier": ("iam-user", None)}


def seed_demo_trail(sm: Any, region: str, account: str = DEFAULT_ACCOUNT) -> None:
    """CreateEndpoint records of the demo endpoints in DEMO_CREATORS, at their creation times."""
    from sagewatch_testkit import moto_ext
    from sagewatch_testkit.trail import record

    for name, (kind, session) in DEMO_CREATORS.items():
        created = sm.describe_endpoint(EndpointName=name)["CreationTime"]
        moto_ext.put_trail_event(region, record(kind, name, created, account=account, session=session), account)


def bench_fleet(size: int, seed: int = 7) -> list[SimEndpoint]:
    """A large mixed fleet: single and two-variant endpoints, inference components, async, serverless."""
    return list(iter_bench_fleet(size, seed))


def iter_bench_fleet(size: int, seed: int = 7) -> Iterator[SimEndpoint]:
    """The bench fleet one endpoint at a time (its traffic profiles weigh ~50 KB each: a consumer that keeps
    only what it needs never holds them all)."""
    # Most endpoints of a real account carry tags (IaC, Studio's and projects' own, cost allocation); one in
    # twenty here never had one (each of those needs a ListTags of its own every scan).
    for i, ep in enumerate(_bench_endpoints(size, seed)):
        if i % 20:
            ep.tags = {"team": f"team-{i % 12}", "cost-center": f"cc-{i % 5}"}
        yield ep


def _bench_endpoints(size: int, seed: int) -> Iterator[SimEndpoint]:
    rng = random.Random(seed)
    cpu_types = ["ml.m5.xlarge", "ml.m5.2xlarge", "ml.c6i.2xlarge", "ml.r6i.xlarge", "ml.m6i.4xlarge"]
    gpu_types = ["ml.g5.xlarge", "ml.g5.2xlarge", "ml.g6.xlarge", "ml.g4dn.xlarge"]
    for i in range(size):
        roll = rng.random()
        busy = rng.random() < 0.7
        traffic = diurnal(rng.uniform(50, 5000), seed=i) if busy else None
        load = {"cpu": rng.uniform(5, 95), "memory": rng.uniform(10, 90)}
        name = f"ep-{i:04d}"
        if roll < 0.05:
            yield (SimEndpoint(name, [SimVariant("AllTraffic", None, 0, traffic)]))
        elif roll < 0.15:
            yield (
                SimEndpoint(name, [SimVariant("AllTraffic", rng.choice(cpu_types), 1, traffic, **load)], is_async=True)
            )
        elif roll < 0.25:
            comps = [SimComponent(f"{name}-ic{j}", traffic) for j in range(2)]
            yield (
                SimEndpoint(
                    name,
                    [
                        SimVariant(
                            "AllTraffic",
                            rng.choice(gpu_types),
                            1,
                            None,
                            **load,
                            gpu=rng.uniform(5, 90),
                            gpu_memory=rng.uniform(10, 90),
                            components=comps,
                        )
                    ],
                )
            )
        elif roll < 0.45:
            yield (
                SimEndpoint(
                    name,
                    [
                        SimVariant("blue", rng.choice(cpu_types), 2, traffic, **load),
                        SimVariant("green", rng.choice(cpu_types), 1, traffic if rng.random() < 0.5 else None, **load),
                    ],
                )
            )
        else:
            itype = rng.choice(gpu_types if rng.random() < 0.2 else cpu_types)
            gpu = {"gpu": rng.uniform(5, 90), "gpu_memory": rng.uniform(10, 90)} if "g" in itype[3:5] else {}
            yield (
                SimEndpoint(name, [SimVariant("AllTraffic", itype, rng.choice([1, 1, 2, 3]), traffic, **load, **gpu)])
            )


# --- seeding -------------------------------------------------------------------------------------


def endpoint_config(ep: SimEndpoint) -> dict[str, Any]:
    """The CreateEndpointConfig input of a simulated endpoint (also what the fake AWS describes)."""
    variants: list[dict[str, Any]] = []
    for v in ep.variants:
        if v.instance_type is None:
            variants.append(
                {
                    "VariantName": v.name,
                    "ModelName": f"{ep.name}-model",
                    "ServerlessConfig": {
                        "MemorySizeInMB": 2048,
                        "MaxConcurrency": 5,
                        **({"ProvisionedConcurrency": v.provisioned} if v.provisioned else {}),
                    },
                }
            )
        elif v.components:
            # Component-hosting variants name no model: the components bring their own.
            variants.append({"VariantName": v.name, "InstanceType": v.instance_type, "InitialInstanceCount": v.count})
        else:
            variants.append(
                {
                    "VariantName": v.name,
                    "ModelName": f"{ep.name}-model",
                    "InstanceType": v.instance_type,
                    "InitialInstanceCount": v.count,
                    "InitialVariantWeight": 1.0,
                }
            )
    config: dict[str, Any] = {"EndpointConfigName": f"{ep.name}-config", "ProductionVariants": variants}
    if ep.shadows:
        config["ShadowProductionVariants"] = [
            {
                "VariantName": v.name,
                "ModelName": f"{ep.name}-model",
                "InstanceType": v.instance_type,
                "InitialInstanceCount": v.count,
                "InitialVariantWeight": 1.0,
            }
            for v in ep.shadows
        ]
    if ep.is_async:
        config["AsyncInferenceConfig"] = {"OutputConfig": {"S3OutputPath": f"s3://async-out/{ep.name}/"}}
    if ep.capture_pct is not None:
        config["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": ep.capture_pct,
            "DestinationS3Uri": f"s3://capture-{ep.name}/datacapture",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        }
    return config


def role_of(account: str) -> str:
    return f"arn:aws:iam::{account}:role/sagemaker-execution"


def image_of(region: str, account: str) -> str:
    """The demo's model image: in this account's ECR (what the dependency check can see)."""
    return f"{account}.dkr.ecr.{region}.amazonaws.com/model:latest"


def _client(sm: Any, service: str, region: str) -> Any:
    """A client of `service` with `sm`'s credentials and endpoint (the same account of the same moto)."""
    server = sm.meta.endpoint_url if sm.meta.endpoint_url.startswith("http://") else None
    creds = sm._request_signer._credentials.get_frozen_credentials()
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=server,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
    )


def _seed_dependencies(sm: Any, fleet: list[SimEndpoint], region: str, account: str) -> None:
    """What the endpoints need to start instances: the execution role, the image in ECR, the artifacts in S3
    (except those the fleet says were deleted)."""
    iam, ecr, s3 = (_client(sm, name, region) for name in ("iam", "ecr", "s3"))
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(
            RoleName="sagemaker-execution",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
    try:
        ecr.create_repository(repositoryName="model")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
        ecr.put_image(repositoryName="model", imageManifest=json.dumps(manifest), imageTag="latest")
    except ecr.exceptions.RepositoryAlreadyExistsException:
        pass
    for ep in fleet:
        if ep.capture_pct is not None:  # its capture bucket, with no lifecycle rule (captures kept forever)
            with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
                s3.create_bucket(
                    Bucket=f"capture-{ep.name}",
                    **({} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}),
                )
        if not ep.artifact or ep.artifact_missing:
            continue
        bucket, _, key = ep.artifact[len("s3://") :].partition("/")
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            s3.create_bucket(
                Bucket=bucket,
                **({} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}),
            )
        s3.put_object(Bucket=bucket, Key=key, Body=b"model weights")


def _seed_keep_serving(ep: SimEndpoint, region: str, now: datetime, account: str) -> None:
    from sagewatch_testkit import serving_aws

    if ep.failure_reason:
        serving_aws.set_failure_reason(region, ep.name, ep.failure_reason, account)
    for v in ep.variants:
        if v.quota is not None and v.instance_type:
            serving_aws.set_service_quota(region, v.instance_type, v.quota, account)
    if ep.log:
        # spread over the last hours, oldest first, as the model server wrote them
        step = timedelta(hours=6) / len(ep.log)
        start = now - timedelta(hours=6)
        serving_aws.put_endpoint_log(
            region, ep.name, [(start + i * step, line) for i, line in enumerate(ep.log)], account=account
        )


def _create(sm: Any, ep: SimEndpoint, region: str, account: str) -> None:
    from sagewatch_testkit import moto_ext

    container = {"Image": image_of(region, account)}
    if ep.artifact:
        container["ModelDataUrl"] = ep.artifact
    sm.create_model(ModelName=f"{ep.name}-model", ExecutionRoleArn=role_of(account), PrimaryContainer=container)
    sm.create_endpoint_config(**endpoint_config(ep))
    tags = [{"Key": k, "Value": v} for k, v in ep.tags.items()]
    sm.create_endpoint(EndpointName=ep.name, EndpointConfigName=f"{ep.name}-config", **({"Tags": tags} if tags else {}))
    moto_ext.in_service(region, [ep.name], account)  # components need it InService
    for v in ep.variants:
        for c in v.components:
            sm.create_inference_component(
                InferenceComponentName=c.name,
                EndpointName=ep.name,
                VariantName=v.name,
                Specification={
                    "ModelName": f"{ep.name}-model",
                    "ComputeResourceRequirements": {
                        **({"NumberOfCpuCoresRequired": c.cores} if c.cores else {}),
                        "NumberOfAcceleratorDevicesRequired": c.accelerators,
                        "MinMemoryRequiredInMb": c.memory_mb,
                    },
                },
                RuntimeConfig={"CopyCount": c.copies},
            )


def _series(profile: Profile, start: datetime, hours: int, share: float = 1.0) -> list[tuple[datetime, float]]:
    return [(start + timedelta(hours=h), round(_value(profile, start, h) * share)) for h in range(hours)]


LATENCY_SAMPLES = 10  # per hour: nine around the median, one at the tail


def _latency_samples(
    invocations: Profile, latency_ms: tuple[float, float], start: datetime, hours: int
) -> list[tuple[datetime, float]]:
    """ModelLatency as SageMaker publishes it, one value per request (µs): each hour with requests gets ten
    values whose median is the p50 and whose largest is the p99 (CloudWatch's percentiles of the hour)."""
    p50, p99 = (ms * 1000 for ms in latency_ms)
    spread = [0.9, 0.92, 0.95, 0.98, 1.0, 1.02, 1.04, 1.06, 1.08]
    out = []
    for h in range(hours):
        if round(_value(invocations, start, h)) <= 0:
            continue  # no requests, no latency published
        at = start + timedelta(hours=h)
        out += [(at + timedelta(minutes=5 * i), p50 * f) for i, f in enumerate(spread)]
        out.append((at + timedelta(minutes=50), p99))
    return out


PC_UTILIZATION = "ServerlessProvisionedConcurrencyUtilization"


def _pc_samples(
    invocations: Profile, use: tuple[float, float], start: datetime, hours: int
) -> list[tuple[datetime, float]]:
    """One value of provisioned concurrency utilization (0-1) for each hour with requests, and in the first such
    hour of each day a second, the busiest minute's: hourly averages near `use[0]`, a Maximum of `use[1]`."""
    mean, peak = use
    out, days = [], set()
    for h in range(hours):
        if round(_value(invocations, start, h)) <= 0:
            continue
        at = start + timedelta(hours=h)
        out.append((at, mean))
        if at.date() not in days:
            days.add(at.date())
            out.append((at + timedelta(minutes=30), peak))
    return out


def _seed_traffic(ep: SimEndpoint, start: datetime, hours: int, put: Callable[..., None]) -> None:
    if ep.backlog is not None:
        put(NS_RUNTIME, "ApproximateBacklogSize", {"EndpointName": ep.name}, _series(ep.backlog, start, hours))
    for v in ep.variants:
        dims = {"EndpointName": ep.name, "VariantName": v.name}
        if v.invocations is not None:
            if ep.is_async:
                put(NS_RUNTIME, "InvocationsProcesssed", dims, _series(v.invocations, start, hours))
            else:
                put(NS_RUNTIME, "Invocations", dims, _series(v.invocations, start, hours))
                put(NS_RUNTIME, "Invocation5XXErrors", dims, _series(v.invocations, start, hours, v.errors_5xx_share))
                put(NS_RUNTIME, "Invocation4XXErrors", dims, _series(v.invocations, start, hours, 0.002))
                put(NS_RUNTIME, "ModelLatency", dims, _latency_samples(v.invocations, v.latency_ms, start, hours))
            if v.pc_use is not None:
                put(NS_RUNTIME, PC_UTILIZATION, dims, _pc_samples(v.invocations, v.pc_use, start, hours))
        for c in v.components:
            if c.invocations is not None:
                cdims = {"InferenceComponentName": c.name}
                put(NS_RUNTIME, "Invocations", cdims, _series(c.invocations, start, hours))
                put(NS_RUNTIME, "Invocation5XXErrors", cdims, _series(c.invocations, start, hours, c.errors_5xx_share))
                put(NS_RUNTIME, "ModelLatency", cdims, _latency_samples(c.invocations, c.latency_ms, start, hours))
            for name, profile in c.utilization.items():
                metric = COMPONENT_UTILIZATION_METRICS[name]
                put(NS_COMPONENTS, metric, {"InferenceComponentName": c.name}, _series(profile, start, hours))


def _seed_metrics(region: str, ep: SimEndpoint, catalog: Catalog, now: datetime, account: str) -> None:
    hours = int(min(ep.age_days, max(HISTORY_DAYS, ep.history_days)) * 24)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)

    from sagewatch_testkit import moto_ext

    def put(namespace: str, name: str, dims: dict[str, str], points: list[tuple[datetime, float]]) -> None:
        # CloudWatch publishes nothing for an hour without requests: drop zero-traffic hours.
        if namespace == NS_RUNTIME and name != "ModelLatency":
            points = [p for p in points if p[1] > 0]
        moto_ext.put_series(region, namespace, name, dims, points, account)

    _seed_traffic(ep, start, hours, put)
    for v in ep.variants:
        dims = {"EndpointName": ep.name, "VariantName": v.name}
        spec = catalog.get(v.instance_type)
        if spec is None:
            continue
        gpus = spec.accelerator_count if spec.accelerator is Accelerator.NVIDIA else 0
        # CloudWatch sums CPU and GPU over cores and devices: scale normalized peaks back up.
        for name, peak, scale in (
            ("CPUUtilization", v.cpu, spec.vcpu),
            ("MemoryUtilization", v.memory, 1),
            ("DiskUtilization", 20.0 if v.cpu is not None else None, 1),
            ("GPUUtilization", v.gpu if gpus else None, gpus),
            ("GPUMemoryUtilization", v.gpu_memory if gpus else None, gpus),
        ):
            if peak is not None:
                profile = diurnal(
                    peak * scale, trough_share=0.6, seed=zlib.crc32(f"{ep.name}/{v.name}/{name}".encode())
                )
                # Make the busiest hour hit the peak exactly, so expectations can be hand-computed.
                points = [(t, round(min(val, peak * scale), 3)) for t, val in _series(profile, start, hours)]
                if points:
                    busiest = -min(10, len(points))
                    points[busiest] = (points[busiest][0], round(peak * scale, 3))
                put(NS_INSTANCE, name, dims, points)


def seed(
    sm: Any,
    fleet: list[SimEndpoint],
    *,
    region: str,
    now: datetime,
    account: str = DEFAULT_ACCOUNT,
    catalog: Catalog | None = None,
) -> None:
    """Create `fleet` through the SageMaker client `sm` and give it `HISTORY_DAYS` of metrics."""
    from sagewatch_testkit import moto_ext  # here: the fleets themselves (and the fake AWS) need no moto

    moto_ext.install()
    catalog = catalog or Catalog.load()
    _seed_dependencies(sm, fleet, region, account)
    for ep in fleet:
        _create(sm, ep, region, account)
        moto_ext.in_service(region, [ep.name], account)  # a fleet that has been running: its minutes have passed
        created = now - timedelta(days=ep.age_days)
        moto_ext.set_endpoint_times(region, ep.name, created, created, account)
        moto_ext.set_config_time(region, f"{ep.name}-config", created, account)
        if ep.status != "InService":
            moto_ext.set_endpoint_status(region, ep.name, ep.status, account)
        _seed_metrics(region, ep, catalog, now, account)
        _seed_autoscaling(sm, ep, region)
        _seed_keep_serving(ep, region, now, account)


def seed_demo_commitments(now: datetime, account: str = DEFAULT_ACCOUNT) -> None:
    """The demo account's SageMaker Savings Plan (a year old: it ends within 60 days), a Compute plan (which does
    not cover SageMaker), its last 30 days of SageMaker spend, and Cost Explorer's recommendation, sized on
    spend that includes the demo's waste."""
    from sagewatch_testkit import commitments_aws

    commitments_aws.add_savings_plan(
        "3f5e2a1c-demo-sagemaker", commitment_per_hour=4.8, start=now - timedelta(days=330), used_share=0.93,
        account=account,
    )  # fmt: skip
    commitments_aws.add_savings_plan(
        "9b1d7c44-demo-compute", commitment_per_hour=2.0, start=now - timedelta(days=100), plan_type="Compute",
        account=account,
    )  # fmt: skip
    commitments_aws.set_commitments(
        monthly_covered_usd=5_400.0,
        monthly_on_demand_usd=20_600.0,
        recommendation_hourly_usd=9.5,
        recommendation_monthly_savings_usd=2_140.0,
        account=account,
    )


def seed_demo_aws_view(region: str, account: str = DEFAULT_ACCOUNT) -> None:
    """What Compute Optimizer says of the demo fleet: two idle endpoints sagewatch agrees on, an asynchronous one
    serving its queue that it calls idle; the rest not idle (recsys-ab-test's idle challenger included). And Cost
    Optimization Hub: the same three to delete, image-embedder to rightsize, and another region's endpoint (which
    a scan of this region leaves out)."""
    from sagewatch_testkit import awsview_aws

    awsview_aws.set_idle_recommendations(
        region,
        {"genai-sandbox": 1106.0, "churn-model-staging": 337.0, "transcribe-async": 536.0},
        account=account,
    )
    other = "eu-west-1" if region != "eu-west-1" else "us-west-2"
    awsview_aws.set_hub_recommendations(
        {
            (region, "genai-sandbox"): ("Delete", 1106.0),
            (region, "churn-model-staging"): ("Delete", 337.0),
            (region, "transcribe-async"): ("Delete", 536.0),
            (region, "image-embedder"): ("Rightsize", 410.0),
            (other, "emea-ranker"): ("Delete", 250.0),
        },
        account=account,
    )


def _seed_autoscaling(sm: Any, ep: SimEndpoint, region: str) -> None:
    """Application Auto Scaling on the variants that have it, as a team would set it up."""
    scaled = [v for v in ep.variants if v.autoscaling]
    if not scaled:
        return
    server = sm.meta.endpoint_url if sm.meta.endpoint_url.startswith("http://") else None  # a moto server, or mock
    aas = boto3.client(
        "application-autoscaling",
        region_name=region,
        endpoint_url=server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for v in scaled:
        low, high = v.autoscaling or (1, 1)
        resource = f"endpoint/{ep.name}/variant/{v.name}"
        dimension = "sagemaker:variant:DesiredInstanceCount"
        aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=dimension,
            MinCapacity=low,
            MaxCapacity=high,
        )
        aas.put_scaling_policy(
            PolicyName=f"{ep.name}-invocations",
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=dimension,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration=_tracking(ep, v),
        )


def _tracking(ep: SimEndpoint, v: SimVariant) -> dict[str, Any]:
    if v.scaling_metric == "SageMakerVariantInvocationsPerInstance":
        return {"TargetValue": 750.0, "PredefinedMetricSpecification": {"PredefinedMetricType": v.scaling_metric}}
    return {  # AWS's asynchronous example: the backlog per instance, a customized metric
        "TargetValue": 5.0,
        "CustomizedMetricSpecification": {
            "MetricName": v.scaling_metric,
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": ep.name}],
            "Statistic": "Average",
        },
    }


# What sagewatch must conclude about each endpoint of demo_fleet(): {(kind, variant, action)}.
DEMO_EXPECTED: dict[str, set[tuple[str, str | None, str]]] = {
    "fraud-detector-prod": set(),
    "churn-model-staging": {("idle", None, "delete-endpoint")},
    "recsys-ab-test": {("idle", "challenger", "remove-variant")},
    "image-embedder": {("oversized", "AllTraffic", "resize-variant")},
    "llm-chat-prod": {("saturated", "AllTraffic", "scale-out"), ("data-capture", None, "investigate")},
    "doc-classifier": {("oversized", "AllTraffic", "resize-variant")},
    "search-ranker": {("errors", "AllTraffic", "investigate")},
    "memory-hungry-ner": {("saturated", "AllTraffic", "resize-variant")},
    "batch-scoring-async": {("idle", None, "scale-to-zero")},
    "video-tagger-async": set(),
    "genai-shared": set(),
    "genai-sandbox": {("idle", None, "delete-endpoint")},
    "sentiment-serverless": {("idle", None, "investigate")},
    "new-launch": set(),
    "support-chatbot": {("off-hours", "AllTraffic", "schedule-scaling")},
    "nightly-scorer": {("batch-candidate", "AllTraffic", "investigate")},
    "tiny-langid": {("consolidate", None, "investigate")},  # the group's finding is filed under its first name
    "tiny-sentiment": set(),
    "tiny-spam": set(),
    "tiny-toxicity": set(),
    "ads-ranker": {("quota-risk", None, "investigate")},
    "pricing-model": {("stuck-deployment", None, "investigate")},
    "credit-scorer": {("broken-dependency", None, "investigate")},
    "summarizer-gpu": {("errors", "AllTraffic", "investigate")},
    "transcribe-async": {("scale-from-zero", "AllTraffic", "scale-to-zero")},
    "translator-updating": {("stuck-deployment", None, "investigate")},
}
DEMO_FINDINGS = sum(len(found) for found in DEMO_EXPECTED.values())
DEMO_KINDS = dict(Counter(kind for found in DEMO_EXPECTED.values() for kind, _, _ in found))
# the demo endpoints a scan judges (InService, not ignored), and their variants
_JUDGED = [e for e in demo_fleet() if e.status == "InService" and e.tags.get("sagewatch:ignore") != "true"]
DEMO_ENDPOINTS = len(_JUDGED)
DEMO_VARIANTS = sum(len(e.variants) for e in _JUDGED)


def conclusions(report: Any) -> dict[str, set[tuple[str, str | None, str]]]:
    """A report's findings as {endpoint: {(kind, variant, action)}}, every demo endpoint present."""
    out: dict[str, set[tuple[str, str | None, str]]] = {name: set() for name in DEMO_EXPECTED}
    for f in report.findings:
        out.setdefault(f.endpoint, set()).add((f.kind.value, f.variant, f.recommendation.action.value))
    return out


# --- is it fast enough? (make demo) ---------------------------------------------------------------------------

LATENCY_SHOWCASE = {
    "ranker-latency": "p99 420 ms against its 200 ms target (tag sagewatch:latency-p99-ms): slow",
    "embedder-v2": "updated 20 h ago, p99 80 ms -> 260 ms: latency-regression",
    "fraud-pipeline": "serial inference pipeline over its target: slow, naming its slowest container",
    "recsys-mme": "multi-model endpoint, 55% cache hits, 12 unloads an hour: cache-thrashing",
}


def seed_latency_showcase(sm: Any, region: str, now: datetime, account: str = DEFAULT_ACCOUNT) -> None:
    """Four endpoints whose latency tells something (make demo): their series as SageMaker publishes them."""
    from sagewatch_testkit import moto_ext

    def variant() -> SimVariant:
        return SimVariant("AllTraffic", "ml.m5.xlarge", 1)  # traffic seeded below, not by the fleet

    seed(
        sm,
        [
            SimEndpoint("ranker-latency", [variant()], tags={"sagewatch:latency-p99-ms": "200", "team": "search"}),
            SimEndpoint("embedder-v2", [variant()], tags={"team": "ml-platform"}),
            SimEndpoint("fraud-pipeline", [variant()], tags={"sagewatch:latency-p99-ms": "150", "team": "fraud"}),
            SimEndpoint("recsys-mme", [variant()], tags={"team": "recsys"}),
        ],
        region=region,
        now=now,
        account=account,
    )
    changed = now - timedelta(hours=20)
    moto_ext.set_endpoint_times(region, "embedder-v2", now - timedelta(days=40), changed, account)
    hours = [now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=h) for h in range(24 * 9, 0, -1)]

    def put(name: str, metric: str, points: list[tuple[datetime, float]], **extra: str) -> None:
        dims = {"EndpointName": name, "VariantName": "AllTraffic", **extra}
        moto_ext.put_series(region, "AWS/SageMaker", metric, dims, points, account)

    def latency(name: str, p50_ms: float, p99_ms: Callable[[datetime], float]) -> None:
        spread = [0.9, 0.92, 0.95, 0.98, 1.0, 1.02, 1.04, 1.06, 1.08]
        samples = []
        for t in hours:
            samples += [(t + timedelta(minutes=5 * i), p50_ms * 1000 * f) for i, f in enumerate(spread)]
            samples.append((t + timedelta(minutes=50), p99_ms(t) * 1000))
        put(name, "ModelLatency", samples)

    for name in LATENCY_SHOWCASE:
        put(name, "Invocations", [(t, 300.0) for t in hours])
    latency("ranker-latency", 35.0, lambda t: 420.0)
    latency("embedder-v2", 30.0, lambda t: 260.0 if t >= changed else 80.0)
    latency("fraud-pipeline", 60.0, lambda t: 310.0)
    for container, avg_ms in (("feature-join", 18.0), ("xgboost", 210.0), ("postprocess", 12.0)):
        samples = [(t + timedelta(minutes=m), avg_ms * 1000 * f) for t in hours for m, f in ((5, 0.9), (25, 1.1))]
        put("fraud-pipeline", "ContainerLatency", samples, ContainerName=container)
    latency("recsys-mme", 45.0, lambda t: 120.0)
    put("recsys-mme", "ModelCacheHit", [(t, 0.55) for t in hours])
    put(
        "recsys-mme", "ModelUnloadingTime", [(t + timedelta(minutes=5 * i), 90_000.0) for t in hours for i in range(12)]
    )
    put("recsys-mme", "ModelLoadingTime", [(t + timedelta(minutes=5 * i), 400_000.0) for t in hours for i in range(12)])
    put(
        "recsys-mme",
        "ModelLoadingWaitTime",
        [(t + timedelta(minutes=m), w) for t in hours for m, w in ((10, 350_000.0), (40, 1_900_000.0))],
    )
