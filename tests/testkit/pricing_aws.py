"""The Price List API, which moto lacks (a call to it answered HTTP 500 after a minute of retries): GetProducts
for SageMaker's hosting prices, so that `sagewatch catalog refresh` works against the test kit as against AWS.

A moto service of its own (`moto.pricing`), answering us-east-1's SageMaker hosting prices: every instance type
of the bundled catalog (whose prices are us-east-1's), each written in the shape of the real-shaped entry in
tests/fixtures/price-list/ (its provenance beside it), so that a refresh reproduces the bundled catalog; with
the rules the Price List API applies
("GetProducts", AWS Price List API reference): `ServiceCode` required, `TERM_MATCH` filters on the products'
attributes, MaxResults 1-100 and NextToken; a region the fixtures have no prices for answers an empty PriceList,
as the API does for a region without the service. It answers in us-east-1 (and two other regions) only.
"""

from __future__ import annotations

import json
import re
import sys
import types
from functools import cache
from pathlib import Path
from typing import Any

# api.pricing.REGION.amazonaws.com for a client, pricing.REGION.amazonaws.com where moto's server rebuilds the host
URL = r"https?://(?:api\.)?pricing\.(.+)\.amazonaws\.com"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "price-list"
ENDPOINT_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")  # where the Price List API answers

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from moto import backend_index
    from moto.core.base_backend import BackendDict, BaseBackend

    class PricingBackend(BaseBackend):
        @property
        def urls(self) -> dict[str, Any]:  # mock_aws: full URLs
            return {f"{URL}/$": _dispatch}

        @property
        def url_paths(self) -> dict[str, Any]:  # moto's server: paths
            return {"/": _dispatch}

    module = types.ModuleType("moto.pricing")
    module.pricing_backends = BackendDict(PricingBackend, "pricing")  # type: ignore[attr-defined]
    sys.modules["moto.pricing"] = module
    if not any(name == "pricing" for name, _ in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append(("pricing", re.compile(URL)))
    _installed = True


@cache
def _products() -> tuple[str, ...]:
    """us-east-1's SageMaker hosting products (Price List JSON strings): the bundled catalog's instance types in
    the fixture entry's shape (its attribute names, its OnDemand term and Hrs dimension)."""
    from sagewatch.catalog import Accelerator, Catalog

    fixture = json.loads((FIXTURES / "get-products-us-east-1.json").read_text())
    template = json.loads(fixture["PriceList"][0])
    out = []
    for i, spec in enumerate(Catalog.load()):
        entry = json.loads(json.dumps(template))
        sku = f"SWTK{i:012d}"
        gpus = spec.accelerator_count if spec.accelerator is not Accelerator.CPU else 0
        entry["product"]["sku"] = sku
        entry["product"]["attributes"] |= {
            "instanceName": spec.instance_type,
            "vCpu": str(spec.vcpu),
            "memory": f"{spec.memory_gib:g} GiB",
            "gpu": str(gpus) if gpus else "NA",
            "gpuMemory": f"{spec.accelerator_memory_gib / gpus:g} GB" if gpus else "NA",
            "usagetype": f"USE1-Host:{spec.instance_type}",
        }
        [(term_code, term)] = template["terms"]["OnDemand"].items()
        [(rate_code, dimension)] = term["priceDimensions"].items()
        offer = term_code.split(".", 1)[1]
        rate = f"{sku}.{offer}.{rate_code.rsplit('.', 1)[1]}"
        dimension = dimension | {
            "rateCode": rate,
            "description": f"${spec.price_per_hour_usd} per Hosting {spec.instance_type} hour in US East (N. Virginia)",
            "pricePerUnit": {"USD": f"{spec.price_per_hour_usd:.10f}"},
        }
        entry["terms"]["OnDemand"] = {f"{sku}.{offer}": term | {"sku": sku, "priceDimensions": {rate: dimension}}}
        out.append(json.dumps(entry))
    return tuple(out)


def _matches(product: str, filters: list[dict[str, Any]], service: str) -> bool:
    attributes = json.loads(product).get("product", {}).get("attributes", {})
    if attributes.get("servicecode") != service:
        return False
    return all(str(attributes.get(f.get("Field"))) == str(f.get("Value")) for f in filters)


def _dispatch(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
    from moto.core.responses import BaseResponse

    call = BaseResponse(service_name="pricing")
    call.setup_class(request, full_url, headers)
    target = str(headers.get("X-Amz-Target") or "")
    match = re.match(URL, full_url)
    region = match.group(1) if match else call.region
    if region not in ENDPOINT_REGIONS:
        return _error("UnrecognizedClientException", f"the Price List API has no endpoint in {region}")
    if not target.endswith(".GetProducts"):
        return _error("InvalidParameterException", f"{target} is not modelled by the test kit")
    params = json.loads(call.body or "{}")
    if not params.get("ServiceCode"):
        return _error("InvalidParameterException", "ServiceCode is required")
    filters = params.get("Filters") or []
    if any(f.get("Type") != "TERM_MATCH" for f in filters):
        return _error("InvalidParameterException", "only TERM_MATCH filters are valid")
    size = int(params.get("MaxResults") or 100)
    if not 1 <= size <= 100:
        return _error("InvalidParameterException", "MaxResults must be 1-100")
    found = [p for p in _products() if _matches(p, filters, str(params["ServiceCode"]))]
    offset = int(params["NextToken"]) if re.fullmatch(r"\d+", str(params.get("NextToken", ""))) else 0
    page: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": found[offset : offset + size]}
    if offset + size < len(found):
        page["NextToken"] = str(offset + size)
    return 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(page)


def _error(code: str, message: str) -> tuple[int, dict[str, str], str]:
    return 400, {"x-amzn-ErrorType": code}, json.dumps({"__type": code, "Message": message})
