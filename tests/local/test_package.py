"""`make package BUCKET=...`: the template StackSets deploy, its code and layer uploaded to the bucket (an
embedded moto's S3 here: sam package talks to S3 only)."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import boto3
import yaml
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]


def _load(path: Path) -> dict:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !Ref, !Sub...: not needed here
    return yaml.load(path.read_text(), Loader=Loader)


def test_make_package_uploads_the_code_and_writes_the_template():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url)
        s3.create_bucket(Bucket="org-artifacts")
        env = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
        done = subprocess.run(
            ["make", "package", "BUCKET=org-artifacts", "PREFIX=sagewatch/1.0"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        packaged = _load(ROOT / "packaged.yaml")
        uploaded = {o["Key"] for o in s3.list_objects_v2(Bucket="org-artifacts")["Contents"]}
        for name, resource in packaged["Resources"].items():
            uri = resource.get("Properties", {}).get("CodeUri") or resource.get("Properties", {}).get("ContentUri")
            if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion"):
                assert isinstance(uri, str) and uri.startswith("s3://org-artifacts/sagewatch/1.0/"), (name, uri)
                assert uri.removeprefix("s3://org-artifacts/") in uploaded
        assert {"OrgAggregatorFunction", "ScanFunction"} <= set(packaged["Resources"])  # one template, every role
    finally:
        server.stop()


def test_make_package_without_a_bucket_says_how():
    done = subprocess.run(["make", "package"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "usage: make package BUCKET=" in done.stderr
