"""Tasks whose held-out data is generated: the self-driving frames and the captchas."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from workshop.tasks import ModelShapeError, get_task
from workshop.tasks import captcha as captcha_task
from workshop.tasks import self_driving as self_driving_task
from workshop.tasks.generated import generator_source, held_out_seed, load_make_dataset, reference_solution
from workshop.units import SOLUTIONS_DIR


@pytest.fixture(scope="module")
def make_frames():
    return load_make_dataset("self-driving")


@pytest.fixture(scope="module")
def make_captchas():
    return load_make_dataset("captcha")


def test_generators_come_from_the_reference_solutions():
    assert reference_solution("self-driving") == SOLUTIONS_DIR / "07_self_driving.py"
    assert reference_solution("captcha") == SOLUTIONS_DIR / "08_captcha.py"
    for task in ("self-driving", "captcha"):
        source = generator_source(reference_solution(task))
        assert "def make_dataset" in source
        assert "keras" not in source  # generator cells hold the data, not the model


def test_frames_are_deterministic_and_well_formed(make_frames):
    images, labels = make_frames(300, 5)
    again, same_labels = make_frames(300, 5)
    other, _ = make_frames(300, 6)
    assert images.dtype == np.uint8 and images.shape == (300, 45, 80, 3)
    assert labels.shape == (300,) and set(np.unique(labels)) == {0, 1, 2}
    assert np.array_equal(images, again) and np.array_equal(labels, same_labels)
    assert not np.array_equal(images, other)
    shares = np.bincount(labels, minlength=3) / len(labels)
    assert 0.4 < shares[0] < 0.6 and shares[1] > 0.15 and shares[2] > 0.15


def test_captchas_are_deterministic_and_well_formed(make_captchas):
    images, labels = make_captchas(40, 5)
    again, same_labels = make_captchas(40, 5)
    assert images.dtype == np.uint8 and images.shape == (40, 40, 100)
    assert labels.shape == (40, 4) and labels.min() >= 0 and labels.max() <= 9
    assert np.array_equal(images, again) and np.array_equal(labels, same_labels)
    assert len(np.unique(labels)) == 10


def test_held_out_seeds_are_not_the_units_seeds(make_frames):
    for task in ("self-driving", "captcha"):
        assert held_out_seed(task) not in {0, 1, 2, 42}
    assert held_out_seed("self-driving") != held_out_seed("captcha")
    held_out, _ = make_frames(20, held_out_seed("self-driving"))
    for seed in (1, 2, 42):
        assert not np.array_equal(held_out, make_frames(20, seed)[0])


def test_the_held_out_seed_comes_from_the_scorers_data_folder_not_the_repository(tmp_path, monkeypatch, make_frames):
    """What a learner can recompute from the course's files (their own data folder) is not what
    the instructor's scorer generates."""
    from workshop.tasks import generated

    assert "_HELD_OUT_SECRET" not in vars(generated)
    monkeypatch.delenv(generated.SECRET_VARIABLE, raising=False)
    monkeypatch.setenv("WORKSHOP_DATA_DIR", str(tmp_path / "instructor"))
    instructor = held_out_seed("self-driving")
    assert held_out_seed("self-driving") == instructor  # kept: the same batch, the same frames
    secret_file = tmp_path / "instructor" / generated.SECRET_FILENAME
    assert secret_file.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("WORKSHOP_DATA_DIR", str(tmp_path / "learner"))
    learner = held_out_seed("self-driving")
    assert learner != instructor
    assert not np.array_equal(make_frames(20, learner)[0], make_frames(20, instructor)[0])


def small_model(input_shape, output_units, output_shape=None):
    inputs = keras.Input(shape=input_shape)
    features = layers.Flatten()(layers.Rescaling(1 / 255)(inputs))
    outputs = layers.Dense(output_units, activation="softmax")(features)
    if output_shape is not None:
        outputs = layers.Reshape(output_shape)(outputs)
    return keras.Model(inputs, outputs)


@pytest.fixture
def small_held_out_sets(monkeypatch):
    monkeypatch.setattr(self_driving_task, "NUM_FRAMES", 40)
    monkeypatch.setattr(captcha_task, "NUM_CAPTCHAS", 20)


def test_self_driving_scores_a_model_with_the_right_shapes(small_held_out_sets):
    metrics = get_task("self-driving").evaluate(small_model((45, 80, 3), 3))
    assert set(metrics) == {"test_accuracy"} and 0 <= metrics["test_accuracy"] <= 1


def test_self_driving_refuses_wrong_shapes(small_held_out_sets):
    with pytest.raises(ModelShapeError, match=r"\(3,\)"):
        get_task("self-driving").evaluate(small_model((45, 80, 3), 2))
    with pytest.raises(ModelShapeError, match="expects inputs of shape"):
        get_task("self-driving").evaluate(small_model((64, 64, 3), 3))


def test_captcha_scores_whole_and_per_character(small_held_out_sets):
    metrics = get_task("captcha").evaluate(small_model((40, 100, 1), 40, (4, 10)))
    assert set(metrics) == {"test_accuracy", "char_accuracy"}
    assert 0 <= metrics["test_accuracy"] <= metrics["char_accuracy"] <= 1


def test_captcha_refuses_wrong_output_shape(small_held_out_sets):
    with pytest.raises(ModelShapeError, match=r"\(4, 10\)"):
        get_task("captcha").evaluate(small_model((40, 100), 10))
