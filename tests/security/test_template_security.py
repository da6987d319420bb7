"""checkov on template.yaml and on the template SAM deploys: no failed check; every exception is a suppression in
the resource's Metadata with its reason. checkov has its own virtualenv (it pins an old boto3), named by $CHECKOV.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from samcli.yamlhelper import yaml_parse

from sagewatch_testkit.sam_translate import ROLES, for_role, translate

ROOT = Path(__file__).resolve().parents[2]


def checkov(template: Path) -> dict[str, Any]:
    binary = os.environ.get("CHECKOV", str(ROOT / ".venv" / "checkov" / "bin" / "checkov"))
    if not Path(binary).exists():
        pytest.fail(f"checkov not found at {binary}: run `make dev` (or set CHECKOV)")
    done = subprocess.run(
        # --skip-download: no call to the vendor's API (its guidelines links); nothing leaves the machine.
        [binary, "-f", str(template), "-o", "json", "--framework", "cloudformation", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def failures(report: dict[str, Any]) -> list[str]:
    return [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]


@pytest.fixture(scope="module")
def translated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sam") / "translated.json"
    path.write_text(json.dumps(translate()))
    return path


def test_template_has_no_failed_check() -> None:
    report = checkov(ROOT / "template.yaml")
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 40, report["summary"]  # it really read the resources
    assert failures(report) == []


def test_translated_template_has_no_failed_check(translated: Path) -> None:
    report = checkov(translated)
    assert report["summary"]["parsing_errors"] == 0
    resources = json.loads(translated.read_text())["Resources"]
    # the transform's own resources are what this run adds: roles, schedule, rules, subscription, permissions
    assert {"ScanFunctionRole", "ScanFunctionSchedule", "ModelMonitorFunctionMonitoringRuns"} <= set(resources)
    assert report["summary"]["passed"] > 80, report["summary"]
    assert failures(report) == []


def test_every_suppression_sits_on_its_resource_with_a_reason() -> None:
    report = checkov(ROOT / "template.yaml")
    skipped = report["results"]["skipped_checks"]
    assert skipped, "expected the documented per-resource suppressions"
    for check in skipped:
        assert len(check["check_result"]["suppress_comment"]) >= 30, (
            f"{check['check_id']} on {check['resource']} needs a reason"
        )
    # no blanket skip list: nothing configures checkov beyond the Metadata of each resource
    assert not (ROOT / ".checkov.yaml").exists()
    assert not (ROOT / ".checkov.yml").exists()


def test_a_removed_suppression_fails(tmp_path: Path) -> None:
    """The gate can fail: without its reasoned suppression, the scan function's missing VPC is reported."""
    text = (ROOT / "template.yaml").read_text()
    vpc_skip = "          - id: CKV_AWS_117\n"
    start = text.index("  ScanFunction:\n")
    at = text.index(vpc_skip, start)
    end = text.index("\n", at + len(vpc_skip)) + 1  # the skip and its comment line
    stripped = tmp_path / "template.yaml"
    stripped.write_text(text[:at] + text[end:])
    assert "CKV_AWS_117 AWS::Serverless::Function.ScanFunction" in " ".join(failures(checkov(stripped)))


# --- the three deployment roles, each as CloudFormation creates it ---------------------------------------


@pytest.fixture(scope="module", params=sorted(ROLES))
def role_template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    role = str(request.param)
    path = tmp_path_factory.mktemp(f"role-{role}") / "translated.json"
    path.write_text(json.dumps(translate(role=role)))
    return role, path


def test_each_role_has_no_failed_check(role_template: tuple[str, Path]) -> None:
    role, path = role_template
    report = checkov(path)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 40, report["summary"]
    assert failures(report) == [], role


def test_each_role_passes_cfn_lint(role_template: tuple[str, Path], tmp_path: Path) -> None:
    """cfn-lint (what `sam validate --lint` runs) on each role's template, warnings included."""
    role, _ = role_template
    sam_level = tmp_path / f"{role}.json"
    sam_level.write_text(json.dumps(for_role(yaml_parse((ROOT / "template.yaml").read_text()), ROLES[role])))
    binary = Path(os.environ.get("SAM", str(ROOT / ".venv" / "bin" / "sam"))).with_name("cfn-lint")
    done = subprocess.run([str(binary), str(sam_level)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{role}: {done.stdout}{done.stderr}"


def test_roles_create_what_the_readme_says() -> None:
    resources = {role: set(translate(role=role)["Resources"]) for role in ROLES}
    scanning = {"ScanFunction", "ModelMonitorFunction", "RemediateFunction", "WeeklyReportFunction", "StateTable"}
    central = {"OrgEventBus", "OrgEventBusPolicy", "OrgAggregatorFunction", "OrgDigestFunction", "OrgReportFunction"}
    central |= {"OrgStateTable", "SilentMembersAlarm"}
    assert scanning <= resources["standalone"] and scanning <= resources["member"]
    assert not scanning & resources["central"], "the central account scans nothing"
    assert central <= resources["central"] and not central & (resources["standalone"] | resources["member"])
    assert {"CentralBusForwardRule", "CentralBusForwardRole"} <= resources["member"]
    assert "ObservabilitySink" in resources["central"] and "ObservabilityLink" in resources["member"]


REMEDIATION_RESOURCES = {"RemediateFunction", "RemediateFunctionRole", "RemediateLogGroup"}


def test_a_read_only_deployment_creates_nothing_that_can_change_an_endpoint() -> None:
    """Remediation disabled (the default): no remediation function, role or log group, no grant anywhere that
    changes an endpoint, the snapshot prefixes closed to everyone, and findings carry --local dry runs."""
    readonly = translate(role="readonly")
    resources = readonly["Resources"]
    assert not REMEDIATION_RESOURCES & set(resources)
    assert set(translate(role="standalone")["Resources"]) >= REMEDIATION_RESOURCES
    assert "RemediateFunctionName" not in readonly.get("Outputs", {})
    changing = ("sagemaker:Delete", "sagemaker:Update", "sagemaker:Create", "application-autoscaling:Register")
    for name, resource in resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                if statement.get("Effect") == "Allow":
                    assert not [a for a in actions if a.startswith(changing)], (name, statement.get("Sid"))
    statements = resources["RemediationBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [closed] = [st for st in statements if st.get("Sid") == "NobodyWritesSnapshotsSealsAndAuditWithoutRemediation"]
    assert closed["Effect"] == "Deny" and "Condition" not in closed
    env = resources["ScanFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SAGEWATCH_REMEDIATION"] == "disabled"
    enabled = translate(role="standalone")["Resources"]["ScanFunction"]["Properties"]["Environment"]["Variables"]
    assert enabled["SAGEWATCH_REMEDIATION"] == "enabled"


def test_routes_are_granted_only_with_a_routing_table() -> None:
    def sids(role: str) -> set[str]:
        policies = translate(role=role)["Resources"]["ScanFunctionRole"]["Properties"]["Policies"]
        return {st.get("Sid", "") for p in policies for st in p["PolicyDocument"]["Statement"]}

    routed = {"ReadTheRoutingTable", "SendToSagewatchTopicsOfThisAccountAndSlackSecretsNamedSagewatch"}
    assert routed | {"SendEmailRoutesFromTheConfiguredIdentity"} <= sids("routed")
    assert not (routed & sids("standalone"))


def test_member_notifies_locally_only_when_asked() -> None:
    template = yaml_parse((ROOT / "template.yaml").read_text())

    def local(role: str, **given: str) -> str:
        t = for_role(template, ROLES[role] | given)
        return str(
            t["Resources"]["ScanFunction"]["Properties"]["Environment"]["Variables"]["SAGEWATCH_LOCAL_NOTIFICATIONS"]
        )

    assert local("standalone") == "true" and local("member") == "false"
    assert local("member", LocalNotifications="true") == "true"
    assert local("standalone", LocalNotifications="false") == "false"


def test_the_central_bus_takes_sagewatch_events_from_the_organization_only() -> None:
    """moto does not enforce bus policies: the policy itself is the proof that an outsider is refused."""
    resources = translate(role="central")["Resources"]
    statement = resources["OrgEventBusPolicy"]["Properties"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "events:PutEvents"
    assert statement["Principal"] == "*"  # any principal... only with the organization condition below
    conditions = statement["Condition"]
    assert set(conditions) == {"StringEquals", "ArnLike"}
    assert conditions["StringEquals"]["aws:PrincipalOrgID"] == {"Ref": "OrganizationId"}
    # not any principal of the organization: only the members' forwarding roles, whose name the template fixes
    assert conditions["ArnLike"]["aws:PrincipalArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/sagewatch-forward-*"
    }
    assert conditions["StringEquals"]["events:source"] == "sagewatch"
    assert "CentralBusForwardRule" not in resources  # the central stack forwards nothing
    member = translate(role="member")["Resources"]
    pattern = member["CentralBusForwardRule"]["Properties"]["EventPattern"]
    assert set(pattern["detail-type"]) == set(conditions["StringEquals"]["events:detail-type"])
    assert member["CentralBusForwardRole"]["Properties"]["RoleName"] == {"Fn::Sub": "sagewatch-forward-${AWS::Region}"}
    role_policy = member["CentralBusForwardRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert role_policy == {"Effect": "Allow", "Action": "events:PutEvents", "Resource": {"Ref": "CentralEventBusArn"}}
    # no stack other than the central one may be left with an open bus: only the central role has a policy
    assert not any(r["Type"] == "AWS::Events::EventBusPolicy" for r in member.values())


def test_deploying_a_member_without_the_central_bus_is_refused() -> None:
    rules = yaml_parse((ROOT / "template.yaml").read_text())["Rules"]
    assert rules["MemberNeedsTheCentralBus"]["RuleCondition"] == {"Fn::Equals": [{"Ref": "Role"}, "member"]}
    assert rules["CentralNeedsTheOrganization"]["RuleCondition"] == {"Fn::Equals": [{"Ref": "Role"}, "central"]}


# --- grants no broader than the code's own checks (issue: security hardening) ----------------------------


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for policy in resource["Properties"].get("Policies", []):
        document = policy.get("PolicyDocument", policy)
        out += document.get("Statement", []) if isinstance(document, dict) else []
    return out


def _by_sid(resource: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in _statements(resource) if s.get("Sid") == sid)


ROUTED = {
    "Role": "standalone",
    "Remediation": "enabled",
    "RoutingParameterName": "/sagewatch/routing",
    "RouteEmailFrom": "ml@example.com",
}


def _routed() -> dict[str, Any]:
    return for_role(yaml_parse((ROOT / "template.yaml").read_text()), ROUTED | {"RouteEmailDomains": "example.com"})


def test_email_routes_send_only_from_the_sender_to_the_allowed_domains() -> None:
    for name in ("ScanFunction", "ModelMonitorFunction", "RemediateFunction"):
        ses = _by_sid(_routed()["Resources"][name], "SendEmailRoutesFromTheConfiguredIdentity")
        assert ses["Condition"]["StringEquals"] == {"ses:FromAddress": {"Ref": "RouteEmailFrom"}}, name
        assert "ses:Recipients" in ses["Condition"]["ForAllValues:StringLike"], name
    rule = yaml_parse((ROOT / "template.yaml").read_text())["Rules"]["EmailRoutesNeedAllowedDomains"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "RouteEmailDomains"}, ""]}]}


def test_routes_publish_only_to_this_accounts_sagewatch_topics() -> None:
    for name in ("ScanFunction", "ModelMonitorFunction", "RemediateFunction"):
        grant = _by_sid(_routed()["Resources"][name], "SendToSagewatchTopicsOfThisAccountAndSlackSecretsNamedSagewatch")
        topics = [r for r in grant["Resource"] if ":sns:" in json.dumps(r)]
        assert topics == [{"Fn::Sub": "arn:${AWS::Partition}:sns:*:${AWS::AccountId}:sagewatch-*"}], name


def test_the_protect_tag_denies_every_change_to_a_tagged_resource() -> None:
    remediate = yaml_parse((ROOT / "template.yaml").read_text())["Resources"]["RemediateFunction"]
    deny = _by_sid(remediate, "NeverTouchProtectedResources")
    assert deny["Effect"] == "Deny"
    allowed = {a for s in _statements(remediate) if s.get("Effect") == "Allow" for a in _actions(s)}
    changes = {
        a
        for a in allowed
        if a.split(":")[0] in ("sagemaker", "application-autoscaling")
        and a.split(":")[1].startswith(("Delete", "Update", "Register", "Put", "Add"))
    }
    # every action that changes an existing (tagged) resource is denied on a protected one; Create* makes new ones
    assert changes and changes <= set(deny["Action"]), changes - set(deny["Action"])
    resources = json.dumps(deny["Resource"])
    assert all(part in resources for part in ("endpoint/*", "inference-component/*", "scalable-target/*"))
    assert "sagemaker:DeleteTags" in deny["Action"]  # the tag cannot be taken off by this role either


def _actions(statement: dict[str, Any]) -> list[str]:
    listed = statement.get("Action", [])
    return listed if isinstance(listed, list) else [listed]


def test_only_the_remediation_role_writes_snapshots_seals_and_audit() -> None:
    policy = translate(role="standalone")["Resources"]["RemediationBucketPolicy"]["Properties"]["PolicyDocument"]
    deny = next(s for s in policy["Statement"] if s.get("Sid") == "OnlyRemediationWritesSnapshotsSealsAndAudit")
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:PutObject"
    assert {json.dumps(r) for r in deny["Resource"]} == {
        json.dumps({"Fn::Sub": "${RemediationBucket.Arn}/" + prefix + "/*"})
        for prefix in ("snapshots", "seals", "audit")
    }
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": {"Fn::GetAtt": ["RemediateFunctionRole", "Arn"]}}}


def test_the_chatbot_channel_reads_metrics_and_alarms_only() -> None:
    given = {"Role": "standalone", "SlackWorkspaceId": "T0123", "SlackChannelId": "C0123"}
    resources = for_role(yaml_parse((ROOT / "template.yaml").read_text()), given)["Resources"]
    role = resources["ChatbotRole"]["Properties"]
    assert "ManagedPolicyArns" not in role  # no CloudWatchReadOnlyAccess (logs:FilterLogEvents, StartQuery...)
    granted = {a for s in _statements(resources["ChatbotRole"]) for a in _actions(s)}
    assert granted and all(
        (a.startswith("cloudwatch:") and ":Describe" in a) or ":Get" in a or ":List" in a for a in granted
    )
    guardrail = resources["ChatbotGuardrail"]["Properties"]["PolicyDocument"]["Statement"]
    assert {a for s in guardrail for a in _actions(s)} == granted
    channel = resources["ChatbotSlackChannel"]["Properties"]
    assert channel["GuardrailPolicies"] == [{"Ref": "ChatbotGuardrail"}] and channel["UserRoleRequired"] is True
    relaxed = for_role(yaml_parse((ROOT / "template.yaml").read_text()), given | {"ChatbotUserRoleRequired": "false"})
    assert relaxed["Resources"]["ChatbotSlackChannel"]["Properties"]["UserRoleRequired"] is False


def test_silent_members_page_when_the_digest_cannot_even_count_them() -> None:
    alarm = translate(role="central")["Resources"]["SilentMembersAlarm"]["Properties"]
    assert alarm["TreatMissingData"] == "breaching" and alarm["MetricName"] == "SilentMembers"


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}


def _allows(role: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [
        st
        for policy in role["Properties"].get("Policies", [])
        for st in policy["PolicyDocument"]["Statement"]
        if st.get("Effect") == "Allow" and action in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    ]


def test_reserve_concurrency_false_reserves_nothing_and_locks_the_scan_instead() -> None:
    """New accounts (the 10-execution quota) cannot reserve concurrency: ReserveConcurrency=false leaves it out of
    every function; the scan then takes lock#scan in its state table, with a grant for that one item only."""
    reserved = translate(role="standalone")
    functions = _functions(reserved)
    reserving = {
        n: f["Properties"]["ReservedConcurrentExecutions"] for n, f in functions.items() if "Reserved" in str(f)
    }
    assert reserving == dict.fromkeys(
        ["ScanFunction", "RemediateFunction", "WeeklyReportFunction", "CatalogRefreshFunction"], 1
    )
    scan_env = functions["ScanFunction"]["Properties"]["Environment"]["Variables"]
    assert scan_env["SAGEWATCH_SCAN_LOCK"] == "false"
    assert _allows(reserved["Resources"]["ScanFunctionRole"], "dynamodb:PutItem") == []

    unreserved = translate(role="readonly")
    functions = _functions(unreserved)
    assert [n for n, f in functions.items() if "ReservedConcurrentExecutions" in f["Properties"]] == []
    assert functions["ScanFunction"]["Properties"]["Environment"]["Variables"]["SAGEWATCH_SCAN_LOCK"] == "true"
    [grant] = _allows(unreserved["Resources"]["ScanFunctionRole"], "dynamodb:PutItem")
    assert sorted(grant["Action"]) == ["dynamodb:DeleteItem", "dynamodb:PutItem"]
    assert grant["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["lock#scan"]}}


def test_chatbot_with_remediation_gets_a_dry_run_button() -> None:
    """The channel's custom action invokes the remediation function with the notification's request (a plan,
    always); the channel role and the guardrail may invoke that function alone, and members must act with their
    own roles (a template rule): a channel role everyone shares could type a real run."""
    resources = translate(role="standalone")["Resources"]
    action = resources["ChatDryRunAction"]["Properties"]
    assert action["Definition"]["CommandText"]["Fn::Sub"] == (
        'lambda invoke --function-name ${RemediateFunction.Arn} --payload {"chat_request":"$request"}'
    )
    [attachment] = action["Attachments"]
    assert attachment["ButtonText"] == "Dry run" and attachment["NotificationType"] == "Custom"
    assert attachment["Criteria"] == [{"Operator": "HAS_VALUE", "VariableName": "request"}]
    assert attachment["Variables"] == {"request": "event.metadata.additionalContext.request"}
    channel = resources["ChatbotSlackChannel"]["Properties"]
    assert channel["CustomizationResourceArns"] == [{"Fn::GetAtt": ["ChatDryRunAction", "CustomActionArn"]}]
    assert channel["UserRoleRequired"] is True
    invoking = []
    for name in ("ChatbotRole", "ChatbotGuardrail"):
        props = resources[name]["Properties"]
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])] or [props["PolicyDocument"]]
        for doc in documents:
            invoking += [(name, st["Resource"]) for st in doc["Statement"] if "lambda:" in str(st["Action"])]
    assert invoking == [(n, {"Fn::GetAtt": ["RemediateFunction", "Arn"]}) for n in ("ChatbotRole", "ChatbotGuardrail")]
    rule = yaml_parse((ROOT / "template.yaml").read_text())["Rules"]["ChatbotWithRemediationNeedsUserRoles"]
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": [{"Ref": "ChatbotUserRoleRequired"}, "true"]}
    # without remediation, or without Chatbot: no button
    for role_name in ("readonly", "member"):
        assert "ChatDryRunAction" not in translate(role=role_name)["Resources"]


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def test_the_slack_app_exists_only_with_its_secret_approvers_and_remediation() -> None:
    """Its URL is public (Slack calls it) and its role may invoke the remediation function and itself, keep
    tokens under slack-token#*, read its signing secret: nothing else."""
    routed = translate(role="routed")
    resources, outputs = routed["Resources"], routed["Outputs"]
    assert resources["SlackActionsFunctionUrl"]["Properties"]["AuthType"] == "NONE"
    assert "SlackActionsUrl" in outputs
    env = resources["SlackActionsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SAGEWATCH_SLACK_APPROVERS"] == {"Ref": "SlackApprovers"}
    assert routed["Parameters"]["SlackFourEyes"]["Default"] == "true"
    permissions = {
        r["Properties"]["Action"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"].get("Principal") == "*"
    }
    assert permissions["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    assert permissions["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True
    notifier = resources["SlackNotifierFunction"]["Properties"]["Environment"]["Variables"]
    assert notifier["SAGEWATCH_SLACK_ACTIONS"] == "true"
    role = resources["SlackActionsFunctionRole"]["Properties"]
    statements = [st for p in role["Policies"] for st in p["PolicyDocument"]["Statement"]]
    actions = sorted(a for st in statements for a in _listed(st["Action"]))
    assert actions == sorted(
        ["secretsmanager:GetSecretValue", "lambda:InvokeFunction", "lambda:InvokeFunction", "dynamodb:GetItem",
         "dynamodb:PutItem", "dynamodb:DeleteItem", "kms:GenerateDataKey*", "kms:Decrypt"]
    )  # fmt: skip
    [tokens] = [st for st in statements if st["Sid"] == "ApplyTokensOnly"]
    assert tokens["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["slack-token#*"]}}
    for role_name in ("standalone", "readonly", "member", "central"):
        assert "SlackActionsFunction" not in translate(role=role_name)["Resources"], role_name
    rules = yaml_parse((ROOT / "template.yaml").read_text())["Rules"]["SlackButtonsNeedApprovers"]["Assertions"]
    assert len(rules) == 4  # approvers, the notifier, remediation, reserved concurrency


def _rule_value(node: Any, params: dict[str, str]) -> Any:
    """A template Rule's intrinsic, evaluated as CloudFormation does for these parameter values."""
    if isinstance(node, dict) and len(node) == 1:
        ((fn, arg),) = node.items()
        if fn == "Ref":
            return params[arg]
        if fn == "Fn::Equals":
            return _rule_value(arg[0], params) == _rule_value(arg[1], params)
        if fn == "Fn::Not":
            return not _rule_value(arg[0], params)
        if fn == "Fn::And":
            return all(_rule_value(a, params) for a in arg)
    return node


def _broken_rules(changes: dict[str, str]) -> list[str]:
    template = yaml_parse((ROOT / "template.yaml").read_text())
    params = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()} | changes
    broken = []
    for name, rule in template["Rules"].items():
        if "RuleCondition" in rule and not _rule_value(rule["RuleCondition"], params):
            continue
        broken += [
            f"{name}: {a['AssertDescription']}" for a in rule["Assertions"] if not _rule_value(a["Assert"], params)
        ]
    return broken


def test_the_slack_apps_public_url_is_refused_without_reserved_concurrency() -> None:
    slack_app = {
        "SlackSigningSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:sagewatch/signing-AbCdEf",
        "SlackWebhookSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:sagewatch/slack-AbCdEf",
        "SlackApprovers": "U0123ABCD",
        "Remediation": "enabled",
    }
    assert _broken_rules(slack_app) == []
    [broken] = _broken_rules(slack_app | {"ReserveConcurrency": "false"})
    assert broken.startswith("SlackButtonsNeedApprovers: the Slack app's public URL needs reserved concurrency")
    assert _broken_rules({"ReserveConcurrency": "false"}) == []  # no Slack app: no public URL
