"""Endpoint tags read in pages (Resource Groups Tagging API `GetResources`) instead of one `ListTags` each,
without ever missing a `sagewatch:ignore`: an endpoint absent from the tagging answer (never tagged, or not
there yet: the API is eventually consistent) or created within the hour gets its own `ListTags`, and a
failed `GetResources` sends every endpoint back to `ListTags`.

moto 5.2.5's tagging API does list SageMaker endpoints (with their tags; untagged ones are left out, as
AWS documents for resources that never had a tag), so no extension is needed here.
"""

from datetime import timedelta

from sagewatch_testkit import faults, fleet, moto_ext

REGION = moto_ext.DEFAULT_REGION


def seeded(sm, now, *, young=()):
    sims = [
        fleet.SimEndpoint(
            f"tagged-{i}",
            [fleet.SimVariant("AllTraffic", "ml.m5.large", 1, fleet.flat(10), cpu=30, memory=30)],
            tags={"team": f"t{i}"},
        )
        for i in range(5)
    ]
    sims.append(
        fleet.SimEndpoint(
            "ignored-by-tag",
            [fleet.SimVariant("AllTraffic", "ml.m5.2xlarge", 1)],
            tags={"sagewatch:ignore": "true"},
        )
    )
    sims.append(fleet.SimEndpoint("never-tagged", [fleet.SimVariant("AllTraffic", "ml.m5.large", 1, fleet.flat(10))]))
    fleet.seed(sm, sims, region=REGION, now=now)
    for name in young:
        moto_ext.set_endpoint_times(REGION, name, now - timedelta(minutes=30))
    return sims


def test_tags_come_in_pages_and_only_untagged_endpoints_are_asked_alone(harness, sm, now):
    seeded(sm, now)
    report = harness.scan(now)
    assert harness.calls["GetResources"] == 1
    assert harness.calls["ListTags"] == 1  # never-tagged: absent from the tagging answer
    assert [s.endpoint for s in report.skipped] == ["ignored-by-tag"]
    assert report.endpoints == 6 and report.errors == []


def test_an_endpoint_younger_than_an_hour_is_asked_alone(harness, sm, now):
    seeded(sm, now, young=("tagged-0", "ignored-by-tag"))
    report = harness.scan(now)
    assert harness.calls["ListTags"] == 3  # the two young ones, and never-tagged
    assert "ignored-by-tag" in [s.endpoint for s in report.skipped]


def test_a_tagging_api_failure_falls_back_to_list_tags_and_says_so(harness, sm, now):
    seeded(sm, now)
    faults.fail_call(harness.clients.tagging(), "GetResources", "AccessDeniedException", "not allowed")
    report = harness.scan(now)
    assert harness.calls["ListTags"] == 7  # every InService endpoint, the ignored one included
    assert [s.endpoint for s in report.skipped] == ["ignored-by-tag"]  # the ignore tag is still honoured
    [error] = report.errors
    assert error.operation == "GetResources" and error.code == "AccessDeniedException"
    assert "ListTags" in error.message
