"""The gradebook of a grading: one typed ``GradeRow`` per learner, its CSV form, and the merging
of shards' gradebooks.

``GradeRow`` is the only place that knows how a row is spelled in ``gradebook.csv`` (``passed``
as ``true``/``false``, ``value`` with four decimals, ``late`` as ``true`` or empty): every other
module reads and writes typed fields. The statuses are defined here, once.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import threading
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from workshop import atomic
from workshop.course.units import Unit

# A row's status: scored; did not run or left no usable model; stopped at the time limit; or a row
# the grader itself could not grade (a lost worker, a sandbox that does not hold there, a missing
# view): never the learner's result, and graded again by the next run.
Status = Literal["ok", "error", "timeout", "grader-error"]
OK: Status = "ok"
ERROR: Status = "error"
TIMEOUT: Status = "timeout"
GRADER_ERROR: Status = "grader-error"
STATUSES: tuple[str, ...] = get_args(Status)


class GradeError(Exception):
    """A problem with the grading command itself (not with a submission)."""


@dataclass
class GradeRow:
    """One learner's grade for one unit."""

    learner: str
    unit: str
    status: Status
    metric: str = ""
    value: float | None = None
    goal: str = ""
    passed: bool = False
    seconds: float | None = None
    message: str = ""
    sha256: str = ""
    submission: str = ""
    graded_at: str = ""
    name: str = ""  # the learner's name for people, when `learner` is an id (a Canvas download)
    late: bool = False  # Canvas marks the submission late

    @property
    def value_text(self) -> str:
        """The value as the gradebook and the feedback show it (four decimals), or empty."""
        return "" if self.value is None else f"{self.value:.4f}"

    def to_csv(self) -> dict[str, str]:
        return {
            "learner": self.learner,
            "unit": self.unit,
            "status": self.status,
            "metric": self.metric,
            "value": self.value_text,
            "goal": self.goal,
            "passed": "true" if self.passed else "false",
            "seconds": "" if self.seconds is None else f"{self.seconds:.1f}",
            "message": self.message,
            "sha256": self.sha256,
            "submission": self.submission,
            "graded_at": self.graded_at,
            "name": self.name,
            "late": "true" if self.late else "",
        }

    @classmethod
    def from_csv(cls, record: dict[str, str | None], where: str = "gradebook.csv") -> GradeRow:
        """A row from its CSV record; a record no grader wrote raises GradeError naming ``where``."""
        text = {name: (record.get(name) or "") for name in COLUMNS}
        if text["status"] not in STATUSES:
            raise GradeError(
                f"{where}: learner {text['learner']!r} has status {text['status']!r}, not one of "
                f"{', '.join(STATUSES)}; grade that unit again."
            )
        try:
            value = float(text["value"]) if text["value"] else None
            seconds = float(text["seconds"]) if text["seconds"] else None
        except ValueError:
            raise GradeError(
                f"{where}: learner {text['learner']!r} has a value or seconds that is not a number."
            ) from None
        typed = {"value": value, "seconds": seconds, "passed": text["passed"] == "true", "late": text["late"] == "true"}
        return cls(**{**text, **typed})

    def with_details(self, details: dict) -> GradeRow:
        """This row with the columns that come from the submission itself (``name``, ``late``)."""
        return replace(self, **details)


COLUMNS = [item.name for item in fields(GradeRow)]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Gradebook:
    """Rows by learner, written atomically (``workshop.atomic``) after every change."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock = threading.Lock()
        self.rows: dict[str, GradeRow] = {row.learner: row for row in read_gradebook(self.path)}

    def put(self, row: GradeRow) -> None:
        with self.lock:
            self.rows[row.learner] = row
            write_gradebook(self.path, self.rows.values())

    def is_current(self, submission, unit: Unit) -> bool:
        """The gradebook already holds this learner's grade for this very file (``submission``: a
        ``workshop.grading.grade.Submission``)."""
        row = self.rows.get(submission.learner)
        return (
            row is not None and row.sha256 == submission.sha256 and row.unit == unit.name and row.status != GRADER_ERROR
        )


def read_gradebook(path: Path) -> list[GradeRow]:
    """The rows of ``path`` (none if it does not exist)."""
    try:
        with open(path, newline="", encoding="utf-8") as stream:
            return [GradeRow.from_csv(record, str(path)) for record in csv.DictReader(stream)]
    except FileNotFoundError:
        return []


def write_gradebook(path: Path, rows) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in sorted(rows, key=lambda r: r.learner):
        writer.writerow(row.to_csv())
    atomic.write_text(path, buffer.getvalue())


def merge(out_dirs: list[Path], target: Path) -> dict:
    """Merge shard outputs into ``target``: one row per learner (the latest grading wins)."""
    target = Path(target)
    (target / "feedback").mkdir(parents=True, exist_ok=True)
    rows: dict[str, GradeRow] = {row.learner: row for row in read_gradebook(target / "gradebook.csv")}
    origin: dict[str, Path] = {}
    sandboxes = []
    for out_dir in out_dirs:
        out_dir = Path(out_dir)
        if not (out_dir / "gradebook.csv").exists():
            raise GradeError(f"{out_dir} has no gradebook.csv.")
        for row in read_gradebook(out_dir / "gradebook.csv"):
            current = rows.get(row.learner)
            if current is None or row.graded_at >= current.graded_at:
                rows[row.learner] = row
                origin[row.learner] = out_dir
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
