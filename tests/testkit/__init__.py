"""Test support for sagewatch: moto extensions, simulated fleets, the demo and the benchmark.

Installed with the dev extra (`pip install -e .[dev]`) as `sagewatch_testkit`; never shipped to Lambda.
"""
