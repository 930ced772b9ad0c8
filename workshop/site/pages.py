"""The course site's generated content: the agenda, the results page and the unit card.

Pure functions of the units' declarations, the lessons' front matter and ``results.json``,
called by the site's hooks (``workshop.site.mkdocs_hooks``); each takes the ``Course`` it reads.

Times are shown on one basis each, and said: a unit's budget and its reference run "alone on 2
cores" (``scripts/benchmark.py``'s ``alone`` record, what a learner's laptop does), and the test
run's CPU-seconds "on one core" (what the course's training costs); never one beside the other.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from workshop.course.course import Course
from workshop.course.lessons import front_matter, lesson_for
from workshop.course.units import BUDGET_CORES, Unit
from workshop.running import results

__all__ = ["front_matter", "lesson_for"]  # read from the lessons module, used by the hooks and tests
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


def unit_sections(units: list[Unit], course: Course) -> list[dict]:
    """The navigation of the units: for each, its lesson, exercise and solution, under the number
    and the lesson's title (``nav_title`` in its front matter, if shorter)."""
    sections = []
    for unit in units:
        lesson = lesson_for(unit.name, course)
        meta = front_matter(lesson) if lesson else {}
        title = meta.get("nav_title") or meta.get("title") or unit.title
        entries = [{"Lesson": f"lessons/{lesson.name}"}] if lesson else []
        entries += [{"Exercise": f"exercises/{unit.name}.py"}, {"Solution": f"solutions/{unit.name}.ipynb"}]
        sections.append({f"{unit.number}. {title}": entries})
    return sections


def with_unit_sections(nav: list, units: list[Unit], course: Course) -> list:
    """mkdocs.yml's navigation with the units' sections put before the Results page."""
    at = next((i for i, item in enumerate(nav) if isinstance(item, dict) and "results.md" in item.values()), len(nav))
    return [*nav[:at], *unit_sections(units, course), *nav[at:]]


AGENDA_MARKER = "<!-- workshop:agenda -->"


def track_lessons(course: Course, units: list[Unit] | None = None) -> list[Path]:
    """The lessons of these units (all lessons when None), in teaching order: a lesson comes with
    the unit its front matter names (lesson 00 with unit 01)."""
    names = None if units is None else {unit.name for unit in units}
    return [
        path
        for path in sorted(course.lessons_dir.glob("[0-9][0-9]_*.md"))
        if names is None or front_matter(path).get("unit") in names
    ]


@dataclass
class AgendaRow:
    start: int  # minutes from the start of its day
    day: int
    kind: str  # "lesson" or "break"
    minutes: int
    title: str = ""
    lesson: str = ""  # the lesson's file name
    unit: str = ""
    teaching: int = 0
    exercises: int = 0
    declared_exercises: int = 0
    training_minutes: int = 0  # the unit's measured reference run (``reference_run_seconds``), rounded up


@dataclass
class Agenda:
    rows: list[AgendaRow]
    day_ends: list[int]  # minutes, breaks included, of each day
    teaching: int
    exercises: int
    breaks: int
    day_minutes: int | None
    days_planned: int

    @property
    def total(self) -> int:
        return self.teaching + self.exercises

    @property
    def overrun(self) -> str | None:
        """Why the agenda does not fit the track's days, or None when it does."""
        if self.day_minutes is None:
            return None
        if len(self.day_ends) > self.days_planned:
            return (
                f"it needs {len(self.day_ends)} days of {clock(self.day_minutes)}, the track plans {self.days_planned}"
            )
        long = [f"day {day} lasts {clock(end)}" for day, end in enumerate(self.day_ends, 1) if end > self.day_minutes]
        if long:
            return f"{', '.join(long)}, longer than its {clock(self.day_minutes)}"
        return None


def clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def alone_seconds(entry: dict | None) -> float | None:
    """The whole reference run alone on the machine's cores (``scripts/benchmark.py``), if measured."""
    alone = (entry or {}).get("alone") or {}
    return alone.get("seconds")


def reference_run_seconds(unit_name: str, measured: dict) -> float:
    """How long a learner waits for the reference run: alone on 2 cores when benchmarked, else the
    test run's (one core beside another unit: longer, so the agenda never plans too little)."""
    entry = measured.get("units", {}).get(unit_name) or {}
    seconds = alone_seconds(entry)
    return seconds if seconds is not None else entry.get("seconds") or 0


def measured_training_minutes(unit_name: str, measured: dict) -> int:
    """The unit's reference run (``reference_run_seconds``), in minutes, rounded up."""
    return -(-round(reference_run_seconds(unit_name, measured)) // 60)


def schedule(
    lessons: list[Path],
    *,
    measured: dict,
    every: int = 90,
    break_minutes: int = 10,
    day_minutes: int | None = None,
    days: int = 1,
) -> Agenda:
    """Lay the lessons out in days, with a break before any lesson that would make more than
    `every` minutes of lessons in a row.

    Each lesson keeps its declared `teaching` and `exercises` minutes, except that the exercise of
    a unit's own lesson never gets less than the unit's measured training time (``results.json``).
    A new day starts when the next lesson would end after ``day_minutes``. ``measured``: the
    course's ``results.json``, loaded.
    """
    rows: list[AgendaRow] = []
    day, clock_minutes, since_break, day_ends = 1, 0, 0, []
    teaching_total = exercises_total = breaks = 0
    for path in lessons:
        meta = front_matter(path)
        teaching, declared = int(meta.get("teaching", 0)), int(meta.get("exercises", 0))
        unit = meta.get("unit") or ""
        # Lesson 00 also names unit 01, for warm-up practice: only the unit's own lesson trains it.
        own = unit[:2] == path.name[:2]
        training = measured_training_minutes(unit, measured) if own and unit else 0
        practice = max(declared, training)
        length = teaching + practice
        needs_break = since_break and since_break + length > every
        break_length = break_minutes if needs_break else 0
        if day_minutes and clock_minutes and clock_minutes + break_length + length > day_minutes:
            # The lesson (after the break it needs) would end after the day: it starts the next day.
            day_ends.append(clock_minutes)
            day, clock_minutes, since_break = day + 1, 0, 0
        elif needs_break:
            rows.append(AgendaRow(clock_minutes, day, "break", break_minutes, "Break"))
            clock_minutes += break_minutes
            since_break = 0
            breaks += 1
        rows.append(
            AgendaRow(
                clock_minutes,
                day,
                "lesson",
                length,
                str(meta.get("title") or path.stem),
                path.name,
                unit,
                teaching,
                practice,
                declared,
                training,
            )
        )
        clock_minutes += length
        since_break += length
        teaching_total += teaching
        exercises_total += practice
    day_ends.append(clock_minutes)
    return Agenda(rows, day_ends, teaching_total, exercises_total, breaks, day_minutes, days)


def track_agenda(track, plan, course: Course, units: list[Unit] | None = None) -> Agenda:
    """The agenda of a track (``workshop.course.tracks``): its units' lessons, with the breaks of
    ``plan`` (course.yml, ``tracks.load_course``) and the course's measured runs."""
    units = track.units(checkout=course) if units is None else units
    return schedule(
        track_lessons(course, units),
        measured=results.load(course.results_path),
        every=plan.breaks.every,
        break_minutes=plan.breaks.minutes,
        day_minutes=track.day_minutes,
        days=track.days,
    )


def agenda_markdown(course: Course, base: str = "", units: list[Unit] | None = None, track=None, plan=None) -> str:
    """The agenda table of a track (the selected one by default), from the `teaching` and
    `exercises` minutes in each lesson's front matter, with breaks and days.

    ``base`` is the path from the calling page to the docs root ("" for index.md).
    ``on_page_markdown`` puts it where a page says ``<!-- workshop:agenda -->``.
    """
    from workshop.course import tracks

    plan = plan or tracks.load_course(checkout=course)
    track = track or tracks.selected_track(course=plan, checkout=course)
    units = track.units(checkout=course) if units is None else units
    agenda = track_agenda(track, plan, course, units)
    exercises = {path.stem for path in course.exercises_dir.glob("*.py")} & {unit.name for unit in units}
    lines = ["| Starts at | Lesson | Teaching | Exercises | Practice |", "|---:|---|---:|---:|---|"]
    raised, day = False, 1
    for row in agenda.rows:
        if row.day != day and len(agenda.day_ends) > 1:
            day = row.day
            lines.append(f"| | **Day {day}** | | | |")
        elif row.day == 1 and row is agenda.rows[0] and len(agenda.day_ends) > 1:
            lines.append("| | **Day 1** | | | |")
        if row.kind == "break":
            lines.append(f"| {clock(row.start)} | *Break* | | {row.minutes} min | |")
            continue
        exercise = f"[exercise]({base}exercises/{row.unit}.py)" if row.unit in exercises else ""
        practice = f"{row.exercises} min"
        if row.exercises > row.declared_exercises:
            practice += " †"
            raised = True
        lines.append(
            f"| {clock(row.start)} | [{row.title}]({base}lessons/{row.lesson}) | {row.teaching} min "
            f"| {practice} | {exercise} |"
        )
    lines.append(
        f"| **{clock(agenda.total)}** | **Total** | **{agenda.teaching} min** | **{agenda.exercises} min** | |"
    )
    lines.append("")
    days = (
        "; ".join(f"day {day} ends at {clock(end)}" for day, end in enumerate(agenda.day_ends, 1))
        if len(agenda.day_ends) > 1
        else f"the day ends at {clock(agenda.day_ends[0])}"
    )
    fits = f" (days of {clock(agenda.day_minutes)} planned)" if agenda.day_minutes else ""
    lines.append(
        f"*{track.title}*: {clock(agenda.total)} of teaching and exercises, with {agenda.breaks} "
        f"break{'s' if agenda.breaks != 1 else ''} of {plan.breaks.minutes} min; {days}{fits}."
    )
    if raised:
        lines += [
            "",
            (
                "† More than the lesson declares: the reference solution takes this long (its run alone "
                f"on {BUDGET_CORES} cores, or where that is not measured yet the last test run's), and a "
                "learner's run takes at least as long."
            ),
        ]
    return "\n".join(lines) + "\n"


# A Markdown link to a lesson (`02_classification.md`, `lessons/...`) or an exercise
# (`../exercises/02_fashion_mnist_logreg.py`), with an optional anchor.
UNIT_LINK = re.compile(
    r"\[(?P<text>[^\]]+)\]\((?P<target>(?:\.\./)*(?:(?P<folder>lessons|exercises|solutions)/)?"
    r"(?P<stem>\d\d_[a-z0-9_]+)\.(?P<suffix>md|py|ipynb))(?:#[^)\s]*)?\)"
)


def unlink_outside_track(markdown: str, lessons: set[str], units: set[str]) -> str:
    """Links to lessons and exercises that the track leaves out become their plain text (the
    page is not built, and `mkdocs build --strict` fails on a broken link)."""

    def replace(match: re.Match) -> str:
        stem, suffix = match["stem"], match["suffix"]
        kept = stem in lessons if suffix == "md" else stem in units
        return match[0] if kept else match["text"]

    return UNIT_LINK.sub(replace, markdown)


def alone_text(entry: dict | None) -> str:
    """The reference run alone on 2 cores, in words (HTML), or that it is not measured yet."""
    seconds = alone_seconds(entry)
    if seconds is None:
        return "not measured yet (<code>scripts/benchmark.py</code> measures it)"
    alone = entry["alone"]
    cores = alone.get("cores", BUDGET_CORES)
    return (
        f"{seconds:.0f} s for the whole notebook alone on {cores} cores (start-up, data, training and "
        "figures; "
        f"benchmark of {html.escape(str(alone.get('measured', '?')))})"
    )


def results_markdown(units: list[Unit], course: Course) -> str:
    measured = results.load(course.results_path)
    environment = measured.get("environment", {})
    lines = [
        "---",
        "title: Results",
        "---",
        "# Results",
        "",
        (
            "Each reference solution, trained by the last `make test` run and scored by the runner on "
            "held-out data it controls (never read from what the notebook printed). Two times, on two "
            "bases, never compared with each other:"
        ),
        "",
        (
            f"- *Budget* and *Alone* are on {BUDGET_CORES} cores: the budget the unit declares for its whole "
            "notebook on a 2-core laptop, and the reference notebook (start-up, data, training, figures) timed by "
            f"`scripts/benchmark.py` alone on a machine with {BUDGET_CORES} cores, as a learner runs it."
        ),
        (
            "- *CPU-s (one core)* is what the reference run cost in the test suite, where two solutions "
            "train at a time, each pinned to one core with one thread (which makes every value repeatable)."
        ),
        "",
        "*Published* is what the same family of models is known to reach, for comparison.",
        "",
        '<div class="workshop-results" markdown>',
        "",
        (
            f"| Unit | Goal | Reference value | Budget ({BUDGET_CORES} cores) | Alone ({BUDGET_CORES} cores) "
            "| CPU-s (one core) | Published result |"
        ),
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for unit in units:
        entry = measured.get("units", {}).get(unit.name) or {}
        value = entry.get("value")
        if value is None:
            value_text = cpu = "—"
        else:
            mark = "met" if entry.get("met") else "**missed**"
            value_text = f"{value:.4f} ({mark})"
            cpu = f"{entry['cpu_seconds']:.0f}" if entry.get("cpu_seconds") is not None else "—"
        seconds = alone_seconds(entry)
        alone = f"{seconds:.0f} s" if seconds is not None else "not measured yet"
        exercise = f"[{unit.number:02d}. {unit.title}](exercises/{unit.name}.py)"
        published = html.escape(unit.published) or "—"
        lines.append(
            f"| {exercise} | `{unit.goal}` | {value_text} | {unit.budget_seconds} s | {alone} | {cpu} | {published} |"
        )
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


def unit_card(unit: Unit, page, config, files, solution: bool, course: Course) -> str:
    """The facts at the head of a unit's exercise and solution pages: the budget and the reference's
    time on the same basis (alone on 2 cores), its value, the data and the downloads."""
    measured = results.load(course.results_path).get("units", {}).get(unit.name)
    if measured and measured.get("value") is not None:
        reference = (
            f"<code>{unit.goal.metric} = {measured['value']:.4f}</code> "
            f"(last test run, {html.escape(measured.get('measured', ''))})"
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
        ("Budget", f"{unit.budget_seconds} s for the whole notebook on {BUDGET_CORES} cores (a 2-core laptop CPU)"),
        ("Reference run", alone_text(measured)),
        ("Data", ", ".join(f"<code>{name}</code>" for name in unit.datasets)),
        ("Reference value", reference),
        ("Check your work", f"<code>workshop check exercises/{unit.name}.ipynb</code>"),
    ]
    table = "".join(f'<tr><th scope="row">{name}</th><td>{value}</td></tr>' for name, value in rows)
    kind = "Reference solution" if solution else "Exercise"
    return (
        f'<div class="workshop-card" data-unit="{unit.name}"><p class="workshop-card__kind">{kind}</p>'
        f'<table class="workshop-card__facts">{table}</table>'
        f'<p class="workshop-card__buttons">{" ".join(buttons)}</p></div>'
    )
