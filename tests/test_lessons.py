"""Lessons agree with their exercises: every code block runs in the build or is a checked excerpt."""

from __future__ import annotations

import ast
import re

import pytest

from workshop.course.course import Course
from workshop.course.lessons import BUDGET_PLACEHOLDER, GOAL_PLACEHOLDER, fill_unit_fields, front_matter
from workshop.course.units import load_unit

COURSE = Course.find()
LESSONS = sorted(COURSE.lessons_dir.glob("*.md"))
FENCE = re.compile(r"^(?P<indent> *)```python(?P<info>[^\n]*)\n(?P<code>.*?)^(?P=indent)```$", re.MULTILINE | re.DOTALL)
EXCERPT = re.compile(r'title="Excerpt of (?P<path>solutions/\d\d_[a-z0-9_]+\.py)"')


def statements(source: str) -> set[str]:
    """Every statement of a file, at any depth, in one canonical spelling (ast.unparse)."""
    return {ast.unparse(node) for node in ast.walk(ast.parse(source)) if isinstance(node, ast.stmt)}


def python_blocks(lesson):
    text = lesson.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        code = "\n".join(line[len(match["indent"]) :] for line in match["code"].splitlines())
        yield match["info"], code


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_every_code_block_runs_in_the_build_or_is_an_excerpt_of_its_solution(lesson):
    blocks = list(python_blocks(lesson))
    # The pattern must see every Python fence of the page; one it skipped would go unchecked.
    assert len(blocks) == lesson.read_text(encoding="utf-8").count("```python"), "a Python block was not parsed"
    for info, code in blocks:
        if 'exec="on"' in info:
            continue  # markdown-exec runs it in every build; a failing block fails the strict build
        excerpt = EXCERPT.search(info)
        assert excerpt, f"{lesson.name}: a Python block neither runs (exec) nor names its source:\n{code}"
        solution = statements((COURSE.root / excerpt["path"]).read_text(encoding="utf-8"))
        for node in ast.parse(code).body:
            assert ast.unparse(node) in solution, (
                f"{lesson.name}: this statement is not in {excerpt['path']}:\n{ast.unparse(node)}"
            )


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_every_lesson_has_two_challenges_with_answers(lesson):
    text = lesson.read_text(encoding="utf-8")
    challenges = re.findall(r'^\?\?\? question "Challenge: [^"]+"\n((?:    .*\n|\n)+)', text, re.MULTILINE)
    assert len(challenges) >= 2, f"{lesson.name} has {len(challenges)} challenges"
    for body in challenges:
        assert "**Answer.**" in body


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_the_exercise_box_takes_the_goal_from_the_declaration(lesson):
    """The goal is typed once, in the solution: the lesson's Exercise box says {{ unit.goal }}, and the
    page shows the declared goal in its place."""
    name = front_matter(lesson).get("unit")
    if name is None:
        return
    text = lesson.read_text(encoding="utf-8")
    box = re.search(r'^!!! example "Exercise[^"]*"\n((?:    .*\n|\n)+)', text, re.MULTILINE)
    assert box and GOAL_PLACEHOLDER in box[1], f"{lesson.name}: the Exercise box must say {GOAL_PLACEHOLDER}"
    goal = load_unit(name, COURSE).goal
    filled = fill_unit_fields(text, load_unit(name, COURSE))
    assert GOAL_PLACEHOLDER not in filled and f"`{goal.metric} {goal.op} {goal.value!r}`" in filled


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_a_lesson_quotes_the_budget_only_through_its_placeholder(lesson):
    """A time budget in a lesson is the declaration's: `{{ unit.budget }}` is filled with it, and no
    lesson types a budget-like "N s of CPU" figure by hand."""
    name = front_matter(lesson).get("unit")
    if name is None:
        return
    text = lesson.read_text(encoding="utf-8")
    typed = re.findall(r"\b\d+ s of (?:CPU|training)\b", text)
    assert not typed, f"{lesson.name} types a budget ({typed[0]!r}): write {BUDGET_PLACEHOLDER}"
    unit = load_unit(name, COURSE)
    filled = fill_unit_fields(text, unit)
    assert BUDGET_PLACEHOLDER not in filled
    if BUDGET_PLACEHOLDER in text:
        assert f"{unit.budget_seconds} s" in filled
