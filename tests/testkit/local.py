"""`sam local invoke` of every function against an embedded moto seeded like a deployed stack.

Used by `make local` (prints each result) and tests/local (asserts on them). The containers reach moto
and the stand-in Slack webhook through the docker bridge's gateway address, the only address they bind.
"""

from __future__ import annotations

import ipaddress
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from sagewatch_testkit import moto_ext
from sagewatch_testkit.aws_fixtures import drain, id_table, watch_queue
from sagewatch_testkit.server import start_seeded_server
from sagewatch_testkit.slack_app import SIGNING_SECRET, signed_sample
from sagewatch_testkit.webhook_server import FakeWebhook, fake_webhook

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
FIXTURES = ROOT / "tests" / "fixtures"
REGION = moto_ext.DEFAULT_REGION
IMAGE = os.environ.get("SAGEWATCH_LAMBDA_IMAGE", "sagewatch/lambda-python3.11:local")
INVOKE_TIMEOUT = 300  # seconds per sam local invoke; bounded, like everything here

# What sam local invokes: (function, event file under events/).
INVOCATIONS = [
    ("ScanFunction", "scan-schedule.json"),
    ("ScanFunction", "scan-manual-no-publish.json"),
    # a fanned-out scan's chunk and merge step, as its state machine invokes them (the run seeded in the bucket)
    ("ScanChunkFunction", "scan-chunk.json"),
    ("ScanFunction", "scan-merge.json"),
    ("SlackNotifierFunction", "slack-sns-digest.json"),
    ("ModelMonitorFunction", "monitor-run-violations.json"),
    ("ModelMonitorFunction", "monitor-run-clean.json"),
    ("ModelMonitorFunction", "monitor-run-failed.json"),
    ("ModelMonitorFunction", "processing-job-not-monitoring.json"),
    ("ModelMonitorFunction", "endpoint-failed.json"),
    ("ModelMonitorFunction", "endpoint-deployment-rollback.json"),
    ("ModelMonitorFunction", "endpoint-update-rolled-back.json"),
    ("ModelMonitorFunction", "health-sagemaker-endpoint.json"),
    ("RemediateFunction", "remediate/resize-variant-dry-run.json"),
    ("RemediateFunction", "remediate/set-instance-count-execute.json"),
    ("RemediateFunction", "remediate/bad-request.json"),
    ("RemediateFunction", "chat/dry-run.json"),  # Chatbot's Dry run button
    ("RemediateFunction", "chat/not-a-dry-run.json"),
    ("WeeklyReportFunction", "report-schedule.json"),
    ("CatalogRefreshFunction", "catalog-refresh-schedule.json"),
    # the central role's functions (one template: sam local runs them whatever the Role parameter)
    ("OrgAggregatorFunction", "org/scan-summary-forwarded.json"),
    ("OrgAggregatorFunction", "org/finding-forwarded.json"),
    ("OrgAggregatorFunction", "org/alert-forwarded.json"),
    ("OrgDigestFunction", "org/digest-tick.json"),
    ("OrgReportFunction", "report-schedule.json"),
]


class LocalError(RuntimeError):
    pass


def container_engine() -> str | None:
    """Why no container engine can be used, or None when docker answers."""
    if shutil.which("docker") is None:
        return "docker is not installed"
    probe = subprocess.run(
        ["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30, check=False
    )
    return None if probe.returncode == 0 else f"docker does not answer: {probe.stderr.strip()[:200]}"


def bridge_gateway() -> str:
    """The host's address on the default docker bridge (what containers reach the host through)."""

    def inspect(fmt: str) -> str:
        return subprocess.run(
            ["docker", "network", "inspect", "bridge", "--format", fmt],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()

    gateway = inspect("{{range .IPAM.Config}}{{.Gateway}}{{end}}")
    if gateway:
        return gateway
    # Some engines leave the gateway out of IPAM: read it off the bridge interface itself.
    name = inspect('{{index .Options "com.docker.network.bridge.name"}}') or "docker0"
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "dev", name], capture_output=True, text=True, timeout=30, check=False
    ).stdout.split()
    if "inet" in out:
        return out[out.index("inet") + 1].split("/")[0]
    subnet = inspect("{{range .IPAM.Config}}{{.Subnet}}{{end}}")
    if subnet:
        return str(next(ipaddress.ip_network(subnet).hosts()))
    raise LocalError("cannot tell the docker bridge's gateway address")


@dataclass
class Stack:
    """The embedded AWS the functions talk to, and what they leave there."""

    endpoint_url: str
    env_file: Path
    webhook: FakeWebhook
    slack_secret_arn: str
    session: boto3.session.Session
    queues: dict[str, str] = field(default_factory=dict)
    prices: FakeWebhook | None = None  # the Price List stand-in: the GetProducts requests it received

    def advertised(self, url: str) -> str:
        """`url` of a stand-in on this machine as containers reach it."""
        bind, advertised = host_addresses()
        return _advertised(url, bind, advertised)

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url)

    def received(self, queue: str) -> list[dict[str, Any]]:
        return drain(self.client("sqs"), self.queues[queue])

    def invoke_document(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        """sam local invoke FUNCTION with an event built in the test (one that names a local URL)."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", dir=EVENTS.parent / ".aws-sam") as f:
            f.write(json.dumps(event))
            f.flush()
            return self.invoke(function, f.name)

    def invoke(self, function: str, event: str) -> dict[str, Any]:
        """sam local invoke FUNCTION with events/EVENT (or an absolute path); the function's JSON answer."""
        command = [
            str(Path(os.environ.get("SAM", shutil.which("sam") or "sam"))),
            "local",
            "invoke",
            function,
            "--event",
            str(EVENTS / event),
            "--env-vars",
            str(self.env_file),
            "--region",
            REGION,
            "--invoke-image",
            IMAGE,
            "--skip-pull-image",
            "--template",
            str(ROOT / ".aws-sam" / "build" / "template.yaml"),
            "--parameter-overrides",
            f"SlackWebhookSecretArn={self.slack_secret_arn}",
        ]
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "SAM_CLI_TELEMETRY": "0",
        }
        env.pop("AWS_ENDPOINT_URL", None)  # sam itself talks to nothing; the functions get it from env.json
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INVOKE_TIMEOUT, env=env, cwd=ROOT, check=False
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if not lines:
            raise LocalError(
                f"sam local invoke {function} {event} printed no result (exit {done.returncode}):\n"
                f"{done.stderr[-3000:]}"
            )
        result: dict[str, Any] = json.loads(lines[-1])
        return result


SIGNING_SECRET_NAME = "sagewatch/slack-signing"


def _seed_stack(session: boto3.session.Session, url: str, webhook_url: str) -> tuple[str, dict[str, str]]:
    def client(service: str) -> Any:
        return session.client(service, endpoint_url=url)

    sns, sqs, ddb, s3 = client("sns"), client("sqs"), client("dynamodb"), client("s3")
    topic = sns.create_topic(Name="sagewatch")["TopicArn"]
    for table in ("sagewatch-state", "sagewatch-idempotency", "sagewatch-org"):
        id_table(ddb, table)
    queues = {}
    for name in ("topic", "bus"):
        queue, arn = watch_queue(sqs, f"local-{name}")
        queues[name] = queue
        if name == "topic":
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        else:
            client("events").put_rule(Name="sagewatch-local", EventPattern=json.dumps({"source": ["sagewatch"]}))
            client("events").put_targets(Rule="sagewatch-local", Targets=[{"Id": "q", "Arn": arn}])
    s3.create_bucket(Bucket="sagewatch-remediation")
    _seed_fan_out_run(s3)
    # the violation file the sample monitoring run points at
    run = json.loads((EVENTS / "monitor-run-violations.json").read_text())
    uri = run["detail"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(
        Bucket=bucket,
        Key=f"{prefix}/constraint_violations.json",
        Body=(EVENTS / "model-monitor" / "constraint_violations.json").read_bytes(),
    )
    moto_ext.put_monitoring_schedule(REGION, "fraud-dq-hourly", "fraud-detector-prod", "DataQuality")
    secret = client("secretsmanager").create_secret(
        Name="sagewatch/slack", SecretString=json.dumps({"webhook_url": webhook_url})
    )["ARN"]
    # the Slack app's signing secret (Slack's documentation example: sagewatch_testkit.slack_app signs with it)
    client("secretsmanager").create_secret(
        Name=SIGNING_SECRET_NAME, SecretString=json.dumps({"signing_secret": SIGNING_SECRET})
    )
    return secret, queues


def _seed_fan_out_run(s3: Any) -> None:
    """The run and listing of events/scan-chunk.json's fanned-out scan, as the scan function writes them (the run
    is of now: the demo fleet's metrics are recent)."""
    run = json.loads((FIXTURES / "fan-out" / "run.json").read_text())
    run["now"] = datetime.now(UTC).replace(microsecond=0).isoformat()
    items = json.loads((EVENTS / "scan-chunk.json").read_text())["Items"]
    for key, doc in (("run.json", run), ("listing.json", items)):
        s3.put_object(Bucket="sagewatch-remediation", Key=f"scans/{run['run']}/{key}", Body=json.dumps(doc).encode())


def signing_secret_arn(session: boto3.session.Session, url: str | None) -> str:
    """The ARN of the Slack app's signing secret _seed_stack made."""
    client = session.client("secretsmanager", endpoint_url=url)
    return str(client.describe_secret(SecretId=SIGNING_SECRET_NAME)["ARN"])


def host_addresses() -> tuple[str, str]:
    """(address the stand-ins bind, address containers reach them at). On Linux the docker bridge's gateway
    is both. Docker Desktop (macOS, Windows) runs containers in a VM whose bridge the host cannot bind:
    there the stand-ins listen on loopback and containers use host.docker.internal, which Desktop forwards."""
    if platform.system() == "Linux":
        gateway = bridge_gateway()
        return gateway, gateway
    return "127.0.0.1", "host.docker.internal"


def _advertised(url: str, bound: str, advertised: str) -> str:
    return url if bound == advertised else url.replace(f"//{bound}:", f"//{advertised}:", 1)


@contextmanager
def local_stack() -> Iterator[Stack]:
    """Seeded moto and a stand-in Slack webhook where containers reach them, for as long as the block runs."""
    bind, advertised = host_addresses()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        server, local_url = start_seeded_server("demo", host=bind, port=0)
        stack.callback(server.stop)
        url = _advertised(local_url, bind, advertised)
        webhook = stack.enter_context(fake_webhook([(200, {}, "ok")], host=bind))
        # Price List API stand-in (moto has none): one real-shaped GetProducts answer for every request
        answer = (FIXTURES / "price-list" / "get-products-us-east-1.json").read_text()
        prices = stack.enter_context(
            fake_webhook([(200, {"Content-Type": "application/x-amz-json-1.1"}, answer)], max_requests=20, host=bind)
        )
        session = boto3.session.Session(
            region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        secret, queues = _seed_stack(session, local_url, _advertised(webhook.url, bind, advertised))
        env_file = Path(tmp) / "env.json"
        env_file.write_text(
            (EVENTS / "env.json")
            .read_text()
            .replace("{endpoint_url}", url)
            .replace("{slack_secret_arn}", secret)
            .replace("{slack_signing_secret_arn}", signing_secret_arn(session, local_url))
            .replace("{slack_url_prefix}", f"http://{advertised}:")
            .replace("{pricing_url}", _advertised(prices.url.split("/services/")[0], bind, advertised))
        )
        yield Stack(local_url, env_file, webhook, secret, session, queues, prices=prices)


def main() -> int:
    """`make local`: invoke every function with its events and print what each answered."""
    problem = container_engine()
    if problem:
        print(f"make local needs a container engine: {problem}")
        return 1
    with local_stack() as stack:
        print(f"embedded moto at {stack.endpoint_url}, Slack stand-in at {stack.webhook.url}\n")
        for function, event in INVOCATIONS:
            print(f"$ sam local invoke {function} --event events/{event}")
            print(json.dumps(stack.invoke(function, event), indent=2)[:2000], "\n", flush=True)
        # the Slack app's clicks, signed as Slack would sign them now (a valid one is queued for the function's own
        # asynchronous invocation, which moto cannot run: 503, nothing done)
        url = stack.advertised(stack.webhook.url)
        for name in ("dry-run.json", "forged-signature.json", "stale-timestamp.json"):
            event = signed_sample(str(EVENTS / "slack-actions" / name), now=int(time.time()), response_url=url)
            print(f"$ sam local invoke SlackActionsFunction --event events/slack-actions/{name} (signed now)")
            print(json.dumps(stack.invoke_document("SlackActionsFunction", event), indent=2)[:2000], "\n", flush=True)
        print(
            f"Slack received {len(stack.webhook.requests)} message(s); the topic carried "
            f"{len(stack.received('topic'))}; the event bus {len(stack.received('bus'))}."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
