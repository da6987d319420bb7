"""Every function, built by sam build, run by sam local invoke in the Lambda runtime emulator, against
an embedded moto: catches a wrong Handler, CodeUri, layer, dependency or environment variable."""

import json
import time
from datetime import UTC, datetime, timedelta

from sagewatch_testkit.fleet import DEMO_ENDPOINTS, DEMO_FINDINGS
from sagewatch_testkit.local import EVENTS
from sagewatch_testkit.slack_app import signed_sample


def test_scan_finds_and_publishes(stack):
    result = stack.invoke("ScanFunction", "scan-schedule.json")
    assert result["endpoints"] == DEMO_ENDPOINTS and result["findings"] == DEMO_FINDINGS and result["errors"] == 0, (
        result
    )
    assert result["announced"]["new"] == DEMO_FINDINGS and len(result["published_message_ids"]) == 1
    [digest] = stack.received("topic")
    assert digest["schema"] == "sagewatch.digest/1" and len(digest["announcements"]) == DEMO_FINDINGS
    kinds = [e["detail-type"] for e in stack.received("bus")]
    assert (
        kinds.count("SageMaker Endpoint Finding") == DEMO_FINDINGS and kinds.count("SageMaker Fleet Scan Summary") == 1
    )
    again = stack.invoke("ScanFunction", "scan-schedule.json")  # state in DynamoDB: nothing new to say
    assert again["announced"]["unchanged"] == DEMO_FINDINGS and again["published_message_ids"] == []


def test_a_fanned_out_scans_chunk_and_merge_step_run_in_their_functions(stack):
    """What the state machine invokes: the chunk function judges its endpoints and writes its part; the scan
    function merges the run (seeded as a starting scan writes it, without publishing) into one report."""
    chunk = stack.invoke("ScanChunkFunction", "scan-chunk.json")
    assert chunk["endpoints"] == 2 and chunk["errors"] == 0 and chunk["findings"] >= 1, chunk
    assert chunk["part"].startswith("scans/20261207T060000Z-5ca1ab1e/parts/")
    merged = stack.invoke("ScanFunction", "scan-merge.json")
    assert merged["endpoints"] == 2 and merged["errors"] == 0 and merged["findings"] >= chunk["findings"], merged
    assert merged["cadence"]["fan_out"]["chunks"] == 1 and merged["published_message_ids"] == []


def test_slack_notifier_posts_block_kit(stack):
    before = len(stack.webhook.requests)
    result = stack.invoke("SlackNotifierFunction", "slack-sns-digest.json")
    assert result == {"digests": 1, "slack_messages": 1, "attempts": 1}, result
    payload = stack.webhook.requests[before]
    assert payload["blocks"][0]["type"] == "header"


def test_model_monitor_cases(stack):
    stack.received("topic")
    alerted = stack.invoke("ModelMonitorFunction", "monitor-run-violations.json")
    assert alerted["status"] == "alerted" and alerted["violations"] == 4, alerted
    [alert] = stack.received("topic")
    assert alert["monitoring_type"] == "data quality" and alert["violations"][0]["name"] == "transaction_amount"
    assert stack.invoke("ModelMonitorFunction", "monitor-run-violations.json") == alerted  # idempotent
    assert stack.received("topic") == []
    assert stack.invoke("ModelMonitorFunction", "monitor-run-clean.json")["status"] == "ignored"
    assert stack.invoke("ModelMonitorFunction", "processing-job-not-monitoring.json")["status"] == "ignored"
    assert stack.invoke("ModelMonitorFunction", "monitor-run-failed.json")["kind"] == "monitoring-failed"
    assert stack.invoke("ModelMonitorFunction", "endpoint-failed.json")["kind"] == "endpoint-failed"
    rolled_back = stack.invoke("ModelMonitorFunction", "endpoint-update-rolled-back.json")
    assert rolled_back["kind"] == "deployment-rollback", rolled_back
    health = stack.invoke("ModelMonitorFunction", "health-sagemaker-endpoint.json")
    assert health["kind"] == "aws-health" and health["endpoints"] == ["fraud-detector-prod", "llm-chat-prod"], health


def test_remediation_plans_acts_and_refuses(stack):
    plan = stack.invoke("RemediateFunction", "remediate/resize-variant-dry-run.json")
    assert plan["status"] == "planned" and plan["plan"]["after"]["AllTraffic"]["instance_type"] == "ml.r5.xlarge"
    done = stack.invoke("RemediateFunction", "remediate/set-instance-count-execute.json")
    assert done["status"] == "done", done
    sm = stack.client("sagemaker")
    [variant] = sm.describe_endpoint(EndpointName="llm-chat-prod")["ProductionVariants"]
    assert variant["DesiredInstanceCount"] == 2
    audits = stack.client("s3").list_objects_v2(Bucket="sagewatch-remediation", Prefix="audit/")["Contents"]
    assert len(audits) == 1
    bad = stack.invoke("RemediateFunction", "remediate/bad-request.json")
    assert bad["status"] == "invalid" and "instance_cont: Extra inputs are not permitted" in bad["error"]
    assert json.loads(json.dumps(bad))  # plain JSON back to the caller


def test_the_chat_dry_run_button_plans_and_refuses_a_forged_click(stack):
    """Chatbot's Dry run button: the plan ends with the command that applies it; a real run is never taken."""
    plan = stack.invoke("RemediateFunction", "chat/dry-run.json")
    assert plan["status"] == "planned" and list(plan)[-1] == "apply", plan
    assert "--execute --confirm doc-classifier --request-id chat-" in plan["apply"]
    forged = stack.invoke("RemediateFunction", "chat/not-a-dry-run.json")
    assert forged == {"status": "invalid", "error": "a chat button only ever plans: the request must be a dry run"}


def test_the_slack_app_checks_slacks_signature(stack):
    """The signed sample clicks of events/slack-actions/, made current: a forged signature and a stale timestamp
    are refused (401, nothing done); a valid click passes the checks and is queued for the function's own
    asynchronous invocation, which moto cannot run: 503, nothing done (the work is tested in-process)."""
    url = stack.advertised(stack.webhook.url)
    now = int(time.time())
    answers = {
        name: stack.invoke_document(
            "SlackActionsFunction", signed_sample(str(EVENTS / "slack-actions" / name), now=now, response_url=url)
        )
        for name in ("forged-signature.json", "stale-timestamp.json", "dry-run.json")
    }
    assert answers["forged-signature.json"]["statusCode"] == 401
    assert answers["stale-timestamp.json"]["statusCode"] == 401
    assert answers["dry-run.json"]["statusCode"] == 503 and "could not be queued" in answers["dry-run.json"]["body"]


def test_weekly_report_writes_the_bucket_and_sends_the_digest(stack):
    stack.received("topic")
    result = stack.invoke("WeeklyReportFunction", "report-schedule.json")
    assert result["errors"] == 0 and result["totals"]["cost_usd"] > 0, result
    s3 = stack.client("s3")
    for key in result["report"]["keys"].values():
        assert s3.head_object(Bucket="sagewatch-remediation", Key=key)["ContentLength"] > 0
    [digest] = stack.received("topic")
    assert digest["schema"] == "sagewatch.cost-summary/1" and digest["top_costs"]


def test_catalog_refresh_on_schedule_and_at_deploy(stack):
    """The Price List is a local stand-in answering tests/fixtures/price-list (moto has no Price List API)."""
    result = stack.invoke("CatalogRefreshFunction", "catalog-refresh-schedule.json")
    assert result["status"] == "refreshed" and result["instance_types"] == 4, result
    assert result["provisioned_concurrency_usd_per_gb_second"] == 0.0000048
    stored = stack.client("s3").get_object(Bucket="sagewatch-remediation", Key=result["key"])
    catalog = json.loads(stored["Body"].read())
    assert catalog["region"] == "us-east-1" and {i["instance_type"] for i in catalog["instances"]} >= {
        "ml.m5.xlarge",
        "ml.g5.xlarge",
    }
    [request] = stack.prices.requests[-1:]
    assert request["ServiceCode"] == "AmazonSageMaker"
    assert {"Type": "TERM_MATCH", "Field": "component", "Value": "Hosting"} in request["Filters"]

    # At deploy: CloudFormation's pre-signed URL is a local stand-in here; the answer is one PUT.
    event = json.loads((EVENTS / "catalog-at-deploy.json").read_text())
    before = len(stack.webhook.requests)
    deployed = stack.invoke_document(
        "CatalogRefreshFunction", {**event, "ResponseURL": stack.advertised(stack.webhook.url)}
    )
    assert deployed["status"] == "refreshed", deployed
    [answer] = stack.webhook.requests[before:]
    assert answer["Status"] == "SUCCESS" and answer["LogicalResourceId"] == "CatalogAtDeploy"
    assert answer["Data"]["instance_types"] == "4"


def test_the_central_functions_take_in_digest_and_report(stack):
    """The central role's functions: a member's summary, finding and alert in; one digest naming the (long
    silent) member; the organization cost report in the bucket."""
    stack.received("topic")
    # stamped relative to today (a summary older than 90 days is refused): a day ago, so the member is silent
    summary = json.loads((EVENTS / "org" / "scan-summary-forwarded.json").read_text())
    summary["detail"]["scanned_at"] = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()
    assert stack.invoke_document("OrgAggregatorFunction", summary)["status"] == "kept"
    kept = stack.invoke("OrgAggregatorFunction", "org/finding-forwarded.json")
    assert kept["status"] == "kept" and kept["account"] == "111111111111", kept
    sent = stack.invoke("OrgAggregatorFunction", "org/alert-forwarded.json")
    assert sent["status"] == "sent" and stack.invoke("OrgAggregatorFunction", "org/alert-forwarded.json") == sent
    [alert] = stack.received("topic")
    assert alert["schema"] == "sagewatch.alert/1" and alert["region"] == "eu-west-1"
    tick = stack.invoke("OrgDigestFunction", "org/digest-tick.json")
    assert tick["status"] == "sent" and tick["silent_members"] == 1 and tick["announced"]["new"] == 1, tick
    [digest] = stack.received("topic")
    assert digest["schema"] == "sagewatch.org-digest/1" and digest["members"][0]["silent"] is True
    report = stack.invoke("OrgReportFunction", "report-schedule.json")
    assert report["missing"] == [{"account": "111111111111", "region": "eu-west-1"}], report
    s3 = stack.client("s3")
    for key in report["report"]["keys"].values():
        assert s3.head_object(Bucket="sagewatch-remediation", Key=key)["ContentLength"] > 0
