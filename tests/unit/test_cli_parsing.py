"""The command line as a new user meets it: a mistyped flag is refused by the subcommand it was given to, with
that subcommand's usage and only a close match among its own flags; --help and --version import no AWS SDK."""

import argparse
import subprocess
import sys

import pytest

from sagewatch.cli import _parse, _parser, _subcommand

COMMANDS = [["scan"], ["preview-notification"], ["report"], ["remediate"], ["catalog", "refresh"]]
REQUIRED = {  # what each needs besides (a missing required argument is said before an unknown one)
    "preview-notification": ["--format", "email"],
    "remediate": ["delete-endpoint", "--endpoint", "e"],
    "catalog": ["--region", "us-east-1"],
}


def refusal(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        _parse(argv)
    assert exc.value.code == 2
    return capsys.readouterr().err


def own_flags(words) -> set[str]:
    parser = _parser()
    args = argparse.Namespace(command=words[0], catalog_command=words[1] if len(words) > 1 else None)
    sub = _subcommand(parser, args)
    return {f for a in sub._actions for f in a.option_strings}


@pytest.mark.parametrize("words", COMMANDS, ids=" ".join)
def test_every_suggestion_is_a_real_flag_of_that_subcommand(words, capsys):
    flags = own_flags(words)
    suggested = set()
    for flag in sorted(flags - {"-h", "--help"}):
        middle = len(flag) // 2 + 1
        # one letter more, one letter wrong (a prefix would be taken: argparse accepts abbreviations)
        for typo in (flag + "x", flag[:middle] + "q" + flag[middle + 1 :]):
            err = refusal([*words, *REQUIRED.get(words[0], []), typo, "1"], capsys)
            assert f"usage: sagewatch {' '.join(words)}" in err  # the subcommand's own usage
            if "did you mean" in err:
                suggested.add(err.split("did you mean ")[1].split("?")[0])
    assert suggested and suggested <= flags


def test_a_flag_of_another_subcommand_is_not_suggested(capsys):
    err = refusal(["scan", "--days", "7"], capsys)  # report's flag, not scan's
    assert "unrecognized arguments: --days 7" in err and "did you mean" not in err
    assert "usage: sagewatch scan" in err


def test_a_far_guess_is_not_suggested_and_a_near_one_is(capsys):
    err = refusal(["scan", "--json"], capsys)
    assert "did you mean" not in err
    err = refusal(["scan", "--regon", "us-east-1"], capsys)
    assert "(did you mean --region?)" in err


def test_scan_takes_repeated_endpoints():
    args = _parse(["scan", "--endpoint", "a", "--endpoint", "b-2"])
    assert args.endpoints == ["a", "b-2"]


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_aws_sdk(flag):
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sagewatch", flag], capture_output=True, text=True, check=True
    )
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert not imported & {"boto3", "botocore", "aws_lambda_powertools", "pydantic"}
