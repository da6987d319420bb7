"""`make docs`: every example in README.md and docs/*.md is produced by the code, from the demo fleet.

    python -m sagewatch_testkit.docs --write    # rewrite the examples in place
    python -m sagewatch_testkit.docs --check    # exit 1 naming each example that differs (the docs test does this)

An example sits between markers, in a fenced block the generator owns (or bare, for a markdown table):

    <!-- example: demo-scan -->
    ```text
    ...
    ```
    <!-- /example -->

Everything runs in-process: an embedded moto seeded with the demo fleet (and the latency showcase, CloudTrail's
records, a Model Monitor run) at a fixed instant, the clock frozen there (time-machine), so that the same code
writes the same text on any day. Examples run in a fixed order against one backend and one CLI cache (the second
scan reads the owners the first one looked up, as a user's would).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC
REGION = "us-east-1"
# the body in a fenced block (text, json), or bare markdown (a table) when the marker holds no fence
MARK = re.compile(
    r"<!-- example: (?P<name>[a-z0-9-]+) -->\n(?P<fence>```(?P<lang>[a-z]*)\n)?(?P<body>.*?)(?(fence)```\n)"
    r"<!-- /example -->",
    re.S,
)


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass
class Run:
    argv: list[str]
    code: int
    out: str
    err: str


class Demo:
    """The demo fleet in an embedded moto, the clock frozen at FIXED; `cli` runs the real CLI against it."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Demo:
        import boto3
        import time_machine
        from moto import mock_aws

        from sagewatch_testkit import fleet, moto_ext

        cache = self._stack.enter_context(tempfile.TemporaryDirectory())
        self._stack.enter_context(_environment(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
                "XDG_CACHE_HOME": cache,
                "COLUMNS": None,
                "AWS_PROFILE": None,
                "AWS_ENDPOINT_URL": None,
                "AWS_SESSION_TOKEN": None,
            }
        ))  # fmt: skip
        moto_ext.install()
        self._stack.enter_context(time_machine.travel(FIXED, tick=False))
        self._stack.enter_context(mock_aws())
        self.session = boto3.session.Session(region_name=REGION)
        sm = self.session.client("sagemaker")
        fleet.seed(sm, fleet.demo_fleet(), region=REGION, now=FIXED)
        fleet.seed_demo_trail(sm, REGION)
        fleet.seed_latency_showcase(sm, REGION, FIXED)
        fleet.seed_demo_commitments(FIXED)
        fleet.seed_demo_aws_view(REGION)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def cli(self, *argv: str, env: Mapping[str, str | None] | None = None) -> Run:
        from sagewatch.cli import main

        out, err = io.StringIO(), io.StringIO()
        with _environment(env or {}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # argparse's own refusals
                code = int(exc.code or 0)
        return Run(list(argv), code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _environment(values: Mapping[str, str | None]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --- the examples ------------------------------------------------------------------------------------------


def _ok(run: Run) -> Run:
    if run.code != 0:
        raise RuntimeError(f"sagewatch {shlex.join(run.argv)} exited {run.code}: {run.err[-2000:]}")
    return run


def demo_scan(demo: Demo) -> str:
    """The scan, with Compute Optimizer's and Cost Optimization Hub's views cut to their first lines
    (docs/findings.md says what they hold)."""
    lines = _ok(demo.cli("scan", "--region", REGION, "--owner-lookup")).out.rstrip().splitlines()
    for head, cut in (("AWS Compute Optimizer", "each with sagewatch's reason"), ("AWS Cost Optimization", None)):
        start = next((i for i, line in enumerate(lines) if line.startswith(head)), None)
        if start is not None:
            end = next(i for i in range(start + 1, len(lines) + 1) if i == len(lines) or not lines[i].startswith("  "))
            lines[start:end] = [lines[start], f"  ... ({cut})"] if cut else [lines[start].rstrip(":") + "."]
    return "\n".join(lines)


def scan_narrow(demo: Demo) -> str:
    """The first records of the scan on a 100-column terminal."""
    lines = _ok(demo.cli("scan", "--region", REGION, env={"COLUMNS": "100"})).out.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(("high ", "medium ", "low "))]
    return "\n".join([*lines[: starts[3]], "..."])


def cost_table(demo: Demo) -> str:
    """The cost report's first rows, its total and its waste line (the full table has a row per endpoint,
    variant and inference component)."""
    lines = _ok(demo.cli("report", "--days", "7", "--region", REGION)).out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("NAME "))
    total = next(i for i, line in enumerate(lines) if line.startswith("TOTAL "))
    waste = next(i for i, line in enumerate(lines) if line.startswith("Waste: "))
    return "\n".join([*lines[: header + 8], "...", lines[total], "", lines[waste]])


def commitments(demo: Demo) -> str:
    """The cost report's commitments: its lines in the table, then its JSON object."""
    table = _ok(demo.cli("report", "--days", "7", "--region", REGION)).out.splitlines()
    start = next(i for i, line in enumerate(table) if line.startswith("Commitments "))
    end = next((i for i in range(start + 1, len(table)) if not table[i].startswith(" ")), len(table))
    doc = json.loads(_ok(demo.cli("report", "--days", "7", "--region", REGION, "--format", "json")).out)
    found = doc["commitments"]
    for part in (found, found["recommendation"]):  # the first two of the waste taken out
        part["waste_excluded"] = [*part["waste_excluded"][:2], "..."]
    shown = json.dumps(found, indent=2).replace('"..."', "...")
    head = [*table[start:end], "", "$ sagewatch report --format json  # its commitments object (waste_excluded cut)"]
    return "\n".join([*head, shown])


def report_json(demo: Demo) -> str:
    """The scan report as JSON, with the first finding of the list (image-embedder's) only."""
    doc = json.loads(_ok(demo.cli("scan", "--region", REGION, "--format", "json")).out)
    doc["findings"] = doc["findings"][:1]
    return json.dumps(doc, indent=2)


def email(demo: Demo) -> str:
    """The digest email of the demo fleet, its first two entries (and the end)."""
    text = _ok(demo.cli("preview-notification", "--region", REGION, "--format", "email")).out.rstrip()
    lines = text.splitlines()
    entries = [i for i, line in enumerate(lines) if line.startswith("[NEW]")]
    footer = next(i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("Silence an endpoint"))
    return "\n".join([*lines[: entries[2]], "...", "", *lines[footer:]])


def slack(demo: Demo) -> str:
    """The first Slack message of the demo fleet's digest: its header, summary and first finding blocks."""
    payloads = json.loads(_ok(demo.cli("preview-notification", "--region", REGION, "--format", "slack")).out)
    first = dict(payloads[0])
    first["blocks"] = first["blocks"][:4]
    return json.dumps(first, indent=2, ensure_ascii=False)


def errors(demo: Demo) -> str:
    """What bad input gets: each command as typed, what it prints and its exit code."""
    cases = [
        ("scan", "--idle-hours", "a day"),
        ("scna",),
        ("scan", "--regions", ""),
        ("report", "--output", "/no/such/folder/cost.html"),
        ("remediate", "delete-endpoint", "--endpoint", "nope", "--local"),
    ]
    out = []
    for argv in cases:
        run = demo.cli(*argv)
        out.append(f"$ sagewatch {shlex.join(argv)}")
        out += _without_usage((run.err + run.out).rstrip().splitlines())
        out += [f"(exit {run.code})", ""]
    return "\n".join(out).rstrip()


def _without_usage(lines: list[str]) -> list[str]:
    """argparse's usage block (its first line and the indented ones after it) left out: the error is the point."""
    out, in_usage = [], False
    for line in lines:
        in_usage = line.startswith("usage:") or (in_usage and line.startswith(" "))
        if not in_usage:
            out.append(line)
    return out


def monitor_alert(demo: Demo) -> str:
    """The alert a Model Monitor run with violations sends (the sample event of events/)."""
    from sagewatch.app.monitor import monitor_alert as alert_of
    from sagewatch.aws.clients import Clients
    from sagewatch.aws.wiring import monitor_dependencies
    from sagewatch.monitoring import classify
    from sagewatch.notify.alert import subject, text
    from sagewatch.settings import MonitorSettings
    from sagewatch_testkit.local import _seed_stack

    _seed_stack(demo.session, None, "https://hooks.slack.com/services/T000/B000/XXXX")  # type: ignore[arg-type]
    env = json.loads((ROOT / "events" / "env.json").read_text())["ModelMonitorFunction"]
    settings = MonitorSettings.from_env({**env, "AWS_REGION": REGION})
    event = json.loads((ROOT / "events" / "monitor-run-violations.json").read_text())
    alerts = alert_of(classify(event), event, monitor_dependencies(settings, "123456789012", Clients(REGION)))
    if isinstance(alerts, str) or len(alerts) != 1:
        raise RuntimeError(f"the sample monitoring run made not one alert: {alerts}")
    (alert,) = alerts
    return f"Subject: {subject(alert)}\n\n{text(alert)}".rstrip()


def scan_permissions(demo: Demo) -> str:
    """The scan function's grants, read from template.yaml; the why of each from docs/permissions.md."""
    from sagewatch_testkit.template import load_template

    why = _reasons("ScanFunction")
    rows = ["| statement | actions | resources | why |", "|---|---|---|---|"]
    for policy in load_template()["Resources"]["ScanFunction"]["Properties"]["Policies"]:
        if "SNSPublishMessagePolicy" in policy:
            rows.append(f"| (SAM SNSPublishMessagePolicy) | `sns:Publish` | the alert topic | {why['(SAM']} |")
            continue
        for statement in policy["Statement"]:
            condition = ""
            if isinstance(statement, list):  # !If [condition, granted, NoValue] (or the other way round)
                name, yes, no = statement
                granted = yes if isinstance(yes, dict) else no
                condition = f" (only with {_condition(name, granted is yes)})"
                statement = granted
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if len(resources) == 2 and isinstance(resources[1], dict):  # !Sub [text, {Id: the stack's id}]
                resources = [resources[0].replace("${Id}", "<stack id>")]
            sid = statement["Sid"]
            rows.append(
                f"| {sid}{condition} | {', '.join(f'`{a}`' for a in actions)} | "
                f"{', '.join(_resource(r) for r in resources)} | {why[sid]} |"
            )
    return "\n".join(rows)


def _condition(name: str, when_true: bool) -> str:
    plain = {
        "HasRouting": "`RoutingParameterName`",
        "HasRouteEmail": "`RouteEmailFrom`",
        "FansOut": "`ScanFanOutEndpoints` above 0",
    }
    if name == "ReservesConcurrency":
        return "`ReserveConcurrency=true`" if when_true else "`ReserveConcurrency=false`"
    if name not in plain:
        raise RuntimeError(f"a condition the documentation has no words for: {name}")
    return plain[name] if when_true else f"no {plain[name]}"


def _resource(value: str) -> str:
    """A Resource of template.yaml as a reader of the README says it."""
    if value.endswith(".Arn") and "$" not in value:
        return f"the stack's {value.removesuffix('.Arn')}"
    if value.startswith("${RemediationBucket.Arn}/"):
        return f"the stack bucket's `{value.removeprefix('${RemediationBucket.Arn}/')}`"
    plain = (
        value.replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", "REGION")
        .replace("${AWS::AccountId}", "ACCOUNT")
        .replace("${RoutingParameterName}", "<RoutingParameterName>")
    )
    return f"`{plain}`"


def _reasons(function: str) -> dict[str, str]:
    """The `why` column of docs/permissions.md for one function, by statement Sid."""
    doc = (ROOT / "docs" / "permissions.md").read_text()
    section = doc.split(f"\n## {function} ", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("Sid", "---"):
            out[cells[0].split(" ", 1)[0]] = cells[3]
    return out


EXAMPLES: dict[str, Callable[[Demo], str]] = {
    "demo-scan": demo_scan,
    "scan-narrow": scan_narrow,
    "report-json": report_json,
    "cost-table": cost_table,
    "commitments": commitments,
    "email": email,
    "slack": slack,
    "errors": errors,
    "monitor-alert": monitor_alert,
    "scan-permissions": scan_permissions,
}


def render() -> dict[str, str]:
    """Every example, in EXAMPLES' order, against one demo backend."""
    with Demo() as demo:
        return {name: make(demo) for name, make in EXAMPLES.items()}


def apply(text: str, examples: Mapping[str, str]) -> tuple[str, list[str]]:
    """`text` with each marked example replaced; and the marker names no example has."""
    unknown: list[str] = []

    def replace(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in examples:
            unknown.append(name)
            return m.group(0)
        if m.group("fence"):
            return f"<!-- example: {name} -->\n```{m.group('lang')}\n{examples[name]}\n```\n<!-- /example -->"
        return f"<!-- example: {name} -->\n{examples[name]}\n<!-- /example -->"

    return MARK.sub(replace, text), unknown


def differences(examples: Mapping[str, str]) -> list[str]:
    """What --check reports: examples that differ from the code's, unknown markers, examples used nowhere."""
    problems, used = [], set()
    for path in documents():
        text = path.read_text()
        _, unknown = apply(text, examples)
        problems += [f"{path.relative_to(ROOT)}: no example is called {name!r}" for name in unknown]
        for m in MARK.finditer(text):
            used.add(m.group("name"))
            if m.group("name") in examples and m.group("body") != examples[m.group("name")] + "\n":
                problems.append(
                    f"{path.relative_to(ROOT)}: the example {m.group('name')!r} is not what the code writes"
                )
    problems += [f"the example {name!r} appears in no document" for name in examples if name not in used]
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sagewatch_testkit.docs", description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="rewrite every example in place")
    group.add_argument("--check", action="store_true", help="exit 1 naming each example that differs")
    args = parser.parse_args(argv)
    examples = render()
    if args.check:
        problems = differences(examples)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run `make docs` to write them from the code", file=sys.stderr)
        return 1 if problems else 0
    from sagewatch.remediation import request_schema

    schema = ROOT / "layers" / "sagewatch" / "sagewatch" / "schemas" / "remediation-request.schema.json"
    written = json.dumps(request_schema(), indent=2, sort_keys=True) + "\n"
    if schema.read_text() != written:
        schema.write_text(written)
        print(f"wrote {schema.relative_to(ROOT)} from the request model")
    for path in documents():
        text = path.read_text()
        fresh, unknown = apply(text, examples)
        if unknown:
            print(f"{path.relative_to(ROOT)}: no example is called {', '.join(unknown)}", file=sys.stderr)
            return 1
        if fresh != text:
            path.write_text(fresh)
            print(f"wrote the examples of {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
