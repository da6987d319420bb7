"""`make demo`: the real scan, through the real CLI, against a simulated fleet in an embedded moto."""

from __future__ import annotations

import os
import tempfile

from sagewatch.cli import main as cli
from sagewatch_testkit import fleet
from sagewatch_testkit.server import REGION, start_seeded_server


def main() -> int:
    print("Seeding a simulated fleet of SageMaker endpoints (8 days of metrics) into an embedded moto...\n")
    server, url = start_seeded_server("demo", showcase=True)
    # the simulated account's caches (owners, configs, the daily checks) never mix with the user's own
    cache = tempfile.TemporaryDirectory(prefix="sagewatch-demo-")
    os.environ["XDG_CACHE_HOME"] = cache.name
    try:
        notes = [(ep.name, ep.note) for ep in fleet.demo_fleet()] + list(fleet.LATENCY_SHOWCASE.items())
        width = max(len(name) for name, _ in notes)
        for name, note in notes:
            print(f"  {name:<{width}}  {note}")
        print(f"\n$ AWS_ENDPOINT_URL={url} .venv/bin/sagewatch scan --region {REGION} --owner-lookup\n", flush=True)
        os.environ.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        code = cli(["scan", "--region", REGION, "--owner-lookup"])
        print(
            "\nOWNER: maria.garcia and genai-platform from owner tags, priya from SageMaker Studio's tags, alice and "
            "intern from CloudTrail (who called CreateEndpoint; --owner-lookup); ? is unknown."
        )
        print(
            "\nThe same report as JSON: .venv/bin/sagewatch scan --format json (schema in "
            "layers/sagewatch/sagewatch/schemas/)."
        )
        print(f"\n$ AWS_ENDPOINT_URL={url} .venv/bin/sagewatch report --days 7 --region {REGION}\n", flush=True)
        code = code or cli(["report", "--days", "7", "--region", REGION])
        print("\nAlso --format csv, json or html (one self-contained page with charts; see docs/cost-report.png).")
        print(
            f"\nThe simulated fleet lived in this process and is gone now ({url} answered only while the demo ran)."
            "\nTo explore the CLI against it, make demo-server keeps it running and prints the AWS_ENDPOINT_URL"
            "\nto export."
            "\nAgainst your own account (read-only; your credentials and region):"
            "\n  .venv/bin/sagewatch scan --region us-east-1"
            "\n  .venv/bin/sagewatch report --days 7 --region us-east-1"
            "\nor activate the environment first (. .venv/bin/activate) and drop the .venv/bin/ prefix. To deploy,"
            "\nmake dev adds sam to it (.venv/bin/sam build && .venv/bin/sam deploy --guided)."
        )
        return code
    finally:
        server.stop()
        cache.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
