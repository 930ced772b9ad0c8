"""`make test`'s second session relies on pytest-xdist honouring the `xdist_group` marks conftest
adds while collecting: tests that share a costly fixture must run in one worker, which builds it
once. Under pytest 9.2 xdist silently ignored every group (requirements.in pins below it)."""

from __future__ import annotations

import subprocess
import sys

CONFTEST = """
import pytest

def pytest_itemcollected(item):  # as tests/conftest.py marks its groups
    if "grouped" in item.name:
        item.add_marker(pytest.mark.xdist_group("costly"))
"""

TESTS = """
import os
import pytest

@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    with open(f"grouped-{n}", "w") as stream:  # in the folder the outer test runs this one from
        stream.write(os.environ["PYTEST_XDIST_WORKER"])

@pytest.mark.parametrize("n", range(6))
def test_free(n):
    pass
"""


def test_tests_of_one_group_run_in_one_worker(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_groups.py").write_text(TESTS)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", "-q"]
        + ["--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    workers = {(tmp_path / f"grouped-{n}").read_text() for n in range(6)}
    assert len(workers) == 1, f"the group's tests ran in {sorted(workers)}: xdist ignored the xdist_group mark"
