"""`workshop units --check` on a copy of the course: silent when all agrees, one precise line per
problem otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from workshop.course.units import REPO


def course_copy(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    for part in ("solutions", "exercises", "docs/lessons"):
        shutil.copytree(REPO / part, root / part)
    shutil.copy(REPO / "mkdocs.yml", root / "mkdocs.yml")
    return root


def check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workshop", "units", "--check"],
        env=dict(os.environ, WORKSHOP_ROOT=str(root)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def problems(completed: subprocess.CompletedProcess) -> list[str]:
    return [line for line in completed.stderr.splitlines() if line.startswith(("0", "1", "solutions/"))]


def test_the_course_as_committed_passes(tmp_path):
    completed = check(course_copy(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert problems(completed) == []


def test_each_problem_gets_one_precise_line(tmp_path):
    root = course_copy(tmp_path)
    solution = root / "solutions" / "02_fashion_mnist_logreg.py"
    text = solution.read_text(encoding="utf-8")
    solution.write_text(text.replace("**Goal:** `test_accuracy >=", "**Goal:** `test_acuracy >=", 1), encoding="utf-8")
    other = root / "solutions" / "05_deep_mlp.py"
    other.write_text(
        other.read_text(encoding="utf-8").replace("`fashion-mnist`", "`fashion-mnits`", 1), encoding="utf-8"
    )
    (root / "docs" / "lessons" / "03_cross_entropy_and_sgd.md").unlink()
    (root / "exercises" / "04_model_selection.py").unlink()
    completed = check(root)
    assert completed.returncode == 1
    found = problems(completed)
    assert (
        "02_fashion_mnist_logreg: the goal's metric `test_acuracy` is not one the `fashion-mnist` task computes "
        "(test_accuracy)." in found
    )
    assert any(line.startswith("05_deep_mlp: **Data:** names `fashion-mnits`, which is neither") for line in found)
    assert (
        "03_softmax_sgd_numpy: no lesson docs/lessons/03_*.md says `unit: 03_softmax_sgd_numpy` in its front matter."
        in found
    )
    assert "04_model_selection: exercises/04_model_selection.py is missing: run `make exercises`." in found
    # The edited solutions no longer match their exercises; nothing else is reported.
    assert (
        "02_fashion_mnist_logreg: exercises/02_fashion_mnist_logreg.* does not match the solution: run `make exercises`."
        in found
    )
    units_named = sorted({line.split(":")[0] for line in found})
    assert units_named == ["02_fashion_mnist_logreg", "03_softmax_sgd_numpy", "04_model_selection", "05_deep_mlp"], (
        found
    )
