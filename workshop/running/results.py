"""The results file: each reference solution's measured value and time from the last test run."""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from importlib import metadata
from pathlib import Path

from workshop import atomic
from workshop.course.units import REPO

RESULTS_PATH = REPO / "results.json"
# The test suite records solutions from several threads at once.
_LOCK = threading.Lock()


def load(path: Path = RESULTS_PATH) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {"units": {}}


def record(result, path: Path = RESULTS_PATH) -> None:
    """Add or replace one unit's entry, atomically (a crash never leaves half a file)."""
    with _LOCK:
        results = load(path)
        results.setdefault("units", {})[result.unit] = {
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
        results["environment"] = {
            "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
            "python": platform.python_version(),
            "keras": metadata.version("keras"),
            "backend": result.backend,
        }
        results["units"] = dict(sorted(results["units"].items()))
        _write(results, Path(path))


def record_run(*, wall_seconds: float, cpu_seconds: float, cores: int, lanes: int, path: Path = RESULTS_PATH) -> None:
    """The whole test run that measured the units: its wall time, and how busy it kept the cores."""
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
