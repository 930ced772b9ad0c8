"""The results file: each reference solution's measured value and time from the last test run."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from importlib import metadata
from pathlib import Path

from workshop.units import REPO

RESULTS_PATH = REPO / "results.json"


def load(path: Path = RESULTS_PATH) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {"units": {}}


def record(result, path: Path = RESULTS_PATH) -> None:
    """Add or replace one unit's entry, atomically (a crash never leaves half a file)."""
    results = load(path)
    results.setdefault("units", {})[result.unit] = {
        "metric": result.metric,
        "value": None if result.value is None else round(result.value, 4),
        "goal": result.goal,
        "met": result.met,
        "status": result.status,
        "seconds": result.seconds,
        "execute_seconds": result.execute_seconds,
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
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".results.")
    with os.fdopen(handle, "w") as stream:
        json.dump(results, stream, indent=2)
        stream.write("\n")
    os.replace(temporary, path)
