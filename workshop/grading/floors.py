"""The floor of each unit: what an honest trivial model scores on the held-out data.

A trivial model looks only at the training data and ignores its input: it always predicts the
training set's most frequent class (or label set), its mean, or its character frequencies. Its
held-out score is the unit's **Floor:**, declared in the solution beside the goal; with
``workshop grade --credit linear`` points grow in proportion from the floor (none) to the goal
(full). The held-out data is the task's own, read exactly as the scorer reads it.

    python -m workshop.grading.floors [UNIT ...]     # measure, and compare with each declaration
"""

from __future__ import annotations

import sys
from collections import Counter

import numpy as np

from workshop.course.units import all_units, load_unit, task_reference

# A declared floor is rounded (and a generated lab's held-out data depends on the scorer's secret).
TOLERANCE = 0.01


def majority_accuracy(train_labels: np.ndarray, test_labels: np.ndarray) -> float:
    majority = np.bincount(np.asarray(train_labels).reshape(-1)).argmax()
    return float(np.mean(np.asarray(test_labels) == majority))


def fashion_mnist() -> tuple[float, str]:
    from workshop.tasks import read_idx

    train = read_idx("fashion-mnist", "train-labels-idx1-ubyte.gz")
    test = read_idx("fashion-mnist", "t10k-labels-idx1-ubyte.gz")
    return majority_accuracy(train, test), "always predicting the training set's most frequent class"


def auto_mpg() -> tuple[float, str]:
    from workshop.datasets import manifest
    from workshop.tasks.auto_mpg import FILENAME, features_and_targets, read_raw, split

    train, test = split(read_raw(manifest.file_path("auto-mpg", FILENAME)))
    _, train_mpg = features_and_targets(train)
    _, test_mpg = features_and_targets(test)
    return float(np.mean(np.abs(test_mpg - train_mpg.mean()))), "always predicting the training cars' mean mpg"


def imdb() -> tuple[float, str]:
    from workshop.tasks.imdb import read_reviews

    _, train = read_reviews("train")
    _, test = read_reviews("test")
    return majority_accuracy(train, test), "always predicting the training set's most frequent class"


def self_driving() -> tuple[float, str]:
    from workshop.tasks.generated import held_out_data, load_generator
    from workshop.tasks.self_driving import NUM_FRAMES

    reference = task_reference("self-driving")
    _, train_angles = load_generator(reference)(2000, 1)
    _, test_angles = held_out_data("self-driving", NUM_FRAMES, reference=reference)
    return float(np.mean(np.abs(test_angles - train_angles.mean()))), "always steering the training frames' mean angle"


def captcha() -> tuple[float, str]:
    from workshop.tasks.captcha import NUM_CAPTCHAS
    from workshop.tasks.generated import held_out_data, load_generator

    reference = task_reference("captcha")
    _, train = load_generator(reference)(2000, 1)
    _, test = held_out_data("captcha", NUM_CAPTCHAS, reference=reference)
    constant = np.array([np.bincount(train[:, position]).argmax() for position in range(train.shape[1])])
    return float(np.mean((test == constant).all(axis=1))), "always reading each position's most frequent digit"


def fashion_collages() -> tuple[float, str]:
    from workshop.tasks import read_idx
    from workshop.tasks.fashion_collages import NUM_WINDOWS, multi_label_scores
    from workshop.tasks.generated import held_out_seed, load_generator

    make_collages = load_generator(task_reference("fashion-collages"), "make_collages")
    images = read_idx("fashion-mnist", "train-images-idx3-ubyte.gz")
    labels = read_idx("fashion-mnist", "train-labels-idx1-ubyte.gz")
    _, train = make_collages(images[:-10_000], labels[:-10_000], 4000, 1)
    test_images = read_idx("fashion-mnist", "t10k-images-idx3-ubyte.gz")
    test_labels = read_idx("fashion-mnist", "t10k-labels-idx1-ubyte.gz")
    _, test = make_collages(test_images, test_labels, NUM_WINDOWS, held_out_seed("fashion-collages"))
    most_common = Counter(tuple(row) for row in train.astype(int)).most_common(1)[0][0]
    probabilities = np.tile(np.array(most_common, dtype=np.float32), (len(test), 1))
    value = multi_label_scores(probabilities, test)["test_exact_match"]
    return float(value), "always predicting the training windows' most frequent set of labels"


def dom_casmurro() -> tuple[float, str]:
    from workshop.tasks.text_generation import read_text, split_point

    text = read_text()
    start = split_point(text)
    counts = Counter(text[:start])
    alphabet = set(text)
    total = sum(counts.values()) + len(alphabet)  # add-one: a character unseen in training costs, not infinity
    log_p = {c: np.log((counts.get(c, 0) + 1) / total) for c in alphabet}
    held_out = text[start:]
    value = -sum(log_p[c] for c in held_out) / len(held_out)
    return float(value), "the training text's character frequencies, whatever came before"


BASELINES = {
    "fashion-mnist": fashion_mnist,
    "auto-mpg": auto_mpg,
    "imdb": imdb,
    "self-driving": self_driving,
    "captcha": captcha,
    "fashion-collages": fashion_collages,
    "dom-casmurro": dom_casmurro,
}


def measure(task: str) -> tuple[float, str]:
    """(value, how) of the trivial model for ``task``, on its held-out data."""
    if task not in BASELINES:
        raise KeyError(f"No trivial baseline for task {task!r}; add one to workshop/grading/floors.py.")
    return BASELINES[task]()


def main(argv: list[str]) -> int:
    units = [load_unit(name) for name in argv] if argv else all_units()
    measured: dict[str, tuple[float, str]] = {}
    different = 0
    for unit in units:
        if unit.task not in measured:
            measured[unit.task] = measure(unit.task)
        value, how = measured[unit.task]
        declared = "none" if unit.floor is None else f"{unit.floor:g}"
        same = unit.floor is not None and abs(unit.floor - value) <= TOLERANCE
        different += not same
        print(f"{unit.name:28} {unit.goal.metric} floor {value:.4f} ({how}); declared {declared}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
