"""Generate the learners' exercises from the solutions.

``solutions/NN_slug.py`` is the source of truth. Each ``### BEGIN SOLUTION`` /
``### END SOLUTION`` block is replaced by a stub at the block's indentation: the
block's ``### STUB <code>`` lines when it has any, otherwise a ``raise
NotImplementedError`` that tells the learner to complete the cell. The result is
written as ``exercises/NN_slug.py`` (jupytext percent) and ``exercises/NN_slug.ipynb``.

The self-check's ``goal = <value>  # <metric> <op> <value>`` line (the last code cell) is not typed:
``generate`` writes it from the declaration's **Goal:**, in the exercise and in the solution alike,
so a learner's exercise runs without the workshop package and still holds the goal as a literal.
Every function takes the ``Course`` it reads and writes (``None``: ``Course.find()``, at call time).
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext

from workshop import atomic
from workshop.course.course import Course
from workshop.course.notebooks import read_text
from workshop.course.units import UNIT_NAME_PATTERN, Goal, UnitError, load_unit

BEGIN = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
STUB = re.compile(r"^\s*### STUB ?(?P<code>.*)$")
DEFAULT_STUB = 'raise NotImplementedError("Complete this cell: see the instructions above it.")'
# The self-check's goal line, at the start of a line: written from the declaration, never by hand.
GOAL_LINE = re.compile(r"^goal = .*$", re.MULTILINE)


def goal_line(goal: Goal) -> str:
    """The self-check's line for ``goal``: ``goal = 0.84  # test_accuracy >= 0.84``."""
    return f"goal = {goal.value!r}  # {goal.metric} {goal.op} {goal.value!r}"


def with_goal_line(solution_text: str, goal: Goal) -> str:
    """``solution_text`` with its self-check's goal line written from ``goal``."""
    return GOAL_LINE.sub(lambda _: goal_line(goal), solution_text)


class MarkerError(Exception):
    """Solution markers are unbalanced."""


def make_exercise(solution_text: str, source_name: str = "solution") -> str:
    """The exercise text for one solution file's text."""
    output: list[str] = []
    block: list[str] | None = None
    indent = ""
    for number, line in enumerate(solution_text.splitlines(keepends=True), start=1):
        begin = BEGIN.match(line)
        if begin:
            if block is not None:
                raise MarkerError(f"{source_name}:{number}: BEGIN SOLUTION inside another block")
            block, indent = [], begin["indent"]
            continue
        if END.match(line):
            if block is None:
                raise MarkerError(f"{source_name}:{number}: END SOLUTION without BEGIN")
            stubs = [STUB.match(item)["code"] for item in block if STUB.match(item)]
            output.append(f"{indent}# YOUR CODE HERE\n")
            for code in stubs or [DEFAULT_STUB]:
                output.append(f"{indent}{code}\n")
            block = None
            continue
        if block is not None:
            block.append(line)
        else:
            output.append(line)
    if block is not None:
        raise MarkerError(f"{source_name}: BEGIN SOLUTION without END")
    return "".join(output)


def notebook_json(exercise_text: str) -> str:
    notebook = jupytext.reads(exercise_text, fmt="py:percent")
    # nbformat gives new cells random ids; numbered ids keep the output reproducible, so the
    # "exercises are in sync" check compares like with like.
    for number, cell in enumerate(notebook.cells, start=1):
        cell["id"] = f"cell-{number}"
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata.pop("jupytext", None)
    return jupytext.writes(notebook, fmt="ipynb")


def _course(course: Course | None) -> Course:
    return Course.find() if course is None else course


def expected_solutions(course: Course | None = None) -> dict[Path, str]:
    """Solution path -> its text with the self-check's goal line written from its declaration
    (a solution whose declaration does not parse keeps its text: ``units --check`` reports it)."""
    course = _course(course)
    texts = {}
    for solution in sorted(course.solutions_dir.glob("*.py")):
        if not UNIT_NAME_PATTERN.match(solution.stem):
            continue
        text = read_text(solution)  # a file that is not UTF-8 is one SubmissionError line
        try:
            text = with_goal_line(text, load_unit(solution.stem, course).goal)
        except UnitError:
            pass
        texts[solution] = text
    return texts


def expected_files(course: Course | None = None) -> dict[str, str]:
    """File name in exercises/ -> the text it should have."""
    files = {}
    for solution, text in expected_solutions(course).items():
        exercise = make_exercise(text, solution.name)
        files[f"{solution.stem}.py"] = exercise
        files[f"{solution.stem}.ipynb"] = notebook_json(exercise)
    return files


def stale_files(course: Course | None = None) -> list[str]:
    """Exercise files that are missing, different from what the generator makes, or orphaned."""
    course = _course(course)
    exercises_dir = course.exercises_dir
    expected = expected_files(course)
    stale = [
        name
        for name, text in expected.items()
        if not (exercises_dir / name).is_file() or (exercises_dir / name).read_text(encoding="utf-8") != text
    ]
    existing = {p.name for p in exercises_dir.glob("*") if p.suffix in {".py", ".ipynb"}}
    stale += sorted(existing - set(expected))
    return stale


def generate(course: Course | None = None) -> list[str]:
    """Write each solution's goal line from its declaration (only where it differs), then every
    exercise; remove orphans. Returns the names that changed (``solutions/...`` for a solution)."""
    course = _course(course)
    exercises_dir = course.exercises_dir
    solutions = [
        solution
        for solution, text in expected_solutions(course).items()
        if text != solution.read_text(encoding="utf-8")
    ]
    for solution in solutions:
        atomic.write_text(solution, expected_solutions(course)[solution])
    expected = expected_files(course)
    changed = stale_files(course)
    for name in changed:
        if name in expected:
            atomic.write_text(exercises_dir / name, expected[name])
        else:
            (exercises_dir / name).unlink()
    return [f"solutions/{solution.name}" for solution in solutions] + changed
