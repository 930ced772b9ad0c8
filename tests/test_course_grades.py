"""`workshop gradebook`: three units' grading outputs merged into one course gradebook and one
Canvas CSV with an assignment column per unit.

Each unit's folder is what `workshop grade --out` leaves: its gradebook (written by the gradebook's
own writer) and its exports (canvas.csv written by `workshop.grading.exports`, with the unit's credit)."""

from __future__ import annotations

import csv
import io

import pytest

from workshop import cli
from workshop.course.units import load_unit
from workshop.grading import exports
from workshop.grading.course_grades import COURSE_GRADEBOOK, merge_units
from workshop.grading.gradebook import GradeError, GradeRow, write_gradebook

UNITS = ["01_auto_mpg_regression", "02_fashion_mnist_logreg", "05_deep_mlp"]


def row(unit: str, learner: str, status: str = "ok", value: str = "", passed: bool = False, **extra) -> GradeRow:
    return GradeRow(
        learner=learner,
        unit=unit,
        status=status,
        value=float(value) if value else None,
        passed=passed,
        graded_at=extra.pop("graded_at", "2027-03-01T10:00:00.000+00:00"),
        **extra,
    )


def graded_folder(tmp_path, unit_name: str, rows: list[GradeRow], points: float, credit: str = "pass", name=None):
    folder = tmp_path / (name or unit_name)
    write_gradebook(folder / "gradebook.csv", rows)
    exports.write_exports(folder, load_unit(unit_name), rows, points, credit=credit)
    return folder


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def three_units(tmp_path):
    unit01, unit02, unit05 = UNITS
    return [
        graded_folder(
            tmp_path,
            unit01,
            [
                row(unit01, "ada", value="1.7", passed=True),
                row(unit01, "bob", value="2.4"),
                row(unit01, "48213", value="1.8", passed=True, name="doejane"),
            ],
            points=10,
        ),
        graded_folder(
            tmp_path,
            unit02,
            [
                row(unit02, "ada", value="0.85", passed=True),
                row(unit02, "bob", status="timeout"),
                row(unit02, "48213", status="grader-error", name="doejane"),
            ],
            points=10,
        ),
        graded_folder(
            tmp_path,
            unit05,
            # Partial credit on this unit: bob's 0.88 is most of the way from the floor to the goal.
            [row(unit05, "ada", value="0.9", passed=True), row(unit05, "bob", value="0.88")],
            points=20,
            credit="linear",
        ),
    ]


def test_three_units_merge_into_one_canvas_csv_with_a_column_per_unit(three_units, tmp_path):
    out = tmp_path / "course"
    summary = merge_units(three_units, out)
    assert summary == {"units": UNITS, "learners": 3, "out": str(out)}
    canvas = read_csv((out / "canvas.csv").read_text())
    titles = [f"{load_unit(name).number:02d}. {load_unit(name).title}" for name in UNITS]
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *titles]
    assert canvas[1] == ["Points Possible", "", "", "", "", "10", "10", "20"]
    by_learner = {line[1] or line[3]: line for line in canvas[2:]}
    assert by_learner["ada"] == ["ada", "", "", "ada", "", "10", "10", "20"]
    assert by_learner["48213"][:2] == ["doejane", "48213"], "a Canvas download's learner is matched on ID"
    assert by_learner["48213"][5:] == ["10", "", ""], "a grader error and a missing unit are left empty"
    # bob: missed 01 (0), timed out on 02 (0), partial credit on 05 as the unit's own canvas.csv gave it.
    unit05 = read_csv((three_units[2] / "canvas.csv").read_text())
    bob05 = next(line[5] for line in unit05[2:] if line[3] == "bob")
    assert 0 < float(bob05) < 20
    assert by_learner["bob"][5:] == ["0", "0", bob05]


def test_the_course_gradebook_has_a_row_per_learner_and_a_column_per_unit(three_units, tmp_path):
    out = tmp_path / "course"
    merge_units(three_units, out)
    table = read_csv((out / COURSE_GRADEBOOK).read_text())
    assert table[0] == ["learner", "name", *UNITS, "units_passed", "points", "points_possible"]
    rows = {line[0]: line for line in table[1:]}
    assert rows["ada"] == ["ada", "", "PASS 1.7000", "PASS 0.8500", "PASS 0.9000", "3", "40", "40"]
    assert rows["48213"] == ["48213", "doejane", "PASS 1.8000", "grader-error", "", "1", "10", "40"]
    assert rows["bob"][2:5] == ["MISS 2.4000", "TIMEOUT", "MISS 0.8800"] and rows["bob"][5] == "0"


def test_a_regrade_in_another_folder_wins_when_it_is_later(three_units, tmp_path):
    unit02 = UNITS[1]
    regrade = graded_folder(
        tmp_path,
        unit02,
        [row(unit02, "bob", value="0.845", passed=True, graded_at="2027-03-02T09:00:00.000+00:00")],
        points=10,
        name="02-regrade",
    )
    out = tmp_path / "course"
    merge_units([*three_units, regrade], out)
    rows = {line[0]: line for line in read_csv((out / COURSE_GRADEBOOK).read_text())[1:]}
    assert rows["bob"][3] == "PASS 0.8450" and rows["ada"][3] == "PASS 0.8500"
    canvas = {line[1] or line[3]: line for line in read_csv((out / "canvas.csv").read_text())[2:]}
    assert canvas["bob"][6] == "10"


def test_the_command_merges_and_errors_say_what_to_do(three_units, tmp_path, capsys):
    out = tmp_path / "course"
    assert cli.main(["gradebook", *map(str, three_units), "--out", str(out)]) == 0
    assert "3 learners, 3 units" in capsys.readouterr().out
    assert (out / "canvas.csv").is_file() and (out / COURSE_GRADEBOOK).is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["gradebook", str(empty), "--out", str(out)]) == 2
    assert "has no gradebook.csv" in capsys.readouterr().err
    assert cli.main(["gradebook", str(three_units[0]), "--out", str(three_units[0])]) == 2
    assert "would be overwritten" in capsys.readouterr().err
    other = graded_folder(tmp_path, UNITS[0], [row(UNITS[0], "cy", value="1.5", passed=True)], points=5, name="o")
    with pytest.raises(GradeError, match="graded for 10 points in one folder and 5"):
        merge_units([three_units[0], other], tmp_path / "x")


def test_a_gradebook_row_is_typed_and_its_csv_spelled_in_one_place(tmp_path, capsys):
    from workshop.grading.gradebook import read_gradebook

    written = row(UNITS[1], "48213", value="0.84567", passed=True, name="doejane", late=True, seconds=12.34)
    path = tmp_path / "g" / "gradebook.csv"
    write_gradebook(path, [written])
    text = path.read_text()
    assert ",ok,,0.8457,,true,12.3," in text and text.rstrip().endswith(",doejane,true")  # as instructors read it
    (back,) = read_gradebook(path)
    assert back.passed is True and back.late is True and back.value == 0.8457 and back.seconds == 12.3
    assert back == GradeRow(**{**written.__dict__, "value": 0.8457, "seconds": 12.3})
    # A status no grader writes (a hand edit) is one line naming the file and the learner.
    path.write_text(text.replace(",ok,", ",passed,"))
    with pytest.raises(GradeError, match=r"gradebook.csv: learner '48213' has status 'passed', not one of ok, error"):
        read_gradebook(path)
    assert cli.main(["gradebook", str(path.parent), "--out", str(tmp_path / "out")]) == 2
    assert "has status 'passed'" in capsys.readouterr().err
