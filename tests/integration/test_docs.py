"""The documentation stays true: every example in README.md and docs/ is what the code writes today (rendered
from the demo fleet by sagewatch_testkit.docs: `make docs` rewrites them), every link and anchor between the
documents resolves, and the README stays an entry point."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sagewatch_testkit import docs

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\[[^\]]+\]\(([^)\s]+)\)")


@pytest.fixture(scope="module")
def examples() -> dict[str, str]:
    return docs.render()


def test_every_example_is_what_the_code_writes(examples):
    problems = docs.differences(examples)
    assert problems == [], "\n".join([*problems, "run `make docs` to write them from the code"])


def test_the_check_fails_when_an_example_drifts(examples):
    drifted = {**examples, "demo-scan": examples["demo-scan"].replace("image-embedder", "image-embedder-v0")}
    assert docs.differences(drifted) == ["README.md: the example 'demo-scan' is not what the code writes"]
    assert "the example 'spare' appears in no document" in docs.differences({**examples, "spare": "x"})


def test_the_examples_show_what_they_claim(examples):
    """Not any text: the scan's table, a finding, the digest email, a 100-column layout, real refusals."""
    assert examples["demo-scan"].count("\nhigh ") + examples["demo-scan"].count("\nmedium ") >= 10
    assert (
        '"kind": "oversized"' in examples["report-json"]
        and '"schema": "sagewatch.scan-report/2"' in examples["report-json"]
    )
    assert examples["email"].startswith("Subject: sagewatch 123456789012/us-east-1: ")
    assert max(len(line) for line in examples["scan-narrow"].splitlines()) <= 100
    assert "(exit 2)" in examples["errors"] and '"status": "invalid"' in examples["errors"]
    assert "Traceback" not in examples["errors"]
    assert "| TakeAndGiveBackTheScanLockOnly (only with `ReserveConcurrency=false`) |" in examples["scan-permissions"]


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    out: set[str] = set()
    fence = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"^#{1,6} (.*)", line)):
            slug, n = _slug(m.group(1)), 1
            while slug in out:
                slug, n = f"{_slug(m.group(1))}-{n}", n + 1
            out.add(slug)
    return out


def _links(path: Path) -> list[str]:
    """Every link target outside code blocks (a link's text may span lines)."""
    prose, fence = [], False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence:
            prose.append(line)
    return LINK.findall("\n".join(prose))


@pytest.mark.parametrize("path", [*docs.documents(), ROOT / "SECURITY.md"], ids=lambda p: p.name)
def test_every_link_and_anchor_resolves(path):
    broken = []
    for link in _links(path):
        if re.match(r"^[a-z]+:", link):
            continue  # https:, mailto:
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        if not file.exists():
            broken.append(f"{link}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{link}: no heading with that anchor in {file.relative_to(ROOT)}")
    assert broken == [], f"{path.relative_to(ROOT)}: {broken}"


def test_the_readme_is_an_entry_point():
    """What sagewatch does, the two commands, deploy, configure, and a map of the rest: the deep sections live
    in docs/, each of which the README links to."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 320
    headings = [line[3:] for line in readme.splitlines() if line.startswith("## ")]
    assert headings[:3] == ["What the demo prints", "Deploy", "Configure"] and headings[-1] == "Documentation"
    assert readme.index("make demo") < readme.index("make test") < readme.index("## Deploy")
    linked = {Path(link.partition("#")[0]).name for link in _links(ROOT / "README.md") if link.startswith("docs/")}
    assert {p.name for p in (ROOT / "docs").glob("*.md")} <= linked
