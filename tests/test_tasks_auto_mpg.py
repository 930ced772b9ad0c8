"""The Auto MPG task: the tutorial's split, the metric, and the learner's view without test labels."""

from __future__ import annotations

import numpy as np
import pytest

from workshop.datasets import manifest
from workshop.tasks import ModelShapeError, get_task
from workshop.tasks.auto_mpg import FEATURES, FILENAME, features_and_targets, read_raw, split

try:
    SOURCE = manifest.file_path("auto-mpg", FILENAME)
except manifest.DataError as error:
    pytest.skip(f"auto-mpg is not fetched ({error})", allow_module_level=True)


class FakeModel:
    """Enough of a Keras model for the task: a declared input and a predict method."""

    def __init__(self, predict, input_shape=(None, 9)):
        self.inputs = [type("Input", (), {"shape": input_shape})()]
        self._predict = predict

    def predict(self, inputs, batch_size=None, verbose=0):
        return self._predict(inputs)


def test_the_split_is_the_tutorials():
    train, test = split(read_raw(SOURCE))
    assert (len(train), len(test)) == (314, 78)
    assert list(train.columns) == ["MPG", *FEATURES]
    features, targets = features_and_targets(test)
    assert features.dtype == np.float32 and features.shape == (78, 9)
    # The tutorial's first test cars (rows 9, 25, 28 of the file).
    assert targets[:3].tolist() == [15.0, 10.0, 9.0]


def test_test_mae_is_computed_from_predictions():
    task = get_task("auto-mpg")
    _, targets = task.held_out()
    constant = FakeModel(lambda inputs: np.full((len(inputs), 1), 23.0, np.float32))
    assert task.evaluate(constant) == {"test_mae": pytest.approx(np.mean(np.abs(targets - 23.0)))}
    with pytest.raises(ModelShapeError):
        task.evaluate(FakeModel(lambda inputs: np.zeros((len(inputs), 2))))
    with pytest.raises(ModelShapeError):
        task.evaluate(FakeModel(lambda inputs: np.zeros((len(inputs), 1)), input_shape=(None, 7)))


def test_learner_view_withholds_the_test_mpg_only(tmp_path):
    environment = get_task("auto-mpg").learner_view(tmp_path)
    assert environment == {"KERAS_HOME": str(tmp_path / "keras")}
    view_file = tmp_path / "keras" / "datasets" / FILENAME
    train, test = split(read_raw(SOURCE))
    view_train, view_test = split(read_raw(view_file))
    # Same cars on each side of the split, training rows untouched, test features untouched.
    assert view_train.equals(train)
    assert view_test.index.equals(test.index)
    assert view_test[FEATURES].equals(test[FEATURES])
    # The held-out mpg values are replaced by training values.
    assert np.mean(view_test["MPG"].to_numpy() == test["MPG"].to_numpy()) < 0.1
    assert set(view_test["MPG"]) <= set(train["MPG"])
