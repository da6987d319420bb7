import itertools
import json

import pytest

from sagewatch.catalog import (
    HOURS_PER_MONTH,
    Accelerator,
    Catalog,
    CatalogError,
    accelerator_of,
    merge_price_list,
    spec_from_price_list_entry,
)

FAMILIES = "t2 t3 m5 m6i m7i c5 c6i c7i r5 r6i g4dn g5 g6 g6e p3 p4d p5 inf2 trn1".split()


def test_bundled_catalog_covers_the_required_families():
    catalog = Catalog.load()
    families = {spec.family for spec in catalog}
    assert set(FAMILIES) <= families
    assert catalog.region == "us-east-1" and catalog.as_of and catalog.sources


def test_bundled_catalog_is_internally_consistent():
    for spec in Catalog.load():
        assert spec.instance_type.startswith("ml.")
        assert spec.price_per_hour_usd > 0 and spec.vcpu > 0 and spec.memory_gib > 0
        assert spec.accelerator is accelerator_of(spec.instance_type)
        if spec.accelerator is Accelerator.CPU:
            assert spec.accelerator_count == 0 and spec.accelerator_memory_gib == 0
        else:
            assert spec.accelerator_count > 0 and spec.accelerator_memory_gib > 0


def test_prices_grow_with_size_within_a_family():
    by_family: dict[str, list] = {}
    for spec in Catalog.load():
        by_family.setdefault(spec.family, []).append(spec)
    for specs in by_family.values():
        specs.sort(key=lambda s: (s.vcpu, s.accelerator_count))
        for small, big in itertools.pairwise(specs):
            if big.accelerator_count == small.accelerator_count and big.vcpu > small.vcpu:
                assert big.price_per_hour_usd > small.price_per_hour_usd, (small, big)


def test_monthly_cost_is_730_hours():
    spec = Catalog.load().get("ml.m5.xlarge")
    assert spec is not None
    assert spec.monthly_cost(2) == round(spec.price_per_hour_usd * 2 * HOURS_PER_MONTH, 2)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ml.g5.xlarge", "nvidia"),
        ("ml.p4d.24xlarge", "nvidia"),
        ("ml.inf2.xlarge", "inferentia"),
        ("ml.trn1.2xlarge", "trainium"),
        ("ml.c7i.large", "cpu"),
        ("ml.m5.large", "cpu"),
    ],
)
def test_accelerator_kind_from_family(name, kind):
    assert accelerator_of(name).value == kind


def price_entry(name: str, price: str, *, vcpu="4", memory="16 GiB", gpu=None, gpu_memory=None, component="Hosting"):
    attrs = {"instanceName": name, "component": component, "vCpu": vcpu, "memory": memory, "regionCode": "eu-west-1"}
    if gpu is not None:
        attrs["gpu"] = gpu
    if gpu_memory is not None:
        attrs["gpuMemory"] = gpu_memory
    return json.dumps(
        {
            "product": {"productFamily": "ML Instance", "attributes": attrs},
            "terms": {
                "OnDemand": {"X.Y": {"priceDimensions": {"X.Y.Z": {"unit": "Hrs", "pricePerUnit": {"USD": price}}}}}
            },
        }
    )


def test_price_list_entry_parses_sizes_and_price():
    spec = spec_from_price_list_entry(
        price_entry("ml.g5.12xlarge", "7.09", vcpu="48", memory="192 GiB", gpu="4", gpu_memory="24 GB")
    )
    assert spec is not None
    assert (spec.vcpu, spec.memory_gib, spec.accelerator_count, spec.accelerator_memory_gib) == (48, 192, 4, 96)
    assert spec.price_per_hour_usd == 7.09 and spec.accelerator is Accelerator.NVIDIA


def test_price_list_entries_that_are_not_hosting_prices_are_ignored():
    assert spec_from_price_list_entry(price_entry("ml.m5.xlarge", "0.2", component="Training")) is None
    assert spec_from_price_list_entry(price_entry("ml.m5.xlarge", "0.0000000000")) is None
    assert spec_from_price_list_entry(price_entry("db.m5.xlarge", "0.2")) is None


def test_merge_keeps_only_priced_types_and_fills_blank_sizes():
    base = Catalog.load()
    entries = [price_entry("ml.m5.xlarge", "0.26"), price_entry("ml.inf2.xlarge", "1.10", gpu="NA")]
    merged = merge_price_list(base, entries, region="eu-west-1", as_of="2026-11-22")
    assert len(merged) == 2 and merged.region == "eu-west-1"
    inf2 = merged.get("ml.inf2.xlarge")
    assert inf2 is not None and inf2.accelerator_count == 1 and inf2.price_per_hour_usd == 1.10
    # round-trips through its document form
    assert Catalog.from_document(json.loads(json.dumps(merged.to_document()))).get("ml.m5.xlarge") == merged.get(
        "ml.m5.xlarge"
    )


def test_merge_refuses_an_empty_price_list():
    with pytest.raises(CatalogError, match=r"no ml\.\* hosting prices"):
        merge_price_list(Catalog.load(), [], region="eu-west-1", as_of="2026-11-22")


def test_bad_catalog_files_are_reported(tmp_path):
    bad = tmp_path / "catalog.json"
    bad.write_text("{nope")
    with pytest.raises(CatalogError, match="not JSON"):
        Catalog.load(bad)
    bad.write_text(json.dumps({"schema": "other"}))
    with pytest.raises(CatalogError, match="schema"):
        Catalog.load(bad)
    with pytest.raises(CatalogError, match="cannot read"):
        Catalog.load(tmp_path / "missing.json")


# --- newer families: sizes bundled, prices from a refresh ------------------------------------------------------

NEWER = ["ml.c7g.xlarge", "ml.m7g.2xlarge", "ml.r7g.large", "ml.p5e.48xlarge", "ml.p5en.48xlarge", "ml.trn2.48xlarge"]


@pytest.mark.parametrize("instance_type", NEWER)
def test_newer_families_have_sizes_but_no_invented_price(instance_type):
    catalog = Catalog.load()
    assert catalog.get(instance_type) is None  # never priced, never proposed
    assert instance_type not in {s.instance_type for s in catalog}
    spec = catalog.size_of(instance_type)
    assert spec is not None and spec.accelerator is accelerator_of(instance_type)


def test_graviton_families_are_arm64_and_the_accelerated_ones_have_their_devices():
    catalog = Catalog.load()
    assert all(catalog.size_of(t).arm64 for t in ("ml.c7g.xlarge", "ml.m7g.2xlarge", "ml.r7g.large"))
    p5e, trn2 = catalog.size_of("ml.p5e.48xlarge"), catalog.size_of("ml.trn2.48xlarge")
    assert (p5e.gpus, p5e.accelerator_memory_gib) == (8, 1128)
    assert (trn2.accelerator, trn2.accelerator_count, trn2.gpus) == (Accelerator.TRAINIUM, 16, 0)


def test_unpriced_types_in_use_are_named_in_a_warning():
    catalog = Catalog.load()
    [warning] = catalog.unpriced_warnings(["ml.m5.xlarge", "ml.c7g.xlarge", None, "ml.x99.mega", "ml.c7g.xlarge"])
    assert "ml.c7g.xlarge, ml.x99.mega" in warning and "catalog refresh" in warning
    assert catalog.unpriced_warnings(["ml.m5.xlarge", None]) == []


def test_a_refresh_prices_newer_families_and_keeps_the_sizes_it_leaves_blank():
    # The Price List often leaves Neuron device counts blank ("NA"): the bundled sizes fill them.
    entries = [price_entry("ml.trn2.48xlarge", "50.0", gpu="NA"), price_entry("ml.c7g.xlarge", "0.17")]
    merged = merge_price_list(Catalog.load(), entries, region="us-west-2", as_of="2026-11-28")
    trn2 = merged.get("ml.trn2.48xlarge")
    assert trn2 is not None and trn2.accelerator_count == 16 and trn2.price_per_hour_usd == 50.0
    assert merged.get("ml.c7g.xlarge") is not None and merged.unpriced_warnings(["ml.c7g.xlarge"]) == []


def test_unpriced_rows_round_trip_and_bad_prices_are_refused():
    doc = Catalog.load().to_document()
    again = Catalog.from_document(json.loads(json.dumps(doc)))
    assert again.size_of("ml.p5e.48xlarge") is not None and again.get("ml.p5e.48xlarge") is None
    row = {**doc["instances"][0], "price_per_hour_usd": 0}
    with pytest.raises(CatalogError, match="null or above 0"):
        Catalog.from_document({**doc, "instances": [row]})
    unpriced_only = [r for r in doc["instances"] if r["price_per_hour_usd"] is None]
    with pytest.raises(CatalogError, match="no priced instances"):
        Catalog.from_document({**doc, "instances": unpriced_only})


@pytest.mark.parametrize("rate", ["0.00001", -1, 0, 2, True, [1]])
def test_a_bad_provisioned_concurrency_rate_is_refused(rate):
    doc = {**Catalog.load().to_document(), "serverless": {"provisioned_concurrency_usd_per_gb_second": rate}}
    with pytest.raises(CatalogError, match="provisioned_concurrency_usd_per_gb_second"):
        Catalog.from_document(doc)


def test_provisioned_concurrency_cost_is_per_gb_second_all_month():
    priced = Catalog.load().with_provisioned_concurrency_rate(0.000005)
    assert priced.provisioned_concurrency_monthly_cost(3072, 2) == round(2 * 3 * 0.000005 * 3600 * 730, 2)
    assert priced.provisioned_concurrency_monthly_cost(3072, 0) == 0.0
    assert Catalog.load().provisioned_concurrency_monthly_cost(3072, 2) is None
    assert Catalog.from_document(priced.to_document()).provisioned_concurrency_usd_per_gb_second == 0.000005
