"""Grades in the forms learning platforms import, written from the gradebook after a batch.

* ``canvas.csv``: Canvas's gradebook import format: one row per learner, one assignment column
  named after the unit, the points (``workshop.grading.credit``: pass/fail, or linear between the unit's
  floor and goal), and the "Points Possible" row Canvas expects under the header. Learners graded
  from Canvas' own download are matched on ``ID`` (their Canvas user id); others on ``SIS Login
  ID`` (the submission's name).
* ``points.txt``: how the points were computed, in one sentence.
* ``gradescope/<learner>/results.json``: the results format of Gradescope's autograder, one
  test (the unit's goal on held-out data) with the runner's message as its output.

A row the grader itself could not grade (status ``grader-error``) gets no points at all rather
than a zero: it is not the learner's result, and a rerun grades it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from workshop import atomic
from workshop.course.units import Unit
from workshop.grading.credit import explanation, points_for
from workshop.grading.gradebook import GradeRow

CANVAS_FILENAME = "canvas.csv"
GRADESCOPE_FOLDER = "gradescope"


def number(value: float) -> str:
    return f"{value:g}"


def canvas_csv(unit: Unit, rows: list[GradeRow], points: float, credit: str = "pass") -> str:
    """A learner from a Canvas download (a Canvas user id, with a name) fills ``ID``, which Canvas'
    import matches on; any other learner fills ``SIS Login ID`` with their entry's name."""
    assignment = f"{unit.number:02d}. {unit.title}"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    writer.writerow(["Points Possible", "", "", "", "", number(points)])
    for row in sorted(rows, key=lambda row: row.learner):
        earned = "" if (found := points_for(row, unit, points, credit)) is None else number(found)
        if row.name:
            writer.writerow([row.name, row.learner, "", "", "", earned])
        else:
            writer.writerow([row.learner, "", "", row.learner, "", earned])
    return buffer.getvalue()


def gradescope_results(unit: Unit, row: GradeRow, points: float, credit: str = "pass") -> dict:
    earned = points_for(row, unit, points, credit)
    passed = row.passed
    value = row.value_text or "-"
    output = (
        f"{unit.goal.metric} = {value} (goal {unit.goal.text}, held-out data).\n{row.message}\n"
        f"{explanation(unit, points, credit)}"
    )
    test = {
        "name": f"{unit.title}: {unit.goal} on held-out data",
        "max_score": points,
        "status": "passed" if passed else "failed",
        "output": output,
        "visibility": "visible",
    }
    if earned is not None:
        test["score"] = earned
    results = {"max_score": points, "output": output, "visibility": "visible", "tests": [test]}
    if earned is not None:
        results["score"] = earned
    return results


def write_exports(out_dir: Path, unit: Unit, rows: list[GradeRow], points: float, credit: str = "pass") -> None:
    out_dir = Path(out_dir)
    atomic.write_text(out_dir / CANVAS_FILENAME, canvas_csv(unit, rows, points, credit))
    atomic.write_text(out_dir / "points.txt", explanation(unit, points, credit) + "\n")
    for row in rows:
        results = gradescope_results(unit, row, points, credit)
        atomic.write_text(out_dir / GRADESCOPE_FOLDER / row.learner / "results.json", json.dumps(results, indent=2))
