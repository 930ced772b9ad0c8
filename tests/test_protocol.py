"""The records the runner and its child processes exchange (workshop.running.protocol)."""

from __future__ import annotations

import pytest

from workshop.running import protocol


def test_records_round_trip_with_nested_reports(tmp_path):
    report = protocol.ModelReport(histories=[{"loss": [1.0, 0.5]}], problem="unloadable", load_error="no")
    execution = protocol.Execution(status="error", kind="exception", cell=4, ename="ValueError", model=report)
    protocol.write(tmp_path / "execution.json", execution)
    back = protocol.read(tmp_path / "execution.json", protocol.Execution)
    assert back == execution
    assert isinstance(back.model, protocol.ModelReport)


def test_a_missing_record_is_told_apart_from_a_malformed_one(tmp_path):
    with pytest.raises(protocol.MissingRecord, match="missing.json was not written"):
        protocol.read(tmp_path / "missing.json", protocol.Score)
    assert protocol.read_if_written(tmp_path / "missing.json", protocol.Score) is None
    (tmp_path / "partial.json").write_text('{"status": "ok", "metr')
    with pytest.raises(protocol.MalformedRecord, match="partial.json is not JSON"):
        protocol.read_if_written(tmp_path / "partial.json", protocol.Score)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("[1, 2]", "must be a JSON object, not list"),
        ('{"metrics": {}}', "a Score record without status"),  # a required field renamed or dropped
        ('{"status": "ok", "metrics": [0.9]}', r"metrics = \[0.9\] in a Score record is not a dict"),
        ("\udcff".encode("utf-8", "surrogateescape"), "is not JSON"),
    ],
)
def test_schema_drift_is_a_malformed_record_not_a_type_error(tmp_path, content, says):
    path = tmp_path / "score.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(protocol.MalformedRecord, match=says):
        protocol.read(path, protocol.Score)


def test_a_nested_report_that_drifted_is_malformed(tmp_path):
    path = tmp_path / "execution.json"
    path.write_text('{"status": "ok", "model": {"saved": true, "histories": {"loss": [1.0]}}}')
    with pytest.raises(protocol.MalformedRecord, match="histories = .* in a ModelReport record is not a list"):
        protocol.read(path, protocol.Execution)


def test_unknown_keys_are_ignored(tmp_path):
    (tmp_path / "score.json").write_text('{"status": "ok", "metrics": {"test_accuracy": 0.9}, "extra": 1}')
    assert protocol.read(tmp_path / "score.json", protocol.Score) == protocol.Score("ok", {"test_accuracy": 0.9})


# --- the runner's code in the learner's kernel writes its report through the same writer ----------


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        ({}, protocol.ModelReport(histories=[{"loss": [0.5]}], problem="no_model")),
        (
            {"model": "a string"},
            protocol.ModelReport(histories=[{"loss": [0.5]}], problem="not_a_model", type="builtins.str"),
        ),
    ],
    ids=["no-model", "not-a-model"],
)
def test_the_kernel_reports_what_model_holds_as_a_typed_record(tmp_path, namespace, expected):
    from workshop.running import kernel

    kernel.save_model(
        namespace, str(tmp_path / "model.keras"), str(tmp_path / protocol.MODEL_REPORT), [{"loss": [0.5]}]
    )
    assert protocol.read(tmp_path / protocol.MODEL_REPORT, protocol.ModelReport) == expected


def test_the_kernel_saves_a_model_and_names_a_function_keras_cannot_load(tmp_path):
    import keras
    import tensorflow as tf

    from workshop.running import kernel

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=tf.nn.softmax, name="scores")])
    kernel.save_model({"model": model}, str(tmp_path / "model.keras"), str(tmp_path / protocol.MODEL_REPORT), [])
    report = protocol.read(tmp_path / protocol.MODEL_REPORT, protocol.ModelReport)
    assert report.saved and report.problem == "unloadable" and (tmp_path / "model.keras").is_file()
    assert {"layer": "scores", "setting": "activation", "keras_name": "softmax"}.items() <= report.foreign_functions[
        0
    ].items()
