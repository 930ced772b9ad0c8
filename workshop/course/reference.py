"""Figures of the reference runs, for lesson pages: read, never typed.

A lesson that quotes what the course's reference solution reached (``the reference run read
0.957 of the captchas``) computes the sentence in a build-time block from ``results.json``, the
record of the last full test run, which every clone has. So the page follows the runs and cannot
drift from them. The lesson-block cache keys any block that imports this module on the content
of ``results.json`` (``workshop.site.figures.lesson_block_key``).
"""

from __future__ import annotations

from workshop.course.course import Course
from workshop.running import results


class MissingResult(LookupError):
    """results.json has no such figure: the build says which and how to record it."""


def reference(unit: str, metric: str | None = None, course: Course | None = None) -> float:
    """The value of `metric` (the unit's goal metric when None) in the unit's reference run, as
    ``results.json`` of ``course`` (None: ``Course.find()``, when called) records it."""
    course = Course.find() if course is None else course
    entry = results.load(course.results_path)["units"].get(unit)
    if entry is None:
        raise MissingResult(
            f"results.json has no entry for {unit}: run `make test` (or `workshop check solutions/{unit}.py`) to record it."
        )
    metric = metric or entry["metric"]
    try:
        return float(entry["metrics"][metric])
    except KeyError:
        raise MissingResult(
            f"results.json records no `{metric}` for {unit} (it has {', '.join(sorted(entry['metrics']))})."
        ) from None
