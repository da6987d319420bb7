"""docs/permissions.md must list every action every function is granted in template.yaml."""

from pathlib import Path

from sagewatch_testkit.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def function_actions() -> dict[str, set[str]]:
    template = load_template()
    out = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        actions = set()
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []):
                if isinstance(statement, list):  # !If [condition, a, b]: the branch that grants (the other is NoValue)
                    [statement] = [branch for branch in statement[1:] if "Action" in branch]
                listed = statement["Action"]
                actions |= set(listed if isinstance(listed, list) else [listed])
            if "SNSPublishMessagePolicy" in policy:
                actions.add("sns:Publish")
        out[name] = actions
    return out


def test_every_granted_action_is_documented_under_its_function():
    doc = (ROOT / "docs" / "permissions.md").read_text()
    sections = {part.split(" ", 1)[0]: part for part in doc.split("\n## ")[1:]}
    functions = function_actions()
    assert set(functions) == {
        "ScanFunction",
        "ScanChunkFunction",
        "ModelMonitorFunction",
        "RemediateFunction",
        "SlackActionsFunction",
        "SlackNotifierFunction",
        "WeeklyReportFunction",
        "CatalogRefreshFunction",
        "OrgAggregatorFunction",
        "OrgDigestFunction",
        "OrgReportFunction",
    }
    for function, actions in functions.items():
        missing = sorted(a for a in actions if f"`{a}`" not in sections[function])
        assert not missing, f"docs/permissions.md does not list {missing} under {function}"


def test_only_the_remediation_function_can_change_endpoints():
    mutating = {
        "sagemaker:DeleteEndpoint",
        "sagemaker:UpdateEndpoint",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:UpdateEndpointWeightsAndCapacities",
        "sagemaker:DeleteInferenceComponent",
    }
    for function, actions in function_actions().items():
        if function != "RemediateFunction":
            assert not actions & mutating, function


def test_no_function_may_delete_an_endpoint_config():
    """AWS lets a config an endpoint runs be deleted (the endpoint can then no longer be patched or recovered:
    broken-dependency); sagewatch never does it, restore included (it creates configs, never deletes them)."""
    for function, actions in function_actions().items():
        assert "sagemaker:DeleteEndpointConfig" not in actions, function
