"""A course's grades: several units' ``workshop grade`` outputs merged per learner.

``workshop gradebook GRADED_DIR... --out DIR`` reads each folder a ``workshop grade`` run wrote
(its ``gradebook.csv``, and its ``canvas.csv`` for the points that run gave) and writes, in DIR:

* ``course-gradebook.csv``: one row per learner, one column per unit (``PASS 0.8472``,
  ``MISS 0.8012``, ``ERROR``, ``TIMEOUT``, ``grader-error``; empty when the learner handed nothing
  in), then the units passed and the points;
* ``canvas.csv``: Canvas's gradebook import, one assignment column per unit (named as each unit's
  own ``canvas.csv`` names it), with the "Points Possible" row.

Points come from each unit's ``canvas.csv``, so the course file gives what the unit's grading gave
(pass/fail or partial credit, and its ``--points``); a folder without one counts a pass as
``--points``. When two folders grade the same learner on the same unit, the later grading wins.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

from workshop import atomic
from workshop.course.course import Course
from workshop.course.units import Unit, all_units
from workshop.grading.gradebook import GRADER_ERROR, OK, GradeError, GradeRow, read_gradebook

COURSE_GRADEBOOK = "course-gradebook.csv"
CANVAS_FILENAME = "canvas.csv"
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


@dataclass
class UnitGrades:
    unit: Unit
    assignment: str  # the Canvas column's name
    possible: float
    rows: dict[str, GradeRow] = field(default_factory=dict)  # learner -> gradebook row
    points: dict[str, float | None] = field(default_factory=dict)  # learner -> points ("" in canvas.csv: None)


def number(value: float) -> str:
    return f"{value:g}"


def read_canvas(path: Path) -> tuple[str, float, dict[str, float | None]] | None:
    """(assignment column, points possible, {learner: points}) of a unit's canvas.csv, or None."""
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            table = list(csv.reader(stream))
    except FileNotFoundError:
        return None
    if len(table) < 2 or table[0][: len(CANVAS_IDENTITY)] != CANVAS_IDENTITY or len(table[0]) != 6:
        raise GradeError(f"{path} is not a one-assignment canvas.csv written by `workshop grade`.")
    assignment = table[0][5]
    try:
        possible = float(table[1][5])
        points = {}
        for row in table[2:]:
            learner = row[1] or row[3]  # a Canvas user id, else the SIS login (the submission's name)
            points[learner] = float(row[5]) if row[5] != "" else None
    except (IndexError, ValueError):
        raise GradeError(f"{path}: a points cell is not a number; grade that unit again.") from None
    return assignment, possible, points


def cell(row: GradeRow | None) -> str:
    if row is None:
        return ""
    if row.status == GRADER_ERROR:
        return GRADER_ERROR
    if row.status == OK:
        word = "PASS" if row.passed else "MISS"
        return f"{word} {row.value_text}".strip()
    return row.status.upper()


def collect(graded: list[Path], points: float = 1.0, course: Course | None = None) -> dict[str, UnitGrades]:
    """Each unit's latest grade per learner across the `graded` folders, in teaching order; the
    units are ``course``'s (default: ``Course.find()``)."""
    units = {unit.name: unit for unit in all_units(course or Course.find())}
    found: dict[str, UnitGrades] = {}
    for folder in map(Path, graded):
        rows = read_gradebook(folder / "gradebook.csv")
        if not rows:
            raise GradeError(
                f"{folder} has no gradebook.csv with grades: give the folders `workshop grade --out` wrote."
            )
        canvas = read_canvas(folder / CANVAS_FILENAME)
        for row in rows:
            name = row.unit
            if name not in units:
                raise GradeError(f"{folder / 'gradebook.csv'}: unit {name!r} is not one of this course's units.")
            unit = units[name]
            grades = found.get(name)
            if grades is None:
                assignment = canvas[0] if canvas else f"{unit.number:02d}. {unit.title}"
                grades = found[name] = UnitGrades(unit, assignment, canvas[1] if canvas else points)
            elif canvas and canvas[1] != grades.possible:
                raise GradeError(
                    f"{unit.name} was graded for {number(grades.possible)} points in one folder and "
                    f"{number(canvas[1])} in {folder}: grade it again with one --points."
                )
            current = grades.rows.get(row.learner)
            if current is not None and row.graded_at < current.graded_at:
                continue
            grades.rows[row.learner] = row
            if canvas and row.learner in canvas[2]:
                grades.points[row.learner] = canvas[2][row.learner]
            elif row.status == GRADER_ERROR:
                grades.points[row.learner] = None
            else:
                grades.points[row.learner] = grades.possible if row.passed else 0.0
    return dict(sorted(found.items(), key=lambda item: item[1].unit.number))


def learners(grades: dict[str, UnitGrades]) -> dict[str, str]:
    """Every learner graded in any unit, with their name when a Canvas download gave one."""
    names: dict[str, str] = {}
    for unit_grades in grades.values():
        for learner, row in unit_grades.rows.items():
            if row.name or learner not in names:
                names[learner] = row.name or names.get(learner, "")
    return dict(sorted(names.items()))


def course_gradebook_csv(grades: dict[str, UnitGrades]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["learner", "name", *grades, "units_passed", "points", "points_possible"])
    possible = sum(unit_grades.possible for unit_grades in grades.values())
    for learner, name in learners(grades).items():
        rows = [unit_grades.rows.get(learner) for unit_grades in grades.values()]
        passed = sum(1 for row in rows if row and row.status == OK and row.passed)
        earned = sum(unit_grades.points.get(learner) or 0.0 for unit_grades in grades.values())
        writer.writerow([learner, name, *map(cell, rows), passed, number(earned), number(possible)])
    return buffer.getvalue()


def canvas_csv(grades: dict[str, UnitGrades]) -> str:
    """Canvas's import: a learner with a name (from Canvas's download) by ``ID``, others by
    ``SIS Login ID``; a unit the learner handed nothing in for, or a grader error, is left empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CANVAS_IDENTITY, *(unit_grades.assignment for unit_grades in grades.values())])
    writer.writerow(["Points Possible", "", "", "", "", *(number(g.possible) for g in grades.values())])
    for learner, name in learners(grades).items():
        earned = [unit_grades.points.get(learner) for unit_grades in grades.values()]
        cells = ["" if value is None else number(value) for value in earned]
        identity = [name, learner, "", "", ""] if name else [learner, "", "", learner, ""]
        writer.writerow([*identity, *cells])
    return buffer.getvalue()


def merge_units(graded: list[Path], out: Path, points: float = 1.0, course: Course | None = None) -> dict:
    """Write the course gradebook and Canvas CSV of `graded` folders into `out`."""
    if not graded:
        raise GradeError("Give the folders that `workshop grade --out` wrote, one or more per unit.")
    out = Path(out)
    if any(Path(folder).resolve() == out.resolve() for folder in graded):
        raise GradeError(f"--out {out} is one of the graded folders: its canvas.csv would be overwritten.")
    grades = collect(graded, points, course)
    atomic.write_text(out / COURSE_GRADEBOOK, course_gradebook_csv(grades))
    atomic.write_text(out / CANVAS_FILENAME, canvas_csv(grades))
    return {"units": list(grades), "learners": len(learners(grades)), "out": str(out)}


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "gradebook",
        help="merge several units' `workshop grade` outputs into one course gradebook and Canvas CSV",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("graded", nargs="+", type=Path, metavar="GRADED_DIR", help="a folder `workshop grade` wrote")
    parser.add_argument("--out", type=Path, required=True, help="where course-gradebook.csv and canvas.csv go")
    parser.add_argument(
        "--points", type=float, default=1.0, help="a pass's points for a folder without canvas.csv (default 1)"
    )
    parser.set_defaults(handler=run)


def run(args) -> int:
    try:
        summary = merge_units(args.graded, args.out, args.points, Course.find())
    except GradeError as error:
        print(f"workshop gradebook: {error}", file=sys.stderr)
        return 2
    print(
        f"{summary['learners']} learners, {len(summary['units'])} units ({', '.join(summary['units'])}): "
        f"{Path(summary['out']) / COURSE_GRADEBOOK} and {Path(summary['out']) / CANVAS_FILENAME}"
    )
    return 0
