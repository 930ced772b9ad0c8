"""Units: one solution file each, with its goal, budget, data and demo declared in its first cell.

Everything here takes the ``Course`` it reads (``course=None``: ``Course.find()``, resolved at call
time, never at import), so a course built in ``tmp_path`` is read exactly as the checkout is. A
declaration that is present but malformed is one ``UnitError`` line naming the field and the file.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from workshop.course.course import Course
from workshop.course.notebooks import SubmissionError, read_notebook

# Where every message about a declaration sends the reader (a test checks that the section exists).
CONTRIBUTING_SECTION = "Where a unit's goal lives"

# The field list in the first Markdown cell, e.g.
#   - **Goal:** `test_accuracy >= 0.84`
#   - **Budget:** 60 s
#   - **Data:** `fashion-mnist`
#   - **Published:** test accuracy 0.842 for logistic regression (Xiao et al., 2017)
#   - **Demo:** garment  (optional: the in-page demo of the unit's model on the site)
# A field's label found means the field is there; its value is then parsed strictly, so that a
# malformed value is reported as malformed, not as missing.
GOAL_FIELD = re.compile(r"\*\*Goal:\*\*[ \t]*(?P<text>`[^`\n]*`|[^\n]*)")
GOAL_VALUE = re.compile(r"(?P<metric>[a-z_]+)\s*(?P<op>>=|<=)\s*(?P<value>[0-9]+(?:\.[0-9]+)?)")
GOAL_PATTERN = re.compile(r"\*\*Goal:\*\*\s*`(?P<metric>[a-z_]+)\s*(?P<op>>=|<=)\s*(?P<value>[0-9]+(?:\.[0-9]+)?)`")
# "- **Floor:** 0.1 (always predicting the most frequent class)": an honest trivial model's held-out
# value, measured by `python -m workshop.grading.floors`; `workshop grade --credit linear` starts there.
FLOOR_FIELD = re.compile(r"\*\*Floor:\*\*[ \t]*(?P<text>[^\n]*)")
FLOOR_PATTERN = re.compile(r"`?(?P<value>[0-9]+(?:\.[0-9]+)?)`?(?![0-9.,])[^(\n]*(?:\((?P<how>[^)]*)\))?")
BUDGET_FIELD = re.compile(r"\*\*Budget:\*\*[ \t]*(?P<text>[^\n]*)")
BUDGET_PATTERN = re.compile(r"(?P<seconds>[0-9]+)\s*s\b")
# "- **Published:** text" up to the next field or the end of the list (it may wrap over lines).
PUBLISHED_PATTERN = re.compile(r"\*\*Published:\*\*\s*(?P<text>.+?)(?=\n\s*(?:- \*\*|\n|$))", re.DOTALL)
DATA_FIELD = re.compile(r"\*\*Data:\*\*[ \t]*(?P<text>[^\n]*)")
DATA_PATTERN = re.compile(r"(?P<names>(?:`[a-z0-9-]+`[,\s]*)+)")
DEMO_FIELD = re.compile(r"\*\*Demo:\*\*[ \t]*(?P<text>[^\n]*)")
DEMO_PATTERN = re.compile(r"`?(?P<kind>[a-z]+(?:-[a-z]+)*)`?(?:\s+\([^)]*\))?\s*$")
TITLE_PATTERN = re.compile(r"^#\s+(?P<title>.+)$", re.MULTILINE)
UNIT_NAME_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+$")
# The mark of a place still to be written (``workshop new`` leaves them; ``units --check`` lists them):
# an optional field that holds it is not yet declared, rather than malformed.
TO_WRITE = "(to write)"

# The runner allows this much wall time beyond the budget (the whole notebook alone): Python and
# Keras start-up, data loading, plotting and the final save. That is the limit of a run with
# BUDGET_CORES cores of its own (budgets are declared "on a 2-core laptop"); a run with fewer, or
# sharing them with other runs, gets it scaled up (`workshop.running.runner.time_limit`).
TIMEOUT_FACTOR = 3
TIMEOUT_ALLOWANCE_SECONDS = 90
BUDGET_CORES = 2


class UnitError(Exception):
    """A unit could not be found or its declaration is malformed."""


@dataclass(frozen=True)
class Goal:
    metric: str
    op: str
    value: float

    def is_met(self, value: float | None) -> bool:
        if value is None or math.isnan(value):  # a missing or NaN score never meets a goal
            return False
        return value >= self.value if self.op == ">=" else value <= self.value

    @property
    def text(self) -> str:
        return f"{self.op} {self.value:g}"

    def __str__(self) -> str:
        return f"{self.metric} {self.text}"


@dataclass(frozen=True)
class Unit:
    name: str
    title: str
    goal: Goal
    budget_seconds: int
    datasets: tuple[str, ...]
    solution_path: Path
    published: str = ""  # the result published for this family of models, shown beside the goal
    floor: float | None = None  # an honest trivial model's held-out value (partial credit starts there)
    floor_how: str = ""  # how that trivial model predicts, e.g. "always the most frequent class"
    demo: str | None = None  # the kind of in-page demo of the unit's model ("garment", "road", ...), if any

    @property
    def number(self) -> int:
        return int(self.name[:2])

    @property
    def task(self) -> str:
        """The task that scores this unit: named by its first dataset."""
        return self.datasets[0]

    @property
    def timeout_seconds(self) -> int:
        """The wall-clock limit of a run alone with ``BUDGET_CORES`` cores; see ``runner.time_limit``."""
        return TIMEOUT_ALLOWANCE_SECONDS + TIMEOUT_FACTOR * self.budget_seconds

    @property
    def course(self) -> Course:
        """The course this unit's solution belongs to (``<root>/solutions/NN_slug.py``)."""
        return Course(self.solution_path.parent.parent)

    @property
    def exercise_path(self) -> Path:
        return self.course.exercises_dir / f"{self.name}.py"


def first_markdown(cells: list[dict]) -> str:
    for cell in cells:
        if cell["cell_type"] == "markdown":
            return "".join(cell["source"])
    return ""


def _malformed(path: Path, field: str, text: str, expected: str) -> UnitError:
    shown = text.strip() or "(nothing)"
    return UnitError(
        f"{path}: {field} {shown} is malformed: write {expected} (see CONTRIBUTING.md, '{CONTRIBUTING_SECTION}')."
    )


def parse_goal(text: str, path: Path) -> Goal:
    """The goal of a **Goal:** field's value (`` `test_accuracy >= 0.84` ``), strictly."""
    value = GOAL_VALUE.fullmatch(text.strip().strip("`").strip())
    if not text.strip().startswith("`") or value is None:
        raise _malformed(
            path,
            "**Goal:**",
            text,
            "`metric >= number` or `metric <= number` in backticks, e.g. `test_accuracy >= 0.84`",
        )
    return Goal(value["metric"], value["op"], float(value["value"]))


def parse_declaration(name: str, markdown: str, path: Path) -> Unit:
    """Read title, goal, budget, data and the optional fields from a unit's first Markdown cell.

    A missing field is named as missing; a field that is there with a value that does not parse is
    named as malformed, with what to write instead. Either is one ``UnitError`` line."""
    title = TITLE_PATTERN.search(markdown)
    goal_field, budget_field, data_field = (
        GOAL_FIELD.search(markdown),
        BUDGET_FIELD.search(markdown),
        DATA_FIELD.search(markdown),
    )
    missing = [
        label
        for label, match in (
            ("# Title", title),
            ("**Goal:**", goal_field),
            ("**Budget:**", budget_field),
            ("**Data:**", data_field),
        )
        if match is None
    ]
    if missing:
        raise UnitError(
            f"{path}: the first Markdown cell must declare {', '.join(missing)} (see CONTRIBUTING.md, '{CONTRIBUTING_SECTION}')."
        )
    goal = parse_goal(goal_field["text"], path)
    budget = BUDGET_PATTERN.match(budget_field["text"].strip())
    if budget is None:
        raise _malformed(path, "**Budget:**", budget_field["text"], "whole seconds, e.g. `60 s of training`")
    data = DATA_PATTERN.match(data_field["text"].strip())
    if data is None:
        raise _malformed(path, "**Data:**", data_field["text"], "data set names in backticks, e.g. `fashion-mnist`")
    floor, floor_how = None, ""
    if (floor_field := FLOOR_FIELD.search(markdown)) is not None and TO_WRITE not in floor_field["text"]:
        found = FLOOR_PATTERN.match(floor_field["text"].strip())
        if found is None:
            raise _malformed(
                path, "**Floor:**", floor_field["text"], "a number, e.g. `0.10 (always the most frequent class)`"
            )
        floor, floor_how = float(found["value"]), " ".join((found["how"] or "").split())
    demo = None
    if (demo_field := DEMO_FIELD.search(markdown)) is not None and TO_WRITE not in demo_field["text"]:
        found = DEMO_PATTERN.match(demo_field["text"].strip())
        if found is None:
            raise _malformed(path, "**Demo:**", demo_field["text"], "one demo kind, e.g. `garment`")
        demo = found["kind"]
    return Unit(
        name=name,
        title=title["title"].strip(),
        goal=goal,
        budget_seconds=int(budget["seconds"]),
        datasets=tuple(re.findall(r"`([a-z0-9-]+)`", data["names"])),
        solution_path=path,
        published=" ".join(published["text"].split()) if (published := PUBLISHED_PATTERN.search(markdown)) else "",
        floor=floor,
        floor_how=floor_how,
        demo=demo,
    )


def _course(course: Course | None) -> Course:
    return Course.find() if course is None else course


def load_unit(name: str, course: Course | None = None) -> Unit:
    course = _course(course)
    path = course.solutions_dir / f"{name}.py"
    if not path.is_file():
        known = ", ".join(unit_names(course)) or "none"
        raise UnitError(f"No unit named {name!r}. Known units: {known}.")
    stat = path.stat()
    return _parsed_unit(name, path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _parsed_unit(name: str, path: Path, mtime_ns: int, size: int) -> Unit:
    """The declaration of a solution file as it is now (the site build asks for every unit on
    every page: parsing ten notebooks each time was most of a rebuild). Keyed by the file's full
    path, so two courses (the checkout, one in ``tmp_path``) never share an entry."""
    try:
        notebook = read_notebook(path)
    except SubmissionError as error:
        raise UnitError(str(error)) from None
    return parse_declaration(name, first_markdown(notebook["cells"]), path)


def unit_names(course: Course | None = None) -> list[str]:
    return sorted(p.stem for p in _course(course).solutions_dir.glob("*.py") if UNIT_NAME_PATTERN.match(p.stem))


def all_units(course: Course | None = None) -> list[Unit]:
    course = _course(course)
    return [load_unit(name, course) for name in unit_names(course)]


def unit_for_path(path: Path, course: Course | None = None) -> Unit:
    """The unit a submission belongs to, from its file name (``02_fashion_mnist_logreg.ipynb``)."""
    course = _course(course)
    names = unit_names(course)
    stem = Path(path).stem
    if stem in names:
        return load_unit(stem, course)
    # Learners rename copies ("02_fashion_mnist_logreg (1).ipynb", "02_..._alice.py").
    candidates = [name for name in names if stem.startswith(name)]
    if len(candidates) == 1:
        return load_unit(candidates[0], course)
    raise UnitError(
        f"Cannot tell which unit {Path(path).name!r} belongs to; pass --unit NAME. Known units: {', '.join(names)}."
    )


def unit_summary(unit: Unit) -> dict:
    return {
        "unit": unit.name,
        "title": unit.title,
        "metric": unit.goal.metric,
        "goal": unit.goal.text,
        "budget_seconds": unit.budget_seconds,
        "timeout_seconds": unit.timeout_seconds,
        "datasets": list(unit.datasets),
    }


def task_reference(task_name: str, course: Course | None = None) -> Path:
    """The reference solution of the first unit scored by the task ``task_name``: what a generated
    task is handed (``get_task(name, reference=...)``) to run its generator cells."""
    course = _course(course)
    for name in unit_names(course):
        try:
            unit = load_unit(name, course)
        except UnitError:  # another unit's declaration being broken must not stop this task
            continue
        if unit.task == task_name:
            return unit.solution_path
    raise UnitError(f"No unit in {course.solutions_dir} declares the data set {task_name!r} first.")
