"""Time each reference solution alone with every core, as a learner runs it, and record it.

    .venv/bin/python scripts/benchmark.py                 # every unit
    .venv/bin/python scripts/benchmark.py 06 08           # some units (by number or name)

A maintainer's tool, not a test: a timed assert would be flaky, a measurement is not. Each
solution runs through the course's one runner without pinning (the whole machine, every thread
pool at its default), one unit at a time, while holding ``.cache/train.lock`` so that no other
training shares the cores. Its wall time is written to ``results.json`` as the unit's ``alone``
entry (``workshop.running.results.record_alone``); the exercise card and the results page show it
beside the budget, on the same basis. The script ends with a table and a non-zero exit status if a
unit does not fit its declared budget.

Before timing, it refuses to start when the machine is already busy (the one-minute load average
above ``--max-load``): a benchmark taken beside other work measures the other work.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import time

from workshop.course.course import Course
from workshop.course.units import all_units
from workshop.running import results
from workshop.running.runner import run_unit


def chosen_units(wanted: list[str]):
    units = all_units()
    if not wanted:
        return units
    picked = [unit for unit in units if any(unit.name == w or unit.name.startswith(f"{w}_") for w in wanted)]
    unknown = [w for w in wanted if not any(unit.name == w or unit.name.startswith(f"{w}_") for unit in units)]
    if unknown:
        sys.exit(f"benchmark: no unit {', '.join(unknown)}; known: {', '.join(unit.name for unit in units)}")
    return picked


def wait_until_quiet(max_load: float, patience_s: float) -> None:
    """Wait (up to ``patience_s``) for the one-minute load average to fall below ``max_load``."""
    deadline = time.monotonic() + patience_s
    while os.getloadavg()[0] > max_load:
        if time.monotonic() > deadline:
            sys.exit(
                f"benchmark: the machine is busy (load {os.getloadavg()[0]:.1f} > {max_load}): "
                "stop other work first, or pass --max-load if that is intended"
            )
        print(f"  waiting for a quiet machine (load {os.getloadavg()[0]:.1f})", flush=True)
        time.sleep(15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("units", nargs="*", help="unit numbers or names (default: all)")
    parser.add_argument("--max-load", type=float, default=0.7, help="refuse above this 1-minute load average")
    parser.add_argument("--patience", type=float, default=300, help="seconds to wait for a quiet machine")
    options = parser.parse_args(argv)

    course = Course.find()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    units = chosen_units(options.units)
    lock_path = course.cache_dir / "train.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with open(lock_path, "w") as lock:
        print(f"waiting for {lock_path} (other training) ...", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
        # Checked once, before the first unit: between units the load average still carries the
        # previous unit's own work, which says nothing about other programs.
        wait_until_quiet(options.max_load, options.patience)
        for index, unit in enumerate(units, 1):
            print(f"[{index}/{len(units)}] {unit.name}: running alone on {cores} cores ...", flush=True)
            result = run_unit(unit.solution_path, unit)
            if result.status != "ok":
                print(f"  {result.status}: {result.message}", flush=True)
            results.record_alone(result, cores=cores, path=course.results_path)
            fits = result.execute_seconds is not None and result.execute_seconds <= unit.budget_seconds
            rows.append((unit, result, fits))
            print(
                f"  {result.execute_seconds or float('nan'):.0f} s (budget {unit.budget_seconds} s), "
                f"{result.cpu_seconds or float('nan'):.0f} CPU-s, {unit.goal.metric} {result.value}",
                flush=True,
            )
    print(f"\n{'unit':28} {'alone s':>8} {'budget s':>9} {'CPU-s':>7} {'value':>8}  fits")
    for unit, result, fits in rows:
        print(
            f"{unit.name:28} {result.execute_seconds or float('nan'):8.0f} {unit.budget_seconds:9d} "
            f"{result.cpu_seconds or float('nan'):7.0f} {result.value if result.value is not None else '-':>8}  "
            f"{'yes' if fits else 'NO'}"
        )
    print(f"\nrecorded in {course.results_path}")
    return 0 if all(fits and result.status == "ok" for _, result, fits in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
