"""Units: one solution file each, with its goal, budget and data declared in its first cell."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from workshop.course.course import Course


def find_course_root() -> Path:
    """The course checkout the command works on (see ``Course.find``)."""
    return Course.find().root


REPO = find_course_root()
SOLUTIONS_DIR = REPO / "solutions"
EXERCISES_DIR = REPO / "exercises"

# The field list in the first Markdown cell, e.g.
#   - **Goal:** `test_accuracy >= 0.84`
#   - **Budget:** 60 s
#   - **Data:** `fashion-mnist`
#   - **Published:** test accuracy 0.842 for logistic regression (Xiao et al., 2017)
GOAL_PATTERN = re.compile(r"\*\*Goal:\*\*\s*`(?P<metric>[a-z_]+)\s*(?P<op>>=|<=)\s*(?P<value>[0-9.]+)`")
# "- **Floor:** 0.1 (always predicting the most frequent class)": an honest trivial model's held-out
# value, measured by `python -m workshop.grading.floors`; `workshop grade --credit linear` starts there.
FLOOR_PATTERN = re.compile(r"\*\*Floor:\*\*\s*`?(?P<value>[0-9.]+)`?[^(\n]*(?:\((?P<how>[^)]*)\))?")
BUDGET_PATTERN = re.compile(r"\*\*Budget:\*\*\s*(?P<seconds>[0-9]+)\s*s\b")
# "- **Published:** text" up to the next field or the end of the list (it may wrap over lines).
PUBLISHED_PATTERN = re.compile(r"\*\*Published:\*\*\s*(?P<text>.+?)(?=\n\s*(?:- \*\*|\n|$))", re.DOTALL)
DATA_PATTERN = re.compile(r"\*\*Data:\*\*\s*(?P<names>(?:`[a-z0-9-]+`[,\s]*)+)")
TITLE_PATTERN = re.compile(r"^#\s+(?P<title>.+)$", re.MULTILINE)
UNIT_NAME_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+$")

# The runner allows this much wall time beyond the training budget: Python and
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
    def exercise_path(self) -> Path:
        return EXERCISES_DIR / f"{self.name}.py"


def first_markdown(cells: list[dict]) -> str:
    for cell in cells:
        if cell["cell_type"] == "markdown":
            return "".join(cell["source"])
    return ""


def parse_declaration(name: str, markdown: str, path: Path) -> Unit:
    """Read title, goal, budget and data from a unit's first Markdown cell."""
    missing = []
    title = TITLE_PATTERN.search(markdown)
    goal = GOAL_PATTERN.search(markdown)
    budget = BUDGET_PATTERN.search(markdown)
    data = DATA_PATTERN.search(markdown)
    for field, match in (("# Title", title), ("**Goal:**", goal), ("**Budget:**", budget), ("**Data:**", data)):
        if match is None:
            missing.append(field)
    if missing:
        raise UnitError(
            f"{path}: the first Markdown cell must declare {', '.join(missing)} "
            "(see CONTRIBUTING.md, 'Declaring a unit')."
        )
    return Unit(
        name=name,
        title=title["title"].strip(),
        goal=Goal(goal["metric"], goal["op"], float(goal["value"])),
        budget_seconds=int(budget["seconds"]),
        datasets=tuple(re.findall(r"`([a-z0-9-]+)`", data["names"])),
        solution_path=path,
        published=" ".join(published["text"].split()) if (published := PUBLISHED_PATTERN.search(markdown)) else "",
        floor=float(floor["value"]) if (floor := FLOOR_PATTERN.search(markdown)) else None,
        floor_how=" ".join((floor["how"] or "").split()) if floor else "",
    )


def load_unit(name: str) -> Unit:
    path = SOLUTIONS_DIR / f"{name}.py"
    if not path.is_file():
        known = ", ".join(unit_names()) or "none"
        raise UnitError(f"No unit named {name!r}. Known units: {known}.")
    stat = path.stat()
    return _parsed_unit(name, path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _parsed_unit(name: str, path: Path, mtime_ns: int, size: int) -> Unit:
    """The declaration of a solution file as it is now (the site build asks for every unit on
    every page: parsing ten notebooks each time was most of a rebuild)."""
    from workshop.course.notebooks import read_notebook

    notebook = read_notebook(path)
    return parse_declaration(name, first_markdown(notebook["cells"]), path)


def unit_names() -> list[str]:
    return sorted(p.stem for p in SOLUTIONS_DIR.glob("*.py") if UNIT_NAME_PATTERN.match(p.stem))


def all_units() -> list[Unit]:
    return [load_unit(name) for name in unit_names()]


def unit_for_path(path: Path) -> Unit:
    """The unit a submission belongs to, from its file name (``02_fashion_mnist_logreg.ipynb``)."""
    names = unit_names()
    stem = Path(path).stem
    if stem in names:
        return load_unit(stem)
    # Learners rename copies ("02_fashion_mnist_logreg (1).ipynb", "02_..._alice.py").
    candidates = [name for name in names if stem.startswith(name)]
    if len(candidates) == 1:
        return load_unit(candidates[0])
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
