"""`workshop new`: a new unit's files, which `workshop units --check` and the runner take as an
unfinished unit (placeholders listed one per line, the goal not met), on a copy of the course."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workshop.course.units import REPO


@pytest.fixture
def course(tmp_path) -> Path:
    root = tmp_path / "course"
    for part in ("solutions", "exercises", "docs/lessons", "workshop"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    return root


def workshop(course: Path, *args: str) -> subprocess.CompletedProcess:
    # The copy's own package, so that a new task module lands in the copy.
    env = dict(os.environ, PYTHONPATH=str(course), WORKSHOP_ROOT=str(course))
    return subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_new_unit_on_new_data_is_listed_as_unfinished(course):
    made = workshop(course, "new", "12_shapes", "--metric", "test_accuracy", "--value", "0.9")  # data: "shapes", new
    assert made.returncode == 0, made.stderr
    for path in (
        "solutions/12_shapes.py",
        "docs/lessons/12_shapes.md",
        "workshop/tasks/shapes.py",
        "exercises/12_shapes.ipynb",
    ):
        assert (course / path).is_file(), path
    checked = workshop(course, "units", "--check")
    assert checked.returncode == 1
    lines = [line for line in checked.stderr.splitlines() if line.startswith("12_shapes:")]
    assert lines and all(line.startswith("12_shapes: still to write: ") for line in lines), checked.stderr
    places = {line.split(": still to write: ")[1].split(":")[0] for line in lines}
    assert places == {"solutions/12_shapes.py", "docs/lessons/12_shapes.md", "workshop/tasks/shapes.py"}
    assert not [line for line in checked.stderr.splitlines() if re.match(r"\d\d_", line) and not line.startswith("12_")]
    again = workshop(course, "new", "12_other", "--data", "fashion-mnist")
    assert again.returncode == 2 and "Number 12 is taken by 12_shapes" in again.stderr


def test_a_new_unit_fails_its_own_goal_until_written(course):
    assert workshop(course, "new", "12_garments", "--data", "fashion-mnist").returncode == 0
    assert not (course / "workshop" / "tasks" / "fashion_mnist_2.py").exists()
    checked = workshop(course, "units", "--check")
    places = {
        line.split(": still to write: ")[1].split(":")[0]
        for line in checked.stderr.splitlines()
        if "still to write" in line
    }
    assert places == {"solutions/12_garments.py", "docs/lessons/12_garments.md"}
    ran = workshop(course, "check", "solutions/12_garments.py", "--json")
    assert ran.returncode != 0
    assert "left no Keras model in the name `model`" in ran.stdout
