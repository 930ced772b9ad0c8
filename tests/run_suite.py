"""`make test`: every tier, in two pytest processes side by side, so that every core stays busy.

In front, the tests marked `front` (tests/conftest.py adds the mark): the reference solutions
train in their pinned lanes (one per core), and the tests that read their runs wait for them (the
instructor build and its browser checks among them). Their report is printed as it goes. Beside
them, every other test, of every tier, runs one per core with pytest-xdist; tests that share a
costly fixture (test_grade.py's hostile class among them) share a worker (conftest's xdist
groups). Its report is printed when both are done.
One process alone left a core idle for most of the run: the tests that wait for no solution took
longer than the training, one at a time. Every TensorFlow process the tests start runs on one
thread, as in `make check`: more threads than cores only spin.

When both pass, the whole run's wall time and CPU time (both processes and everything they
started) are recorded in results.json as ``run``. Extra arguments go to both pytest processes.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workshop.running import results
from workshop.running.runner import available_cores

ROOT = Path(__file__).resolve().parent.parent


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    cores = available_cores()
    pytest = [sys.executable, "-m", "pytest"]
    environment = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1")
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as beside_log:
        beside = subprocess.Popen(
            [*pytest, "-m", "not front", "-n", str(max(2, cores)), "--dist", "loadgroup", *argv],
            cwd=ROOT,
            env=environment,
            stdout=beside_log,
            stderr=subprocess.STDOUT,
        )
        try:
            print(f"The other tests run beside these, {max(2, cores)} at a time; their report follows.")
            sys.stdout.flush()
            front = subprocess.run([*pytest, "-m", "front", *argv], cwd=ROOT, env=environment, check=False).returncode
            beside_status = beside.wait()
        finally:
            if beside.poll() is None:  # interrupted: stop the other half too
                beside.terminate()
                beside.wait()
        beside_log.seek(0)
        print("\n" + "=" * 30 + " the other tests, run beside the above " + "=" * 30)
        sys.stdout.write(beside_log.read())
    wall, cpu = time.monotonic() - started, children_cpu_seconds()
    print(f"\nBoth halves: {wall:.0f} s wall, {cpu:.0f} CPU-s ({cpu / wall:.2f} of {cores} cores busy).")
    if front == 0 and beside_status == 0 and not argv:
        lanes = int(os.environ.get("WORKSHOP_TEST_LANES") or cores)
        results.record_run(wall_seconds=wall, cpu_seconds=cpu, cores=cores, lanes=lanes)
    return 0 if front == 0 and beside_status == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
