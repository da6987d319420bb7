"""The remediation planner and request validation (pure)."""

import pytest
from pydantic import ValidationError

from sagewatch.catalog import Catalog
from sagewatch.remediation import (
    Call,
    LiveEndpoint,
    RemediationError,
    RemediationRequest,
    Wait,
    derived_config,
    describe_validation_error,
    plan_action,
    stale_reasons,
)
from sagewatch_testkit.builders import NOW

CATALOG = Catalog.load()


def live(variants=(("AllTraffic", "ml.m5.4xlarge", 3),), *, is_async=False, tags=None, extra_config=None):
    description = {
        "EndpointName": "ep",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/ep",
        "EndpointConfigName": "ep-config",
        "EndpointStatus": "InService",
        "ProductionVariants": [{"VariantName": n, "CurrentInstanceCount": c} for n, _, c in variants],
    }
    config = {
        "EndpointConfigName": "ep-config",
        "EndpointConfigArn": "arn:x",
        "CreationTime": NOW,
        "ProductionVariants": [
            {"VariantName": n, "ModelName": "m", "InstanceType": t, "InitialInstanceCount": c} for n, t, c in variants
        ],
        "DataCaptureConfig": {
            "EnableCapture": True,
            "DestinationS3Uri": "s3://capture/",
            "InitialSamplingPercentage": 20,
            "CaptureOptions": [{"CaptureMode": "Input"}],
        },
        **(extra_config or {}),
    }
    if is_async:
        config["AsyncInferenceConfig"] = {"OutputConfig": {"S3OutputPath": "s3://out/"}}
    return LiveEndpoint(description, config, tags or {})


def req(**kw):
    return RemediationRequest.model_validate({"endpoint": "ep", **kw})


def ops(plan) -> list[str]:
    return [s.operation if isinstance(s, Call) else f"wait {s.until}" for s in plan.calls]


def test_resize_plan_is_its_calls_and_keeps_the_rest_of_the_config():
    p = plan_action(
        req(action="resize-variant", variant="AllTraffic", instance_type="ml.r5.xlarge"), live(), CATALOG, NOW
    )
    assert p.before == {
        "AllTraffic": {"instance_type": "ml.m5.4xlarge", "instance_count": 3, "serverless": False, "scaling": None}
    }
    assert p.after["AllTraffic"]["instance_type"] == "ml.r5.xlarge" and p.after["AllTraffic"]["instance_count"] == 3
    assert p.monthly_cost_change_usd == round((0.302 - 0.922) * 3 * 730, 2)
    assert ops(p) == ["CreateEndpointConfig", "UpdateEndpoint"]
    create, update = p.calls
    assert isinstance(create, Call) and isinstance(update, Call)
    config = create.params
    assert config["EndpointConfigName"].startswith("ep-config-sw-") and len(config["EndpointConfigName"]) <= 63
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 20  # carried over
    assert "EndpointConfigArn" not in config and "CreationTime" not in config
    # the count does not change: every variant keeps its live count
    assert update.params == {
        "EndpointName": "ep",
        "EndpointConfigName": config["EndpointConfigName"],
        "RetainAllVariantProperties": True,
    }
    assert "restore-endpoint" in p.rollback and "back to ep-config" in p.rollback


def test_planning_twice_gives_the_same_calls_and_digest():
    request = req(action="resize-variant", variant="AllTraffic", instance_type="ml.r5.xlarge")
    a = plan_action(request, live(), CATALOG, NOW)
    b = plan_action(request, live(), CATALOG, NOW.replace(year=2030))  # another minute, the same plan
    assert a.calls == b.calls and a.digest == b.digest
    other = plan_action(req(action="resize-variant", variant="AllTraffic", instance_count=2), live(), CATALOG, NOW)
    assert other.digest != a.digest


def test_a_config_that_exists_already_under_its_name_is_not_created_again():
    request = req(action="resize-variant", variant="AllTraffic", instance_type="ml.r5.xlarge")
    name = plan_action(request, live(), CATALOG, NOW).new_config["EndpointConfigName"]
    ep = live()
    again = plan_action(request, LiveEndpoint(ep.description, ep.config, {}, configs=frozenset({name})), CATALOG, NOW)
    assert ops(again) == ["UpdateEndpoint"]


def test_derived_config_drops_empty_structures_and_long_names_fit():
    config = {**live().config, "DataCaptureConfig": {}, "KmsKeyId": None, "EndpointConfigName": "c" * 63}
    doc = derived_config(config, "AllTraffic", instance_count=2)
    assert "DataCaptureConfig" not in doc and "KmsKeyId" not in doc
    assert len(doc["EndpointConfigName"]) <= 63
    # a config derived from a derived one does not grow its name
    assert derived_config(doc, "AllTraffic", instance_count=3)["EndpointConfigName"].count("-sw-") == 1


def test_remove_the_only_variant_is_refused():
    with pytest.raises(RemediationError, match="only variant of ep: use delete-endpoint"):
        plan_action(req(action="remove-variant", variant="AllTraffic"), live(), CATALOG, NOW)


def test_unknown_variant_and_ambiguous_variant():
    two = live((("a", "ml.m5.large", 1), ("b", "ml.m5.large", 1)))
    with pytest.raises(RemediationError, match="has no variant 'c'"):
        plan_action(req(action="remove-variant", variant="c"), two, CATALOG, NOW)
    with pytest.raises(RemediationError, match="has 2 variants: name one"):
        plan_action(
            req(action="scale-to-zero"),
            live((("a", "ml.m5.large", 1), ("b", "ml.m5.large", 1)), is_async=True),
            CATALOG,
            NOW,
        )


def test_resize_to_what_it_already_is_is_refused():
    with pytest.raises(RemediationError, match=r"already runs 3 x ml\.m5\.4xlarge"):
        plan_action(req(action="resize-variant", variant="AllTraffic", instance_count=3), live(), CATALOG, NOW)


def test_delete_plan_deletes_components_waits_for_them_then_the_endpoint():
    components = [{"InferenceComponentName": n, "VariantName": "AllTraffic"} for n in ("ic-1", "ic-2")]
    ep = LiveEndpoint(live().description, live().config, {}, components)
    p = plan_action(req(action="delete-endpoint"), ep, CATALOG, NOW)
    assert ops(p) == [
        "DeleteInferenceComponent",
        "DeleteInferenceComponent",
        "wait gone",
        "wait gone",
        "DeleteEndpoint",
    ]
    assert [s.name for s in p.calls if isinstance(s, Wait)] == ["ic-1", "ic-2"]
    assert p.after == {} and p.monthly_cost_after_usd == 0.0
    # its undo: once the endpoint is gone, recreate it, then (once InService) the components
    assert [s.operation if isinstance(s, Call) else s.until for s in p.undo] == [
        "gone",
        "CreateEndpoint",
        "InService",
        "CreateInferenceComponent",
        "CreateInferenceComponent",
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"action": "remove-variant"}, "remove-variant needs variant"),
        ({"action": "resize-variant", "variant": "v"}, "needs instance_type and/or instance_count"),
        ({"action": "set-instance-count", "variant": "v"}, "set-instance-count needs instance_count"),
        ({"action": "restore-endpoint"}, "restore-endpoint needs snapshot"),
        ({"action": "delete-endpoint", "instance_count": 2}, "delete-endpoint takes no instance_count"),
        ({"action": "delete-endpoint", "snapshot": "snapshots/x"}, "takes a snapshot only to resume"),
        ({"action": "delete-endpoint", "resume_from": 2}, "resume_from needs snapshot"),
        ({"action": "resize-variant", "variant": "v", "instance_count": 2, "min_capacity": 2}, "together"),
        ({"action": "set-scaling-limits", "variant": "v", "min_capacity": 3, "max_capacity": 2}, "is above"),
        ({"action": "delete-endpoint", "expect": {"plan_digest": "x"}}, "expect.plan_digest: String should match"),
        ({"action": "explode"}, "action: Input should be"),
        ({"action": "delete-endpoint", "dry_run": "no"}, "dry_run: Input should be a valid boolean"),
        ({"action": "delete-endpoint", "request_id": "x"}, "request_id: String should match pattern"),
        ({"action": "delete-endpoint", "endpoint": "bad name!"}, "endpoint: String should match pattern"),
        ({"action": "delete-endpoint", "confrim": "ep"}, "confrim: Extra inputs are not permitted"),
    ],
)
def test_bad_requests_are_named(fields, message):
    with pytest.raises(ValidationError) as exc:
        RemediationRequest.model_validate({"endpoint": "ep", **fields})
    assert message in describe_validation_error(exc.value)


def test_stale_reasons():
    ep = live()
    r = req(action="delete-endpoint", expect={"instance_type": "ml.m5.xlarge", "instance_count": 3, "idle": True})
    assert stale_reasons(r, ep, invocations=12.0) == [
        "instance type is now ml.m5.4xlarge, the finding saw ml.m5.xlarge",
        "it is no longer idle: 12 invocations since the finding's window began",
    ]
    ok = req(action="delete-endpoint", expect={"instance_type": "ml.m5.4xlarge", "instance_count": 3, "idle": True})
    assert stale_reasons(ok, ep, invocations=0.0) == []


def test_protect_tag():
    assert live(tags={"sagewatch:protect": "TRUE"}).protected
    assert not live(tags={"sagewatch:protect": "no"}).protected


# --- remove-provisioned-concurrency ----------------------------------------------------------------
# Shapes from the API reference: DescribeEndpointConfig's ProductionVariants[].ServerlessConfig and
# DescribeEndpoint's ProductionVariants[].CurrentServerlessConfig (MemorySizeInMB, MaxConcurrency,
# ProvisionedConcurrency).


def serverless_live(provisioned=5, *, targets=()):
    serverless = {"MemorySizeInMB": 4096, "MaxConcurrency": 20, "ProvisionedConcurrency": provisioned}
    description = {
        "EndpointName": "ep",
        "EndpointConfigName": "ep-config",
        "EndpointStatus": "InService",
        "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentServerlessConfig": dict(serverless)}],
    }
    config = {
        "EndpointConfigName": "ep-config",
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m", "ServerlessConfig": serverless}],
        "KmsKeyId": "arn:aws:kms:us-east-1:1:key/k",
    }
    return LiveEndpoint(description, config, {}, scalable_targets=list(targets))


def test_remove_provisioned_concurrency_keeps_the_serverless_config_and_prices_the_saving():
    priced = CATALOG.with_provisioned_concurrency_rate(0.0000048)
    p = plan_action(req(action="remove-provisioned-concurrency"), serverless_live(5), priced, NOW)
    assert p.variant == "AllTraffic" and p.after["AllTraffic"]["provisioned_concurrency"] == 0
    assert p.monthly_cost_before_usd == round(5 * 4 * 0.0000048 * 3600 * 730, 2)
    assert p.monthly_cost_after_usd == 0.0
    variant = p.new_config["ProductionVariants"][0]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 4096, "MaxConcurrency": 20}
    assert p.new_config["KmsKeyId"] and p.new_config["EndpointConfigName"] != "ep-config"
    update = p.calls[-1]
    assert isinstance(update, Call) and update.params["RetainAllVariantProperties"] is True
    # the live config the plan was made from is untouched (a dry run must not change what it read)
    assert serverless_live().config["ProductionVariants"][0]["ServerlessConfig"]["ProvisionedConcurrency"] == 5


def test_remove_provisioned_concurrency_without_a_rate_is_planned_unpriced():
    p = plan_action(req(action="remove-provisioned-concurrency"), serverless_live(5), CATALOG, NOW)
    assert p.monthly_cost_before_usd is None and p.monthly_cost_change_usd is None


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (serverless_live(0), "there is none to remove"),
        (live(), "there is none to remove"),
        (
            serverless_live(
                5,
                targets=[
                    {
                        "ResourceId": "endpoint/ep/variant/AllTraffic",
                        "ScalableDimension": "sagemaker:variant:DesiredProvisionedConcurrency",
                        "MinCapacity": 1,
                        "MaxCapacity": 10,
                    }
                ],
            ),
            "deregister its scalable target",
        ),
    ],
    ids=["no-provisioned-concurrency", "instance-endpoint", "auto-scaled-concurrency"],
)
def test_remove_provisioned_concurrency_refusals(endpoint, message):
    with pytest.raises(RemediationError, match=message):
        plan_action(req(action="remove-provisioned-concurrency"), endpoint, CATALOG, NOW)


def test_remove_provisioned_concurrency_on_an_instance_variant_is_refused():
    with pytest.raises(RemediationError, match="not serverless"):
        plan_action(req(action="remove-provisioned-concurrency", variant="AllTraffic"), live(), CATALOG, NOW)


def test_remove_provisioned_concurrency_takes_no_instance_fields():
    with pytest.raises(ValidationError, match="takes no instance_count"):
        req(action="remove-provisioned-concurrency", instance_count=1)


def test_the_request_schema_is_the_requests_own_and_its_actions_the_registrys():
    """schemas/remediation-request.schema.json is written from the request model (`make docs` rewrites it): an
    action added to the registry is in its enum, and a request it accepts validates."""
    import json
    from importlib import resources

    import jsonschema

    from sagewatch.remediation import ACTIONS, request_schema

    stored = json.loads(resources.files("sagewatch.schemas").joinpath("remediation-request.schema.json").read_text())
    assert stored == json.loads(json.dumps(request_schema(), sort_keys=True))
    assert stored["properties"]["action"]["enum"] == list(ACTIONS)
    jsonschema.validate(req(action="resize-variant", variant="AllTraffic", instance_count=2).model_dump(), stored)
