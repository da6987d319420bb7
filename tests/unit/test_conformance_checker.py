"""The shape check the test kit's AWS is held to (sagewatch_testkit.conformance) finds what it must: an invented
member, a missing required one, a value of another type, a string outside its enum; and passes a real answer."""

import botocore.session
import pytest

from sagewatch_testkit.conformance import Violations, check

SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
DESCRIBE_ENDPOINT = SAGEMAKER.operation_model("DescribeEndpoint").output_shape
# DescribeEndpoint's answer as the API reference shows it (API_DescribeEndpoint.html, response syntax)
REAL = {
    "EndpointName": "ep",
    "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep",
    "EndpointConfigName": "ep-config",
    "ProductionVariants": [
        {"VariantName": "AllTraffic", "CurrentInstanceCount": 2, "DesiredInstanceCount": 2, "CurrentWeight": 1.0}
    ],
    "EndpointStatus": "Updating",
    "CreationTime": 1764000000.123,
    "LastModifiedTime": 1764000100.0,
    "PendingDeploymentSummary": {
        "EndpointConfigName": "ep-config-2",
        "ProductionVariants": [{"VariantName": "AllTraffic", "DesiredInstanceCount": 2, "InstanceType": "ml.m5.large"}],
        "StartTime": 1764000100.0,
    },
}


def violations(doc):
    found = Violations()
    check(doc, DESCRIBE_ENDPOINT, "DescribeEndpoint", found, raw=True)
    return found


def test_a_real_answer_passes():
    assert violations(REAL) == []


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"Tags": [{"Key": "a", "Value": "b"}]}, "DescribeEndpoint.Tags: not a member of DescribeEndpointOutput"),
        ({"EndpointStatus": None}, "DescribeEndpoint.EndpointStatus: required by DescribeEndpointOutput, missing"),
        ({"EndpointStatus": "Sleeping"}, "'Sleeping' is not one of EndpointStatus's values"),
        ({"ProductionVariants": {"VariantName": "x"}}, "not a list"),
        ({"CreationTime": True}, "not a timestamp"),
        (
            {"ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": "2"}]},
            "CurrentInstanceCount: str '2', not a integer",
        ),
        (
            {"PendingDeploymentSummary": {"ProductionVariants": []}},
            "PendingDeploymentSummary.EndpointConfigName: required by PendingDeploymentSummary, missing",
        ),
    ],
)
def test_each_way_a_fake_can_go_wrong_is_found(change, said):
    found = violations({**REAL, **change})
    assert any(said in v for v in found), found
