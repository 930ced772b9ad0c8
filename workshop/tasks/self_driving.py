"""Self-driving car: steering angles for camera frames generated with a held-out seed."""

from __future__ import annotations

import numpy as np

from workshop.tasks import ModelShapeError, Task, fit_to_input, predict
from workshop.tasks.generated import held_out_data

NUM_FRAMES = 5000


class SelfDriving(Task):
    """5,000 generated road frames the unit never saw, each with its steering angle in degrees."""

    def __init__(self):
        super().__init__("self-driving", ("test_mae",), f"{NUM_FRAMES:,} generated camera frames, held-out seed")

    generated = True

    def evaluate(self, model) -> dict[str, float]:
        images, angles = held_out_data(self.name, NUM_FRAMES, reference=self.reference_solution())
        inputs = fit_to_input(model, images, [images.shape[1:]])
        predictions = predict(model, inputs)
        if predictions.shape[1:] not in ((1,), ()):
            raise ModelShapeError(
                f"The model outputs shape {predictions.shape[1:]} per frame; this unit needs one number, "
                "the steering angle in degrees: end with layers.Dense(1) and no activation."
            )
        return {"test_mae": float(np.mean(np.abs(predictions.reshape(len(angles)) - angles)))}
