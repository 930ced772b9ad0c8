"""Grading on a real Dask cluster: a `dask scheduler` and `dask worker` processes on loopback.

One worker runs in a private mount namespace with its own /tmp, as on another machine that shares
the checkout, the data and the output folder but not the grader's /tmp: the learner view and the
sandbox must be built where each submission runs. A worker whose sandbox does not hold grades
nothing, and its rows say the grader failed, not the learner; a rerun grades them.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from snooping import SNOOPER, Planted, leaks, plant_around

from workshop.course.course import Course
from workshop.course.units import load_unit
from workshop.datasets import manifest

COURSE = Course.find()  # the checkout under test

UNIT = "02_fashion_mnist_logreg"
DASK = Path(sys.executable).with_name("dask")
UNTRAINED = (
    "# %%\nimport keras\nfrom keras import layers\n\n# %%\n"
    "model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(10, activation='softmax')])\n"
)

pytestmark = pytest.mark.skipif(not DASK.exists(), reason="the dask command is not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def own_tmp_prefix(keep: list[Path]) -> list[str]:
    """Run a command in a private mount namespace with an empty /tmp of its own, into which only
    `keep` (the shared checkout, venv and folders, when they live under /tmp) are bound back."""
    tmp = Path(tempfile.gettempdir()).resolve()
    lines = ["set -e", f"cd {tmp}", f"mount -t tmpfs -o mode=1777 worker-tmp {tmp}"]
    for path in keep:
        path = Path(path).resolve()
        if tmp in path.parents:
            relative = path.relative_to(tmp)
            lines.append(f"mkdir -p '{path}' && mount -c --bind './{relative}' '{path}'")
    lines += ["cd /", 'exec "$@"']
    user_namespace = [] if os.geteuid() == 0 else ["--map-root-user"]
    return ["unshare", *user_namespace, "--mount", "--propagation", "private", "--", "sh", "-c", "\n".join(lines), "sh"]


@contextmanager
def cluster(tmp_path: Path, workers: list[tuple[list[str], dict]]):
    """A scheduler and one worker per (prefix, environment); yields the scheduler's address."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    processes = []
    logs = tmp_path / "cluster-logs"
    logs.mkdir(exist_ok=True)

    def start(name: str, command: list[str], environment: dict) -> None:
        log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        processes.append(
            (
                subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=COURSE.root,
                    env={**os.environ, **environment},
                    start_new_session=True,
                ),
                log,
            )
        )

    try:
        start("scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], {})
        for number, (prefix, environment) in enumerate(workers, start=1):
            command = [str(DASK), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
            start(f"worker{number}", [*prefix, *command, "--name", f"worker{number}"], environment)
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(len(workers), timeout=120)
        yield address
    finally:
        for process, log in processes:
            process.terminate()
        for process, log in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def grade_on(address: str, submissions: Path, out_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workshop", "grade", "--exercise", UNIT, str(submissions), "--out", str(out_dir)]
        + ["--dask", address, "-j", "2"],
        capture_output=True,
        text=True,
        cwd=COURSE.root,
        timeout=900,
        check=False,
    )


def rows_of(out_dir: Path) -> dict[str, dict]:
    with open(out_dir / "gradebook.csv", newline="", encoding="utf-8") as stream:
        return {row["learner"]: row for row in csv.DictReader(stream)}


@pytest.mark.trains
def test_a_dask_cluster_grades_right_and_a_worker_without_a_sandbox_refuses_work(tmp_path):
    submissions, out_dir = tmp_path / "class", tmp_path / "out"
    submissions.mkdir()
    # Honest: the reference solution, trained for real (once: training is the suite's dearest part).
    shutil.copy(load_unit(UNIT).solution_path, submissions / "ada.py")
    (submissions / "broken.py").write_text("# %%\ndef oops(:\n    pass\n")
    (submissions / "peeker.py").write_text(
        UNTRAINED + f"\n# %%\nopen({str(manifest.file_path('fashion-mnist', 't10k-labels-idx1-ubyte.gz'))!r}, 'rb')\n"
    )
    (submissions / "untrained.py").write_text(UNTRAINED)
    # On a worker too, the snooper finds nothing of the machine (home, beside the checkout, classmates).
    (submissions / "snooper.py").write_text(SNOOPER)
    planted = Planted()
    plant_around(planted, Path.home(), COURSE.root.parent, submissions / "classmate.py")
    keep = [COURSE.root, Path(sys.prefix), tmp_path, manifest.data_dir()]

    # A worker on which no sandbox can be built (no `bwrap` on its PATH): it grades nothing.
    no_sandbox = {"PATH": str(Path(sys.executable).parent)}
    with cluster(tmp_path, [([], no_sandbox)]) as address:
        completed = grade_on(address, submissions, out_dir)
    assert completed.returncode == 3, completed.stderr
    assert "run the same command again" in completed.stderr
    rows = rows_of(out_dir)
    assert sorted(rows) == ["ada", "broken", "classmate", "peeker", "snooper", "untrained"]
    for row in rows.values():
        assert row["status"] == "grader-error" and row["passed"] == "false", row
        assert "sandbox does not hold" in row["message"] and "not of the submission" in row["message"]
    canvas = (out_dir / "canvas.csv").read_text().splitlines()
    assert canvas[2] == "ada,,,ada,," and canvas[1].startswith("Points Possible")  # no zero for the grader's fault

    # Two good workers, one of them with a /tmp of its own: the rerun grades every row it could not.
    try:
        with cluster(tmp_path, [([], {}), (own_tmp_prefix(keep), {})]) as address:
            completed = grade_on(address, submissions, out_dir)
    finally:
        planted.remove()
    assert completed.returncode == 0, completed.stderr + completed.stdout
    rows = rows_of(out_dir)
    assert rows["ada"]["status"] == "ok" and rows["ada"]["passed"] == "true", rows["ada"]
    assert "Syntax error" in rows["broken"]["message"]
    assert rows["peeker"]["status"] == "error" and "t10k" in rows["peeker"]["message"]
    assert rows["untrained"]["status"] == "ok" and rows["untrained"]["passed"] == "false"
    assert "CHANNEL-OK" in rows["snooper"]["message"] and "found []" in rows["snooper"]["message"], rows["snooper"]
    assert leaks(out_dir, planted) == []
    reports = [json.loads(path.read_text()) for path in (out_dir / "sandbox-workers").glob("*.json")]
    # Each good worker built its own view and probed its own sandbox, which held.
    held = [report for report in reports if {"network", "read_only", "allow_list", "scorer"} <= set(report["active"])]
    assert len({report["pid"] for report in held}) == 2, reports
    assert len({report["view"] for report in held}) == 2
