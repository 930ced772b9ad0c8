"""Dom Casmurro: next-character cross entropy on the novel's last 19 chapters, never trained on.

The held-out text runs from the heading of chapter CXXX to the end: 37,786 characters, the last
10 % of the book. The exercise cuts the text at that heading, and the learner view used for
grading holds the novel up to it.

The model contract (also in solutions/09_text_generation.py):

- input: a batch of texts as Unicode code points, int32, shape (batch, length): ``ord(c)`` for
  each character, after ``"\\r\\n"`` has become ``"\\n"``. The model declares
  ``keras.Input(shape=(None,), dtype="int32")`` (any length) or a fixed length of at least 2;
- inside the model, an ``IntegerLookup`` layer holds the vocabulary (the code points it knows);
- output: shape (batch, length, len(vocabulary)), at each position a score for every entry of
  that layer's ``get_vocabulary()``, in that order, for the *next* character. Logits, or
  probabilities when every row is non-negative and sums to 1.

Out-of-vocabulary characters: a character of the held-out text that the vocabulary lacks gets
the probability of the out-of-vocabulary entry (``-1``), shared equally among all the novel's
characters that the vocabulary lacks. So the model is charged for a proper distribution over the
novel's characters, and leaving characters out of the vocabulary cannot lower the loss.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workshop.datasets import manifest
from workshop.tasks import ModelShapeError, Task, predict

FILENAME = "dom_casmurro.txt"
# The held-out text starts with this heading (chapter CXXX, "Um dia...").
HELD_OUT_MARKER = "\n\nCXXX\n\n"
# Scoring windows without a fixed model length: 100 characters of context, then 100 scored ones.
DEFAULT_WINDOW = 200


def read_text(path: Path | None = None) -> str:
    """The novel as one string, with Windows line ends ("\\r\\n") made "\\n"."""
    path = path or manifest.file_path("dom-casmurro", FILENAME)
    return Path(path).read_text(encoding="utf-8").replace("\r\n", "\n")


def split_point(text: str) -> int:
    """Where the held-out tail starts: the heading of chapter CXXX, 90 % of the way in."""
    return text.index(HELD_OUT_MARKER)


def find_lookup(model):
    """The model's first IntegerLookup layer (searching nested models), or None."""
    from keras import layers

    for layer in getattr(model, "layers", []):
        if isinstance(layer, layers.IntegerLookup):
            return layer
        found = find_lookup(layer)
        if found is not None:
            return found
    return None


def scoring_windows(codes: np.ndarray, start: int, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows that together predict every character from ``start`` to the end exactly once.

    Returns (inputs (n, window), positions (n, scored), targets (n, scored)): in window i,
    the output at ``positions[i, j]`` is scored against the code point ``targets[i, j]``.
    Each window gives its first ``window - scored`` characters as context only.
    """
    context = window // 2
    scored = window - context
    targets_wanted = np.arange(start, len(codes))
    inputs, positions, targets = [], [], []
    for first in range(0, len(targets_wanted), scored):
        chunk = targets_wanted[first : first + scored]
        end = chunk[-1]  # the last target; the window's last input is the character before it
        begin = end - window
        inputs.append(codes[begin:end])
        # Output j of the window predicts codes[begin + j + 1].
        positions.append(np.pad(chunk - begin - 1, (0, scored - len(chunk)), constant_values=-1))
        targets.append(np.pad(codes[chunk], (0, scored - len(chunk)), constant_values=-1))
    return np.stack(inputs), np.stack(positions), np.stack(targets)


def log_probabilities(outputs: np.ndarray) -> np.ndarray:
    outputs = outputs.astype(np.float64)
    if outputs.min() >= 0 and np.allclose(outputs.sum(axis=-1), 1, atol=1e-3):
        return np.log(np.clip(outputs, 1e-12, None))
    shifted = outputs - outputs.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(model, text: str, start: int, batch_size: int = 256) -> float:
    """Mean cross entropy, nats per character, of the model on ``text[start:]``."""
    lookup = find_lookup(model)
    if lookup is None:
        raise ModelShapeError(
            "The model has no IntegerLookup layer: keep the vocabulary inside the model, e.g. "
            "layers.IntegerLookup(vocabulary=code_points) as its first layer, so the runner can tell "
            "which output is which character."
        )
    vocabulary = [int(entry) for entry in lookup.get_vocabulary()]
    oov_slots = [i for i, entry in enumerate(vocabulary) if entry == int(lookup.oov_token)]
    index = {entry: i for i, entry in enumerate(vocabulary) if entry != int(lookup.oov_token)}
    missing = {ord(c) for c in text} - set(index)  # the novel's characters the vocabulary lacks

    declared = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
    if declared is None or len(declared) != 1:
        raise ModelShapeError(
            f"The model takes inputs of shape {declared}; this unit feeds it code points of shape "
            "(length,): declare keras.Input(shape=(None,), dtype='int32')."
        )
    window = declared[0] or DEFAULT_WINDOW
    if window < 2:
        raise ModelShapeError(f"The model takes windows of {window} character(s); it needs at least 2.")
    codes = np.array([ord(c) for c in text], dtype=np.int32)
    inputs, positions, targets = scoring_windows(codes, start, window)
    outputs = predict(model, inputs, batch_size=batch_size)
    if outputs.shape[1:] != (window, len(vocabulary)):
        raise ModelShapeError(
            f"The model outputs shape {outputs.shape[1:]} per text; this unit needs (length, "
            f"{len(vocabulary)}): one score per entry of its IntegerLookup vocabulary at every position."
        )
    log_p = log_probabilities(outputs)
    if oov_slots:
        oov_log_p = np.log(np.clip(np.exp(log_p[..., oov_slots]).sum(axis=-1), 1e-300, None))
    else:
        oov_log_p = np.full(log_p.shape[:2], -np.inf)
    total, count = 0.0, 0
    for row in range(len(inputs)):
        keep = positions[row] >= 0
        for position, target in zip(positions[row][keep], targets[row][keep]):
            if target in index:
                value = log_p[row, position, index[target]]
            else:
                value = oov_log_p[row, position] - np.log(len(missing))
            total -= max(value, np.log(1e-12))  # a zero probability costs 27.6 nats, not infinity
            count += 1
    return total / count


class DomCasmurro(Task):
    """Chapters CXXX to CXLVIII of Dom Casmurro (37,786 characters), never trained on."""

    def __init__(self):
        super().__init__(
            "dom-casmurro", ("val_loss",), "Dom Casmurro, chapters CXXX-CXLVIII: cross entropy in nats per character"
        )

    def evaluate(self, model) -> dict[str, float]:
        text = read_text()
        return {"val_loss": float(cross_entropy(model, text, split_point(text)))}

    def learner_view(self, view: Path) -> dict[str, str]:
        """$KERAS_HOME/datasets/dom_casmurro.txt holding the novel without its held-out tail."""
        text = read_text()
        datasets = Path(view) / "keras" / "datasets"
        datasets.mkdir(parents=True, exist_ok=True)
        (datasets / FILENAME).write_text(text[: split_point(text)], encoding="utf-8")
        return {"KERAS_HOME": str(Path(view) / "keras")}


__all__ = ["DomCasmurro", "cross_entropy", "read_text", "scoring_windows", "split_point"]
