"""`workshop new`, in-process on a course built in `tmp_path`: a new unit's files, which `units
--check` and the runner take as an unfinished unit (placeholders listed one per line, the goal not
met), with the goal stated once, in the declaration."""

from __future__ import annotations

import re

import pytest
from tiny_course import tiny_course

from workshop.course.checks import all_problems
from workshop.course.course import Course
from workshop.course.lessons import GOAL_PLACEHOLDER
from workshop.course.scaffold import ScaffoldError, create
from workshop.course.units import load_unit


@pytest.fixture
def course(tmp_path) -> Course:
    return tiny_course(tmp_path / "course")


def still_to_write(course: Course, name: str) -> set[str]:
    found = all_problems(course)
    lines = [line for line in found if line.startswith(f"{name}:")]
    assert lines and all(line.startswith(f"{name}: still to write: ") for line in lines), found
    assert not [line for line in found if not line.startswith(f"{name}:")], found
    return {line.split(": still to write: ")[1].split(":")[0] for line in lines}


def test_a_new_unit_on_new_data_is_listed_as_unfinished(course):
    written = create("12_shapes", "shapes", "test_accuracy", ">=", 0.9, course=course)  # data: "shapes", new
    assert {path.relative_to(course.root).as_posix() for path in written} == {
        "solutions/12_shapes.py",
        "docs/lessons/12_shapes.md",
        "workshop/tasks/shapes.py",
    }
    assert (course.exercises_dir / "12_shapes.ipynb").is_file()
    assert still_to_write(course, "12_shapes") == {
        "solutions/12_shapes.py",
        "docs/lessons/12_shapes.md",
        "workshop/tasks/shapes.py",
    }
    with pytest.raises(ScaffoldError, match="Number 12 is taken by 12_shapes"):
        create("12_other", "fashion-mnist", "test_accuracy", course=course)


def test_the_goal_is_typed_once_in_the_new_unit(course):
    create("12_garments", "fashion-mnist", "test_accuracy", ">=", 0.875, course=course)
    unit = load_unit("12_garments", course)
    assert str(unit.goal) == "test_accuracy >= 0.875"
    lesson = (course.lessons_dir / "12_garments.md").read_text()
    assert GOAL_PLACEHOLDER in lesson and "0.875" not in lesson  # the site fills it from the declaration
    solution = (course.solutions_dir / "12_garments.py").read_text()
    # The declaration, and the self-check line `make exercises` writes from it.
    assert re.findall(r"^.*0\.875.*$", solution, re.MULTILINE) == [
        "# - **Goal:** `test_accuracy >= 0.875` on held-out data, scored by the runner",
        "goal = 0.875  # test_accuracy >= 0.875",
    ]


def test_a_new_unit_fails_its_own_goal_until_written(course):
    create("12_garments", "fashion-mnist", "test_accuracy", course=course)
    assert not (course.tasks_dir / "fashion_mnist.py").exists()  # the data set's task already exists
    assert still_to_write(course, "12_garments") == {"solutions/12_garments.py", "docs/lessons/12_garments.md"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("12shapes", "shapes", "test_accuracy"), "is not a unit name"),
        (("12_shapes", "Shapes!", "test_accuracy"), "is not a data set name"),
        (("12_shapes", "shapes", "test_accuracy", ">"), "compares with >= or <="),
        (("12_shapes", "shapes", "test accuracy"), "is not a metric name"),
    ],
)
def test_a_bad_request_writes_nothing(course, arguments, message):
    before = sorted(course.root.rglob("*"))
    with pytest.raises(ScaffoldError, match=message):
        create(*arguments, course=course)
    assert sorted(course.root.rglob("*")) == before


def test_the_runner_scores_a_new_unit_as_unfinished(course):
    """The runner's verdict on the scaffolded solution: it leaves no model, so it misses its goal."""
    from workshop.running.runner import run_unit

    create("12_garments", "fashion-mnist", "test_accuracy", course=course)
    result = run_unit(course.solutions_dir / "12_garments.py", load_unit("12_garments", course))
    assert result.status == "error" and not result.met, result.message
    assert "left no Keras model in the name `model`" in result.message, result.message
