"""Every sagewatch command the documents show (and so every one the code prints into them: their examples are
written by the code) starts with the console script `sagewatch` and parses with the CLI as it is."""

import re
import shlex
from pathlib import Path

import pytest

from sagewatch.cli import _parse

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# a synopsis or a placeholder, not a command to run as written
NOT_RUNNABLE = re.compile(r"\[|\.\.\.|\||<|\bACTION\b|\bFILE\b(?!\.)|\bNAME\b|\bR\b|\bE\b")


SUBCOMMANDS = ("scan", "report", "remediate", "catalog", "preview-notification")
COMMAND = re.compile(r"^(?:\$ )?((?:\.venv/bin/)?sagewatch (?:" + "|".join(SUBCOMMANDS) + r")\b(?! of ).*)$")
PRINTED = re.compile(r'"(?:command|resume_command)": "(sagewatch [^"]*)"')  # a finding's command, as JSON shows it


def commands() -> list[tuple[str, str]]:
    """Each command line of a code block (a block that shows an error is a demonstration of one: left out), and
    each inline `sagewatch ... --flag` span; shell redirections and comments cut off."""
    found = []
    for doc in DOCUMENTS:
        text = re.sub(r"\\\n\s*", " ", doc.read_text())  # shell line continuations
        for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
            if ": error:" in block:
                continue
            for line in block.splitlines():
                match = COMMAND.match(line.strip())
                if match:
                    found.append((doc.name, _runnable(match.group(1))))
            found += [(doc.name, printed.replace('\\"', '"')) for printed in PRINTED.findall(block)]
        for span in re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S)):
            if COMMAND.match(span) and " --" in span:
                found.append((doc.name, _runnable(span)))
    return found


def _runnable(line: str) -> str:
    return re.split(r"\s(?:#|>|\|)\s?", line, maxsplit=1)[0].strip()


def test_no_document_tells_to_run_python_dash_m():
    for doc in DOCUMENTS:
        assert not re.search(r"python -m sagewatch(?!_testkit)\b", doc.read_text()), doc.name


def test_the_documents_show_commands():
    assert len(commands()) > 20


@pytest.mark.parametrize(
    ("doc", "command"), commands(), ids=lambda v: v if isinstance(v, str) and len(v) < 60 else None
)
def test_every_documented_command_parses(doc, command):
    if NOT_RUNNABLE.search(command):
        pytest.skip("a synopsis or a placeholder")
    words = shlex.split(command)
    assert words[0] in ("sagewatch", ".venv/bin/sagewatch")
    _parse(words[1:])  # SystemExit (argparse's refusal) fails the test
