"""Shop windows: collages of the official Fashion-MNIST test images, several labels each."""

from __future__ import annotations

import numpy as np

from workshop.tasks import ModelShapeError, fit_to_input, predict, read_idx
from workshop.tasks.fashion_mnist import FashionMnist
from workshop.tasks.generated import held_out_seed, load_generator

NUM_WINDOWS = 5000
NUM_CLASSES = 10
THRESHOLD = 0.5  # a label is predicted when its probability reaches this


def multi_label_scores(probabilities: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Exact-match ratio (every label of a window right) and micro-averaged F1 over all labels."""
    predicted = probabilities >= THRESHOLD
    truth = targets > 0.5
    true_positives = np.sum(predicted & truth)
    denominator = np.sum(predicted) + np.sum(truth)
    return {
        "test_exact_match": float(np.mean(np.all(predicted == truth, axis=1))),
        "micro_f1": float(2 * true_positives / denominator) if denominator else 1.0,
    }


class FashionCollages(FashionMnist):
    """5,000 shop windows of 2x2 garments drawn from the 10,000 test images with a held-out seed."""

    def __init__(self):
        super().__init__()
        self.name = "fashion-collages"
        self.metrics = ("test_exact_match", "micro_f1")
        self.description = f"{NUM_WINDOWS:,} windows of the Fashion-MNIST test images, held-out seed"

    generated = True  # the windows are made by `make_collages` of the unit's generator cells

    def evaluate(self, model) -> dict[str, float]:
        images = read_idx("fashion-mnist", "t10k-images-idx3-ubyte.gz")
        labels = read_idx("fashion-mnist", "t10k-labels-idx1-ubyte.gz")
        make_collages = load_generator(self.reference_solution(), "make_collages")
        windows, targets = make_collages(images, labels, NUM_WINDOWS, held_out_seed(self.name))
        inputs = fit_to_input(model, windows, [windows.shape[1:], windows.shape[1:] + (1,)])
        probabilities = predict(model, inputs)
        if probabilities.shape[1:] != (NUM_CLASSES,):
            raise ModelShapeError(
                f"The model outputs shape {probabilities.shape[1:]} per window; this unit needs "
                f"({NUM_CLASSES},): one probability per class, from a sigmoid."
            )
        return multi_label_scores(probabilities, targets)
