"""Every kind of finding has all it needs: its evidence schema, its sentence in every notification format, its
dashboard series (tests/unit/test_dashboard.py), its place in the finding schema's enum and its row in
docs/findings.md. No lookup falls back silently: a new kind without one of them fails here."""

import json
from importlib import resources
from pathlib import Path

import pytest

from sagewatch import evidence
from sagewatch.models import Kind
from sagewatch.notify import digest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", list(Kind))
def test_each_kind_has_its_evidence_sentence_schema_and_docs(kind):
    assert kind in evidence.BY_KIND, f"{kind.value}: no entry in sagewatch.evidence.BY_KIND"
    assert kind in digest._SENTENCES, f"{kind.value}: no sentence in sagewatch.notify.digest._SENTENCES"
    schema = json.loads(resources.files("sagewatch.schemas").joinpath("finding.schema.json").read_text())
    assert kind.value in schema["properties"]["kind"]["enum"], f"{kind.value}: not in finding.schema.json"
    assert f"| `{kind.value}` |" in (ROOT / "docs" / "findings.md").read_text(), f"{kind.value}: no row in docs"
    evidence.check(kind, {})  # its schema takes an empty evidence


def test_an_unknown_kind_is_no_silent_fallback():
    class Other:
        value = "other"

    with pytest.raises(KeyError):
        evidence.check(Other(), {})  # type: ignore[arg-type]
