"""The gradebook of a grading: one CSV row per learner, and the merging of shards' gradebooks."""

from __future__ import annotations

import csv
import io
import json
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

from workshop import atomic
from workshop.course.units import Unit

COLUMNS = [
    "learner",
    "unit",
    "status",
    "metric",
    "value",
    "goal",
    "passed",
    "seconds",
    "message",
    "sha256",
    "submission",
    "graded_at",
    "name",  # the learner's name for people, when `learner` is an id (a Canvas download)
    "late",  # "true" when Canvas marks the submission late
]
# The status of a row the grader itself could not grade (not the learner's result; a rerun grades it).
GRADER_ERROR = "grader-error"


class GradeError(Exception):
    """A problem with the grading command itself (not with a submission)."""


class Gradebook:
    """Rows by learner, written atomically (``workshop.atomic``) after every change."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock = threading.Lock()
        self.rows: dict[str, dict] = {row["learner"]: row for row in read_gradebook(self.path)}

    def put(self, row: dict) -> None:
        with self.lock:
            self.rows[row["learner"]] = row
            write_gradebook(self.path, self.rows.values())

    def is_current(self, submission, unit: Unit) -> bool:
        """The gradebook already holds this learner's grade for this very file (``submission``: a
        ``workshop.grading.grade.Submission``)."""
        row = self.rows.get(submission.learner)
        return (
            bool(row)
            and row.get("sha256") == submission.sha256
            and row.get("unit") == unit.name
            and row.get("status") != GRADER_ERROR
        )


def read_gradebook(path: Path) -> list[dict]:
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            return list(csv.DictReader(stream))
    except FileNotFoundError:
        return []


def write_gradebook(path: Path, rows) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: r["learner"]):
        writer.writerow(row)
    atomic.write_text(path, buffer.getvalue())


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def merge(out_dirs: list[Path], target: Path) -> dict:
    """Merge shard outputs into ``target``: one row per learner (the latest grading wins)."""
    target = Path(target)
    (target / "feedback").mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict] = {row["learner"]: row for row in read_gradebook(target / "gradebook.csv")}
    origin: dict[str, Path] = {}
    sandboxes = []
    for out_dir in out_dirs:
        out_dir = Path(out_dir)
        if not (out_dir / "gradebook.csv").exists():
            raise GradeError(f"{out_dir} has no gradebook.csv.")
        for row in read_gradebook(out_dir / "gradebook.csv"):
            current = rows.get(row["learner"])
            if current is None or row.get("graded_at", "") >= current.get("graded_at", ""):
                rows[row["learner"]] = row
                origin[row["learner"]] = out_dir
        try:
            sandboxes.append({"from": str(out_dir), **json.loads((out_dir / "sandbox.json").read_text())})
        except (OSError, ValueError):
            sandboxes.append({"from": str(out_dir), "missing": True})
    for learner, out_dir in origin.items():
        for source in (out_dir / "feedback").glob(f"{learner}*"):
            if source.name in (f"{learner}.md", f"{learner}.html", f"{learner}-curve.png"):
                shutil.copyfile(source, target / "feedback" / source.name)
    write_gradebook(target / "gradebook.csv", rows.values())
    atomic.write_text(target / "sandbox.json", json.dumps({"merged": sandboxes}, indent=2) + "\n")
    return {"learners": len(rows), "gradebook": str(target / "gradebook.csv")}
