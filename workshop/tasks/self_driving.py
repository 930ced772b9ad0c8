"""Self-driving car: steering commands for camera frames generated with a held-out seed."""

from __future__ import annotations

import numpy as np

from workshop.tasks import Task, check_output, fit_to_input, predict
from workshop.tasks.generated import held_out_data

NUM_FRAMES = 5000
NUM_COMMANDS = 3  # 0 forward, 1 left, 2 right


class SelfDriving(Task):
    """5,000 generated road frames the unit never saw, labelled forward / left / right."""

    def __init__(self):
        super().__init__("self-driving", ("test_accuracy",), f"{NUM_FRAMES:,} generated camera frames, held-out seed")

    def evaluate(self, model) -> dict[str, float]:
        images, labels = held_out_data(self.name, NUM_FRAMES)
        inputs = fit_to_input(model, images, [images.shape[1:]])
        predictions = predict(model, inputs)
        check_output(predictions, (NUM_COMMANDS,))
        return {"test_accuracy": float(np.mean(predictions.argmax(axis=1) == labels))}
