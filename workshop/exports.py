"""Grades in the forms learning platforms import, written from the gradebook after a batch.

* ``canvas.csv``: Canvas's gradebook import format: one row per learner, one assignment column
  named after the unit, full ``--points`` for a pass and 0 otherwise, and the "Points Possible"
  row Canvas expects under the header. Learners are matched on ``SIS Login ID`` (the submission's
  name), so name submissions after the learners' logins.
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
from workshop.units import Unit

CANVAS_FILENAME = "canvas.csv"
GRADESCOPE_FOLDER = "gradescope"
GRADER_ERROR = "grader-error"


def points_for(row: dict, points: float) -> float | None:
    if row["status"] == GRADER_ERROR:
        return None
    return points if row["passed"] == "true" else 0.0


def number(value: float) -> str:
    return f"{value:g}"


def canvas_csv(unit: Unit, rows: list[dict], points: float) -> str:
    assignment = f"{unit.number:02d}. {unit.title}"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    writer.writerow(["Points Possible", "", "", "", "", number(points)])
    for row in sorted(rows, key=lambda row: row["learner"]):
        earned = points_for(row, points)
        writer.writerow([row["learner"], "", "", row["learner"], "", "" if earned is None else number(earned)])
    return buffer.getvalue()


def gradescope_results(unit: Unit, row: dict, points: float) -> dict:
    earned = points_for(row, points)
    passed = row["passed"] == "true"
    value = row["value"] or "-"
    output = f"{unit.goal.metric} = {value} (goal {unit.goal.text}, held-out data).\n{row['message']}"
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


def write_exports(out_dir: Path, unit: Unit, rows: list[dict], points: float) -> None:
    out_dir = Path(out_dir)
    atomic.write_text(out_dir / CANVAS_FILENAME, canvas_csv(unit, rows, points))
    for row in rows:
        results = gradescope_results(unit, row, points)
        atomic.write_text(out_dir / GRADESCOPE_FOLDER / row["learner"] / "results.json", json.dumps(results, indent=2))
