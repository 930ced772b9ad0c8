"""The course site's generated content: the agenda, the results page and the unit card.

Pure functions of the units' declarations, the lessons' front matter and ``results.json``,
called by the site's hooks (``workshop.mkdocs_hooks``).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import yaml

from workshop import results
from workshop.units import EXERCISES_DIR, REPO, Unit

LESSONS_DIR = REPO / "docs" / "lessons"
COLAB = "https://colab.research.google.com/github/{repository}/blob/{branch}/exercises/{name}.ipynb"
KAGGLE = "https://kaggle.com/kernels/welcome?src=https://github.com/{repository}/blob/{branch}/exercises/{name}.ipynb"
GITHUB_REMOTE = re.compile(
    r"^(?:https://github\.com/|git@github\.com:|ssh://git@github\.com/)(?P<repository>[\w.-]+/[\w.-]+?)(?:\.git)?/?$"
)


def github_repository(configured: str | None, remote_url: str | None) -> str:
    """owner/name for the launch buttons: the configured one ("none" for no buttons), else the one
    the checkout's `origin` remote points at on GitHub, else "" (no buttons)."""
    configured = (configured or "").strip()
    if configured.lower() == "none":
        return ""
    if configured:
        return configured
    match = GITHUB_REMOTE.match((remote_url or "").strip())
    return match["repository"] if match else ""


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    return yaml.safe_load(text.split("---", 2)[1]) or {}


def lesson_for(unit_name: str) -> Path | None:
    """The unit's lesson: ``docs/lessons/NN_*.md`` (its number) whose front matter says
    ``unit: NN_slug`` (lesson 00 also names unit 01, for its practice time in the agenda)."""
    for path in sorted(LESSONS_DIR.glob(f"{unit_name[:2]}_*.md")):
        if front_matter(path).get("unit") == unit_name:
            return path
    return None


def unit_sections(units: list[Unit]) -> list[dict]:
    """The navigation of the units: for each, its lesson, exercise and solution, under the number
    and the lesson's title (``nav_title`` in its front matter, if shorter)."""
    sections = []
    for unit in units:
        lesson = lesson_for(unit.name)
        meta = front_matter(lesson) if lesson else {}
        title = meta.get("nav_title") or meta.get("title") or unit.title
        entries = [{"Lesson": f"lessons/{lesson.name}"}] if lesson else []
        entries += [{"Exercise": f"exercises/{unit.name}.py"}, {"Solution": f"solutions/{unit.name}.ipynb"}]
        sections.append({f"{unit.number}. {title}": entries})
    return sections


def with_unit_sections(nav: list, units: list[Unit]) -> list:
    """mkdocs.yml's navigation with the units' sections put before the Results page."""
    at = next((i for i, item in enumerate(nav) if isinstance(item, dict) and "results.md" in item.values()), len(nav))
    return [*nav[:at], *unit_sections(units), *nav[at:]]


AGENDA_MARKER = "<!-- workshop:agenda -->"


def agenda_markdown(base: str = "") -> str:
    """The agenda table, from the `teaching` and `exercises` minutes in each lesson's front matter.

    ``base`` is the path from the calling page to the docs root ("" for index.md).
    ``on_page_markdown`` puts it where a page says ``<!-- workshop:agenda -->``.
    """
    exercises = {path.stem for path in EXERCISES_DIR.glob("*.py")}
    rows, start, total_teaching, total_exercises = [], 0, 0, 0
    for path in sorted(LESSONS_DIR.glob("[0-9][0-9]_*.md")):
        meta = front_matter(path)
        teaching, practice = int(meta.get("teaching", 0)), int(meta.get("exercises", 0))
        title = meta.get("title") or path.stem
        unit = meta.get("unit")
        exercise = f"[exercise]({base}exercises/{unit}.py)" if unit in exercises else ""
        rows.append(
            f"| {start // 60}:{start % 60:02d} | [{title}]({base}lessons/{path.name}) | {teaching} min "
            f"| {practice} min | {exercise} |"
        )
        start += teaching + practice
        total_teaching += teaching
        total_exercises += practice
    lines = [
        "| Starts at | Lesson | Teaching | Exercises | Practice |",
        "|---:|---|---:|---:|---|",
        *rows,
        f"| **{start // 60}:{start % 60:02d}** | **Total** | **{total_teaching} min** | **{total_exercises} min** | |",
    ]
    return "\n".join(lines) + "\n"


def published_reference(unit: Unit) -> str:
    return unit.published


def cores_phrase(entry: dict) -> str:
    """How the seconds were measured, when the run was pinned to fewer cores than the machine has."""
    cores = entry.get("cores")
    if cores == 1:
        return "on one core, alongside another unit "
    return f"on {cores} cores " if cores else ""


def results_markdown(units: list[Unit]) -> str:
    measured = results.load()
    environment = measured.get("environment", {})
    lines = [
        "---",
        "title: Results",
        "---",
        "# Results",
        "",
        (
            "Each reference solution, trained by the last `make test` run and scored by the runner on "
            "held-out data it controls (never read from what the notebook printed). *Seconds* is the "
            "whole run: start-up, training and scoring. The test suite trains two solutions at a time, "
            "each pinned to one core with one thread, which makes every value repeatable; a laptop "
            "that gives one notebook all its cores is usually faster. *Published* is what the same "
            "family of models is known to reach, for comparison."
        ),
        "",
        '<div class="workshop-results" markdown>',
        "",
        "| Unit | Goal | Reference value | Seconds | Published result |",
        "|---|---|---:|---:|---|",
    ]
    for unit in units:
        entry = measured.get("units", {}).get(unit.name) or {}
        value = entry.get("value")
        if value is None:
            value_text, seconds = "—", "—"
        else:
            mark = "met" if entry.get("met") else "**missed**"
            value_text = f"{value:.4f} ({mark})"
            seconds = f"{entry.get('seconds', 0):.0f}"
        exercise = f"[{unit.number:02d}. {unit.title}](exercises/{unit.name}.py)"
        published = html.escape(published_reference(unit)) or "—"
        lines.append(f"| {exercise} | `{unit.goal}` | {value_text} | {seconds} | {published} |")
    lines += ["", "</div>", ""]
    if environment:
        lines.append(
            f"Measured on {environment.get('machine', '?')}, Python {environment.get('python', '?')}, "
            f"Keras {environment.get('keras', '?')} ({environment.get('backend', '?')} backend)."
        )
        run = measured.get("run")
        if run:
            lines += [
                "",
                (
                    f"The whole test run took {run['wall_seconds'] / 60:.1f} minutes and used "
                    f"{run['cpu_seconds'] / 60:.1f} CPU-minutes: {run['cores_busy']:.2f} of its "
                    f"{run['cores']} cores busy on average, with {run['solutions_at_once']} solutions "
                    "training at once."
                ),
            ]
    else:
        lines.append("No measurements yet (—): `make test` writes them to `results.json`.")
    return "\n".join(lines) + "\n"


def link(files, page, src_uri: str) -> str:
    return files.get_file_from_path(src_uri).url_relative_to(page.file)


def unit_card(unit: Unit, page, config, files, solution: bool) -> str:
    measured = results.load().get("units", {}).get(unit.name)
    if measured and measured.get("value") is not None:
        reference = (
            f"<code>{unit.goal.metric} = {measured['value']:.4f}</code> in {measured['seconds']:.0f} s "
            f"{cores_phrase(measured)}(last test run, {html.escape(measured.get('measured', ''))})"
        )
    else:
        reference = "not measured yet (run <code>make test</code>)"
    settings = config["extra"].get("workshop", {})
    repository, branch = settings.get("repository", ""), settings.get("branch", "main")
    suffix = "_solution" if solution else ""
    what = "solution" if solution else "exercise"
    notebook = link(files, page, f"downloads/{unit.name}{suffix}.ipynb")
    source = link(files, page, f"downloads/{unit.name}{suffix}.py")
    buttons = [
        f'<a class="md-button md-button--primary" href="{notebook}" download>Download {what} notebook (.ipynb)</a>',
        f'<a class="md-button" href="{source}" download>Download {what} source (.py)</a>',
    ]
    if repository and not solution:
        for label, template in (("Open in Colab", COLAB), ("Open in Kaggle", KAGGLE)):
            url = html.escape(template.format(repository=repository, branch=branch, name=unit.name))
            buttons.append(f'<a class="md-button" href="{url}" rel="noopener">{label}</a>')
    if not solution and files.get_file_from_path(f"solutions/{unit.name}.ipynb"):
        buttons.append(
            f'<a class="md-button" href="{link(files, page, f"solutions/{unit.name}.ipynb")}">Reference solution</a>'
        )
    rows = [
        ("Goal", f"<code>{html.escape(str(unit.goal))}</code> on held-out data, scored by the runner"),
        ("Budget", f"{unit.budget_seconds} s of training on a 2-core laptop CPU"),
        ("Data", ", ".join(f"<code>{name}</code>" for name in unit.datasets)),
        ("Reference solution", reference),
        ("Check your work", f"<code>workshop check exercises/{unit.name}.ipynb</code>"),
    ]
    table = "".join(f'<tr><th scope="row">{name}</th><td>{value}</td></tr>' for name, value in rows)
    kind = "Reference solution" if solution else "Exercise"
    return (
        f'<div class="workshop-card" data-unit="{unit.name}"><p class="workshop-card__kind">{kind}</p>'
        f'<table class="workshop-card__facts">{table}</table>'
        f'<p class="workshop-card__buttons">{" ".join(buttons)}</p></div>'
    )
