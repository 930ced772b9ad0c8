"""Held-out data and metric definitions: one task per dataset, one module per task.

The runner scores every unit here, in the ``workshop.running.evaluate`` process, from the
model's predictions on data the unit's code did not produce. Metrics are computed
with NumPy from ``model.predict``: nothing compiled into the model is trusted.
"""

from __future__ import annotations

import contextvars
import functools
import gzip
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from workshop.datasets import manifest

# The tag of the code cells of a reference solution that generate its unit's data (``make_dataset``).
GENERATOR_TAG = "generator"


class ModelShapeError(Exception):
    """The model cannot take this task's inputs or gives outputs of the wrong shape."""


class GeneratorError(Exception):
    """A generated task has no reference solution, or that solution has no usable generator cells."""


def read_idx(dataset: str, filename: str) -> np.ndarray:
    with gzip.open(manifest.file_path(dataset, filename), "rb") as stream:
        raw = stream.read()
    # IDX: magic (2 zero bytes, dtype, number of dimensions), then one uint32 per dimension.
    dimensions = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dimensions).reshape(shape)


# The preprocessing learners most often do outside the model, which the runner does not repeat (it
# feeds the raw inputs): the diagnosis (``workshop.running.evaluate.diagnose``) scores the held-out inputs
# once more with each applied, to tell a learner which step to move inside the model. Only the
# diagnosis sets this; a grade is always the raw score.
OUTSIDE_STEPS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("outside_steps", default=())
RAW_SHAPES: contextvars.ContextVar[list | None] = contextvars.ContextVar("raw_shapes", default=None)


def fit_to_input(model, inputs: np.ndarray, accepted: list[tuple]) -> np.ndarray:
    """Reshape ``inputs`` to the model's declared input shape, if it is one of ``accepted``."""
    declared = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
    if declared is None:
        raise ModelShapeError("The model has no defined input; build it with keras.Input(...) or an input_shape.")
    steps = OUTSIDE_STEPS.get()
    if steps:
        if (shapes := RAW_SHAPES.get()) is not None:
            shapes.append((tuple(inputs.shape[1:]), str(inputs.dtype)))
        if "scale" in steps:
            if inputs.dtype != np.uint8:
                raise ModelShapeError("only 8-bit pixel values are scaled by 255")
            inputs = inputs.astype(np.float32) / 255
        accepted = list(accepted)
        if "flatten" in steps:
            accepted.append((int(np.prod(inputs.shape[1:])),))
        if "channel" in steps:
            accepted.append(tuple(inputs.shape[1:]) + (1,))
    for shape in accepted:
        if declared == shape:
            return inputs.reshape((len(inputs),) + shape)
    expected = " or ".join(str(s) for s in accepted)
    raise ModelShapeError(
        f"The model expects inputs of shape {declared}, but this unit feeds it {expected} "
        f"(raw values, as loaded). Keep preprocessing such as Flatten or Rescaling inside the model."
    )


def predict(model, inputs, batch_size: int = 1000) -> np.ndarray:
    if OUTSIDE_STEPS.get() and not RAW_SHAPES.get():  # a diagnosis, of a task that has no arrays to change
        raise ModelShapeError("no outside preprocessing to try for this task")
    return np.asarray(model.predict(inputs, batch_size=batch_size, verbose=0))


def check_output(predictions: np.ndarray, expected: tuple) -> None:
    if predictions.shape[1:] != expected:
        raise ModelShapeError(
            f"The model outputs shape {predictions.shape[1:]} per example; this unit needs {expected} "
            "(one score per class)."
        )


@dataclass
class Task:
    name: str
    metrics: tuple[str, ...]
    description: str = ""
    extra: dict = field(default_factory=dict)
    # The reference solution of the unit this task scores, handed in by the caller (``get_task``):
    # a generated task runs its generator cells; the others never read it.
    reference: Path | None = None
    # Does this task make its held-out data with the generator cells of its unit's reference
    # solution? (``workshop units --check`` then requires those cells.)
    generated: ClassVar[bool] = False

    def reference_solution(self) -> Path:
        """The reference solution whose generator cells make this task's data."""
        if self.reference is None:
            raise GeneratorError(
                f"The {self.name} task draws its held-out data with the generator cells of its unit's reference "
                f"solution, and was given none: get_task({self.name!r}, reference=unit.solution_path)."
            )
        return self.reference

    def evaluate(self, model) -> dict[str, float]:
        """Score ``model`` on the held-out data: {metric name: value}."""
        raise NotImplementedError

    def learner_view(self, view: Path) -> dict[str, str]:
        """Fill ``view`` with what a graded submission may read, held-out labels withheld.

        Returns the environment variables that point the submission at it (for example
        ``KERAS_HOME``). The default, for tasks whose held-out data is generated at scoring
        time with a seed the submission never sees, withholds nothing.
        """
        return {}


@functools.cache
def tasks() -> dict[str, type[Task]]:
    """Every task, by name (the dataset a unit declares first): the ``Task`` subclass each module
    of this package defines. A new task is a new module here; nothing else lists it."""
    found: dict[str, type[Task]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Task) and value.__module__ == module.__name__:
                found[value().name] = value
    return found


def get_task(name: str, reference: Path | None = None) -> Task:
    """The task named ``name``; ``reference``: the reference solution of the unit it scores (the
    generator cells of a generated task's data live there)."""
    known = tasks()
    if name not in known:
        raise KeyError(f"No scoring task for dataset {name!r}; known: {', '.join(sorted(known))}")
    task = known[name]()
    task.reference = None if reference is None else Path(reference)
    return task
