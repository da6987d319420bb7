"""Open a page in headless Chromium (Debian's `chromium` package): its DOM, its console messages, a screenshot.

`python -m sagewatch_testkit.browser` renders the demo fleet's cost report and refreshes docs/cost-report.png.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Chromium prints each console message of the page as `...:INFO:CONSOLE:<line>] "<message>", source: ...`.
_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]\s*(.*)")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageRun:
    dom: str
    console: list[str]


def _run(binary: str, page: Path, extra: list[str], profile: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def open_page(page: Path, screenshot: Path | None = None, size: tuple[int, int] = (1400, 2000)) -> PageRun:
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="sagewatch-chromium-") as profile:
        dom = _run(binary, page, ["--dump-dom"], profile)
        console = [m.group(1) for line in dom.stderr.splitlines() if (m := _CONSOLE.search(line))]
        if screenshot is not None:
            shot = _run(binary, page, [f"--screenshot={screenshot}", f"--window-size={size[0]},{size[1]}"], profile)
            console += [m.group(1) for line in shot.stderr.splitlines() if (m := _CONSOLE.search(line))]
    return PageRun(dom=dom.stdout, console=console)


_WIDTH = re.compile(r'data-sagewatch-width="(\d+) (\d+)"')


def page_width(page: Path, viewport: int) -> tuple[int, int]:
    """(document width, viewport width) in CSS pixels of `page` opened at `viewport` pixels wide: a copy of the
    page with a probe that writes document.documentElement's scrollWidth and clientWidth into the DOM."""
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    probe = (
        "<script>addEventListener('load',()=>{const d=document.documentElement;"
        "document.body.setAttribute('data-sagewatch-width',d.scrollWidth+' '+d.clientWidth)})</script>"
    )
    with tempfile.TemporaryDirectory(prefix="sagewatch-chromium-") as profile:
        copy = Path(profile) / "probed.html"
        copy.write_text(page.read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
        dom = _run(binary, copy, ["--dump-dom", f"--window-size={viewport},900"], profile).stdout
    found = _WIDTH.search(dom)
    if found is None:
        raise RuntimeError("the width probe did not run")
    return int(found.group(1)), int(found.group(2))


def main() -> int:
    """Refresh docs/cost-report.png from the demo fleet."""
    from datetime import UTC, datetime

    import boto3
    from moto import mock_aws

    from sagewatch.app.weekly import cost_report
    from sagewatch.aws.clients import Clients
    from sagewatch.aws.cloudwatch import CloudWatchMetrics
    from sagewatch.aws.sagemaker import SageMakerInventory
    from sagewatch.catalog import Catalog
    from sagewatch.costrender import render_html
    from sagewatch_testkit import fleet, moto_ext

    region = moto_ext.DEFAULT_REGION
    moto_ext.install()
    with mock_aws(), tempfile.TemporaryDirectory() as tmp:
        now = datetime.now(UTC)
        fleet.seed(boto3.client("sagemaker", region_name=region), fleet.demo_fleet(), region=region, now=now)
        clients = Clients(region)
        report = cost_report(
            SageMakerInventory(clients.sagemaker()),
            CloudWatchMetrics(clients.cloudwatch()),
            Catalog.load(),
            days=7,
            target_utilization_pct=70,
            now=now,
            region=region,
            account=None,
        )
        page = Path(tmp) / "cost-report.html"
        page.write_text(render_html(report), encoding="utf-8")
        run = open_page(page, ROOT / "docs" / "cost-report.png", size=(1280, 1900))
    print(f"wrote docs/cost-report.png; console messages: {run.console or 'none'}")
    return 1 if run.console else 0


if __name__ == "__main__":
    raise SystemExit(main())
