"""Fashion-MNIST: the official 10,000 test images, never used for training."""

from __future__ import annotations

import numpy as np

from workshop.tasks import Task, check_output, fit_to_input, predict, read_idx


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
