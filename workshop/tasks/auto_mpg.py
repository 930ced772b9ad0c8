"""Auto MPG: the 20 % of cars the TensorFlow "Basic regression" tutorial holds out.

The split is the tutorial's, so a learner's own split code reproduces it exactly::

    raw = pd.read_csv(path, names=COLUMNS, na_values="?", comment="\\t", sep=" ", skipinitialspace=True)
    dataset = raw.dropna()
    train = dataset.sample(frac=0.8, random_state=0)
    test = dataset.drop(train.index)

The model contract: a float32 array of shape (N, 9) with the columns of FEATURES, in that
order (the tutorial's order after one-hot encoding origin), raw values as in the file;
the model outputs one number per car, its predicted mpg.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workshop.datasets import manifest
from workshop.tasks import ModelShapeError, Task, fit_to_input, predict

COLUMNS = ["MPG", "Cylinders", "Displacement", "Horsepower", "Weight", "Acceleration", "Model Year", "Origin"]
ORIGINS = {1: "USA", 2: "Europe", 3: "Japan"}
FEATURES = [
    "Cylinders",
    "Displacement",
    "Horsepower",
    "Weight",
    "Acceleration",
    "Model Year",
    "Europe",
    "Japan",
    "USA",
]
FILENAME = "auto-mpg.data"


def read_raw(path: Path):
    """The file as the tutorial reads it: one row per line, '?' as missing, car names dropped."""
    import pandas as pd

    return pd.read_csv(path, names=COLUMNS, na_values="?", comment="\t", sep=" ", skipinitialspace=True)


def split(raw):
    """(train, test) data frames with one-hot origin, exactly as in the tutorial."""
    import pandas as pd

    dataset = raw.dropna().copy()
    dataset["Origin"] = dataset["Origin"].map(ORIGINS)
    dataset = pd.get_dummies(dataset, columns=["Origin"], prefix="", prefix_sep="")
    train = dataset.sample(frac=0.8, random_state=0)
    test = dataset.drop(train.index)
    return train, test


def features_and_targets(frame) -> tuple[np.ndarray, np.ndarray]:
    return frame[FEATURES].to_numpy(dtype=np.float32), frame["MPG"].to_numpy(dtype=np.float64)


class AutoMpg(Task):
    """The tutorial's held-out 20 % of Auto MPG (78 cars); metric: mean absolute error in mpg."""

    def __init__(self):
        super().__init__("auto-mpg", ("test_mae",), "Auto MPG, the TF tutorial's 20 % test split (78 cars)")

    def held_out(self) -> tuple[np.ndarray, np.ndarray]:
        _, test = split(read_raw(manifest.file_path("auto-mpg", FILENAME)))
        return features_and_targets(test)

    def evaluate(self, model) -> dict[str, float]:
        features, targets = self.held_out()
        inputs = fit_to_input(model, features, [(len(FEATURES),)])
        predictions = predict(model, inputs)
        if predictions.shape[1:] not in ((), (1,)):
            raise ModelShapeError(
                f"The model outputs shape {predictions.shape[1:]} per car; this unit needs one number "
                "(the predicted mpg), e.g. a final Dense(1)."
            )
        return {"test_mae": float(np.mean(np.abs(predictions.reshape(-1).astype(np.float64) - targets)))}

    def learner_view(self, view: Path) -> dict[str, str]:
        """A copy of auto-mpg.data in $KERAS_HOME/datasets/ with the held-out cars' mpg replaced.

        Rows keep their count and order (so the tutorial's split selects the same cars); each
        held-out car's mpg becomes one of the training cars' values, drawn without replacement.
        """
        source = manifest.file_path("auto-mpg", FILENAME)
        raw = read_raw(source)
        train, test = split(raw)
        rng = np.random.default_rng(0)
        replacements = rng.choice(train["MPG"].to_numpy(), size=len(test), replace=False)
        lines = source.read_text().splitlines(keepends=True)
        if len(lines) != len(raw):
            raise ValueError(f"{source}: {len(lines)} lines but {len(raw)} rows; cannot withhold the test mpg")
        for row, mpg in zip(test.index, replacements):
            old_mpg, rest = lines[row].lstrip(" ").split(" ", 1)
            lines[row] = f"{mpg:.1f}".ljust(len(old_mpg)) + " " + rest
        keras_datasets = view / "keras" / "datasets"
        keras_datasets.mkdir(parents=True, exist_ok=True)
        target = keras_datasets / FILENAME
        target.write_text("".join(lines))
        return {"KERAS_HOME": str(view / "keras")}
