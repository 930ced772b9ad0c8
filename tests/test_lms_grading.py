"""From the LMS download back to the LMS: Canvas' archive as input, partial credit between each
unit's floor and goal, `--only`, and the scorer's diagnosis of preprocessing outside the model.

The fast tests read archives and folders and compute points without running a notebook; the one
end-to-end test (slow: it starts a kernel per learner) grades a Canvas zip through the command.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from grading_runs import rows_of, run_grade

from workshop.course.units import Goal, all_units, load_unit
from workshop.grading.gradebook import GradeError

UNIT = "02_fashion_mnist_logreg"
UNTRAINED = (
    "# %%\nimport keras\nfrom keras import layers\n\n# %%\nmodel = keras.Sequential([keras.Input((28, 28)), "
    "layers.Rescaling(1 / 255), layers.Flatten(), layers.Dense(10, activation='softmax')])\n"
)


def canvas_class(folder: Path) -> Path:
    """A Canvas download: a resubmitting learner, a late one, a stray file and a non-Canvas name."""
    folder.mkdir(parents=True)
    (folder / "doejane_48213_1190342_02_fashion_mnist_logreg.py").write_text(UNTRAINED)
    (folder / "doejane_48213_1190342_02_fashion_mnist_logreg-1.py").write_text("# %%\nweights = 3\n")
    (folder / "doejane_48213_1190342_02_fashion_mnist_logreg-2.py").write_text(UNTRAINED + "# resubmitted\n")
    (folder / "smithbob_late_50110_1190400_lab2.py").write_text(UNTRAINED)
    (folder / "smithbob_late_50110_1190400_notes.pdf").write_bytes(b"%PDF-1.4")
    (folder / "carol.py").write_text("# %%\nweights = 3\n")
    return folder


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return target


# ---------------------------------------------------------------------------------------------
# Canvas' archive


def test_canvas_names_latest_resubmission_late_and_stray_files(tmp_path):
    from workshop.grading.grade import collect

    collected = collect(canvas_class(tmp_path / "class"), load_unit(UNIT), tmp_path / "out")
    by_learner = {s.learner: s for s in collected.submissions}
    assert sorted(by_learner) == ["48213", "50110", "carol"]
    jane = by_learner["48213"]
    assert jane.path.name.endswith("logreg-2.py") and jane.name == "doejane" and not jane.late
    assert by_learner["50110"].late and by_learner["50110"].name == "smithbob"
    assert by_learner["carol"].name == "" and not by_learner["carol"].late  # today's behaviour
    assert len(collected.skipped) == 1 and "notes.pdf" in collected.skipped[0] and "50110" in collected.skipped[0]
    assert not (tmp_path / "out").exists()  # a folder is graded where it is


def test_a_canvas_zip_is_unpacked_once_whole(tmp_path):
    from workshop.grading.grade import collect

    archive = zipped(canvas_class(tmp_path / "class"), tmp_path / "submissions.zip")
    first = collect(archive, load_unit(UNIT), tmp_path / "out")
    again = collect(archive, load_unit(UNIT), tmp_path / "out")
    assert first.folder == again.folder and first.folder.parent == tmp_path / "out" / "archives"
    assert [s.sha256 for s in first.submissions] == [s.sha256 for s in again.submissions]
    assert not [p for p in (tmp_path / "out" / "archives").iterdir() if p.name.startswith(".")]


def bad_archive(tmp_path: Path, kind: str) -> Path:
    target = tmp_path / f"{kind}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("doejane_48213_1190342_lab.py", UNTRAINED)
        if kind == "bomb":
            archive.writestr("smithbob_50110_1190400_lab.py", b"\0" * (64 * 2**20))  # 64 MiB of zeros
        elif kind == "traversal":
            archive.writestr("../../evil_1_2_lab.py", UNTRAINED)
        elif kind == "duplicate-entry":
            archive.writestr("doejane_48213_1190342_lab.py", UNTRAINED + "\n")
        elif kind == "duplicate-id":
            archive.writestr("roejohn_48213_1190377_lab.py", UNTRAINED)
    return target


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("bomb", "zip bomb"),
        ("traversal", "outside the archive"),
        ("duplicate-entry", "twice"),
        ("duplicate-id", "same Canvas user id"),
    ],
)
def test_a_bad_archive_is_refused_and_nothing_is_written(tmp_path, kind, says):
    import warnings

    from workshop.grading.grade import grade

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name it was asked to write
        archive = bad_archive(tmp_path, kind)
    with pytest.raises(GradeError, match=says):
        grade(UNIT, archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil_1_2_lab.py").exists() and not (tmp_path.parent / "evil_1_2_lab.py").exists()


def test_a_link_out_of_an_unpacked_download_is_refused(tmp_path):
    from workshop.grading.grade import collect

    folder = canvas_class(tmp_path / "class")
    (folder / "evil_1_2_lab.py").symlink_to("/etc/passwd")
    with pytest.raises(GradeError, match="outside"):
        collect(folder, load_unit(UNIT), tmp_path / "out")


def test_canvas_csv_fills_the_id_column_for_canvas_learners():
    from workshop.grading.exports import canvas_csv
    from workshop.grading.gradebook import GradeRow

    rows = [
        GradeRow("48213", UNIT, "ok", name="doejane", passed=True, value=0.85),
        GradeRow("carol", UNIT, "error"),
    ]
    table = list(csv.reader(io.StringIO(canvas_csv(load_unit(UNIT), rows, 10))))
    assert table[2] == ["doejane", "48213", "", "", "", "10"]
    assert table[3] == ["carol", "", "", "carol", "", "0"]


# ---------------------------------------------------------------------------------------------
# partial credit


def test_every_unit_declares_a_floor_worse_than_its_goal():
    for unit in all_units():
        assert unit.floor is not None and unit.floor_how, unit.name
        worse = unit.floor < unit.goal.value if unit.goal.op == ">=" else unit.floor > unit.goal.value
        assert worse, (unit.name, unit.floor, unit.goal)


@pytest.mark.parametrize("task", ["fashion-mnist", "auto-mpg"])
def test_declared_floors_are_what_a_trivial_model_scores(task):
    from workshop.grading.floors import TOLERANCE, measure

    value, _ = measure(task)
    for unit in [unit for unit in all_units() if unit.task == task]:
        assert abs(unit.floor - value) <= TOLERANCE, (unit.name, unit.floor, value)


def test_linear_credit_between_floor_and_goal():
    from workshop.grading.credit import explanation, points_for
    from workshop.grading.gradebook import GradeRow

    unit = load_unit(UNIT)  # goal >= 0.84, floor 0.10

    def row(value, status="ok"):
        return GradeRow("ann", UNIT, status, value=value, passed=value is not None and value >= 0.84)

    assert points_for(row(0.839), unit, 10, "linear") == pytest.approx(9.99, abs=0.01)
    assert points_for(row(0.839), unit, 10, "pass") == 0
    assert points_for(row(0.1), unit, 10, "linear") == 0  # the stub: no better than the trivial model
    assert points_for(row(0.05), unit, 10, "linear") == 0
    assert points_for(row(0.47), unit, 10, "linear") == 5
    assert points_for(row(0.9), unit, 10, "linear") == 10
    assert points_for(row(None, "timeout"), unit, 10, "linear") == 0
    assert points_for(row(None, "grader-error"), unit, 10, "linear") is None
    assert "0.1" in explanation(unit, 10, "linear") and "proportion" in explanation(unit, 10, "linear")

    mpg = load_unit("01_auto_mpg_regression")  # a lower-is-better goal: <= 1.9, floor 6.94
    assert points_for(GradeRow("ann", mpg.name, "ok", value=4.42), mpg, 1, "linear") == 0.5


def test_linear_credit_needs_a_floor(tmp_path):
    from dataclasses import replace

    from workshop.grading.credit import check_credit

    with pytest.raises(GradeError, match="Floor"):
        check_credit("linear", replace(load_unit(UNIT), floor=None))
    with pytest.raises(GradeError, match="pass or linear"):
        check_credit("curved", load_unit(UNIT))


def test_only_names_a_learner_of_the_class():
    from workshop.grading.grade import Submission, select_only

    everyone = [Submission("48213", None, "x", name="doejane"), Submission("carol", None, "y")]
    assert [s.learner for s in select_only(everyone, ["doejane"])] == ["48213"]
    assert [s.learner for s in select_only(everyone, ["carol", "48213"])] == ["carol", "48213"]
    with pytest.raises(GradeError, match="no learner 'dan'"):
        select_only(everyone, ["dan"])


# ---------------------------------------------------------------------------------------------
# the diagnosis


class Squares:
    """A task whose raw inputs are 8x8 uint8 images; class 1 when the left half is brighter."""

    name = "squares"

    def __init__(self):
        rng = np.random.default_rng(0)
        self.images = rng.integers(0, 256, size=(400, 8, 8), dtype=np.uint8)
        self.labels = (self.images[:, :, :4].sum(axis=(1, 2)) > self.images[:, :, 4:].sum(axis=(1, 2))).astype(int)

    def evaluate(self, model):
        from workshop.tasks import fit_to_input, predict

        inputs = fit_to_input(model, self.images, [(8, 8)])
        return {"test_accuracy": float(np.mean(predict(model, inputs).argmax(axis=1) == self.labels))}


def left_minus_right(input_shape, scale: float):
    """A model of the right answer for inputs flattened (and scaled) outside it."""
    import keras

    model = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(2)])
    sign = np.where(np.arange(64) % 8 < 4, 1.0, -1.0).astype("float32") * scale
    model.layers[-1].set_weights([np.stack([-sign, sign], axis=1), np.zeros(2, "float32")])
    return model


def test_the_diagnosis_names_the_step_done_outside_the_model():
    from workshop.running.evaluate import diagnose
    from workshop.tasks import ModelShapeError

    task, goal = Squares(), Goal("test_accuracy", ">=", 0.9)
    flattened = left_minus_right((64,), 1.0)  # the learner flattened outside: the raw (8, 8) does not fit
    with pytest.raises(ModelShapeError):
        task.evaluate(flattened)
    said = diagnose(task, flattened, goal)
    assert "flattening" in said and "`layers.Flatten()`" in said and "keras.Input((8, 8))" in said

    # Trained on x / 255: its bias of 3.2 offsets -0.1 x the brightness of an image scaled to [0, 1];
    # raw pixels, 255 times brighter, swamp it.
    import keras

    scaled = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(2)])
    sign = np.where(np.arange(64) % 8 < 4, 1.0, -1.0).astype("float32")
    weights = np.stack([np.zeros(64, "float32"), sign - 0.1], axis=1)
    scaled.layers[-1].set_weights([weights, np.array([0.0, 3.2], "float32")])
    assert task.evaluate(scaled)["test_accuracy"] < 0.7  # the raw score, which stays the grade
    said = diagnose(task, scaled, goal)
    assert "dividing the pixel values by 255" in said and "Rescaling(1 / 255)" in said and "flatten" not in said

    honest = left_minus_right((8, 8), 1.0)  # nothing outside: nothing to say
    assert task.evaluate(honest)["test_accuracy"] >= 0.9
    assert (
        diagnose(task, keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(2)]), goal)
        == ""
    )


# ---------------------------------------------------------------------------------------------
# end to end


@pytest.mark.slow
def test_a_canvas_zip_graded_as_it_comes_then_one_learner_regraded(tmp_path):
    archive = zipped(canvas_class(tmp_path / "class"), tmp_path / "submissions.zip")
    out = tmp_path / "out"
    completed = run_grade(archive, "--out", out, "--credit", "linear", "--points", "10", "-j", "2")
    assert completed.returncode == 0, completed.stderr
    assert "skipped smithbob_late_50110_1190400_notes.pdf" in completed.stderr
    rows = rows_of(out)
    assert sorted(rows) == ["48213", "50110", "carol"]
    assert rows["48213"]["name"] == "doejane" and rows["48213"]["submission"].endswith("logreg-2.py")
    assert rows["50110"]["late"] == "true" and rows["48213"]["late"] == ""
    table = list(csv.reader((out / "canvas.csv").open()))
    by_id = {line[1]: line for line in table[2:]}
    assert by_id["48213"][0] == "doejane" and by_id["50110"][0] == "smithbob"
    value = float(rows["48213"]["value"])  # untrained: about the floor, so hardly any points
    assert rows["48213"]["status"] == "ok" and float(by_id["48213"][5]) == round(10 * max(0, (value - 0.1) / 0.74), 2)
    assert table[[line[0] for line in table].index("carol")][3] == "carol"  # not from Canvas: SIS Login ID
    feedback = (out / "feedback" / "50110.md").read_text()
    assert "Partial credit" in feedback and "after the due date" in feedback and "**Points:** " in feedback

    before = rows_of(out)
    completed = run_grade(archive, "--out", out, "--only", "doejane")
    assert completed.returncode == 0, completed.stderr
    after = rows_of(out)
    assert after["50110"] == before["50110"] and after["carol"] == before["carol"]
    assert after["48213"]["graded_at"] > before["48213"]["graded_at"]
    assert "graded 1," in completed.stdout

    completed = run_grade(archive, "--out", out, "--only", "nobody")
    assert completed.returncode == 2 and "no learner 'nobody'" in completed.stderr


def test_no_diagnosis_is_tried_for_a_task_without_arrays():
    """A task that reads no arrays through fit_to_input (reviews, text) is not scored again."""
    import keras

    from workshop.running.evaluate import diagnose
    from workshop.tasks import predict

    class Reviews:
        calls = 0

        def evaluate(self, model):
            Reviews.calls += 1
            return {"test_accuracy": float(predict(model, np.zeros((4, 3))).mean() > 2)}

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert diagnose(Reviews(), model, Goal("test_accuracy", ">=", 0.5)) == ""
    assert Reviews.calls == 1
