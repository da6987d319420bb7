"""Validate documents against the JSON Schemas the package ships."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(resources.files("sagewatch").joinpath(f"schemas/{name}").read_text())
    return doc


FINDING = _load("finding.schema.json")
REPORT = _load("scan-report.schema.json")
COST_REPORT = _load("cost-report.schema.json")
_REGISTRY = Registry().with_resources(
    [(FINDING["$id"], Resource.from_contents(FINDING)), (REPORT["$id"], Resource.from_contents(REPORT))]
)


def validate_report(doc: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError if `doc` is not a valid scan report (findings included)."""
    Draft202012Validator(REPORT, registry=_REGISTRY, format_checker=FormatChecker()).validate(doc)


def validate_finding(doc: dict[str, Any]) -> None:
    Draft202012Validator(FINDING, registry=_REGISTRY, format_checker=FormatChecker()).validate(doc)


def validate_cost_report(doc: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError if `doc` is not a valid cost report."""
    Draft202012Validator(COST_REPORT, format_checker=FormatChecker()).validate(doc)
