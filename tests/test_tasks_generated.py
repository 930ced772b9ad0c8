"""Tasks whose held-out data is generated: the self-driving frames, the captchas, the shop windows."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from workshop.course.course import Course
from workshop.course.units import task_reference
from workshop.tasks import GeneratorError, ModelShapeError, get_task
from workshop.tasks import captcha as captcha_task
from workshop.tasks import self_driving as self_driving_task
from workshop.tasks.generated import generator_source, held_out_seed, load_generator

COURSE = Course.find()
ROADS = COURSE.solutions_dir / "07_self_driving.py"
CAPTCHAS = COURSE.solutions_dir / "08_captcha.py"
WINDOWS = COURSE.solutions_dir / "11_multi_label_fashion.py"


def task(name: str):
    """The task as the runner hands it its unit's reference solution."""
    return get_task(name, reference=task_reference(name, COURSE))


@pytest.fixture(scope="module")
def make_frames():
    return load_generator(ROADS)


@pytest.fixture(scope="module")
def make_captchas():
    return load_generator(CAPTCHAS)


def test_generators_come_from_the_reference_solutions():
    assert task_reference("self-driving", COURSE) == ROADS
    assert task_reference("captcha", COURSE) == CAPTCHAS
    assert task_reference("fashion-collages", COURSE) == WINDOWS
    for path in (ROADS, CAPTCHAS):
        source = generator_source(path)
        assert "def make_dataset" in source
        assert "keras" not in source  # generator cells hold the data, not the model


def test_the_tasks_never_look_their_unit_up():
    """The task is handed its reference solution; workshop.tasks imports nothing of the course model."""
    import subprocess
    import sys

    code = "import sys, workshop.tasks; workshop.tasks.tasks(); print(sorted(m for m in sys.modules if m.startswith('workshop.course')))"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert completed.stdout.strip().splitlines()[-1] == "[]", completed.stdout
    with pytest.raises(GeneratorError, match="was given none"):
        get_task("self-driving").evaluate(None)


def test_a_solution_without_generator_cells_is_one_clear_error(tmp_path):
    solution = tmp_path / "07_plain.py"
    solution.write_text("# %%\nx = 1\n", encoding="utf-8")
    with pytest.raises(GeneratorError, match='07_plain.py has no code cell tagged "generator"'):
        load_generator(solution)


def test_frames_are_deterministic_and_well_formed(make_frames):
    images, angles = make_frames(1000, 5)
    again, same_angles = make_frames(1000, 5)
    other, _ = make_frames(1000, 6)
    assert images.dtype == np.uint8 and images.shape == (1000, 45, 80, 3)
    assert angles.dtype == np.float32 and angles.shape == (1000,)
    assert np.array_equal(images, again) and np.array_equal(angles, same_angles)
    assert not np.array_equal(images, other)
    # Steering angles in degrees, both ways, mostly gentle, never beyond arctan(0.9).
    assert np.abs(angles).max() <= 42.0 and angles.min() < -25 and angles.max() > 25
    assert 10 < np.mean(np.abs(angles)) < 16 and abs(float(np.mean(angles))) < 2


def test_every_road_crosses_the_look_ahead_row_where_its_angle_points():
    """The label is a function of one point of the road: many roads (offset, heading, bend) share it."""
    road_geometry = load_generator(ROADS, "road_geometry")
    steering_angle = load_generator(ROADS, "steering_angle")
    target = np.linspace(-0.9, 0.9, 50)
    offset, heading, bend = road_geometry(target, np.random.default_rng(0))
    ahead = 1 - 0.45  # the look-ahead row, d = 0.45
    assert np.allclose(offset + heading * ahead + bend * ahead**2, target)
    assert np.std(offset) > 0.1 and np.std(heading) > 0.1  # different roads, not one road per angle
    assert np.allclose(steering_angle(np.array([-1.0, 0.0, 1.0])), [-45, 0, 45])


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


def test_self_driving_scores_the_mean_absolute_error_in_degrees(small_held_out_sets, make_frames):
    """A model that always says 0 degrees scores the mean absolute angle of the held-out frames."""
    straight = keras.Sequential(
        [keras.Input((45, 80, 3)), layers.Flatten(), layers.Dense(1, kernel_initializer="zeros")]
    )
    metrics = task("self-driving").evaluate(straight)
    _, angles = make_frames(40, held_out_seed("self-driving"))
    assert set(metrics) == {"test_mae"}
    assert metrics["test_mae"] == pytest.approx(float(np.mean(np.abs(angles))), rel=1e-5)


def test_self_driving_refuses_wrong_shapes(small_held_out_sets):
    with pytest.raises(ModelShapeError, match="one number, the steering angle"):
        task("self-driving").evaluate(small_model((45, 80, 3), 3))
    with pytest.raises(ModelShapeError, match="expects inputs of shape"):
        task("self-driving").evaluate(small_model((64, 64, 3), 1))


def test_captcha_scores_whole_and_per_character(small_held_out_sets):
    metrics = task("captcha").evaluate(small_model((40, 100, 1), 40, (4, 10)))
    assert set(metrics) == {"test_accuracy", "char_accuracy"}
    assert 0 <= metrics["test_accuracy"] <= metrics["char_accuracy"] <= 1


def test_captcha_refuses_wrong_output_shape(small_held_out_sets):
    with pytest.raises(ModelShapeError, match=r"\(4, 10\)"):
        task("captcha").evaluate(small_model((40, 100), 10))


@pytest.fixture(scope="module")
def make_collages():
    return load_generator(WINDOWS, "make_collages")


def test_shop_windows_are_deterministic_and_list_every_class_they_show(make_collages):
    images = np.stack([np.full((28, 28), 10 * (k + 1), np.uint8) for k in range(10)])  # class k: grey 10(k+1)
    labels = np.arange(10)
    windows, targets = make_collages(images, labels, 500, 3)
    again, same_targets = make_collages(images, labels, 500, 3)
    assert windows.dtype == np.uint8 and windows.shape == (500, 56, 56)
    assert targets.dtype == np.float32 and targets.shape == (500, 10) and set(np.unique(targets)) <= {0, 1}
    assert np.array_equal(windows, again) and np.array_equal(targets, same_targets)
    assert targets.sum(axis=1).min() >= 1  # never an empty window
    for window, target in zip(windows, targets):
        places = [window[r : r + 28, c : c + 28] for r in (0, 28) for c in (0, 28)]
        shown = {int(place[0, 0]) // 10 - 1 for place in places if place[0, 0]}
        assert shown == set(np.flatnonzero(target).tolist())


def test_multi_label_scores_count_exact_matches_and_micro_f1():
    from workshop.tasks.fashion_collages import multi_label_scores

    targets = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0]], dtype=np.float32)
    probabilities = np.array([[0.9, 0.1, 0.6], [0.2, 0.7, 0.5], [0.8, 0.3, 0.1]])
    scores = multi_label_scores(probabilities, targets)
    # Window 1 has a false positive; windows 2 and 3 are right (0.5 reaches the threshold).
    assert scores["test_exact_match"] == pytest.approx(2 / 3)
    assert scores["micro_f1"] == pytest.approx(2 * 4 / (2 * 4 + 1 + 0))


def test_shop_windows_are_scored_from_the_test_images_with_a_held_out_seed(monkeypatch):
    from workshop.tasks import fashion_collages

    monkeypatch.setattr(fashion_collages, "NUM_WINDOWS", 50)
    sigmoid = keras.Sequential([keras.Input((56, 56)), layers.Flatten(), layers.Dense(10, activation="sigmoid")])
    metrics = task("fashion-collages").evaluate(sigmoid)
    assert set(metrics) == {"test_exact_match", "micro_f1"}
    assert 0 <= metrics["test_exact_match"] <= 1 and 0 <= metrics["micro_f1"] <= 1
    with pytest.raises(ModelShapeError, match=r"\(10,\)"):
        task("fashion-collages").evaluate(small_model((56, 56), 3))
