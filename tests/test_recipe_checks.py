"""The check that each exercise can be finished from its text alone (workshop/course/recipe_checks.py):
silent on the course, one precise line for each unstated setting or name."""

from __future__ import annotations

from pathlib import Path

from workshop.course.checks import all_problems
from workshop.course.course import Course
from workshop.course.exercises import generate
from workshop.course.recipe_checks import EXCEPTIONS, IGNORED_KEYWORDS, recipe_problems
from workshop.course.units import unit_names

COURSE = Course.find()

HEADER = """# %% [markdown]
# # A unit
#
# - **Goal:** `test_accuracy >= 0.9` on held-out examples
# - **Data:** examples of 4 features (`shape=(4,)`), 2 classes

# %%
import keras
from keras import layers
"""

TRAINING = """
# %% [markdown]
# Build `model` from `keras.Input(shape=(4,))` and `layers.Dense(2, activation="softmax")`,
# and train it with `keras.callbacks.EarlyStopping(monitor="val_accuracy"{stated})`
# and `validation_data=(x_val, y_val)`; keep what `fit` returns in `history`.

# %%
### BEGIN SOLUTION
model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2, activation="softmax")])
stop = keras.callbacks.EarlyStopping(monitor="val_accuracy"{passed})
history = model.fit(x, y, validation_data=(x_val, y_val), callbacks=[stop], verbose=2)
### END SOLUTION
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "99_unit.py"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if fragment in line)


def test_every_unit_of_the_course_is_finishable_from_its_text():
    for name in unit_names(COURSE):
        assert recipe_problems(name, COURSE.solutions_dir / f"{name}.py") == []


def test_an_unstated_setting_is_reported_with_its_default(tmp_path):
    text = HEADER + TRAINING.format(stated="", passed=", patience=5")
    path = write(tmp_path, text)
    assert recipe_problems("99_unit", path) == [
        (
            f"99_unit: solutions/99_unit.py cell 4 (line {line_of(text, 'patience=5')}): `patience=5` in "
            "EarlyStopping(...) is neither stated in the instructions above the cell nor Keras' default "
            "(Keras' default: 0): state it in the text, or list it in workshop/course/recipe_checks.py EXCEPTIONS with "
            "the reason."
        )
    ]


def test_a_stated_setting_or_keras_default_passes(tmp_path):
    stated = write(tmp_path, HEADER + TRAINING.format(stated=", patience=5", passed=", patience=5"))
    assert recipe_problems("99_unit", stated) == []
    default = write(tmp_path, HEADER + TRAINING.format(stated="", passed=", patience=0"))
    assert recipe_problems("99_unit", default) == []


def test_an_unstated_positional_argument(tmp_path):
    text = HEADER + TRAINING.format(stated="", passed="").replace(
        'Dense(2, activation="softmax")])', 'Dense(7, activation="softmax")])'
    )
    path = write(tmp_path, text)
    assert recipe_problems("99_unit", path) == [
        (
            f"99_unit: solutions/99_unit.py cell 4 (line {line_of(text, 'Dense(7,')}): `7 (argument 1)` in "
            "Dense(...) is neither stated in the instructions above the cell nor Keras' default: state it in the "
            "text, or list it in workshop/course/recipe_checks.py EXCEPTIONS with the reason."
        )
    ]


def test_a_layer_looked_up_by_a_name_the_text_never_asks_for(tmp_path):
    text = (
        HEADER
        + """
# %% [markdown]
# Build `model`; name its first activation `"conv1_relu"`.

# %%
### BEGIN SOLUTION
model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(2, name="conv1"), layers.ReLU(name="conv1_relu")])
### END SOLUTION

# %%
kernels = model.get_layer("conv1").get_weights()[0]
maps = model.get_layer("conv1_relu").output
"""
    )
    path = write(tmp_path, text)
    line = line_of(text, 'get_layer("conv1")')
    assert recipe_problems("99_unit", path) == [
        (
            f"99_unit: solutions/99_unit.py cell 5 (line {line}): looks up the layer "
            '"conv1" with get_layer, but no instruction asks the learner to name a layer "conv1": ask for it in the '
            "text, or use what the learner's cell produced."
        )
    ]


def test_history_keys_need_validation_data_and_the_metric(tmp_path):
    text = (
        HEADER
        + """
# %% [markdown]
# Compile `model` with `"adam"`, the `"sparse_categorical_crossentropy"` loss and the
# `"accuracy"` metric, train it and keep what `fit` returns in `history`.

# %%
### BEGIN SOLUTION
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, validation_data=(x_val, y_val), verbose=0)
### END SOLUTION

# %%
print(history.history["accuracy"], history.history["val_accuracy"], history.history["val_auc"])
"""
    )
    path = write(tmp_path, text)
    line = line_of(text, "print(history")
    assert recipe_problems("99_unit", path) == [
        (
            f"99_unit: solutions/99_unit.py cell 5 (line {line}): reads history.history['val_accuracy'], but the "
            "instructions for the training cell never ask for validation data: state `validation_data=(x_val, y_val)` "
            "(or the split) in the text."
        ),
        (
            f"99_unit: solutions/99_unit.py cell 5 (line {line}): reads history.history['val_auc'], but the "
            "instructions for the training cell never ask for validation data: state `validation_data=(x_val, y_val)` "
            "(or the split) in the text."
        ),
    ]


def test_a_variable_only_the_solution_defines_must_be_named_in_the_text(tmp_path):
    text = (
        HEADER
        + """
# %% [markdown]
# Build `model`.

# %%
### BEGIN SOLUTION
width = 64
model = keras.Sequential([keras.Input(shape=(4,)), layers.Dense(width)])
### END SOLUTION

# %%
print(width)
"""
    )
    path = write(tmp_path, text)
    problems_found = recipe_problems("99_unit", path)
    assert (
        f"99_unit: solutions/99_unit.py cell 5 (line {line_of(text, 'print(width)')}): reads `width`, which only a "
        "solution block defines and no instruction asks for: name it in the text above cell 4." in problems_found
    )
    assert any("`width = 64` is not stated" in problem for problem in problems_found)


def test_exceptions_and_ignored_keywords_say_why():
    assert all(reason.strip() for reason in [*EXCEPTIONS.values(), *IGNORED_KEYWORDS.values()])


def test_units_check_reports_the_defects_it_was_built_for(tmp_path):
    """Today's fixes undone on a copy: 06 without its conv1 and patience instructions, 08 without
    its validation data; `workshop units --check` (in-process, on a course of those two solutions in
    `tmp_path`) names each in one line."""
    course = Course(tmp_path / "course")
    course.solutions_dir.mkdir(parents=True)
    course.exercises_dir.mkdir()
    cnn = course.solutions_dir / "06_cnn_representations.py"
    text = (COURSE.solutions_dir / cnn.name).read_text(encoding="utf-8")
    for stated, unstated in [
        ('Name the first convolution `"conv1"` and the\n# first activation', "Name the first activation"),
        (
            'EarlyStopping(monitor="val_accuracy", patience=5, restore_best_weights=True)`;\n# keep',
            'EarlyStopping(monitor="val_accuracy", restore_best_weights=True)`;\n# keep',
        ),
    ]:
        assert stated in text
        text = text.replace(stated, unstated)
    cnn.write_text(text, encoding="utf-8")
    captcha = course.solutions_dir / "08_captcha.py"
    captcha_text = (COURSE.solutions_dir / captcha.name).read_text(encoding="utf-8")
    stated = "captchas for `num_epochs` epochs in minibatches of `batch_size`, with\n# `validation_data=(x_val, y_val)` (the plot below reads the validation accuracy), and keep"
    assert stated in captcha_text
    captcha_text = captcha_text.replace(
        stated, "captchas for `num_epochs` epochs in minibatches of `batch_size`, and keep"
    )
    captcha.write_text(captcha_text, encoding="utf-8")

    generate(course)
    found = all_problems(course)
    where = "06_cnn_representations: solutions/06_cnn_representations.py"
    conv1_line = line_of(text, 'get_layer("conv1")')
    plot_line = line_of(captcha_text, 'history.history["val_accuracy"], label')
    assert (
        f'{where} cell 9 (line {conv1_line}): looks up the layer "conv1" with '
        'get_layer, but no instruction asks the learner to name a layer "conv1": ask for it in the text, or use '
        "what the learner's cell produced." in found
    )
    assert (
        f"{where} cell 7 (line {line_of(text, 'patience=5, restore')}): `patience=5` in EarlyStopping(...) is "
        "neither stated in the instructions above the cell nor Keras' default (Keras' default: 0): state it in "
        "the text, or list it in workshop/course/recipe_checks.py EXCEPTIONS with the reason." in found
    )
    assert (
        f"08_captcha: solutions/08_captcha.py cell 13 (line {plot_line}): "
        "reads history.history['val_accuracy'], but the instructions for the training cell never ask for "
        "validation data: state `validation_data=(x_val, y_val)` (or the split) in the text." in found
    )
