"""A pytest plugin that runs the whole session at another instant, the clock ticking from there:

    SAGEWATCH_TEST_CLOCK=2026-12-06T00:30:00Z .venv/bin/pytest -p sagewatch_testkit.clockshift tests/integration

The suites take "now" from the clock and seed their fleets relative to it, so a rule that depends on the hour
or the day of the week passes on the days CI happened to run and fails on others. This is how a weekday-only
endpoint called idle on weekends was found (sagewatch.schedule.habitually_quiet). time-machine moves
time.time, datetime.now and friends in this process (moto's included); a subprocess keeps the real clock."""

from __future__ import annotations

import os
from typing import Any

import time_machine

_TRAVEL: list[Any] = []


def pytest_configure(config: Any) -> None:
    target = os.environ.get("SAGEWATCH_TEST_CLOCK")
    if target:
        travel = time_machine.travel(target, tick=True)
        travel.start()
        _TRAVEL.append(travel)


def pytest_report_header(config: Any) -> str | None:
    target = os.environ.get("SAGEWATCH_TEST_CLOCK")
    return f"clock moved to {target} (sagewatch_testkit.clockshift)" if target else None


def pytest_unconfigure(config: Any) -> None:
    while _TRAVEL:
        _TRAVEL.pop().stop()
