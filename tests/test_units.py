"""Every unit: exercises in sync with solutions, the solution meets its goal, the stub does not."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
import subprocess
import sys

import pytest
from conftest import UNIT_NAMES

from workshop.course.course import Course
from workshop.course.exercises import stale_files
from workshop.course.notebooks import code_cells, read_notebook
from workshop.course.units import load_unit

COURSE = Course.find()
from workshop.tasks import get_task


def test_exercises_are_in_sync_with_solutions():
    stale = stale_files()
    assert not stale, f"exercises/ is stale ({', '.join(stale)}): run `make exercises` and commit"


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_self_check_uses_the_declared_goal(name):
    """The learner's last cell compares against the same goal the runner uses."""
    unit = load_unit(name)
    last_cell = code_cells(read_notebook(unit.exercise_path))[-1][1]
    match = re.search(r"^goal = ([0-9.]+)\s+# (\w+) (>=|<=) ([0-9.]+)", last_cell, re.MULTILINE)
    assert match, "the last cell must start its self-check with `goal = <value>  # <metric> <op> <value>`"
    assert float(match[1]) == unit.goal.value and float(match[4]) == unit.goal.value
    assert (match[2], match[3]) == (unit.goal.metric, unit.goal.op)


@pytest.mark.trains
@pytest.mark.parametrize("name", UNIT_NAMES)
def test_solution_meets_its_goal(name, solution_runs):
    result = solution_runs.get(name)
    assert result.status == "ok", result.message + "\n" + (result.traceback or "")
    assert result.met, result.message
    assert result.exit_code == 0
    # The scorer reported every metric its task defines, finite, and the verdict follows the goal.
    unit = load_unit(name)
    assert set(result.metrics) == set(get_task(unit.task).metrics), result.metrics
    assert all(math.isfinite(value) for value in result.metrics.values()), result.metrics
    assert unit.goal.is_met(result.metrics[unit.goal.metric])


def last_cell_text(notebook_path) -> str:
    """What the executed notebook's last code cell printed (the learner's self-check)."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    last = [cell for cell in notebook.cells if cell.cell_type == "code"][-1]
    return "".join(
        output.get("text", "") for output in last.get("outputs", []) if output.get("output_type") == "stream"
    )


@pytest.mark.trains
@pytest.mark.parametrize("name", UNIT_NAMES)
def test_the_reference_solutions_self_check_says_the_goal_is_met(name, solution_runs):
    """The learner's own check agrees with the runner on the reference solution: both say the goal
    is met (a self-check that called a passing solution a failure would mislead every learner)."""
    result = solution_runs.get(name)
    assert result.met, result.message
    printed = last_cell_text(result.executed_notebook)
    assert re.search(r"\bmeets the goal\b", printed), f"the self-check printed:\n{printed}"


@pytest.mark.trains
def test_the_steering_lab_records_a_family_gap(solution_runs):
    """Unit 07's comparison table: the linear model and the MLP are far from the goal, the CNN meets it."""
    import nbformat

    result = solution_runs.get("07_self_driving")
    notebook = nbformat.read(result.executed_notebook, as_version=4)
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )
    rows = dict(re.findall(r"^(linear model|MLP|CNN)\s+[\d,]+\s+([\d.]+)\s+[\d.]+$", printed, re.MULTILINE))
    assert set(rows) == {"linear model", "MLP", "CNN"}, printed[-2000:]
    goal = load_unit("07_self_driving").goal.value
    assert float(rows["CNN"]) <= goal
    assert float(rows["MLP"]) >= 2 * goal and float(rows["linear model"]) >= 2 * goal, rows


TENSORFLOW_LOG = re.compile(r"oneDNN|absl::|I0000 |W0000 |tensorflow/core|cuda|XLA service", re.IGNORECASE)


@pytest.mark.trains
@pytest.mark.parametrize("name", UNIT_NAMES)
def test_executed_solution_has_outputs_and_no_tensorflow_log(name, solution_runs):
    """What the solution page will show: figures, and none of TensorFlow's start-up chatter."""
    import nbformat

    result = solution_runs.get(name)
    notebook = nbformat.read(result.executed_notebook, as_version=4)
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert any("image/png" in output.get("data", {}) for output in outputs), "no figure in the executed solution"
    texts = [output.get("text", "") for output in outputs if output.get("output_type") == "stream"]
    noisy = [text for text in texts if TENSORFLOW_LOG.search(text)]
    assert not noisy, f"TensorFlow log lines would be published: {noisy[0][:200]}"


@pytest.mark.slow
@pytest.mark.parametrize("name", UNIT_NAMES)
def test_every_unit_grades_in_the_sandbox_and_its_stub_fails_with_a_clear_message(name, tmp_path):
    """`workshop grade` with the sandbox (the default) for every unit: the probe holds, whatever the
    unit's learner view (an empty one too), and the generated stub fails on the learner's cell."""
    unit = load_unit(name)
    submissions, out_dir = tmp_path / "class", tmp_path / "out"
    submissions.mkdir()
    shutil.copy(unit.exercise_path.with_suffix(".ipynb"), submissions / "stub.ipynb")
    completed = subprocess.run(
        [sys.executable, "-m", "workshop", "grade", "--exercise", name, str(submissions), "--out", str(out_dir)],
        capture_output=True,
        text=True,
        cwd=COURSE.root,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    protections = json.loads((out_dir / "sandbox.json").read_text())["protections"]
    for protection in ("network", "read_only", "allow_list", "scorer"):
        assert protections[protection]["active"], (protection, protections[protection])
    with open(out_dir / "gradebook.csv", newline="", encoding="utf-8") as stream:
        (row,) = list(csv.DictReader(stream))
    assert row["learner"] == "stub" and row["status"] == "error" and row["passed"] == "false", row
    assert "Complete this cell" in row["message"], row["message"]
    assert re.match(r"Cell \d+ ", row["message"]), "the message must point at the learner's cell"
