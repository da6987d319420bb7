"""A moto server seeded with a simulated fleet, for the demo, the benchmark, `sam local`, and for exploring the
CLI against the demo fleet (`make demo-server`).

    python -m sagewatch_testkit.server --fleet demo [--host 127.0.0.1] [--port 0] [--max-seconds 3600] [--explore]

Prints one JSON line {"endpoint_url": ...} once the fleet is seeded (--explore: what to export and run, for a
person), then serves until standard input closes, Ctrl-C, or --max-seconds pass, whichever comes first: it
always stops by itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from datetime import UTC, datetime

import boto3
from moto.server import ThreadedMotoServer

from sagewatch_testkit import fleet, moto_ext

REGION = moto_ext.DEFAULT_REGION


def start_seeded_server(
    which: str,
    *,
    endpoints: int = 1000,
    host: str = "127.0.0.1",
    port: int = 0,
    now: datetime | None = None,
    showcase: bool = False,
) -> tuple[ThreadedMotoServer, str]:
    """Start moto on host:port (0 picks a free port) in this process and seed a fleet into it."""
    moto_ext.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    bound_host, bound_port = server.get_host_and_port()
    url = f"http://{bound_host}:{bound_port}"
    sims = fleet.demo_fleet() if which == "demo" else fleet.bench_fleet(endpoints)
    sm = boto3.client(
        "sagemaker", region_name=REGION, endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    fleet.seed(sm, sims, region=REGION, now=now or datetime.now(UTC))
    if which == "demo":
        fleet.seed_demo_trail(sm, REGION)
        fleet.seed_demo_commitments(now or datetime.now(UTC))
        fleet.seed_demo_aws_view(REGION)
        if showcase:  # what make demo shows besides: latency targets and regressions
            fleet.seed_latency_showcase(sm, REGION, now or datetime.now(UTC))
    return server, url


EXPLORE = """The demo fleet is served at {url} (moto, on this machine) until you press Ctrl-C, or for {minutes} minutes.
In another terminal, in this directory:

  export AWS_ENDPOINT_URL={url} AWS_REGION={region}
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  export XDG_CACHE_HOME=$(mktemp -d)   # the demo account's caches, apart from your own
  .venv/bin/sagewatch scan --owner-lookup
  .venv/bin/sagewatch scan --endpoint image-embedder --format json
  .venv/bin/sagewatch report --days 7 --format html --output cost.html
  .venv/bin/sagewatch preview-notification --format email
  .venv/bin/sagewatch remediate delete-endpoint --endpoint churn-model-staging --local   # a dry run: the plan
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sagewatch_testkit.server", description=__doc__)
    parser.add_argument("--fleet", choices=["demo", "bench"], default="demo")
    parser.add_argument("--endpoints", type=int, default=1000, help="size of the bench fleet")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (never 0.0.0.0)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--explore", action="store_true", help="say what to export and run, for a person")
    args = parser.parse_args(argv)
    if args.host in ("0.0.0.0", "::"):
        parser.error("--host must be one address of this machine, not every address")
    if args.explore:
        print("Seeding the demo fleet into moto (about 20 seconds)...", flush=True)
    server, url = start_seeded_server(
        args.fleet, endpoints=args.endpoints, host=args.host, port=args.port, showcase=args.explore
    )
    if args.explore:
        print(EXPLORE.format(url=url, region=REGION, minutes=round(args.max_seconds / 60)), flush=True)
    else:
        print(json.dumps({"endpoint_url": url, "region": REGION, "fleet": args.fleet}), flush=True)
    stdin_closed = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stdin_closed.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        stdin_closed.wait(timeout=args.max_seconds)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
