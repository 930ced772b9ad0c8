"""MkDocs hooks: unit pages, notebook downloads, generated pages and offline assets.

Loaded by ``hooks:`` in mkdocs.yml. For every unit the site gets

* an exercise page rendered (by mkdocs-jupyter) from ``exercises/NN_slug.py``, headed by
  a card with the goal, budget, data, the reference result and the download links;
* ``downloads/NN_slug.ipynb`` and ``.py`` for the exercise;
* in the instructor build only (``WORKSHOP_SOLUTIONS=1``): the solution page, rendered
  from the executed notebook in the cache (``workshop.running.cache``), and its downloads.

A solution missing from the cache is executed by the runner during the build; a
failing cell fails the build, so no traceback is ever published.

The hooks also add the in-page demos (``workshop.site.demos``), serve MathJax and onnxruntime-web
from ``node_modules`` (installed by ``make setup``; the site makes no request to another host),
and put the generated content in place: the agenda and the results page and the unit card come
from ``workshop.site.pages``, the rewriting of nbconvert's HTML from ``workshop.site.notebook_html``, and
figures in both colour schemes from ``workshop.site.figure_themes``.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import subprocess
from typing import ClassVar

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

from workshop import atomic
from workshop.course import tracks
from workshop.running import cache
from workshop.site import demos, figure_themes
from workshop.site.notebook_html import clean_notebook_html, has_math
from workshop.site.pages import (
    AGENDA_MARKER,
    agenda_markdown,
    github_repository,
    results_markdown,
    track_agenda,
    track_lessons,
    unit_card,
    unlink_outside_track,
    with_unit_sections,
)
from workshop.course.units import EXERCISES_DIR, REPO, Unit, all_units

log = logging.getLogger("mkdocs.plugins.workshop")
# Executed solutions are copied here so that their pages get stable paths (solutions/NN_slug.ipynb).
STAGING_DIR = REPO / "build" / "site-notebooks"


def origin_url() -> str | None:
    try:
        completed = subprocess.run(
            ["git", "remote", "get-url", "origin"], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


# MathJax 3 (pinned in package.json, installed by `make setup`) is served from the site itself.
MATHJAX_DIR = REPO / "node_modules" / "mathjax" / "es5"
MATHJAX_FILES = [
    "tex-mml-chtml.js",
    *(
        f"output/chtml/fonts/woff-v2/{p.name}"
        for p in sorted((MATHJAX_DIR / "output/chtml/fonts/woff-v2").glob("*.woff"))
    ),
]
MATHJAX_URI = "javascripts/mathjax/"


def publishing_solutions() -> bool:
    return os.environ.get("WORKSHOP_SOLUTIONS", "0").lower() in {"1", "true", "yes"}


def drop_solution_entries(nav, keep=frozenset()):
    """The nav without entries that point into solutions/ (the learner build), except `keep`."""
    if isinstance(nav, list):
        kept = [drop_solution_entries(item, keep) for item in nav]
        return [item for item in kept if item not in (None, [], {})]
    if isinstance(nav, dict):
        return {
            title: child
            for title, value in nav.items()
            if (child := drop_solution_entries(value, keep)) not in (None, [])
        }
    if isinstance(nav, str) and nav.startswith("solutions/") and nav not in keep:
        return None
    return nav


# The two builds' folders (the Makefile's): the learner build never shares one with solutions.
LEARNER_SITE_DIR = REPO / "site" / "learner"
INSTRUCTOR_SITE_DIR = REPO / "site" / "instructor"


class Track:
    """The track this build is for (``workshop.course.tracks``): its units and their lessons."""

    track: ClassVar[tracks.Track | None] = None
    units: ClassVar[list[Unit]] = []
    lessons: ClassVar[set[str]] = set()  # lesson files (00_machine_learning.md)

    @classmethod
    def select(cls) -> None:
        try:
            cls.track = tracks.selected_track()
            cls.units = cls.track.units(all_units())
        except tracks.TrackError as error:
            raise PluginError(str(error)) from None
        cls.lessons = {path.name for path in track_lessons(cls.units)}
        overrun = track_agenda(cls.track, tracks.load_course(), cls.units).overrun
        if overrun:
            raise PluginError(
                f"Track {cls.track.name!r} does not fit its days: {overrun}. Take units out of it in "
                f"{tracks.COURSE_FILE.name}, or give it more days or longer ones."
            )


def drop_other_lessons(nav, lessons: set[str]):
    """The nav without lessons that the track leaves out (lesson 00 is in mkdocs.yml's nav)."""
    if isinstance(nav, list):
        kept = [drop_other_lessons(item, lessons) for item in nav]
        return [item for item in kept if item not in (None, [], {})]
    if isinstance(nav, dict):
        return {
            title: child
            for title, value in nav.items()
            if (child := drop_other_lessons(value, lessons)) not in (None, [])
        }
    if isinstance(nav, str) and nav.startswith("lessons/") and nav.removeprefix("lessons/") not in lessons:
        return None
    return nav


def check_site_dir(config) -> None:
    """The instructor build never goes where the learner build (the one `make serve` serves) goes."""
    from pathlib import Path

    site_dir = Path(config["site_dir"]).resolve()
    if publishing_solutions() and site_dir == LEARNER_SITE_DIR.resolve():
        raise PluginError(
            f"The instructor build (WORKSHOP_SOLUTIONS=1) would write solutions into {site_dir}, the learner "
            f"build's folder: build it with `make site` (into {INSTRUCTOR_SITE_DIR.relative_to(REPO)}/) or "
            "pass --site-dir."
        )


def cached_only() -> bool:
    """WORKSHOP_SOLUTIONS_CACHED_ONLY=1, for work on the site: publish cached solutions, train nothing."""
    return os.environ.get("WORKSHOP_SOLUTIONS_CACHED_ONLY") == "1"


def on_config(config):
    # Lesson blocks run through the figure cache (a rebuild with nothing changed runs none).
    import markdown_exec

    from workshop.site import figures

    markdown_exec.formatters["python"] = figures.format_lesson_block
    settings = config["extra"].setdefault("workshop", {})
    settings["repository"] = github_repository(settings.get("repository"), origin_url())
    config["extra"]["workshop_solutions"] = publishing_solutions()
    check_site_dir(config)
    Track.select()
    settings["track"] = Track.track.name
    log.info("Track %r: %s", Track.track.name, ", ".join(unit.name for unit in Track.units))
    config["nav"] = drop_other_lessons(with_unit_sections(config["nav"], Track.units), Track.lessons)
    if not publishing_solutions():
        config["nav"] = drop_solution_entries(config["nav"])
    elif cached_only():
        cached = {f"solutions/{unit.name}.ipynb" for unit in Track.units if cache.executed_path(unit).exists()}
        config["nav"] = drop_solution_entries(config["nav"], keep=cached)
    if not (MATHJAX_DIR / "tex-mml-chtml.js").is_file():
        raise PluginError(f"MathJax is missing ({MATHJAX_DIR}): run `make setup` (it runs `npm ci`).")
    return config


def executed_solution(unit: Unit):
    """The executed solution notebook, running the unit now if the cache has none."""
    path = cache.executed_path(unit)
    if path.exists():
        return path
    from workshop.running.runner import run_unit

    log.info("Executing %s (no cached run for this source, data and package versions)", unit.name)
    result = run_unit(unit.solution_path, unit, executed_path=path)
    if result.status != "ok" or not path.exists():
        raise PluginError(f"Solution {unit.name} failed, so its page is not published:\n{result.message}")
    if not result.met:
        log.warning("%s: %s", unit.name, result.message)
    return path


@event_priority(50)  # before mkdocs-jupyter wraps notebook files into pages
def on_files(files: Files, config) -> Files:
    # Lessons of units outside the track are not built (nor their figures run).
    for file in list(files):
        lesson = file.src_uri.removeprefix("lessons/")
        if lesson != file.src_uri and lesson.endswith(".md") and lesson not in Track.lessons:
            files.remove(file)
    units = []
    for unit in Track.units:
        exercise = EXERCISES_DIR / f"{unit.name}.py"
        if not exercise.is_file():  # a unit being written; `mkdocs build --strict` fails on this
            log.warning("%s is missing: run `make exercises`.", exercise.relative_to(REPO))
            continue
        units.append(unit)
        # Real files (not File.generated) because mkdocs-jupyter wraps them into pages.
        files.append(File(f"exercises/{exercise.name}", str(REPO), config["site_dir"], config["use_directory_urls"]))
        for suffix in (".ipynb", ".py"):
            files.append(
                File.generated(
                    config,
                    f"downloads/{unit.name}{suffix}",
                    content=(EXERCISES_DIR / f"{unit.name}{suffix}").read_bytes(),
                )
            )
        if publishing_solutions():
            if cached_only() and not cache.executed_path(unit).exists():
                log.warning("%s: no cached run, so no solution page (WORKSHOP_SOLUTIONS_CACHED_ONLY=1)", unit.name)
                continue
            executed = executed_solution(unit)
            staged = STAGING_DIR / "solutions" / f"{unit.name}.ipynb"
            notebook = json.loads(executed.read_text(encoding="utf-8"))
            figure_themes.theme_notebook_figures(notebook)  # the page shows each figure in the reader's scheme
            atomic.write_text(staged, json.dumps(notebook))
            files.append(
                File(f"solutions/{staged.name}", str(STAGING_DIR), config["site_dir"], config["use_directory_urls"])
            )
            download = json.loads(executed.read_text(encoding="utf-8"))
            figure_themes.strip_dark_twins(download)
            files.append(
                File.generated(config, f"downloads/{unit.name}_solution.ipynb", content=json.dumps(download, indent=1))
            )
            files.append(
                File.generated(config, f"downloads/{unit.name}_solution.py", content=unit.solution_path.read_bytes())
            )
    add_demos(units, files, config)
    files.append(File.generated(config, "results.md", content=results_markdown(units)))
    for relative in MATHJAX_FILES:
        files.append(File.generated(config, MATHJAX_URI + relative, abs_src_path=str(MATHJAX_DIR / relative)))
    return files


# Units whose page lets the reader try the reference model: name -> (demo.json data, model bytes).
DEMO_PAGES: dict[str, tuple[dict, int]] = {}


def add_demos(units: list[Unit], files: Files, config) -> None:
    """The in-page demos (``workshop.site.demos``) of the units whose reference model is cached, and
    onnxruntime-web to run them; the build log says what each adds to its pages' downloads."""
    DEMO_PAGES.clear()
    for unit in units:
        if unit.name not in demos.DEMOS:
            continue
        exported, source = demos.export_unit(unit), "trained here"
        if exported is None:
            # A build that does not train (a fresh clone, the publishing workflow): the committed models.
            exported, source = demos.committed_export(unit)
        if exported is None:
            log.info("%s: no demo: no trained reference model in the cache, and %s", unit.name, source)
            continue
        model, data = exported
        content = json.dumps(data).encode()
        files.append(File.generated(config, f"demos/{unit.name}/model.onnx", content=model))
        files.append(File.generated(config, f"demos/{unit.name}/demo.json", content=content))
        DEMO_PAGES[unit.name] = (data, len(model))
        log.info(
            "Demo %s: %.1f MB model + %.0f kB data, and %.1f MB of onnxruntime-web, fetched on the first prediction"
            " (model %s)",
            unit.name,
            len(model) / 1e6,
            len(content) / 1e3,
            demos.runtime_bytes() / 1e6,
            source,
        )
    if DEMO_PAGES:
        missing = [name for name in demos.RUNTIME_FILES if not (demos.RUNTIME_DIR / name).is_file()]
        if missing:
            raise PluginError(
                f"onnxruntime-web is missing ({', '.join(missing)}): run `make setup` (it runs `npm ci`)."
            )
        for name in demos.RUNTIME_FILES:
            files.append(File.generated(config, demos.RUNTIME_URI + name, abs_src_path=str(demos.RUNTIME_DIR / name)))


# --- Generated content -------------------------------------------------------


def on_page_markdown(markdown: str, page, config, files: Files) -> str:
    """Fill in ``{{ workshop.repository }}``, ``{{ workshop.branch }}`` (from mkdocs.yml) and the
    agenda table (in place of ``<!-- workshop:agenda -->``)."""
    settings = config["extra"].get("workshop", {})
    repository = settings.get("repository") or ""
    clone_url = f"https://github.com/{repository}.git" if repository else "<the course repository's URL>"
    markdown = markdown.replace("{{ workshop.clone_url }}", clone_url)
    for key in ("repository", "branch"):
        markdown = markdown.replace(f"{{{{ workshop.{key} }}}}", str(settings.get(key, "")))
    if AGENDA_MARKER in markdown:
        base = "../" * page.file.src_uri.count("/")
        markdown = markdown.replace(AGENDA_MARKER, agenda_markdown(base, Track.units, Track.track))
    return unlink_outside_track(
        markdown, {name.removesuffix(".md") for name in Track.lessons}, {unit.name for unit in Track.units}
    )


# --- Unit pages ----------------------------------------------------------------


UNIT_PAGE = re.compile(r"^(exercises|solutions)/(\d\d_[a-z0-9_]+)\.(py|ipynb)$")


NAV_TITLES: dict[str, str] = {}


def on_pre_page(page, config, files: Files):
    # mkdocs-jupyter renames notebook pages after their H1; the nav's "Exercise" and "Solution"
    # tell the two pages of a unit apart, so they are put back after rendering.
    if UNIT_PAGE.match(page.file.src_uri) and page.title:
        NAV_TITLES[page.file.src_uri] = page.title
    return page


def on_page_content(content: str, page, config, files: Files) -> str:
    match = UNIT_PAGE.match(page.file.src_uri)
    if not match:
        return content
    if page.file.src_uri in NAV_TITLES:
        page.title = NAV_TITLES[page.file.src_uri]
    content = clean_notebook_html(content)
    kind, name = match.group(1), match.group(2)
    unit = next(unit for unit in all_units() if unit.name == name)
    card = unit_card(unit, page, config, files, solution=kind == "solutions")
    if unit.name in DEMO_PAGES:
        data, model_bytes = DEMO_PAGES[unit.name]
        card += demos.section_html(unit, data, "../" * page.url.count("/"), model_bytes)
    # The card goes right after the notebook's title.
    heading_end = content.find("</h1>")
    if heading_end == -1:
        return card + content
    return content[: heading_end + 5] + card + content[heading_end + 5 :]


def with_mathjax(output: str, page) -> str:
    """Load MathJax (about 1 MB of script) on this page only, deferred so nothing waits for it."""
    base = "../" * page.url.count("/") if page.url else ""
    scripts = (
        f'<script defer src="{base}javascripts/mathjax-config.js"></script>'
        f'<script defer src="{base}{MATHJAX_URI}tex-mml-chtml.js"></script>'
    )
    return output.replace("</body>", scripts + "</body>", 1)


def on_post_page(output: str, page, config) -> str:
    if has_math(output):
        output = with_mathjax(output, page)
    if 'class="workshop-demo"' in output:
        base = "../" * page.url.count("/") if page.url else ""
        output = output.replace("</body>", f'<script defer src="{base}{demos.SCRIPT_URI}"></script></body>', 1)
    # Material's search dialog has no accessible name (axe: aria-dialog-name).
    output = output.replace(
        '<div class="md-search" data-md-component="search" role="dialog">',
        '<div class="md-search" data-md-component="search" role="dialog" aria-label="Search">',
    )
    # The nav says "Exercise" and "Solution"; the browser tab also names the unit.
    match = UNIT_PAGE.match(page.file.src_uri)
    if match and page.title:
        unit = next((unit for unit in all_units() if unit.name == match.group(2)), None)
        if unit:
            old = f"<title>{html.escape(page.title)} - "
            output = output.replace(old, f"<title>{html.escape(page.title)}: {html.escape(unit.title)} - ", 1)
    return output
