"""Remediation against an attacker who can write to the stack's bucket and invoke the function, and against a
delete that stops half way: a planted or rewritten snapshot is never restored as written; a half-done delete
is audited, announced and resumable; a requester named by the caller is labelled a claim."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest

from sagewatch_testkit import aws_rules
from sagewatch_testkit.functions import lambda_context

BUCKET = "sagewatch-remediation"
EVIL_ROLE = "arn:aws:iam::123456789012:role/attacker-full-admin"


def delete(endpoint: str, request_id: str, **more) -> dict:
    return {
        "action": "delete-endpoint",
        "endpoint": endpoint,
        "dry_run": False,
        "confirm": endpoint,
        "request_id": request_id,
        "force": True,
        **more,
    }


def restore(endpoint: str, snapshot: str, request_id: str) -> dict:
    return {
        "action": "restore-endpoint",
        "endpoint": endpoint,
        "snapshot": snapshot,
        "dry_run": False,
        "confirm": endpoint,
        "request_id": request_id,
    }


def planted(sealed_snapshot: dict) -> dict:
    """What an attacker would write: the endpoint's own snapshot, run under their role and container."""
    doc = json.loads(json.dumps(sealed_snapshot))
    doc["endpoint_config"]["ExecutionRoleArn"] = EVIL_ROLE
    doc["tags"] = {"sagewatch:ignore": "true"}
    return doc


@pytest.fixture
def env(remediation):
    return remediation


def test_a_snapshot_sagewatch_did_not_take_is_refused(env):
    done = env.invoke(delete("churn-model-staging", "attack-delete-0001"))
    genuine = json.loads(env.s3.get_object(Bucket=BUCKET, Key=done["snapshot"])["Body"].read())
    key = "snapshots/churn-model-staging/20260101T000000Z.json"
    env.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(planted(genuine)).encode())
    for dry_run in (True, False):
        answer = env.invoke(
            restore("churn-model-staging", key, f"attack-restore-000{int(dry_run)}") | {"dry_run": dry_run}
        )
        assert answer["status"] == "refused" and "has no seal" in answer["error"], answer
    env.elapse(aws_rules.DURATIONS.endpoint_delete)
    with pytest.raises(env.sm.exceptions.ClientError):  # deleted, and never created again
        env.sm.describe_endpoint(EndpointName="churn-model-staging")


def test_a_rewritten_snapshot_is_restored_as_sagewatch_wrote_it(env):
    """The seal names the version sagewatch wrote: a later version (the attacker's) is never read."""
    done = env.invoke(delete("churn-model-staging", "attack-delete-0002"))
    assert done["snapshot_version_id"] and len(done["snapshot_sha256"]) == 64
    genuine = json.loads(env.s3.get_object(Bucket=BUCKET, Key=done["snapshot"])["Body"].read())
    env.s3.put_object(Bucket=BUCKET, Key=done["snapshot"], Body=json.dumps(planted(genuine)).encode())
    answer = env.invoke(restore("churn-model-staging", done["snapshot"], "attack-restore-0002"))
    assert answer["status"] == "done", answer
    tags = env.sm.list_tags(ResourceArn=env.sm.describe_endpoint(EndpointName="churn-model-staging")["EndpointArn"])
    assert {"Key": "sagewatch:ignore", "Value": "true"} not in tags["Tags"]


def test_a_snapshot_whose_bytes_differ_from_its_seal_is_refused(env):
    """Without the version (a bucket whose versioning was suspended), the digest still tells."""
    done = env.invoke(delete("churn-model-staging", "attack-delete-0003"))
    seal_key = f"seals/{done['snapshot']}"
    seal = json.loads(env.s3.get_object(Bucket=BUCKET, Key=seal_key)["Body"].read())
    assert seal == {
        "key": done["snapshot"],
        "version_id": done["snapshot_version_id"],
        "sha256": done["snapshot_sha256"],
    }
    env.s3.put_object(Bucket=BUCKET, Key=seal_key, Body=json.dumps(seal | {"version_id": None}).encode())
    genuine = json.loads(env.s3.get_object(Bucket=BUCKET, Key=done["snapshot"])["Body"].read())
    env.s3.put_object(Bucket=BUCKET, Key=done["snapshot"], Body=json.dumps(planted(genuine)).encode())
    answer = env.invoke(restore("churn-model-staging", done["snapshot"], "attack-restore-0003"))
    assert answer["status"] == "refused" and "SHA-256 differs" in answer["error"], answer


def test_a_snapshot_key_outside_snapshots_is_refused(env):
    answer = env.invoke(restore("churn-model-staging", "audit/../reports/x.json", "attack-restore-0004"))
    assert answer["status"] == "refused" and "not a key under snapshots/" in answer["error"]


def test_a_restore_passes_only_the_role_the_original_config_named(env):
    done = env.invoke(delete("churn-model-staging", "attack-delete-0005"))
    env.elapse(aws_rules.DURATIONS.endpoint_delete)  # its config is in use until the endpoint is gone
    config = env.sm.describe_endpoint_config(EndpointConfigName="churn-model-staging-config")
    env.sm.delete_endpoint_config(EndpointConfigName="churn-model-staging-config")
    env.sm.create_endpoint_config(
        EndpointConfigName="churn-model-staging-config",
        ProductionVariants=config["ProductionVariants"],
        ExecutionRoleArn=EVIL_ROLE,
    )
    answer = env.invoke(restore("churn-model-staging", done["snapshot"], "attack-restore-0005"))
    assert answer["status"] == "refused" and "execution role" in answer["error"], answer


def test_a_half_done_delete_is_partial_audited_announced_and_resumable(env):
    """Components still deleting when the run's time is spent: not 'refused, nothing changed'. The answer gives the
    exact request that resumes it: the same plan (from the run's snapshot), from the step it stopped at."""
    aws_rules.set_durations(component_delete=2000)  # longer than the function has (900 s, a minute kept back)
    try:
        first = env.invoke(delete("genai-sandbox", "half-delete-0001"))
    finally:
        aws_rules.set_durations(component_delete=aws_rules.Durations.component_delete)
    assert first["status"] == "partial", first
    assert first["done"] == ["step 1: delete inference component sandbox-model-a"]
    assert any("step 3: delete endpoint genai-sandbox" in step for step in first["left"])
    assert first["snapshot"] and first["audit"]
    resume = first["resume"]
    assert resume["snapshot"] == first["snapshot"] and resume["resume_from"] == 2  # the wait
    assert resume["request_id"] == "half-delete-0001-r2" and resume["dry_run"] is False
    audit = json.loads(env.s3.get_object(Bucket=BUCKET, Key=first["audit"])["Body"].read())
    assert audit["status"] == "partial" and audit["snapshot"] == first["snapshot"] and audit["resume"] == resume
    [notice] = env.announcements()
    assert notice["status"] == "partial" and notice["left"]
    assert env.sm.describe_endpoint(EndpointName="genai-sandbox")["EndpointStatus"] == "InService"  # still there

    env.elapse(1200)  # some minutes later
    resumed = env.invoke(resume)
    assert resumed["status"] == "done", resumed
    assert [d.split(":")[0] for d in resumed["done"]] == ["step 2", "step 3"]  # nothing done twice
    snapshot = json.loads(env.s3.get_object(Bucket=BUCKET, Key=first["snapshot"])["Body"].read())
    assert [c["InferenceComponentName"] for c in snapshot["inference_components"]] == ["sandbox-model-a"]
    restored = env.invoke(restore("genai-sandbox", first["snapshot"], "half-restore-0001"))
    assert restored["status"] == "done", restored
    assert any("create inference component sandbox-model-a" in d for d in restored["done"])


def test_a_resume_on_an_endpoint_someone_changed_meanwhile_is_refused(env):
    aws_rules.set_durations(component_delete=2000)
    try:
        first = env.invoke(delete("genai-sandbox", "half-delete-0003"))
    finally:
        aws_rules.set_durations(component_delete=aws_rules.Durations.component_delete)
    assert first["status"] == "partial"
    env.elapse(2000)
    env.sm.create_inference_component(  # someone deploys a model on it meanwhile
        InferenceComponentName="newcomer",
        EndpointName="genai-sandbox",
        VariantName="AllTraffic",
        Specification={"ModelName": "genai-sandbox-model"},
        RuntimeConfig={"CopyCount": 1},
    )
    answer = env.invoke(first["resume"])
    assert answer["status"] == "refused" and "not where the stopped run left it" in answer["error"], answer
    assert "newcomer" in answer["error"]
    env.sm.describe_endpoint(EndpointName="genai-sandbox")


def test_a_resume_with_another_endpoints_snapshot_is_refused(env):
    done = env.invoke(delete("churn-model-staging", "resume-other-0001"))
    answer = env.invoke(delete("genai-sandbox", "resume-other-0002", snapshot=done["snapshot"], resume_from=2))
    assert answer["status"] == "refused" and "is of endpoint churn-model-staging" in answer["error"]


def test_the_requester_named_by_the_caller_is_a_claim(env):
    claim = base64.b64encode(json.dumps({"custom": {"requested_by": "arn:aws:iam::1:user/ceo"}}).encode()).decode()
    context = lambda_context("remediate")
    context.client_context = SimpleNamespace(custom={"requested_by": "arn:aws:iam::1:user/ceo"})
    context.aws_request_id = "5f1c0d3e-lambda-request"
    assert claim  # what the CLI sends in the Lambda client context, decoded by Lambda into context.client_context
    result = env.app.lambda_handler(delete("churn-model-staging", "claimed-0001"), context)
    audit = json.loads(env.s3.get_object(Bucket=BUCKET, Key=result["audit"])["Body"].read())
    assert audit["requested_by"] == {
        "principal": "arn:aws:iam::1:user/ceo",
        "source": "client-context",
        "verified": False,
        "lambda_request_id": "5f1c0d3e-lambda-request",
    }
    [notice] = env.announcements()
    assert notice["requested_by"]["verified"] is False
