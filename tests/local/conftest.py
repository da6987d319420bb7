import os

import pytest

from sagewatch_testkit.local import container_engine, local_stack


@pytest.fixture(scope="session")
def stack():
    problem = container_engine()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"sam local tests need a container engine in CI: {problem}")
        pytest.skip(f"no container engine: {problem}")
    with local_stack() as s:
        yield s
