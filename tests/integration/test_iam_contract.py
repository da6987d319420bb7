"""What passes here works when deployed: every AWS call each function makes (its handler run in-process, as
`sam local` runs it, with each of its sample events, and every remediation action carried out, not only
planned) is allowed by the role template.yaml gives it, for each deployment role (standalone, member,
central, and a standalone stack with every route). The CLI's scan (with --owner-lookup, through an assumed
role) and its cost report are checked against org/scan-role.yaml.

moto never enforces IAM: without this, a call the role does not allow passes every test and fails on the
first deployed run with AccessDenied. When a feature adds a call, this test fails until the template grants
it (and docs/permissions.md says why: tests/unit/test_permissions_doc.py)."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.response import StreamingBody
from moto import mock_aws

from sagewatch.aws.clients import Clients
from sagewatch.chat import encode
from sagewatch.remediation import ACTIONS, registry
from sagewatch.slackapp import APPLY, DRY_RUN
from sagewatch_testkit import aws_rules, conformance, fanout_sim, fleet, iam, moto_ext
from sagewatch_testkit.aws_fixtures import id_table
from sagewatch_testkit.functions import lambda_context, load_function
from sagewatch_testkit.local import _seed_stack, signing_secret_arn
from sagewatch_testkit.sam_translate import ROLES
from sagewatch_testkit.slack_app import APPROVER, OTHER_APPROVER, click_body, url_event
from sagewatch_testkit.webhook_server import fake_webhook

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
REGION = iam.REGION
ROUTING = "/sagewatch/routing"
ROUTE_SETTINGS = ("SAGEWATCH_ROUTING_PARAMETER", "SAGEWATCH_ROUTE_EMAIL_FROM", "SAGEWATCH_ROUTE_EMAIL_DOMAINS")
SCAN_ROLE = ROOT / "org" / "scan-role.yaml"
# made with the caller's own credentials, before the role is assumed: the caller's policy, not the role's
CALLERS_OWN = {("sts", "AssumeRole")}

# function -> (its folder, its sample events in the order they run)
FUNCTIONS: dict[str, tuple[str, list[str]]] = {
    "ScanFunction": (
        "scan",
        ["scan-deep.json", "scan-schedule.json", "scan-manual-no-publish.json", "scan-eventbridge-scheduled.json"],
    ),
    "ModelMonitorFunction": (
        "model_monitor",
        [
            "monitor-run-violations.json",
            "monitor-run-clean.json",
            "monitor-run-failed.json",
            "monitor-malformed.json",
            "processing-job-not-monitoring.json",
            "endpoint-failed.json",
            "endpoint-deployment-rollback.json",
            "endpoint-in-service.json",
            "endpoint-update-rolled-back.json",
            "health-sagemaker-endpoint.json",
        ],
    ),
    "SlackNotifierFunction": ("slack_notifier", ["slack-sns-digest.json"]),
    "WeeklyReportFunction": ("weekly_report", ["report-schedule.json", "report-no-publish.json"]),
    "OrgAggregatorFunction": (
        "org_aggregator",
        ["org/scan-summary-forwarded.json", "org/finding-forwarded.json", "org/alert-forwarded.json"],
    ),
    "OrgDigestFunction": ("org_digest", ["org/digest-tick.json"]),
    "OrgReportFunction": ("org_report", ["report-schedule.json"]),
    # last: it stores the fixture's four-type catalog, which the other functions would load
    "CatalogRefreshFunction": ("catalog_refresh", ["catalog-refresh-schedule.json", "catalog-at-deploy.json"]),
}
# every remediation action of the registry, planned and carried out (its sample events); the restores use the
# snapshots schedule-scaling and delete-endpoint took
PROVISIONED = [  # what remove-provisioned-concurrency's sample event names (not in the demo fleet)
    fleet.SimEndpoint("reranker-warm", [fleet.SimVariant("AllTraffic", None, provisioned=3)], note="idle, warm")
]
LAST = ("delete-endpoint", "restore-endpoint")
REMEDIATIONS = [
    *[a for a in ACTIONS if a not in LAST],
    "restore-schedule",  # restore-endpoint with schedule-scaling's snapshot: the schedule undone
    *LAST,
]


def _env(function: str, hook_url: str, secret: str, signing: str = "") -> dict[str, str]:
    doc = json.loads((EVENTS / "env.json").read_text())
    env = {k: v for k, v in doc[function].items() if k != "AWS_ENDPOINT_URL_PRICING"}
    return {
        k: v.replace("{slack_secret_arn}", secret)
        .replace("{slack_signing_secret_arn}", signing)
        .replace("{slack_url_prefix}", "http://127.0.0.1:")
        for k, v in env.items()
    }


# The Slack app's function as the routed role's stack names it (AWS::StackName is "sw" in the contract)
SLACK_APP_ARN = f"arn:aws:lambda:{REGION}:{iam.ACCOUNT}:function:sw-slack-actions"


def _canned_invokes(queued: list[Any]) -> Any:
    """Lambda Invoke answered in-process (moto cannot run a function): the remediation function plans and acts
    (a fixed plan), and this function's own asynchronous invocation is queued for the test to run."""

    def answer(params: dict[str, Any], **_: Any) -> Any:
        payload = json.loads(params["body"] or b"null")
        if params["headers"].get("X-Amz-Invocation-Type") == "Event":
            queued.append(payload)
            return SimpleNamespace(status_code=202, headers={}), {"StatusCode": 202, "Payload": _stream(b"")}
        plan = {"action": payload["action"], "endpoint": payload["endpoint"], "variant": payload.get("variant")}
        status = "planned" if payload.get("dry_run", True) else "done"
        body = json.dumps({"status": status, "dry_run": payload.get("dry_run", True), "plan": plan}).encode()
        return SimpleNamespace(status_code=200, headers={}), {"StatusCode": 200, "Payload": _stream(body)}

    return answer


def _stream(data: bytes) -> Any:
    return StreamingBody(io.BytesIO(data), len(data))


def _slack_app_runs(hook: Any, secret: str, signing: str, mp: pytest.MonkeyPatch) -> list[Any]:
    """A Dry run click and an Apply click by another approver, each as Slack sends it (signed) and as the work
    it queues; the Slack messages go to the stand-in webhook (the clicks' response_url)."""
    for key, value in _env("SlackActionsFunction", hook.url, secret, signing).items():
        mp.setenv(key, value)
    app = load_function("slack_actions")
    queued: list[Any] = []
    app.CLIENTS.lambda_().meta.events.register("before-call.lambda.Invoke", _canned_invokes(queued))
    context = lambda_context("slack-actions")
    context.invoked_function_arn = SLACK_APP_ARN
    request = json.loads(
        base64.urlsafe_b64decode(json.loads((EVENTS / "chat" / "dry-run.json").read_text())["chat_request"])
    )
    answers = []
    for action, value, user in ((DRY_RUN, encode(request), APPROVER), (APPLY, None, OTHER_APPROVER)):
        if value is None:  # the Apply button of the plan the dry run posted
            value = hook.requests[-1]["blocks"][1]["elements"][0]["value"]
        body = click_body(action, value, user=user, response_url=hook.url)
        answers.append(app.lambda_handler(url_event(body, timestamp=int(time.time())), context))
        answers.append(app.lambda_handler(queued.pop(), context))
    return answers


def _pricing(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto has no Price List API: the client answers a real-shaped GetProducts page (after it is recorded)."""
    answer = json.loads((ROOT / "tests" / "fixtures" / "price-list" / "get-products-us-east-1.json").read_text())

    def client(self: Clients) -> Any:
        pricing = boto3.client("pricing", region_name="us-east-1")
        pricing.meta.events.register(
            "before-call.pricing.GetProducts", lambda **_: (SimpleNamespace(status_code=200, headers={}), answer)
        )
        return pricing

    monkeypatch.setattr(Clients, "pricing", client)


def _event(name: str, hook_url: str) -> Any:
    doc = json.loads((EVENTS / name).read_text())
    if name == "catalog-at-deploy.json":
        doc["ResponseURL"] = hook_url  # CloudFormation's pre-signed URL, here a stand-in on loopback
    if name.startswith("org/") and "detail" in doc and "scanned_at" in doc["detail"]:
        doc["detail"]["scanned_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
    return doc


def _invoke(folder: str, event: Any) -> Any:
    app = load_function(folder)
    try:
        return app.lambda_handler(event, lambda_context(folder))
    except Exception as exc:  # some sample events are refused on purpose (malformed); their calls still count
        return {"raised": f"{type(exc).__name__}: {exc}"}


def _remediations(
    hook_url: str, secret: str, monkeypatch: pytest.MonkeyPatch, recorder: iam.CallRecorder
) -> tuple[list[Any], dict[str, list[iam.Call]]]:
    for key, value in _env("RemediateFunction", hook_url, secret).items():
        monkeypatch.setenv(key, value)
    app = load_function("remediate")
    answers, snapshot = [], None
    by_action: dict[str, list[iam.Call]] = {}
    # Chatbot's Dry run button first (the fleet as the finding saw it): a plan, and a forged real run refused
    for name in ("dry-run", "not-a-dry-run"):
        chat = json.loads((EVENTS / "chat" / f"{name}.json").read_text())
        answers.append(("chat", name, app.lambda_handler(chat, lambda_context("remediate", seconds=900))))
    for action in REMEDIATIONS:
        recorder.take()
        for kind in ("dry-run", "execute"):
            event = json.loads((EVENTS / "remediate" / f"{action}-{kind}.json").read_text())
            if kind == "execute":
                event["force"] = True  # carried out whatever the demo fleet's metrics say
            if event["action"] == "restore-endpoint":
                event["snapshot"] = snapshot
            answer = app.lambda_handler(event, lambda_context("remediate", seconds=900))
            answers.append((action, kind, answer))
            snapshot = answer.get("snapshot") or snapshot
        by_action[action] = recorder.take()
        aws_rules.CLOCK.sleep(3600)  # every update, create and delete of that action done before the next one
        # and whatever a scheduled action began in that hour (off-hours schedules fire at wall-clock times)
        aws_rules.wait_until_settled(iam.ACCOUNT, REGION)
    return answers, by_action


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every function run once with each of its events against one seeded moto: the calls, by function."""
    with pytest.MonkeyPatch.context() as mp, fake_webhook([(200, {}, "ok")], max_requests=1000) as hook:
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "sagewatch",
            "POWERTOOLS_METRICS_NAMESPACE": "Sagewatch",
            "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache")),
        }.items():
            mp.setenv(key, value)
        for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            mp.delenv(var, raising=False)
        moto_ext.install()
        _pricing(mp)
        aws_rules.CLOCK.reset()
        mp.setattr("sagewatch.aws.remediate.time", aws_rules.VirtualTime)  # waits pass on the test kit's clock
        recorder = iam.CallRecorder()
        with mock_aws(), recorder.recording(), conformance.checking() as off_shape:
            session = boto3.session.Session(region_name=REGION)
            sm = session.client("sagemaker")
            fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=datetime.now(UTC))
            fleet.seed_demo_trail(sm, REGION)
            secret, _ = _seed_stack(session, None, hook.url)  # type: ignore[arg-type]
            session.client("s3").put_bucket_versioning(
                Bucket="sagewatch-remediation", VersioningConfiguration={"Status": "Enabled"}
            )
            recorder.take()  # the seeding is the test's, not a function's
            calls: dict[str, list[iam.Call]] = {}
            answers: dict[str, list[Any]] = {}
            for function, (folder, events) in FUNCTIONS.items():
                if function == "CatalogRefreshFunction":
                    _route_everything(session, hook.url, secret, mp)
                    recorder.take()
                    answers["routed ScanFunction"] = [_invoke("scan", _event("scan-schedule.json", hook.url))]
                    calls["routed ScanFunction"] = recorder.take()
                    for var in (
                        "SAGEWATCH_ROUTING_PARAMETER",
                        "SAGEWATCH_ROUTE_EMAIL_FROM",
                        "SAGEWATCH_ROUTE_EMAIL_DOMAINS",
                    ):
                        mp.delenv(var)  # the other functions run as a stack without routes does
                    signing = signing_secret_arn(session, None)
                    recorder.take()
                    answers["SlackActionsFunction"] = _slack_app_runs(hook, secret, signing, mp)
                    calls["SlackActionsFunction"] = recorder.take()
                    mp.setenv("SAGEWATCH_SCAN_LOCK", "true")  # ReserveConcurrency=false: the scan's lock item
                    answers["locked ScanFunction"] = [_invoke("scan", _event("scan-schedule.json", hook.url))]
                    calls["locked ScanFunction"] = recorder.take()
                    mp.delenv("SAGEWATCH_SCAN_LOCK")
                    fleet.seed(sm, PROVISIONED, region=REGION, now=datetime.now(UTC))
                    recorder.take()
                    answers["RemediateFunction"], by_action = _remediations(hook.url, secret, mp, recorder)
                    calls["RemediateFunction"] = [c for action in by_action.values() for c in action]
                for key, value in _env(function, hook.url, secret).items():
                    mp.setenv(key, value)
                answers[function] = [_invoke(folder, _event(e, hook.url)) for e in events]
                calls[function] = recorder.take()
            fanned = _fan_out_runs(session, hook.url, secret, mp, recorder)
            answers |= fanned["answers"]
            calls |= fanned["calls"]
        yield {
            "calls": calls,
            "answers": answers,
            "secret": secret,
            "signing": signing,
            "by_action": by_action,
            "off_shape": list(off_shape),
        }


def _fan_out_runs(
    session: Any, hook_url: str, secret: str, mp: pytest.MonkeyPatch, recorder: iam.CallRecorder
) -> dict[str, Any]:
    """A scan that fans out (events/scan-fan-out.json) on the template's state machine, run in-process
    (sagewatch_testkit.fanout_sim): the scan function's start and merge, each chunk function run, and the calls the
    state machine itself makes (its ItemReader), each recorded apart."""
    for function in ("ScanFunction", "ScanChunkFunction"):
        for key, value in _env(function, hook_url, secret).items():
            mp.setenv(key, value)
    mp.setenv("SAGEWATCH_BUCKET", "sagewatch-remediation")  # what the template gives both
    mp.setenv("SAGEWATCH_FAN_OUT_STATE_MACHINE", iam.FAN_OUT_STATE_MACHINE)
    sfn, s3, ddb = session.client("stepfunctions"), session.client("s3"), session.client("dynamodb")
    # the day's dependency checks forgotten: the chunks check their endpoints themselves (and their calls count)
    for page in ddb.get_paginator("scan").paginate(TableName="sagewatch-state"):
        for item in page["Items"]:
            if item["id"]["S"].startswith("daily#"):
                ddb.delete_item(TableName="sagewatch-state", Key={"id": item["id"]})
    sfn.create_state_machine(
        name=iam.FAN_OUT_STATE_MACHINE.rsplit(":", 1)[-1],
        definition=json.dumps(fanout_sim.definition()),
        roleArn=f"arn:aws:iam::{iam.ACCOUNT}:role/scan-fan-out",
    )
    recorder.take()
    started = _invoke("scan", _event("scan-fan-out.json", hook_url))
    calls: dict[str, list[iam.Call]] = {
        "fanned ScanFunction": recorder.take(),
        "ScanChunkFunction": [],
        "ScanFanOutRole": [],
    }
    execution_input = json.loads(sfn.describe_execution(executionArn=started["execution"])["input"])
    recorder.take()
    chunks: list[Any] = []

    def read(bucket: str, key: str) -> bytes:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        calls["ScanFanOutRole"] += recorder.take()
        return body

    def chunk(payload: dict[str, Any]) -> Any:
        chunks.append(_invoke("scan_chunk", payload))
        calls["ScanChunkFunction"] += recorder.take()
        return chunks[-1]

    def merge(payload: dict[str, Any]) -> Any:
        answer = _invoke("scan", payload)
        calls["fanned ScanFunction"] += recorder.take()
        return answer

    execution = fanout_sim.run(execution_input, read, chunk, merge, substitutions={"Bucket": "sagewatch-remediation"})
    mp.delenv("SAGEWATCH_FAN_OUT_STATE_MACHINE")
    return {
        "answers": {"fanned ScanFunction": [started, execution.output], "ScanChunkFunction": chunks},
        "calls": calls,
    }


def _route_everything(session: Any, hook_url: str, secret: str, mp: pytest.MonkeyPatch) -> None:
    """A routing table that sends to a topic, a Slack secret and an email address (SES); state emptied so
    that every finding is new again."""
    sns, ssm, ses = session.client("sns"), session.client("ssm"), session.client("ses")
    topic = sns.create_topic(Name="sagewatch-llm-team")["TopicArn"]
    ses.verify_email_identity(EmailAddress="ml@example.com")
    rules = [
        {"name": "genai", "match": {"endpoint": "genai-*"}, "to": {"slack_secret": secret}},
        {"name": "errors", "match": {"kind": "errors"}, "to": {"sns": topic}},
        {"name": "the-rest", "match": {"endpoint": "*"}, "to": {"email": "ml-platform@example.com"}},
    ]
    parameters.clear_caches()  # the Slack notifier read the same secret: a cold start reads it again
    ssm.put_parameter(Name=ROUTING, Type="String", Value=json.dumps({"rules": rules}), Overwrite=True)
    session.client("dynamodb").delete_table(TableName="sagewatch-state")  # every finding new again
    id_table(session.client("dynamodb"), "sagewatch-state")
    for key, value in {
        **_env("ScanFunction", hook_url, secret),
        "SAGEWATCH_ROUTING_PARAMETER": ROUTING,
        "SAGEWATCH_ROUTE_EMAIL_FROM": "ml@example.com",
        "SAGEWATCH_ROUTE_EMAIL_DOMAINS": "example.com",
        "SAGEWATCH_SLACK_URL_PREFIX": "http://127.0.0.1:",
    }.items():
        mp.setenv(key, value)


# The deployment roles each function is checked in (a function not created in a role is skipped there).
ROLE_PARAMETERS = {name: dict(ROLES[name]) for name in ("standalone", "member", "central")}


def test_every_answer_of_the_runs_had_botocores_shape(recorded):
    assert recorded["off_shape"] == []


def test_the_runs_did_what_their_events_ask(recorded):
    """The contract is only as good as the calls: each run must have done its work, not failed early."""
    answers = recorded["answers"]
    routed = answers["routed ScanFunction"][0]
    assert len(routed["published_message_ids"]) >= 3, routed  # the topic, and each route
    assert answers["ScanFunction"][0]["findings"] > 0 and answers["ScanFunction"][0]["published_message_ids"]
    assert answers["ModelMonitorFunction"][0]["status"] == "alerted"
    assert answers["SlackNotifierFunction"][0]["slack_messages"] == 1
    assert [r["status"] for a, _, r in answers["RemediateFunction"] if a == "chat"] == ["planned", "invalid"]
    assert answers["CatalogRefreshFunction"][0]["status"] == "refreshed"
    assert answers["OrgDigestFunction"][0]["status"] in ("sent", "waiting")
    done = {(a, k): r["status"] for a, k, r in answers["RemediateFunction"]}
    assert {a for (a, k), s in done.items() if k == "execute" and s == "done"} == set(REMEDIATIONS), done


def _parameters(recorded: dict[str, Any], role: str) -> dict[str, str]:
    """The role's parameters, with the Slack webhook secret the runs used (the notifier exists only then)."""
    return ROLE_PARAMETERS[role] | {"SlackWebhookSecretArn": recorded["secret"]}


@pytest.mark.parametrize("function", [*FUNCTIONS, "RemediateFunction", "ScanChunkFunction"])
@pytest.mark.parametrize("role", ROLE_PARAMETERS)
def test_every_call_a_function_makes_is_allowed_by_its_role(recorded, function, role):
    policy = iam.function_policy(function, _parameters(recorded, role))
    if policy is None:
        pytest.skip(f"{role} stacks create no {function}")
    calls = recorded["calls"][function]
    assert calls, f"{function} made no AWS call: the contract proves nothing"
    assert iam.refused(policy, calls) == [], f"{function}'s role in a {role} stack does not allow these"


def test_each_action_declares_the_iam_actions_its_calls_need(recorded):
    """The registry's iam (and its READS) cover every AWS call each action made, dry run and real run: what an
    action declares is what it does. S3, DynamoDB, KMS, SNS and EventBridge are the function's own records."""
    records = {"s3", "dynamodb", "kms", "sns", "events", "sts", "ssm", "secretsmanager", "sesv2"}
    for action, calls in recorded["by_action"].items():
        spec = ACTIONS["restore-endpoint" if action == "restore-schedule" else action]
        declared = set(spec.iam) | set(registry.READS)
        needed = {n.action for c in calls if c.service not in records for n in iam.needs(c)}
        assert needed, f"{action} made no AWS call"
        assert needed <= declared, f"{action} needs {sorted(needed - declared)} it does not declare"


def test_every_action_of_the_registry_has_its_sample_events_and_ran():
    for action in ACTIONS:
        for kind in ("dry-run", "execute"):
            assert (EVENTS / "remediate" / f"{action}-{kind}.json").exists(), (action, kind)
    assert set(ACTIONS) <= set(REMEDIATIONS)


def test_the_remediation_role_changes_only_sagemakers_auto_scaling(recorded):
    """Its auto scaling grants carry application-autoscaling:service-namespace = sagemaker: the same calls on
    another service's namespace are refused."""
    policy = iam.function_policy("RemediateFunction", _parameters(recorded, "standalone"))
    assert policy is not None
    calls = [c for c in recorded["calls"]["RemediateFunction"] if c.service == "application-autoscaling"]
    mutating = [c for c in calls if not c.operation.startswith("Describe")]
    assert mutating and iam.refused(policy, mutating) == []
    ecs = [iam.Call(c.service, c.operation, {**c.params, "ServiceNamespace": "ecs"}, c.region) for c in mutating]
    assert len(iam.refused(policy, ecs)) == len({c.operation for c in ecs})


def test_a_fanned_out_scan_is_allowed_by_the_roles_of_the_scan_the_chunks_and_the_state_machine(recorded):
    """Started, chunked, merged: the scan function's calls (the run and listing written, the execution started,
    the parts listed and read back), each chunk's, and the state machine's own read of the listing, each allowed
    by the role the template gives it; the state machine may invoke the two functions and no other."""
    started, merged = recorded["answers"]["fanned ScanFunction"]
    assert started["status"] == "fanned-out" and merged["findings"] > 0 and merged["errors"] == 0, merged
    assert [c["endpoints"] for c in recorded["answers"]["ScanChunkFunction"]] == [started["endpoints"]]
    chunk_calls = {c.operation for c in recorded["calls"]["ScanChunkFunction"]}
    assert chunk_calls >= {"DescribeEndpoint", "GetMetricData", "DescribeModel", "BatchWriteItem", "PutObject"}
    scan = iam.function_policy("ScanFunction", ROLES["standalone"])
    calls = recorded["calls"]["fanned ScanFunction"]
    assert {c.operation for c in calls} >= {"StartExecution", "PutObject", "ListObjectsV2", "GetObject"}
    assert iam.refused(scan, calls) == []
    machine = iam.function_policy("ScanFanOutRole", ROLES["standalone"])
    assert recorded["calls"]["ScanFanOutRole"] and iam.refused(machine, recorded["calls"]["ScanFanOutRole"]) == []
    lambda_arn = f"arn:aws:lambda:{REGION}:{iam.ACCOUNT}:function:"
    for function, allowed in (("ScanChunkFunction", True), ("ScanFunction", True), ("RemediateFunction", False)):
        need = iam.Need("lambda:InvokeFunction", lambda_arn + iam.PHYSICAL.get(function, function))
        assert iam.allowed(machine, need) is allowed, function
    for need in (
        iam.Need("s3:PutObject", "arn:aws:s3:::sagewatch-remediation/scans/results/manifest.json"),
        iam.Need("states:StartExecution", iam.FAN_OUT_STATE_MACHINE),
        iam.Need("states:DescribeExecution", iam.FAN_OUT_STATE_MACHINE.replace(":stateMachine:", ":execution:") + "/x"),
    ):
        assert iam.allowed(machine, need), need
    assert not iam.allowed(machine, iam.Need("s3:GetObject", "arn:aws:s3:::sagewatch-remediation/snapshots/x"))
    assert iam.function_policy("ScanChunkFunction", ROLES["standalone"] | {"ScanFanOutEndpoints": "0"}) is None


def test_a_scan_with_every_route_is_allowed_by_the_routed_role(recorded):
    policy = iam.function_policy("ScanFunction", ROLES["routed"] | {"RouteEmailDomains": "example.com"})
    calls = recorded["calls"]["routed ScanFunction"]
    assert {c.service for c in calls} >= {"ssm", "sns", "sesv2", "secretsmanager"}
    assert iam.refused(policy, calls) == []


def test_the_slack_apps_clicks_are_allowed_by_its_role(recorded):
    """Signature checked, plan, Apply token kept, taken and used, the remediation function invoked, itself
    invoked asynchronously: every call allowed by SlackActionsFunction's role (the routed role has the app)."""
    url_dry, work_dry, url_apply, work_apply = recorded["answers"]["SlackActionsFunction"]
    assert url_dry["statusCode"] == url_apply["statusCode"] == 200
    assert work_dry["status"] == "planned" and work_apply["status"] == "done", (work_dry, work_apply)
    calls = recorded["calls"]["SlackActionsFunction"]
    assert {c.operation for c in calls} >= {"GetSecretValue", "Invoke", "PutItem", "GetItem", "DeleteItem"}
    parameters = ROLES["routed"] | {"SlackSigningSecretArn": recorded["signing"], "RouteEmailDomains": "example.com"}
    policy = iam.function_policy("SlackActionsFunction", parameters)
    assert iam.refused(policy, calls) == [], iam.refused(policy, calls)
    assert iam.function_policy("SlackActionsFunction", ROLES["standalone"]) is None  # only with the app
    for action in ("lambda:InvokeFunction", "dynamodb:DeleteItem", "secretsmanager:GetSecretValue"):
        assert iam.refused(iam.without_action(policy, action), calls), action


def test_a_scan_that_takes_its_lock_is_allowed_only_where_no_concurrency_is_reserved(recorded):
    """ReserveConcurrency=false grants PutItem/DeleteItem on lock#scan alone; a stack that reserves concurrency
    has no lock and no such grant (the lock-taking run is refused there: the grant is conditional, not spare)."""
    calls = recorded["calls"]["locked ScanFunction"]
    assert [c.operation for c in calls if c.operation in ("PutItem", "DeleteItem")] == ["PutItem", "DeleteItem"]
    assert recorded["answers"]["locked ScanFunction"][0]["findings"] > 0
    unreserved = iam.function_policy("ScanFunction", ROLES["readonly"] | {"Remediation": "enabled"})
    assert iam.refused(unreserved, calls) == []
    reserved = iam.function_policy("ScanFunction", ROLES["standalone"])
    assert [r for r in iam.refused(reserved, calls) if "dynamodb:PutItem" in r], "the grant is not conditional"


def test_the_contract_fails_when_any_one_granted_action_is_taken_away(recorded):
    """Each action a function's calls need, removed from its role alone, makes the contract fail: the test
    can tell a missing grant from a present one, for every grant it relies on."""
    checked = 0
    for function in [*FUNCTIONS, "RemediateFunction", "ScanChunkFunction", "ScanFanOutRole"]:
        policy = iam.function_policy(function, _parameters(recorded, "standalone")) or iam.function_policy(
            function, _parameters(recorded, "central")
        )
        assert policy is not None, function
        needed = {n.action for c in recorded["calls"][function] for n in iam.needs(c)}
        for action in sorted(needed):
            without = iam.without_action(policy, action)
            assert iam.refused(without, recorded["calls"][function]), f"{function} still passes without {action}"
            checked += 1
    assert checked > 40


# --- the CLI through org/scan-role.yaml ---------------------------------------------------------------------


@pytest.fixture
def cli_calls(aws, sm, now, capsys, tmp_path):
    """The CLI's calls: a scan through the read-only role of each account (--owner-lookup), and a report."""
    from sagewatch.cli import main

    fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=now)
    fleet.seed_demo_trail(sm, REGION)
    accounts = tmp_path / "accounts.txt"
    accounts.write_text(f"{iam.ACCOUNT}  the-demo-account\n")
    recorder = iam.CallRecorder()
    with recorder.recording():
        scan = main(["scan", "--regions", REGION, "--role-name", "sagewatch-scan-readonly", "--accounts",
                     str(accounts), "--owner-lookup", "--format", "json"])  # fmt: skip
        scanned = recorder.take()
        report = main(["report", "--region", REGION, "--format", "json"])
        reported = recorder.take()
    out = capsys.readouterr()
    assert scan == 0 and report == 0, out.err
    return {"scan": scanned, "report": reported}


def _role_calls(calls: list[iam.Call]) -> list[iam.Call]:
    return [c for c in calls if (c.service, c.operation) not in CALLERS_OWN]


def test_the_cli_scan_and_report_are_allowed_by_the_scan_role(cli_calls):
    policy = iam.role_policy(SCAN_ROLE, "ScanRole", {"TrustedAccountId": "111122223333"})
    scan = _role_calls(cli_calls["scan"])
    assert {(c.service, c.operation) for c in scan} >= {("sagemaker", "ListEndpoints"), ("cloudtrail", "LookupEvents")}
    assert iam.refused(policy, scan) == []
    assert iam.refused(policy, _role_calls(cli_calls["report"])) == []


def test_the_scan_role_without_lookup_events_fails_the_contract(cli_calls):
    """What org/scan-role.yaml was before this test existed: --owner-lookup was refused in every account."""
    policy = iam.role_policy(SCAN_ROLE, "ScanRole", {"TrustedAccountId": "111122223333"})
    refused = iam.refused(iam.without_action(policy, "cloudtrail:LookupEvents"), _role_calls(cli_calls["scan"]))
    assert refused and all(r.startswith("cloudtrail:LookupEvents on *") for r in refused)
