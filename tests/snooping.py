"""A submission that searches the grading machine for files it should never see, and the files
it looks for: planted by the tests in the grading account's home, beside the checkout and in the
class folder (another learner's work).

The snooper reports through the one channel a submission has to the outside, its error message,
which the grader copies into the gradebook, the feedback and the exports. It always reports
``CHANNEL-OK`` and how many files it saw, so a test can tell "found nothing" from "reported
nothing"; graded without the sandbox, it does find the planted files (see
``test_grade.py::test_the_snooper_finds_the_planted_files_when_nothing_confines_it``).
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

# Built from two halves, so that the snooper's own source never matches what it looks for.
MARK = "PLANTED-"

SNOOPER = """# %%
import keras
from keras import layers

# %%
model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(10, activation="softmax")])

# %%
import os
import sys

needle = ("PLANT" + "ED-").encode()
# The interpreter's own trees are public software: their names are listed, not read. (Resolved
# once per folder, not per file: unconfined, the walk covers a whole machine.)
runtime = tuple(os.path.realpath(p) + "/" for p in {"/usr", sys.prefix, sys.base_prefix})
found, seen = [], 0
for top, folders, files in os.walk("/"):
    if top in ("/proc", "/sys", "/dev"):
        folders[:] = []
        continue
    seen += len(files)
    if (os.path.realpath(top) + "/").startswith(runtime):
        continue
    for name in files:
        path = os.path.join(top, name)
        if not name.endswith((".txt", ".py", ".ipynb", ".csv")) or (os.path.realpath(path) + "/").startswith(runtime):
            continue
        try:
            if os.path.getsize(path) > 1_000_000:
                continue
            with open(path, "rb") as stream:
                content = stream.read()
        except OSError:
            continue
        at = content.find(needle)
        if at >= 0:
            found.append(path + " => " + content[at : at + 60].decode("ascii", "replace"))
raise RuntimeError(f"CHANNEL-OK saw {seen} files; top level {sorted(os.listdir('/'))}; found {found}")
"""


@dataclass
class Planted:
    """Files with a secret token each; ``tokens()`` is what must never reach the grader's output."""

    files: list[Path] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_hex(8))

    def plant(self, folder: Path, name: str, where: str, prefix: str = "") -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_text(f"{prefix}# {MARK}{self.token}-{where}: the instructor's answer key\n")
        path.chmod(0o644)
        self.files.append(path)
        return path

    def tokens(self) -> list[str]:
        return [self.token]

    def remove(self) -> None:
        for path in self.files:
            path.unlink(missing_ok=True)
            try:
                path.parent.rmdir()
            except OSError:
                pass


def plant_around(planted: Planted, home: Path, beside_checkout: Path, classmate: Path) -> None:
    """A private file in the grader's home, a notebook in a folder beside the checkout, and a
    comment in another learner's submission."""
    planted.plant(home / f".workshop-snoop-{planted.token}", "answers.txt", "home")
    planted.plant(beside_checkout / f"workshop-snoop-{planted.token}", "notebook.ipynb", "sibling")
    planted.plant(classmate.parent, classmate.name, "classmate", prefix=UNTRAINED_MODEL)


UNTRAINED_MODEL = (
    "# %%\nimport keras\nfrom keras import layers\n\n# %%\n"
    "model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(10, activation='softmax')])\n"
)


def leaks(out_dir: Path, planted: Planted) -> list[str]:
    """Every file of the grader's output that carries a planted token."""
    return [
        str(path)
        for path in sorted(Path(out_dir).rglob("*"))
        if path.is_file() and any(token.encode() in path.read_bytes() for token in planted.tokens())
    ]


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
