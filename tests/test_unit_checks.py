"""`workshop units --check`, in-process on a course built in `tmp_path`: silent when all agrees,
and for each kind of problem exactly one precise line, never a traceback."""

from __future__ import annotations

import re

import pytest
from tiny_course import edit, goal_line, tiny_course, write_unit

from workshop import cli
from workshop.course.checks import all_problems, model_layers
from workshop.course.course import Course
from workshop.course.exercises import generate
from workshop.course.units import CONTRIBUTING_SECTION, load_unit


@pytest.fixture
def course(tmp_path) -> Course:
    return tiny_course(tmp_path / "course")


def problems_after_make_exercises(course: Course) -> list[str]:
    """The problems once `make exercises` has run (so that a stale exercise is not one more line)."""
    generate(course)
    found = all_problems(course)
    assert all("\n" not in line and "Traceback" not in line for line in found), found
    return found


def test_a_consistent_course_passes(course):
    assert all_problems(course) == []


def test_the_command_reports_in_process(course, monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_ROOT", str(course.root))
    assert cli.main(["units", "--check"]) == 0
    assert "2 units, each consistent" in capsys.readouterr().out
    edit(course.lessons_dir / "02_other.md", "unit: 02_other", "unit: 02_othre")
    assert cli.main(["units", "--check"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[:-1] == [
        "02_other: no lesson docs/lessons/02_*.md says `unit: 02_other` in its front matter.",
        (
            "docs/lessons/02_other.md: its front matter says `unit: 02_othre`, which names no unit "
            "(solutions/02_othre.py does not exist)."
        ),
    ]
    assert err[-1].startswith("2 problem(s)")


@pytest.mark.parametrize("goal", ["test_accuracy > 0.9", "test_accuracy >= 0,9", "test_accuracy >= 0.9.1"])
def test_a_malformed_goal_is_one_line_that_says_malformed(course, goal):
    edit(course.solutions_dir / "01_tiny.py", "**Goal:** `test_accuracy >= 0.5`", f"**Goal:** `{goal}`")
    assert problems_after_make_exercises(course) == [
        (
            f"01_tiny: solutions/01_tiny.py: **Goal:** `{goal}` is malformed: write `metric >= number` or "
            "`metric <= number` in backticks, e.g. `test_accuracy >= 0.84` "
            f"(see CONTRIBUTING.md, '{CONTRIBUTING_SECTION}')."
        )
    ]


def test_a_missing_goal_is_named_missing(course):
    edit(
        course.solutions_dir / "01_tiny.py",
        "# - **Goal:** `test_accuracy >= 0.5` on the held-out test images, scored by the runner\n",
        "",
    )
    (line,) = problems_after_make_exercises(course)
    assert line.startswith("01_tiny: solutions/01_tiny.py: the first Markdown cell must declare **Goal:**")


def test_a_malformed_floor_is_one_line(course):
    edit(course.solutions_dir / "01_tiny.py", "**Floor:** 0.10", "**Floor:** 0.1.0")
    (line,) = problems_after_make_exercises(course)
    assert line.startswith("01_tiny: solutions/01_tiny.py: **Floor:** 0.1.0 (always") and "is malformed" in line


def test_a_solution_that_is_not_utf8_is_named_not_a_traceback(course):
    (course.solutions_dir / "01_tiny.py").write_bytes(b"# %% [markdown]\n# # Caf\xe9\n")
    (line,) = all_problems(course)
    assert line.startswith("01_tiny: 01_tiny.py is not UTF-8 text: ") and line.endswith("Save it as UTF-8."), line


def test_a_data_typo_is_one_line(course):
    edit(course.solutions_dir / "01_tiny.py", "`fashion-mnist`", "`fashion-mnits`")
    (line,) = problems_after_make_exercises(course)
    assert line.startswith(
        "01_tiny: **Data:** names `fashion-mnits`, which is neither in workshop/datasets/datasets.toml"
    )


def test_a_metric_the_task_does_not_compute_is_one_line(course):
    edit(course.solutions_dir / "01_tiny.py", "`test_accuracy >= 0.5`", "`test_acuracy >= 0.5`")
    assert problems_after_make_exercises(course) == [
        "01_tiny: the goal's metric `test_acuracy` is not one the `fashion-mnist` task computes (test_accuracy)."
    ]


def test_duplicate_unit_numbers_are_one_line(course):
    write_unit(course, "01_again")
    assert problems_after_make_exercises(course) == [
        "solutions/: number 01 is taken by 01_again and 01_tiny: give each unit its own number."
    ]


def test_a_lesson_naming_no_unit_is_one_line(course):
    (course.lessons_dir / "05_ghost.md").write_text("---\ntitle: Ghost\nunit: 05_ghost\n---\n# Ghost\n")
    assert problems_after_make_exercises(course) == [
        (
            "docs/lessons/05_ghost.md: its front matter says `unit: 05_ghost`, which names no unit "
            "(solutions/05_ghost.py does not exist)."
        )
    ]


def test_a_generated_task_without_generator_cells_is_one_line(course):
    write_unit(course, "03_roads", goal="test_mae <= 2.0", data="self-driving")
    assert problems_after_make_exercises(course) == [
        (
            "03_roads: the `self-driving` task draws its held-out data with the solution's generator cells, and "
            'solutions/03_roads.py has none: tag the cell defining make_dataset with `# %% tags=["generator"]`.'
        )
    ]
    edit(
        course.solutions_dir / "03_roads.py",
        "# %%\nimport keras\n",
        '# %% tags=["generator"]\ndef make_dataset(count, seed):\n    return None\n\n\n# %%\nimport keras\n',
    )
    assert problems_after_make_exercises(course) == []


def test_a_demo_whose_model_the_converter_cannot_export_is_one_line(course):
    solution = course.solutions_dir / "01_tiny.py"
    edit(solution, "# - **Published:**", "# - **Demo:** `garment` (the page runs the model)\n# - **Published:**")
    assert problems_after_make_exercises(course) == []  # Flatten and Dense: the converter exports them
    assert load_unit("01_tiny", course).demo == "garment"
    edit(solution, "keras.layers.Flatten(),", "keras.layers.Flatten(), keras.layers.LayerNormalization(),")
    assert problems_after_make_exercises(course) == [
        (
            "01_tiny: **Demo:** garment needs a model the site's ONNX converter exports, but `model` uses "
            "LayerNormalization (workshop/site/onnx_export.py SUPPORTED_LAYERS): drop the demo or the layer."
        )
    ]


def test_a_demo_of_a_kind_the_site_does_not_have_is_one_line(course):
    edit(course.solutions_dir / "01_tiny.py", "# - **Published:**", "# - **Demo:** `garmnet`\n# - **Published:**")
    assert problems_after_make_exercises(course) == [
        (
            "01_tiny: **Demo:** names the demo kind `garmnet`, which the site does not have "
            "(garment, review, road, window; workshop/site/demos.py DEMOS)."
        )
    ]


def test_only_the_layers_of_model_count_for_its_demo():
    source = (
        "from keras import layers\nimport keras\n"
        "def body():\n    return [layers.Conv2D(8, 3), layers.Flatten()]\n"
        "probe = keras.Sequential([layers.Normalization(), layers.Dense(10)])\n"
        "model = keras.Sequential([keras.Input((28, 28, 1)), *body(), layers.Dense(10)])\n"
    )
    assert model_layers(source) == ["Conv2D", "Dense", "Flatten"]


def test_a_self_check_that_disagrees_with_the_declaration_is_written_by_make_exercises(course):
    solution = course.solutions_dir / "01_tiny.py"
    edit(solution, "`test_accuracy >= 0.5`", "`test_accuracy >= 0.6`")
    assert all_problems(course) == [
        (
            "01_tiny: the self-check says `goal = 0.5  # test_accuracy >= 0.5`, the declaration test_accuracy >= 0.6: "
            "run `make exercises`."
        ),
        "01_tiny: exercises/01_tiny.* does not match the solution: run `make exercises`.",
    ]
    assert problems_after_make_exercises(course) == []
    assert goal_line("test_accuracy >= 0.6") in solution.read_text()
    exercise = (course.exercises_dir / "01_tiny.py").read_text()
    assert re.search(r"^goal = 0\.6  # test_accuracy >= 0\.6$", exercise, re.MULTILINE)  # a literal: runs alone


def test_a_lesson_that_types_the_goal_is_one_line(course):
    edit(course.lessons_dir / "01_tiny.md", "{{ unit.goal }}", "`test_accuracy >= 0.5`")
    assert problems_after_make_exercises(course) == [
        (
            "01_tiny: docs/lessons/01_tiny.md types the goal `test_accuracy >= 0.5` by hand: write {{ unit.goal }}, "
            "which the site fills from the declaration."
        )
    ]


def test_the_pointer_to_contributing_names_a_section_that_exists():
    headings = re.findall(r"^#+ (.+)$", (Course.find().root / "CONTRIBUTING.md").read_text(), re.MULTILINE)
    assert CONTRIBUTING_SECTION in headings, headings


def test_the_units_are_parsed_per_course(tmp_path):
    """The parse cache is keyed by the file: two courses with the same unit name never share a unit."""
    first, second = tiny_course(tmp_path / "a", ("01_tiny",)), Course(tmp_path / "b")
    write_unit(second, "01_tiny", goal="test_accuracy >= 0.7")
    assert load_unit("01_tiny", first).goal.value == 0.5
    assert load_unit("01_tiny", second).goal.value == 0.7
    assert load_unit("01_tiny", second).exercise_path == second.exercises_dir / "01_tiny.py"
