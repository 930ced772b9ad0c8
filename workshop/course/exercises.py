"""Generate the learners' exercises from the solutions.

``solutions/NN_slug.py`` is the source of truth. Each ``### BEGIN SOLUTION`` /
``### END SOLUTION`` block is replaced by a stub at the block's indentation: the
block's ``### STUB <code>`` lines when it has any, otherwise a ``raise
NotImplementedError`` that tells the learner to complete the cell. The result is
written as ``exercises/NN_slug.py`` (jupytext percent) and ``exercises/NN_slug.ipynb``.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext

from workshop import atomic
from workshop.course.units import EXERCISES_DIR, SOLUTIONS_DIR, UNIT_NAME_PATTERN

BEGIN = re.compile(r"^(?P<indent>\s*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*### END SOLUTION\s*$")
STUB = re.compile(r"^\s*### STUB ?(?P<code>.*)$")
DEFAULT_STUB = 'raise NotImplementedError("Complete this cell: see the instructions above it.")'


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


def expected_files(solutions_dir: Path = SOLUTIONS_DIR) -> dict[str, str]:
    """File name in exercises/ -> the text it should have."""
    files = {}
    for solution in sorted(solutions_dir.glob("*.py")):
        if not UNIT_NAME_PATTERN.match(solution.stem):
            continue
        exercise = make_exercise(solution.read_text(encoding="utf-8"), solution.name)
        files[f"{solution.stem}.py"] = exercise
        files[f"{solution.stem}.ipynb"] = notebook_json(exercise)
    return files


def stale_files(exercises_dir: Path = EXERCISES_DIR, solutions_dir: Path = SOLUTIONS_DIR) -> list[str]:
    """Exercise files that are missing, different from what the generator makes, or orphaned."""
    expected = expected_files(solutions_dir)
    stale = [
        name
        for name, text in expected.items()
        if not (exercises_dir / name).is_file() or (exercises_dir / name).read_text(encoding="utf-8") != text
    ]
    existing = {p.name for p in exercises_dir.glob("*") if p.suffix in {".py", ".ipynb"}}
    stale += sorted(existing - set(expected))
    return stale


def generate(exercises_dir: Path = EXERCISES_DIR, solutions_dir: Path = SOLUTIONS_DIR) -> list[str]:
    """Write every exercise; remove orphans. Returns the names that changed."""
    expected = expected_files(solutions_dir)
    changed = stale_files(exercises_dir, solutions_dir)
    for name in changed:
        if name in expected:
            atomic.write_text(exercises_dir / name, expected[name])
        else:
            (exercises_dir / name).unlink()
    return changed
