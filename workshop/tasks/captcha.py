"""Captcha reading: fresh captchas generated with a held-out seed, scored whole and per character."""

from __future__ import annotations

import numpy as np

from workshop.tasks import ModelShapeError, Task, fit_to_input, predict
from workshop.tasks.generated import held_out_data

NUM_CAPTCHAS = 2000
NUM_SYMBOLS = 10  # the digits 0-9


class Captcha(Task):
    """2,000 generated captchas the unit never saw: whole-captcha and per-character accuracy."""

    def __init__(self):
        super().__init__(
            "captcha", ("test_accuracy", "char_accuracy"), f"{NUM_CAPTCHAS:,} generated captchas, held-out seed"
        )

    generated = True

    def evaluate(self, model) -> dict[str, float]:
        images, labels = held_out_data(self.name, NUM_CAPTCHAS, reference=self.reference_solution())
        shape = images.shape[1:]
        accepted = [shape, shape + (1,)] if len(shape) == 2 else [shape]
        inputs = fit_to_input(model, images, accepted)
        predictions = predict(model, inputs)
        expected = (labels.shape[1], NUM_SYMBOLS)
        if predictions.shape[1:] != expected:
            raise ModelShapeError(
                f"The model outputs shape {predictions.shape[1:]} per captcha; this unit needs "
                f"{expected}: one row of class scores per character position."
            )
        correct = predictions.argmax(axis=2) == labels
        return {"test_accuracy": float(np.mean(correct.all(axis=1))), "char_accuracy": float(np.mean(correct))}
