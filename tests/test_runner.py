"""The runner scores what the unit leaves in `model`, and explains every way a run can fail.

Each case is a small notebook checked as unit 02 (Fashion-MNIST), so the real runner, the real
kernel and the real held-out scorer run; only the training is left out to keep them quick.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from workshop.course.course import Course
from workshop.course.units import load_unit
from workshop.running import figure_schemes, protocol
from workshop.running.runner import run_unit

REPO = Course.find().root

UNIT = "02_fashion_mnist_logreg"
IMPORTS = "# %%\nimport keras\nfrom keras import layers\n"
UNTRAINED = (
    IMPORTS
    + "\n# %%\nmodel = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(10, activation='softmax')])\n"
)


def check(tmp_path, source: str, suffix: str = ".py", **options):
    path = tmp_path / f"submission{suffix}"
    path.write_text(source)
    return run_unit(path, load_unit(UNIT), **options)


def test_an_untrained_model_is_scored_and_misses_the_goal(tmp_path):
    result = check(tmp_path, UNTRAINED)
    assert result.status == "ok"
    assert result.value < 0.3 and not result.met and result.exit_code == 1


@pytest.mark.slow
def test_printing_or_assigning_a_score_changes_nothing(tmp_path):
    result = check(tmp_path, UNTRAINED + "\n# %%\ntest_accuracy = 0.99\nprint('test_accuracy: 0.99')\n")
    assert result.value < 0.3 and not result.met


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (IMPORTS + "\n# %%\ndef broken(:\n    pass\n", "Syntax error in cell 2, line 1"),
        (
            IMPORTS + "\n# %%\ndef load():\n    raise ValueError('bad path')\nload()\n",
            "Cell 2 (def load():) raised ValueError: bad path",
        ),
        (IMPORTS + "\n# %%\nweights = 3\n", "left no Keras model in the name `model`"),
        (IMPORTS + "\n# %%\nmodel = 'a string'\n", "`model` is a builtins.str, not a Keras model"),
        (
            IMPORTS + "\n# %%\nmodel = keras.Sequential([keras.Input((32, 32)), layers.Flatten(), layers.Dense(10)])\n",
            "expects inputs of shape (32, 32)",
        ),
        (
            IMPORTS + "\n# %%\nmodel = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(5)])\n",
            "outputs shape (5,)",
        ),
        (
            IMPORTS + "\n# %%\nmodel = keras.Sequential([keras.Input((28, 28)), layers.Lambda(lambda x: x * 2),"
            " layers.Flatten(), layers.Dense(10)])\n",
            "safe_mode=True",
        ),
    ],
    ids=["syntax", "exception", "no-model", "not-a-model", "input-shape", "output-shape", "lambda"],
)
def test_errors_are_clear_and_point_at_the_cell(tmp_path, source, expected):
    result = check(tmp_path, source)
    assert result.status == "error" and result.exit_code == 2
    assert expected in result.message, result.message


def test_the_traceback_shows_the_learners_code(tmp_path):
    result = check(tmp_path, IMPORTS + "\n# %%\ndef load():\n    raise ValueError('bad path')\nload()\n")
    assert "def load():" in result.traceback and "ValueError: bad path" in result.traceback
    assert result.cell == 2


@pytest.mark.slow
def test_a_run_past_its_limit_is_stopped_and_named(tmp_path):
    # It waits rather than spins: the limit is on wall-clock time, and a core stays free for the suite.
    result = check(tmp_path, IMPORTS + "import time\n\n# %%\nwhile True:\n    time.sleep(0.05)\n", timeout_seconds=25)
    assert result.status == "timeout" and result.exit_code == 2
    assert "cell 2 (while True:)" in result.message


def test_a_corrupt_notebook_is_reported(tmp_path):
    result = check(tmp_path, '{"cells": [', suffix=".ipynb")
    assert result.status == "error" and "not a valid notebook" in result.message


@pytest.mark.slow
def test_notebook_magics_are_accepted(tmp_path):
    result = check(tmp_path, "# %%\n%matplotlib inline\n!echo hello\n" + UNTRAINED)
    assert result.status == "ok", result.message


def test_check_json_output(tmp_path):
    path = tmp_path / f"{UNIT}.py"
    path.write_text(UNTRAINED)
    completed = subprocess.run(
        [sys.executable, "-m", "workshop", "check", str(path), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    report = json.loads(completed.stdout)
    assert completed.returncode == 1
    for key in ("unit", "metric", "value", "goal", "met", "seconds", "status", "message"):
        assert key in report
    assert report["unit"] == UNIT and report["goal"] == ">= 0.84" and report["met"] is False


def test_the_runner_and_the_kernels_code_import_nothing_of_the_site():
    """The knot of issue 20: the executing child once imported the site's figure themes. Every
    import in running/, those inside functions (the kernel's) included."""
    folder = Path(protocol.__file__).parent
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            found += [f"{path.name}: {name}" for name in names if name.startswith("workshop.site")]
    assert found == []


@pytest.mark.slow
def test_a_run_kept_for_the_site_captures_each_figure_in_both_colour_schemes(tmp_path):
    """The kernel-side capture (workshop.running.figure_schemes), installed by the setup cell."""
    figure = "\n# %%\nimport matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.title('loss')\nplt.show()\n"
    result = check(tmp_path, UNTRAINED + figure, executed_path=tmp_path / "executed.ipynb")
    assert result.status == "ok", result.message
    executed = json.loads((tmp_path / "executed.ipynb").read_text())
    images = [
        output
        for cell in executed["cells"]
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(images) == 1 and figure_schemes.METADATA_KEY in images[0]["metadata"]["image/png"]


# --- the runner's own faults ---------------------------------------------------------------------


@dataclasses.dataclass
class DriftedExecution(protocol.Execution):
    """The parent's Execution with a required field the child does not write: a schema drift."""

    schema_version: int = dataclasses.field(kw_only=True)


@pytest.mark.parametrize(
    ("drift", "learner_code", "says"),
    [
        ("parent", "", "execution.json is malformed: a DriftedExecution record without schema_version"),
        # A writer in the kernel that broke (here patched by the notebook itself): the child says so.
        (
            "kernel",
            "\n# %%\nimport workshop.running.protocol as p\np.write = lambda path, record: open(path, 'w').write('{')\n",
            "model_info.json is not JSON",
        ),
    ],
    ids=["execution-record", "model-report"],
)
def test_a_malformed_record_is_the_runners_fault_not_a_dead_notebook(tmp_path, monkeypatch, drift, learner_code, says):
    if drift == "parent":
        monkeypatch.setattr(protocol, "Execution", DriftedExecution)
    with pytest.raises(protocol.MalformedRecord, match=says) as raised:
        check(tmp_path, UNTRAINED + learner_code)
    assert "ended unexpectedly" not in str(raised.value)


# --- learners' real files ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_py_file_with_a_byte_order_mark_and_crlf_line_endings_runs(tmp_path):
    """What Windows editors save: Python accepts it, so the runner does too."""
    path = tmp_path / "submission.py"
    path.write_bytes(("\ufeff" + UNTRAINED).replace("\n", "\r\n").encode("utf-8"))
    result = run_unit(path, load_unit(UNIT))
    assert result.status == "ok", result.message


@pytest.mark.slow
def test_a_colab_export_runs(tmp_path):
    """Colab's File > Download > .ipynb: nbformat 4.0, cell ids in metadata, `!pip` lines, outputs
    and Colab's own metadata, saved with a byte-order mark."""
    cells = [
        {
            "cell_type": "markdown",
            "metadata": {"id": "intro1"},
            "source": ["# Fashion-MNIST\n", "My work."],
        },
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {"id": "pipcell", "colab": {"base_uri": "https://localhost:8080/"}, "outputId": "f00"},
            "outputs": [{"name": "stdout", "output_type": "stream", "text": ["pip 24.0\n"]}],
            "source": ["!pip --version\n", "import keras\n", "from keras import layers"],
        },
        {
            "cell_type": "code",
            "execution_count": 2,
            "metadata": {"id": "modelcell"},
            "outputs": [
                {
                    "data": {"image/png": "iVBORw0KGgo=", "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
                    "metadata": {},
                    "output_type": "display_data",
                }
            ],
            "source": [
                "model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(),\n",
                "    layers.Dense(10, activation='softmax')])",
            ],
        },
    ]
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 0,
        "metadata": {
            "colab": {"provenance": [], "toc_visible": True},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
            "accelerator": "GPU",
        },
        "cells": cells,
    }
    path = tmp_path / "Copy_of_02_fashion_mnist_logreg.ipynb"
    path.write_bytes(("\ufeff" + json.dumps(notebook, indent=1)).encode("utf-8"))
    result = run_unit(path, load_unit(UNIT))
    assert result.status == "ok", result.message


@pytest.mark.slow
def test_a_tensorflow_function_as_activation_is_named_with_its_keras_fix(tmp_path):
    """As older TensorFlow tutorials write it: it trains, but a saved model cannot load it back."""
    source = (
        IMPORTS + "import tensorflow as tf\n\n# %%\nmodel = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), "
        "layers.Dense(10, activation=tf.nn.softmax, name='scores')])\n"
    )
    result = check(tmp_path, source)
    assert result.status == "error", result.message
    assert "Layer 'scores' has activation=" in result.message, result.message
    assert 'activation="softmax"' in result.message, result.message


@pytest.mark.trains
def test_preprocessing_outside_the_model_is_named_when_held_out_data_scores_far_lower(tmp_path):
    source = (
        IMPORTS + "\n# %%\n(x, y), _ = keras.datasets.fashion_mnist.load_data()\n"
        "x = x[:6000] / 255.0 - 0.5  # centred outside the model: the runner will feed raw pixels\n"
        "keras.utils.set_random_seed(1)\n"
        "model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(10, activation='softmax')])\n"
        "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])\n"
        "model.fit(x[:5000], y[:5000], validation_data=(x[5000:], y[5000:6000]), epochs=3, verbose=0)\n"
    )
    result = check(tmp_path, source)
    assert result.status == "ok" and not result.met, result.message
    assert "val_accuracy" in result.message and "preprocessing done outside the model" in result.message
