"""Tracks: which units one build of the course site teaches, from ``course.yml``.

A track names its units (or ``all``), how many days it lasts and how long a day is. The site's
hooks build the navigation, the agenda, the results page and the exercise pages for the selected
track only: ``WORKSHOP_TRACK`` when it is set (``TRACK=one-day make site-learner``), else the
``track:`` of ``course.yml``. ``Plan`` is that file read; the checkout it is read from is a
``workshop.course.course.Course`` passed as ``checkout`` (``None``: ``Course.find()``, at call time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from workshop.course.course import Course as Checkout
from workshop.course.units import Unit, all_units

# The plan's file name, relative to the course root (``Course.tracks_path`` is the file itself).
COURSE_FILE = Path("course.yml")
TRACK_ENV = "WORKSHOP_TRACK"


class TrackError(ValueError):
    """course.yml or the chosen track is wrong; the message says what to change."""


@dataclass(frozen=True)
class Breaks:
    every: int = 90  # minutes of lessons between two breaks
    minutes: int = 10


@dataclass(frozen=True)
class Track:
    name: str
    title: str
    description: str
    unit_names: tuple[str, ...] | None  # None: every unit
    days: int = 1
    hours_per_day: float | None = None

    def units(self, units: list[Unit] | None = None, checkout: Checkout | None = None) -> list[Unit]:
        """The track's units, in teaching order (of ``units``, else the checkout's); an unknown name
        is a TrackError."""
        units = all_units(checkout) if units is None else units
        if self.unit_names is None:
            return list(units)
        known = {unit.name: unit for unit in units}
        unknown = [name for name in self.unit_names if name not in known]
        if unknown:
            raise TrackError(
                f"{COURSE_FILE.name}: track {self.name!r} names unknown unit(s) {', '.join(unknown)}; "
                f"the units are {', '.join(known)}"
            )
        return sorted((known[name] for name in self.unit_names), key=lambda unit: unit.number)

    @property
    def day_minutes(self) -> int | None:
        return None if self.hours_per_day is None else round(self.hours_per_day * 60)


@dataclass(frozen=True)
class Plan:
    """course.yml: its tracks, the default one and the breaks of a day."""

    default: str
    breaks: Breaks
    tracks: dict[str, Track]


def _positive(value, what: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise TrackError(f"{path.name}: {what} must be a positive number, not {value!r}")
    return value


def load_course(path: Path | None = None, checkout: Checkout | None = None) -> Plan:
    """The plan in ``path``, else in the checkout's course.yml."""
    if path is None:
        path = (Checkout.find() if checkout is None else checkout).tracks_path
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        # A checkout without the file: one track, every unit.
        return Plan("full", Breaks(), {"full": Track("full", "The full course", "", None)})
    except yaml.YAMLError as error:
        raise TrackError(f"{path.name} is not valid YAML: {error}") from None
    tracks = {}
    for name, entry in (raw.get("tracks") or {}).items():
        if not isinstance(entry, dict):
            raise TrackError(f"{path.name}: track {name!r} must be a mapping (title, units, days, hours_per_day)")
        units = entry.get("units", "all")
        if units == "all":
            names = None
        elif isinstance(units, list) and units and all(isinstance(unit, str) for unit in units):
            names = tuple(units)
        else:
            raise TrackError(f"{path.name}: track {name!r}: `units` is `all` or a list of unit names (NN_slug)")
        hours = entry.get("hours_per_day")
        tracks[str(name)] = Track(
            name=str(name),
            title=str(entry.get("title") or name),
            description=" ".join(str(entry.get("description") or "").split()),
            unit_names=names,
            days=int(_positive(entry.get("days", 1), f"track {name!r}: days", path)),
            hours_per_day=None if hours is None else _positive(hours, f"track {name!r}: hours_per_day", path),
        )
    if not tracks:
        raise TrackError(f"{path.name} defines no track under `tracks:`")
    breaks = raw.get("breaks") or {}
    course = Plan(
        default=str(raw.get("track") or next(iter(tracks))),
        breaks=Breaks(
            every=int(_positive(breaks.get("every", 90), "breaks.every", path)),
            minutes=int(breaks.get("minutes", 10)),
        ),
        tracks=tracks,
    )
    if course.default not in tracks:
        raise TrackError(f"{path.name}: `track: {course.default}` is not one of its tracks ({', '.join(tracks)})")
    return course


def selected_track(name: str | None = None, course: Plan | None = None, checkout: Checkout | None = None) -> Track:
    """The named track, else $WORKSHOP_TRACK's, else course.yml's default; ``course``: the plan
    (else the checkout's course.yml)."""
    course = course or load_course(checkout=checkout)
    name = name or os.environ.get(TRACK_ENV) or course.default
    if name not in course.tracks:
        raise TrackError(
            f"No track {name!r} (from {TRACK_ENV} or {COURSE_FILE.name}); the tracks are: {', '.join(course.tracks)}"
        )
    return course.tracks[name]
