"""A course built in ``tmp_path``: units of a few cells on the real tasks, their lessons and
exercises, read by the course model in-process (no copy of the checkout, no subprocess)."""

from __future__ import annotations

from pathlib import Path

from workshop.course.course import Course
from workshop.course.exercises import generate

SOLUTION = """\
# %% [markdown]
# # {title}
#
# - **Goal:** `{goal}` on the held-out test images, scored by the runner
# - **Floor:** 0.10 (always predicting the most frequent training class)
# - **Budget:** 60 s for the whole notebook on a 2-core laptop CPU
# - **Data:** `{data}` (28x28 grey images, 10 classes)
# - **Published:** test accuracy 0.842 for logistic regression (Xiao et al., 2017)
#
# A model of 28x28 images with 10 softmax outputs.

# %%
import keras

# %% [markdown]
# Build `model`: a `keras.Sequential` of 28x28 inputs, flattened, then a softmax `Dense` layer of 10 units.

# %%
### BEGIN SOLUTION
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
### END SOLUTION

# %% [markdown]
# ## Check yourself

# %%
{goal_line}
print(f"The goal is {{goal}}.")
"""

LESSON = """\
---
title: {title}
unit: {name}
---
# {title}

!!! example "Exercise: {title}"
    Build the model and leave it in `model`. Goal: {{{{ unit.goal }}}}.
    [Open the exercise](../exercises/{name}.py)
"""


def goal_line(goal: str) -> str:
    metric, op, value = goal.split()
    return f"goal = {float(value)!r}  # {metric} {op} {float(value)!r}"


def write_unit(
    course: Course, name: str, goal: str = "test_accuracy >= 0.5", data: str = "fashion-mnist", lesson: bool = True
) -> Path:
    """A unit's solution (and its lesson): a flatten + softmax model of Fashion-MNIST."""
    title = name[3:].replace("_", " ").capitalize()
    course.solutions_dir.mkdir(parents=True, exist_ok=True)
    course.lessons_dir.mkdir(parents=True, exist_ok=True)
    course.exercises_dir.mkdir(parents=True, exist_ok=True)
    path = course.solutions_dir / f"{name}.py"
    path.write_text(SOLUTION.format(title=title, goal=goal, data=data, goal_line=goal_line(goal)), encoding="utf-8")
    if lesson:
        (course.lessons_dir / f"{name}.md").write_text(LESSON.format(title=title, name=name), encoding="utf-8")
    return path


def tiny_course(root: Path, names: tuple[str, ...] = ("01_tiny", "02_other")) -> Course:
    """A consistent course of ``names`` with its exercises generated."""
    course = Course(root)
    for name in names:
        write_unit(course, name)
    generate(course)
    return course


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
