"""The course a command works on: one checkout's folders, found once and passed explicitly.

Every part that reads or writes the course's files takes a ``Course`` (tests build one in
``tmp_path``); nothing holds the repository's paths in a module global.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Course:
    """A course checkout: ``solutions/`` (the source of every unit), its lessons, data and caches."""

    root: Path

    @classmethod
    def find(cls) -> Course:
        """The course checkout the command works on (the folder holding ``solutions/``).

        ``WORKSHOP_ROOT`` if set; else the checkout this package lives in (an editable install, or
        ``python -m workshop`` from the checkout); else the current folder or the nearest parent with
        ``solutions/`` and ``mkdocs.yml`` (the package installed from a wheel, run inside a checkout).
        """
        configured = os.environ.get("WORKSHOP_ROOT")
        if configured:
            return cls(Path(configured).expanduser().resolve())
        package_parent = Path(__file__).resolve().parents[2]
        if (package_parent / "solutions").is_dir():
            return cls(package_parent)
        here = Path.cwd().resolve()
        for folder in (here, *here.parents):
            if (folder / "solutions").is_dir() and (folder / "mkdocs.yml").is_file():
                return cls(folder)
        return cls(here)

    @property
    def solutions_dir(self) -> Path:
        return self.root / "solutions"

    @property
    def exercises_dir(self) -> Path:
        return self.root / "exercises"

    @property
    def docs_dir(self) -> Path:
        return self.root / "docs"

    @property
    def lessons_dir(self) -> Path:
        return self.docs_dir / "lessons"

    @property
    def cache_dir(self) -> Path:
        """Executed solutions, lesson blocks, exported demos: everything rebuilt on demand."""
        return self.root / ".cache"

    @property
    def results_path(self) -> Path:
        return self.root / "results.json"

    @property
    def tracks_path(self) -> Path:
        return self.root / "course.yml"

    @property
    def site_dir(self) -> Path:
        return self.root / "site"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def tasks_dir(self) -> Path:
        """The scoring tasks' modules, one per data set (``workshop/tasks/`` of the checkout)."""
        return self.root / "workshop" / "tasks"
