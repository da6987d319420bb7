"""A new user's first steps: `make local` without a Docker daemon stops at once naming it, and `make demo-server`
keeps the demo fleet served for the CLI to be explored against, saying what to export."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_local_without_a_docker_daemon_fails_before_building_anything(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    (fake / "docker").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["make", "--no-print-directory", "local"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "no Docker daemon answers" in done.stderr and "start Docker" in done.stderr
    assert "sam build" not in done.stdout + done.stderr  # nothing built, nothing installed first


def test_demo_server_serves_the_demo_fleet_to_the_cli_and_says_what_to_export(tmp_path):
    server = subprocess.Popen(
        [sys.executable, "-m", "sagewatch_testkit.server", "--fleet", "demo", "--explore", "--max-seconds", "300"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        said = []
        assert server.stdout is not None
        for line in server.stdout:  # bounded: the server prints its instructions, then serves
            said.append(line)
            if "remediate delete-endpoint" in line or len(said) > 40:
                break
        text = "".join(said)
        url = re.search(r"export AWS_ENDPOINT_URL=(http://127\.0\.0\.1:\d+) AWS_REGION=us-east-1", text)
        assert url, text
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": url.group(1),
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "XDG_CACHE_HOME": str(tmp_path),
        }
        for command in [line.strip() for line in said if line.strip().startswith(".venv/bin/sagewatch ")]:
            words = command.split("#")[0].split()
            words[0] = str(Path(sys.executable).parent / "sagewatch")
            words = [w.replace("cost.html", str(tmp_path / "cost.html")) for w in words]
            done = subprocess.run(words, env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, (command, done.stderr[-2000:])
            assert done.stdout or (tmp_path / "cost.html").exists(), command
    finally:
        if server.stdin:
            server.stdin.close()  # the server stops when its standard input closes
        server.wait(timeout=60)
