"""Fashion-MNIST: the official 10,000 test images, never used for training."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np

from workshop.atomic import link_or_copy
from workshop.datasets import manifest
from workshop.tasks import Task, check_output, fit_to_input, predict, read_idx

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def idx_labels(labels: np.ndarray) -> bytes:
    """A valid IDX1 label file (uint8, one dimension), as Keras' loader reads it."""
    return b"\x00\x00\x08\x01" + len(labels).to_bytes(4, "big") + labels.astype(np.uint8).tobytes()


class FashionMnist(Task):
    """The official 10,000 Fashion-MNIST test images, never used for training."""

    def __init__(self):
        super().__init__("fashion-mnist", ("test_accuracy",), "Fashion-MNIST official test set (10,000 images)")

    def evaluate(self, model) -> dict[str, float]:
        images = read_idx("fashion-mnist", "t10k-images-idx3-ubyte.gz")
        labels = read_idx("fashion-mnist", "t10k-labels-idx1-ubyte.gz")
        inputs = fit_to_input(model, images, [(28, 28), (28, 28, 1), (784,)])
        predictions = predict(model, inputs)
        check_output(predictions, (10,))
        return {"test_accuracy": float(np.mean(predictions.argmax(axis=1) == labels))}

    def learner_view(self, view: Path) -> dict[str, str]:
        """`view/keras/datasets/fashion-mnist/`: the training files and test images unchanged,
        the test labels replaced by a random permutation of themselves.

        `keras.datasets.fashion_mnist.load_data()` keeps working (same shapes, same file
        format), but the true label of each test image is not there to be read.
        """
        folder = Path(view) / "keras" / "datasets" / "fashion-mnist"
        folder.mkdir(parents=True, exist_ok=True)
        for name in FILES[:2]:
            link_or_copy(manifest.file_path("fashion-mnist", name), folder / name)
        # A copy, not a link: the view must share no inode with the scorer's test file.
        shutil.copyfile(manifest.file_path("fashion-mnist", FILES[2]), folder / FILES[2])
        labels = read_idx("fashion-mnist", FILES[3])
        shuffled = np.random.default_rng().permutation(labels)
        with gzip.open(folder / FILES[3], "wb") as stream:
            stream.write(idx_labels(shuffled))
        return {"KERAS_HOME": str(Path(view) / "keras")}
