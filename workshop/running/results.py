"""The results file: each reference solution's measured value and time.

Two measurements per unit, on two bases, never mixed:

- the test run's (``record``): the solution pinned to one core beside another unit, which gives
  the same value on every run; its ``cpu_seconds`` is the training cost the course is tuned by;
- the benchmark's (``record_alone``, ``scripts/benchmark.py``): the solution alone with every
  core of the machine, as a learner runs it on a laptop; its ``seconds`` is what the unit's budget
  and the exercise card are compared with.
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from importlib import metadata
from pathlib import Path

from workshop import atomic
from workshop.course.course import Course

# The test suite records solutions from several threads at once.
_LOCK = threading.Lock()


def default_path() -> Path:
    """``results.json`` of the course this process works on (resolved when called, not at import)."""
    return Course.find().results_path


def load(path: Path | None = None) -> dict:
    path = path or default_path()
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {"units": {}}


def record(result, path: Path | None = None) -> None:
    """Add or replace one unit's test-run entry, atomically (a crash never leaves half a file); the
    benchmark's ``alone`` measurement of the unit is kept."""
    path = path or default_path()
    with _LOCK:
        results = load(path)
        units = results.setdefault("units", {})
        alone = units.get(result.unit, {}).get("alone")
        units[result.unit] = {
            "metric": result.metric,
            "value": None if result.value is None else round(result.value, 4),
            "goal": result.goal,
            "met": result.met,
            "status": result.status,
            "seconds": result.seconds,
            "execute_seconds": result.execute_seconds,
            "cpu_seconds": result.cpu_seconds,
            "cores": len(result.cpus) or os.cpu_count(),
            "metrics": {name: round(value, 4) for name, value in result.metrics.items()},
            "measured": time.strftime("%Y-%m-%d"),
        }
        if alone:
            units[result.unit]["alone"] = alone
        results["environment"] = {
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
            "python": platform.python_version(),
            "keras": metadata.version("keras"),
            "backend": result.backend,
        }
        results["units"] = dict(sorted(results["units"].items()))
        _write(results, Path(path))


def record_alone(result, *, cores: int, path: Path | None = None) -> None:
    """The benchmark's measurement of one unit: its solution run alone with ``cores`` cores.

    ``seconds`` is the notebook's execution (training, data, plots: what a learner waits for), the
    figure the unit's budget is checked against; the value is kept to show it is the same recipe
    (threads on several cores may round differently from the pinned test run).
    """
    path = path or default_path()
    with _LOCK:
        results = load(path)
        entry = results.setdefault("units", {}).setdefault(result.unit, {})
        entry["alone"] = {
            "seconds": round(result.execute_seconds, 1) if result.execute_seconds is not None else None,
            "cpu_seconds": result.cpu_seconds,
            "cores": cores,
            "value": None if result.value is None else round(result.value, 4),
            "status": result.status,
            "measured": time.strftime("%Y-%m-%d"),
        }
        _write(results, Path(path))


def record_run(*, wall_seconds: float, cpu_seconds: float, cores: int, lanes: int, path: Path | None = None) -> None:
    """The whole test run that measured the units: its wall time, and how busy it kept the cores."""
    path = path or default_path()
    with _LOCK:
        results = load(path)
        results["run"] = {
            "wall_seconds": round(wall_seconds, 1),
            "cpu_seconds": round(cpu_seconds, 1),
            "cores": cores,
            "cores_busy": round(cpu_seconds / wall_seconds, 2) if wall_seconds else None,
            "solutions_at_once": lanes,
            "measured": time.strftime("%Y-%m-%d"),
        }
        _write(results, Path(path))


def _write(results: dict, path: Path) -> None:
    atomic.write_text(path, json.dumps(results, indent=2) + "\n")
