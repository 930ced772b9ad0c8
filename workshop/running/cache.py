"""The executed-notebook cache shared by the tests and the site build.

A solution is executed once (by ``make test`` or by the instructor site build) and its
executed notebook is kept under the course's ``.cache/executed/`` (:func:`cache_dir`). The key
covers everything that can change the outputs: the solution's text, the checksums of the data it
reads, the versions of the packages that run it, and the Keras backend.

Every function takes the ``Course`` whose cache it reads (``course=None``: ``Course.find()``,
resolved at call time, never at import).
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

from workshop.course.course import Course
from workshop.course.units import Unit
from workshop.datasets import manifest

# Raise when what the runner keeps from a run changes (2: figures carry a dark twin, the trained
# model is kept beside the notebook), so that older cached runs are made again.
RUN_FORMAT = 2
KEYED_PACKAGES = ("keras", "tensorflow-cpu", "tensorflow", "numpy", "matplotlib", "ipykernel", "nbclient", "jupytext")


def cache_dir(course: Course | None = None) -> Path:
    """The folder of the executed solutions: ``<course>/.cache/executed``."""
    return (course or Course.find()).cache_dir / "executed"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in KEYED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def data_checksums(unit: Unit) -> dict[str, list[str]]:
    checksums = {}
    tables = manifest.datasets()
    for name in unit.datasets:
        dataset = tables.get(name)
        if dataset:
            checksums[name] = sorted(json.dumps(entry, sort_keys=True) for entry in dataset.get("files", []))
    return checksums


def cache_key(unit: Unit) -> str:
    ingredients = {
        "source": unit.solution_path.read_text(encoding="utf-8"),
        "data": data_checksums(unit),
        "packages": package_versions(),
        "backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "format": RUN_FORMAT,
    }
    return hashlib.sha256(json.dumps(ingredients, sort_keys=True).encode()).hexdigest()[:20]


def executed_path(unit: Unit, course: Course | None = None) -> Path:
    """Where this unit's executed notebook lives for the current key (it may not exist yet)."""
    return cache_dir(course) / f"{unit.name}-{cache_key(unit)}.ipynb"


def model_path(unit: Unit, course: Course | None = None) -> Path:
    """Where the model trained by that run is kept (the site exports it for the page's demo)."""
    return executed_path(unit, course).with_suffix(".keras")
