"""The first deploy asks what matters first: `sam deploy --guided` asks the template's parameters in their
order, so the email comes among the first three and the organization, Slack, remediation and tuning after; the
console's groups and labels follow the same order; every documented deploy names the capabilities the template
needs (a named role needs CAPABILITY_NAMED_IAM, the SAM transform CAPABILITY_AUTO_EXPAND in a StackSet)."""

import re
import tomllib
from pathlib import Path

from sagewatch_testkit.template import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template()
PARAMETERS = list(TEMPLATE["Parameters"])
INTERFACE = TEMPLATE["Metadata"]["AWS::CloudFormation::Interface"]


def test_the_guided_deploy_asks_the_email_first_and_the_rest_after():
    assert PARAMETERS.index("AlertEmail") < 3
    first = set(PARAMETERS[:3])
    assert not first & {"Role", "Remediation", "OrganizationId", "SlackWebhookSecretArn", "IdleHours"}
    later = {n: PARAMETERS.index(n) for n in ("Role", "Remediation", "SlackWebhookSecretArn", "IdleHours")}
    assert min(later.values()) > PARAMETERS.index("AlertEmail")


def test_the_console_groups_hold_every_parameter_once_in_the_templates_order():
    grouped = [n for g in INTERFACE["ParameterGroups"] for n in g["Parameters"]]
    assert grouped == PARAMETERS
    assert INTERFACE["ParameterGroups"][0]["Label"]["default"].startswith("First deployment")
    assert set(INTERFACE["ParameterLabels"]) <= set(PARAMETERS)


def named_roles(template: dict) -> bool:
    return any(
        r.get("Type") == "AWS::IAM::Role" and "RoleName" in r.get("Properties", {})
        for r in template.get("Resources", {}).values()
    )


def documented_capabilities() -> list[tuple[str, set[str]]]:
    out = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text().replace("\\\n", " ")
        for match in re.finditer(r"--capabilities((?:\s+CAPABILITY_[A-Z_]+)+)", text):
            out.append((doc.name, set(match.group(1).split())))
    return out


def test_every_documented_deploy_names_the_capabilities_the_template_needs():
    assert named_roles(TEMPLATE)  # the member's forwarding role and the scan role are named
    found = documented_capabilities()
    assert len(found) >= 2
    for doc, capabilities in found:
        assert {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"} <= capabilities, doc
        assert "CAPABILITY_AUTO_EXPAND" in capabilities, doc  # the SAM transform, in a StackSet or packaged deploy


def test_samconfig_is_a_ready_default_environment():
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())["default"]
    deploy = config["deploy"]["parameters"]
    assert set(deploy["capabilities"].split()) == {"CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"}
    assert deploy["resolve_s3"] is True and deploy["confirm_changeset"] is True
    assert config["global"]["parameters"]["stack_name"] == "sagewatch"


def test_the_readme_gives_one_line_for_a_first_read_only_deploy():
    readme = (ROOT / "README.md").read_text()
    assert "make deploy ALERT_EMAIL=" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^deploy:.*\n(?:\t.*\n)*\t.*sam deploy .*AlertEmail=\$\(ALERT_EMAIL\)", makefile, re.M)
