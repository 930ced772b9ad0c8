"""Running `workshop grade` as an instructor types it, and reading the gradebook it writes:
shared by the grading tests."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from workshop.course.course import Course

COURSE = Course.find()  # the checkout under test

UNIT = "02_fashion_mnist_logreg"


def run_grade(*args, unit: str = UNIT, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workshop", "grade", "--exercise", unit, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=COURSE.root,
        check=False,
        **options,
    )


def rows_of(out_dir: Path) -> dict[str, dict]:
    with open(out_dir / "gradebook.csv", newline="", encoding="utf-8") as stream:
        return {row["learner"]: row for row in csv.DictReader(stream)}
