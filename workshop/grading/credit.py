"""How a gradebook row becomes points: pass/fail, or linear between the unit's floor and its goal.

* ``pass`` (the default): full points when the goal is met on held-out data, 0 otherwise.
* ``linear``: full points at the goal or better, none at or below the floor (the held-out value
  of an honest trivial model, declared in the solution as ``**Floor:**`` and measured by
  ``python -m workshop.grading.floors``), in proportion in between. A learner at 0.839 against a goal of
  0.84 gets nearly all the points; the stub, which never beats the trivial model, none.

A row the grader itself could not grade (``grader-error``) gets no points at all (not a zero);
a run that ended in an error or a timeout gets 0 in both modes.
"""

from __future__ import annotations

import math

from workshop.course.units import Unit
from workshop.grading.gradebook import GRADER_ERROR, OK, GradeError, GradeRow

MODES = ("pass", "linear")


def check_credit(mode: str, unit: Unit) -> None:
    if mode not in MODES:
        raise GradeError(f"--credit takes {' or '.join(MODES)} (got {mode!r}).")
    if mode == "linear":
        if unit.floor is None:
            raise GradeError(
                f"--credit linear needs the unit's floor, and {unit.solution_path} declares none: add "
                "`- **Floor:** VALUE (how)` beside its goal (`python -m workshop.grading.floors` measures it)."
            )
        worse = unit.floor < unit.goal.value if unit.goal.op == ">=" else unit.floor > unit.goal.value
        if not worse:
            raise GradeError(
                f"--credit linear: the floor of {unit.name} ({unit.floor:g}) is not worse than its goal "
                f"({unit.goal.text}); fix its **Floor:** line."
            )


def fraction(row: GradeRow, unit: Unit, mode: str = "pass") -> float | None:
    """The share of the points ``row`` earns (0 to 1), or None for a grader-error row."""
    if row.status == GRADER_ERROR:
        return None
    if row.passed:
        return 1.0
    if mode != "linear" or row.status != OK or row.value is None:
        return 0.0
    value, floor, goal = row.value, unit.floor, unit.goal.value
    if math.isnan(value) or floor is None:
        return 0.0
    share = (value - floor) / (goal - floor)  # the same formula for >= and <= goals
    return min(max(share, 0.0), 1.0)


def points_for(row: GradeRow, unit: Unit, points: float, mode: str = "pass") -> float | None:
    share = fraction(row, unit, mode)
    return None if share is None else round(points * share, 2)


def explanation(unit: Unit, points: float, mode: str = "pass") -> str:
    """How the points were computed, in one sentence for the learner and the exports."""
    goal = f"{unit.goal.metric} {unit.goal.text}"
    if mode != "linear":
        return f"{points:g} point(s) when {goal} on the held-out data, 0 otherwise (pass/fail)."
    floor = f"{unit.floor:g}"
    how = f" ({unit.floor_how})" if unit.floor_how else ""
    return (
        f"Partial credit: {points:g} point(s) at the goal ({goal}), 0 at the floor {floor} or worse, the "
        f"held-out value of a trivial model{how}; in between, in proportion: points = {points:g} x "
        f"({unit.goal.metric} - {floor}) / ({unit.goal.value:g} - {floor})."
    )
