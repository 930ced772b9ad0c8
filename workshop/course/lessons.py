"""Lessons: ``docs/lessons/NN_slug.md``, each naming its unit in its front matter (``unit: NN_slug``).

A lesson never types its unit's declared facts: it writes ``{{ unit.goal }}`` where the Exercise box
states the goal (and ``{{ unit.budget }}`` where it quotes the time budget), and the site build fills them from the declaration (``fill_unit_fields``, called by
``workshop.site.mkdocs_hooks.on_page_markdown``). ``workshop units --check`` reports a lesson that names no unit and
a lesson that types its unit's goal by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from workshop.course.course import Course
from workshop.course.units import Unit

# The placeholders a lesson may use, each filled from its unit's declaration.
GOAL_PLACEHOLDER = "{{ unit.goal }}"
BUDGET_PLACEHOLDER = "{{ unit.budget }}"
FRONT_MATTER = re.compile(r"\A---\n(?P<yaml>.*?)\n---\n", re.DOTALL)


def front_matter(path: Path) -> dict:
    """The YAML front matter of a Markdown page ({} when it has none or it does not parse)."""
    match = FRONT_MATTER.match(Path(path).read_text(encoding="utf-8"))
    if not match:
        return {}
    try:
        meta = yaml.safe_load(match["yaml"])
    except yaml.YAMLError:
        return {}
    return meta if isinstance(meta, dict) else {}


def lesson_paths(course: Course) -> list[Path]:
    """Every numbered lesson (``NN_*.md``), in order."""
    return sorted(course.lessons_dir.glob("[0-9][0-9]_*.md"))


def lesson_for(unit_name: str, course: Course) -> Path | None:
    """The unit's lesson: ``docs/lessons/NN_*.md`` (its number) whose front matter says
    ``unit: NN_slug`` (lesson 00 also names unit 01, for its practice time in the agenda)."""
    for path in sorted(course.lessons_dir.glob(f"{unit_name[:2]}_*.md")):
        if front_matter(path).get("unit") == unit_name:
            return path
    return None


def goal_markdown(unit: Unit) -> str:
    """What ``{{ unit.goal }}`` becomes: the goal as the declaration states it, in code style."""
    return f"`{unit.goal.metric} {unit.goal.op} {unit.goal.value!r}`"


def fill_unit_fields(markdown: str, unit: Unit) -> str:
    """The lesson's Markdown with its unit's placeholders filled from the declaration."""
    return markdown.replace(GOAL_PLACEHOLDER, goal_markdown(unit)).replace(
        BUDGET_PLACEHOLDER, f"{unit.budget_seconds} s"
    )
