"""IMDB: the 25,000 official test reviews (aclImdb/test), never used for training.

The model contract (also in solutions/10_sentiment_imdb.py): the model takes a batch of raw
review strings, shape (batch,) (``keras.Input(shape=(), dtype="string")``; shape (1,) works too),
with text preprocessing such as ``TextVectorization`` inside it. It outputs, per review, either
one probability that the review is positive (shape (1,), a sigmoid) or two class scores
(shape (2,), negative then positive, the order of ``text_dataset_from_directory``'s labels).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from workshop.atomic import link_or_copy
from workshop.datasets import manifest
from workshop.tasks import ModelShapeError, Task, predict

CLASSES = ("neg", "pos")  # label 0, label 1: alphabetical, as text_dataset_from_directory orders them


def read_reviews(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(texts, labels) of aclImdb/<split>, negatives first, each class sorted by file name."""
    folder = manifest.dataset_dir("imdb") / "aclImdb" / split
    texts, labels = [], []
    for label, name in enumerate(CLASSES):
        for path in sorted((folder / name).glob("*.txt")):
            texts.append(path.read_text(encoding="utf-8"))
            labels.append(label)
    return np.array(texts, dtype=object), np.array(labels)


def positive_scores(model, texts: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Predict on raw strings; return one score per review, positive when above the threshold."""
    declared = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
    if declared == (1,):
        import tensorflow as tf  # Keras converts NumPy string arrays of shape (n,) only.

        texts = tf.constant(texts.astype(object).reshape(-1, 1).tolist())
    elif declared != ():
        raise ModelShapeError(
            f"The model expects inputs of shape {declared}; this unit feeds it raw review strings, shape (). "
            "Declare keras.Input(shape=(), dtype='string') and keep TextVectorization inside the model."
        )
    outputs = predict(model, texts, batch_size=batch_size)
    if outputs.ndim == 1:
        outputs = outputs[:, None]
    if outputs.shape[1:] == (1,):
        return outputs[:, 0] - 0.5  # a probability: positive above 0.5
    if outputs.shape[1:] == (2,):
        return outputs[:, 1] - outputs[:, 0]  # two scores: positive when the second wins
    raise ModelShapeError(
        f"The model outputs shape {outputs.shape[1:]} per review; this unit needs (1,) (the probability "
        "that the review is positive) or (2,) (scores for negative, positive)."
    )


class Imdb(Task):
    """The 25,000 official IMDB test reviews (aclImdb/test), never used for training."""

    def __init__(self):
        super().__init__("imdb", ("test_accuracy",), "IMDB official test reviews (25,000, balanced)")

    def evaluate(self, model) -> dict[str, float]:
        texts, labels = read_reviews("test")
        predictions = (positive_scores(model, texts) > 0).astype(int)
        return {"test_accuracy": float(np.mean(predictions == labels))}

    def learner_view(self, view: Path) -> dict[str, str]:
        """$KERAS_HOME/datasets/aclImdb with the training reviews only (aclImdb/test withheld)."""
        folder = Path(view) / "keras" / "datasets" / "aclImdb"
        folder.mkdir(parents=True, exist_ok=True)
        # Real entries, not a symlink: the grading sandbox hides the data folder a link would point into.
        shutil.copytree(
            manifest.dataset_dir("imdb") / "aclImdb" / "train", folder / "train", copy_function=link_or_copy
        )
        return {"KERAS_HOME": str(Path(view) / "keras")}


__all__ = ["Imdb", "positive_scores", "read_reviews"]
