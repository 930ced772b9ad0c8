"""The text tasks: Dom Casmurro's cross entropy and IMDB's accuracy, on tiny models and texts."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import layers

from workshop.tasks import ModelShapeError, imdb, text_generation
from workshop.tasks.text_generation import HELD_OUT_MARKER, cross_entropy, scoring_windows


def uniform_model(characters: str, length=None) -> keras.Model:
    """Zero logits over the IntegerLookup vocabulary of ``characters``: a uniform guess."""
    lookup = layers.IntegerLookup(vocabulary=sorted({ord(c) for c in characters}))
    size = lookup.vocabulary_size()
    return keras.Sequential(
        [
            keras.Input(shape=(length,), dtype="int32"),
            lookup,
            layers.Embedding(size, size, embeddings_initializer="zeros"),
        ]
    )


@pytest.mark.parametrize("window", [2, 7, 200])
def test_scoring_windows_predict_every_held_out_character_once_from_the_one_before(window):
    codes = np.arange(1000, 2000)
    inputs, positions, targets = scoring_windows(codes, 600, window)
    assert inputs.shape[1] == window
    scored = [(row, position) for row in range(len(inputs)) for position in positions[row] if position >= 0]
    predicted = [int(targets[row][list(positions[row]).index(position)]) for row, position in scored]
    assert predicted == list(codes[600:])
    for row, position in scored:
        # The output at `position` has read the input up to that position: the character before the target.
        assert inputs[row][position] + 1 == targets[row][list(positions[row]).index(position)]


def test_a_uniform_model_costs_log_of_its_vocabulary_size():
    text = "abcde fghij. " * 100
    model = uniform_model(text)
    assert cross_entropy(model, text, 900) == pytest.approx(math.log(len(set(text)) + 1), rel=1e-5)


def test_a_fixed_length_model_is_fed_windows_of_its_length():
    text = "abcde fghij. " * 100
    assert cross_entropy(uniform_model(text, length=50), text, 900) == pytest.approx(math.log(13), rel=1e-5)


def test_leaving_characters_out_of_the_vocabulary_does_not_lower_the_loss():
    text = "abcde fghij. " * 100
    full = cross_entropy(uniform_model(text), text, 900)
    tiny = cross_entropy(uniform_model("a"), text, 900)
    # Uniform over {a, OOV}: an "a" costs ln 2, any of the 11 other characters ln 2 + ln 11.
    assert tiny == pytest.approx(math.log(2) + (12 / 13) * math.log(11), rel=1e-2)
    assert tiny > full


def test_a_model_without_a_vocabulary_layer_is_told_what_to_add():
    model = keras.Sequential([keras.Input(shape=(None,), dtype="int32"), layers.Embedding(300, 300)])
    with pytest.raises(ModelShapeError, match="IntegerLookup"):
        cross_entropy(model, "abc " * 100, 300)


def test_the_learner_view_stops_before_the_held_out_chapters(tmp_path, monkeypatch):
    novel = "I\n\nDo titulo.\n\nUma noite destas" + HELD_OUT_MARKER + "Um dia... FIM"
    monkeypatch.setattr(text_generation, "read_text", lambda path=None: novel)
    environment = text_generation.DomCasmurro().learner_view(tmp_path)
    seen = (tmp_path / "keras" / "datasets" / "dom_casmurro.txt").read_text(encoding="utf-8")
    assert environment == {"KERAS_HOME": str(tmp_path / "keras")}
    assert seen == "I\n\nDo titulo.\n\nUma noite destas"
    # The exercise's own cut leaves the view unchanged.
    assert seen.split(HELD_OUT_MARKER)[0] == seen


def keyword_model(output: str = "probability", shape=()) -> keras.Model:
    """Positive when "good" outnumbers "bad": a fixed Dense layer over word counts."""
    vectorize = layers.TextVectorization(vocabulary=["good", "bad"], output_mode="count")
    inputs = keras.Input(shape=shape, dtype="string")
    counts = vectorize(inputs)
    if output == "probability":
        dense = layers.Dense(1, activation="sigmoid")
        outputs = dense(counts)
        dense.set_weights([np.array([[0.0], [5.0], [-5.0]]), np.zeros(1)])
    else:
        dense = layers.Dense(2)
        outputs = dense(counts)
        dense.set_weights([np.array([[0.0, 0.0], [0.0, 5.0], [5.0, 0.0]]), np.zeros(2)])
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("output, shape", [("probability", ()), ("two scores", ()), ("probability", (1,))])
def test_imdb_scores_raw_strings_from_a_probability_or_two_scores(output, shape):
    texts = np.array(["good good film", "bad, bad film", "a good but bad film, good"], dtype=object)
    scores = imdb.positive_scores(keyword_model(output, shape), texts)
    assert list(scores > 0) == [True, False, True]


def test_imdb_rejects_a_model_that_does_not_take_strings():
    model = keras.Sequential([keras.Input(shape=(20_000,)), layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ModelShapeError, match="raw review strings"):
        imdb.positive_scores(model, np.array(["good"], dtype=object))


def test_the_imdb_learner_view_holds_the_training_reviews_only(tmp_path, monkeypatch):
    data_folder = tmp_path / "data"
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            (data_folder / "aclImdb" / split / label).mkdir(parents=True)
            (data_folder / "aclImdb" / split / label / f"0_{label}.txt").write_text(f"{split} {label}")
    monkeypatch.setattr(imdb.manifest, "dataset_dir", lambda name: data_folder)
    environment = imdb.Imdb().learner_view(tmp_path / "view")
    keras_home = tmp_path / "view" / "keras"
    assert environment == {"KERAS_HOME": str(keras_home)}
    seen = sorted(p.relative_to(keras_home).as_posix() for p in keras_home.rglob("*.txt"))
    assert seen == ["datasets/aclImdb/train/neg/0_neg.txt", "datasets/aclImdb/train/pos/0_pos.txt"]
    assert not (keras_home / "datasets" / "aclImdb" / "train").is_symlink()
