"""The similarity report: disguised copies are flagged, independent honest solutions are not.

The class is unit 03 (softmax regression in NumPy): four learners who solved it each their own
way, and two who copied one of them and disguised it (variables renamed, cells reordered,
comments rewritten, a literal changed). No notebook runs here.
"""

from __future__ import annotations

import itertools
import random
import re
import time

from workshop.course.units import load_unit
from workshop.grading.similarity import normalise, similarity_report, winnow

UNIT = "03_softmax_sgd_numpy"
STUB = "# YOUR CODE HERE\n"

# Each honest learner's four blocks: softmax, cross_entropy, gradients, the training loop.
HONEST = {
    "ana": [
        """    shifted = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=1, keepdims=True)
""",
        """    probabilities = softmax(features @ weights + biases)
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(picked)))
""",
        """    errors = softmax(features @ weights + biases)
    errors[np.arange(len(labels)), labels] -= 1.0
    errors /= len(labels)
    return features.T @ errors, errors.sum(axis=0)
""",
        """num_epochs = 30
batch_size = 128
initial_learning_rate = 0.1
steps_per_epoch = int(np.ceil(len(features_train) / batch_size))
total_steps = num_epochs * steps_per_epoch
weights = np.zeros((num_features, num_classes), dtype="float32")
biases = np.zeros(num_classes, dtype="float32")
train_losses, val_losses = [], []
step = 0
for epoch in range(num_epochs):
    order = rng.permutation(len(features_train))
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        # cosine decay of the step size
        learning_rate = initial_learning_rate * 0.5 * (1 + np.cos(np.pi * step / total_steps))
        weight_gradient, bias_gradient = gradients(weights, biases, features_train[batch], y_train[batch])
        weights -= learning_rate * weight_gradient
        biases -= learning_rate * bias_gradient
        step += 1
    train_losses.append(cross_entropy(weights, biases, features_train, y_train))
    val_losses.append(cross_entropy(weights, biases, features_val, y_val))
    print(f"epoch {epoch + 1:2d}: training loss {train_losses[-1]:.4f}, validation loss {val_losses[-1]:.4f}")
""",
    ],
    "ben": [
        """    z = np.exp(logits - np.max(logits, axis=-1)[:, None])
    return z / np.sum(z, axis=-1)[:, None]
""",
        """    p = softmax(np.dot(features, weights) + biases)
    one_hot = np.eye(p.shape[1])[labels]
    return float(-(one_hot * np.log(p + 1e-12)).sum(axis=1).mean())
""",
        """    n = features.shape[0]
    p = softmax(np.dot(features, weights) + biases)
    p = p - np.eye(p.shape[1])[labels]
    return np.dot(features.T, p) / n, p.mean(axis=0)
""",
        """weights = np.zeros((num_features, num_classes), dtype=np.float32)
biases = np.zeros((num_classes,), dtype=np.float32)
train_losses = []
val_losses = []
lr = 0.1
for ep in range(25):
    idx = np.arange(len(features_train))
    rng.shuffle(idx)
    batches = np.array_split(idx, len(idx) // 128)
    for b in batches:
        gw, gb = gradients(weights, biases, features_train[b], y_train[b])
        weights = weights - lr * gw
        biases = biases - lr * gb
    lr = lr * 0.9
    train_losses.append(cross_entropy(weights, biases, features_train, y_train))
    val_losses.append(cross_entropy(weights, biases, features_val, y_val))
""",
    ],
    "chloe": [
        """    result = []
    for row in logits:
        top = max(row)
        values = np.exp(row - top)
        result.append(values / values.sum())
    return np.array(result)
""",
        """    total = 0.0
    scores = features.dot(weights) + biases
    probs = softmax(scores)
    for i, label in enumerate(labels):
        total += -np.log(probs[i, label])
    return float(total / len(labels))
""",
        """    probs = softmax(features.dot(weights) + biases)
    targets = np.zeros_like(probs)
    targets[np.arange(len(labels)), labels] = 1
    delta = (probs - targets) / len(labels)
    grad_w = features.T.dot(delta)
    grad_b = delta.sum(axis=0)
    return grad_w, grad_b
""",
        """weights = np.zeros((num_features, num_classes), dtype="float32")
biases = np.zeros(num_classes, dtype="float32")
train_losses, val_losses = [], []
epochs, size = 20, 256
rate = 0.2
for e in range(epochs):
    perm = rng.permutation(features_train.shape[0])
    xs, ys = features_train[perm], y_train[perm]
    i = 0
    while i < len(xs):
        g_w, g_b = gradients(weights, biases, xs[i : i + size], ys[i : i + size])
        weights -= rate * g_w
        biases -= rate * g_b
        i += size
    if e == 10:
        rate /= 2
    train_losses.append(cross_entropy(weights, biases, features_train, y_train))
    val_losses.append(cross_entropy(weights, biases, features_val, y_val))
    print("epoch", e, train_losses[-1], val_losses[-1])
""",
    ],
    "dev": [
        """    stable = logits - np.amax(logits, axis=1, keepdims=True)
    return np.exp(stable) / np.exp(stable).sum(1, keepdims=True)
""",
        """    log_p = np.log(softmax(features @ weights + biases))
    return float(-log_p[range(len(labels)), labels].mean())
""",
        """    diff = softmax(features @ weights + biases)
    diff[range(len(labels)), labels] -= 1
    return features.T @ diff / len(labels), diff.mean(0)
""",
        """batch_size, num_epochs = 64, 15
weights = np.zeros((num_features, num_classes), "float32")
biases = np.zeros(num_classes, "float32")
train_losses, val_losses = [], []
for epoch in range(num_epochs):
    learning_rate = 0.1 / (1 + epoch)
    shuffled = rng.permutation(len(y_train))
    for k in range(0, len(shuffled), batch_size):
        rows = shuffled[k : k + batch_size]
        dw, db = gradients(weights, biases, features_train[rows], y_train[rows])
        weights -= learning_rate * dw
        biases -= learning_rate * db
    train_losses += [cross_entropy(weights, biases, features_train, y_train)]
    val_losses += [cross_entropy(weights, biases, features_val, y_val)]
""",
    ],
}

RENAMES = {
    "ana": {
        "shifted": "centred",
        "exponentials": "exps",
        "probabilities": "preds",
        "picked": "chosen",
        "errors": "residual",
        "num_epochs": "n_ep",
        "initial_learning_rate": "lr0",
        "steps_per_epoch": "spe",
        "total_steps": "n_steps",
        "order": "perm",
        "start": "s",
        "batch": "sel",
        "learning_rate": "eta",
        "weight_gradient": "g_weights",
        "bias_gradient": "g_bias",
        "step": "it",
    },
    "chloe": {"result": "out", "top": "m", "values": "ex", "total": "acc", "scores": "z", "probs": "pr", "delta": "d"},
}


def fill(blocks: list[str]) -> str:
    """The exercise with its four stub blocks replaced by ``blocks``."""
    text = load_unit(UNIT).exercise_path.read_text()
    pattern = re.compile(r"^( *)# YOUR CODE HERE\n\1raise NotImplementedError\(.*\)\n", re.MULTILINE)
    parts = iter(blocks)
    filled = pattern.sub(lambda match: next(parts), text)
    assert "NotImplementedError" not in filled
    return filled


def disguise(learner: str) -> str:
    """A copy of ``learner``: names renamed, a literal changed, comments rewritten, cells reordered."""
    blocks = list(HONEST[learner])
    for old, new in RENAMES[learner].items():
        blocks = [re.sub(rf"\b{old}\b", new, block) for block in blocks]
    blocks = [
        block.replace("0.1", "0.12").replace("# cosine decay of the step size", "# shrink eta") for block in blocks
    ]
    text = fill(blocks)
    cells = text.split("\n# %%")
    # move the cell with cross_entropy and gradients to the end of the notebook, and add comments
    moved = next(i for i, cell in enumerate(cells) if "def gradients" in cell)
    cells.append(cells.pop(moved) + "\n# helper functions, written by me\n")
    return "\n# %%".join(cells)


def write_class(folder, files: dict[str, str]) -> list[tuple[str, str, object]]:
    folder.mkdir(parents=True, exist_ok=True)
    submissions = []
    for learner, text in files.items():
        path = folder / f"{learner}.py"
        path.write_text(text)
        submissions.append((learner, learner, path))
    return submissions


def test_winnowing_keeps_a_hash_in_every_window_and_ignores_names_and_comments():
    kept = {"np"}
    first, _ = normalise("total = np.sum(values)  # add up\n", kept)
    second, _ = normalise("s = np.sum(xs)\n", kept)
    assert first == second == ["V", "=", "np", ".", "sum", "(", "V", ")", ";"]
    tokens = [f"t{i % 37}" for i in range(400)]
    positions = sorted(p for found in winnow(tokens, k=5, w=4).values() for p in found)
    assert all(b - a <= 4 for a, b in itertools.pairwise(positions))  # no window without a fingerprint


def test_disguised_copies_are_flagged_and_honest_solutions_are_not(tmp_path):
    files = {learner: fill(blocks) for learner, blocks in HONEST.items()}
    files["eve"] = disguise("ana")
    files["finn"] = disguise("chloe")
    submissions = write_class(tmp_path / "class", files)
    summary = similarity_report(load_unit(UNIT), submissions, tmp_path / "similarity")
    scores = {frozenset((a, b)): score for a, b, score in summary["ranked"]}
    flagged = {pair for pair, score in scores.items() if score >= summary["cutoff"]}
    print({"-".join(sorted(pair)): round(score, 2) for pair, score in scores.items()})
    assert flagged == {frozenset(("ana", "eve")), frozenset(("chloe", "finn"))}, scores
    honest = [scores.get(frozenset(pair), 0.0) for pair in (("ana", "ben"), ("ana", "dev"), ("ben", "chloe"))]
    assert max(honest) < 0.3, honest

    index = (tmp_path / "similarity" / "index.html").read_text()
    assert "ana" in index and "eve" in index and "changes no grade" in index
    page = (tmp_path / "similarity" / "pairs" / "ana--eve.html").read_text()
    assert page.count("<mark>") > 10  # the shared passages are marked on both sides
    assert "YOUR CODE HERE" not in page  # the stub's own lines are left out
    csv_lines = (tmp_path / "similarity" / "similarity.csv").read_text().splitlines()
    assert csv_lines[0] == "learner_a,learner_b,similarity,shared_fingerprints,flagged"


def test_the_stub_handed_back_is_similar_to_nobody(tmp_path):
    files = {learner: fill(blocks) for learner, blocks in HONEST.items()}
    files["sam"] = load_unit(UNIT).exercise_path.read_text()
    files["tom"] = load_unit(UNIT).exercise_path.read_text()
    summary = similarity_report(load_unit(UNIT), write_class(tmp_path / "class", files), tmp_path / "out")
    assert not [pair for pair in summary["ranked"] if "sam" in pair[:2] or "tom" in pair[:2]]


def test_a_class_of_200_is_compared_in_seconds(tmp_path):
    """200 learners: the honest styles with every learner's own names and numbers. Timing is
    printed (it depends on the machine), not asserted."""
    rng = random.Random(0)
    files = {}
    names = sorted({name for renames in RENAMES.values() for name in renames})
    for number in range(200):
        style = list(HONEST)[number % len(HONEST)]
        blocks = HONEST[style]
        for name in names:
            blocks = [re.sub(rf"\b{name}\b", f"{name}_{rng.randrange(10**6)}", block) for block in blocks]
        blocks = [re.sub(r"\b(\d+)\b", lambda m: str(int(m.group(1)) + rng.randrange(3)), b) for b in blocks]
        files[f"learner{number:03d}"] = fill(blocks)
    submissions = write_class(tmp_path / "class", files)
    started = time.monotonic()
    summary = similarity_report(load_unit(UNIT), submissions, tmp_path / "out")
    seconds = time.monotonic() - started
    print(f"similarity of 200 learners ({summary['pairs']} pairs): {seconds:.2f} s, {summary['flagged']} flagged")
    assert summary["pairs"] == 200 * 199 // 2
