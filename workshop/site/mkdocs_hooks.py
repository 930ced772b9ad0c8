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

One build's state (its ``Course``, track, units, demos and the pages' titles) is a ``SiteBuild``
made by ``on_config`` and kept on that build's MkDocs config, so a rebuild (``mkdocs serve``)
starts from nothing. Every change to a page's HTML goes through a parser
(``workshop.site.notebook_html``); a page without an element the build changes (Material's search
dialog, the ``<title>``, a notebook's ``<h1>``) stops the build with one line naming it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

from workshop import atomic
from workshop.course import tracks
from workshop.course.course import Course
from workshop.course.lessons import fill_unit_fields
from workshop.course.units import Unit, all_units
from workshop.running import cache
from workshop.site import demos, figure_themes
from workshop.site.notebook_html import MarkupError, clean_notebook_html, has_math, insert_after_title, parse, required
from workshop.site.onnx_export import ExportError
from workshop.site.pages import (
    AGENDA_MARKER,
    agenda_markdown,
    front_matter,
    github_repository,
    results_markdown,
    track_agenda,
    track_lessons,
    unit_card,
    unlink_outside_track,
    with_unit_sections,
)

log = logging.getLogger("mkdocs.plugins.workshop")
MATHJAX_URI = "javascripts/mathjax/"
# Material's search dialog: the build gives it the accessible name it lacks (axe: aria-dialog-name).
SEARCH_DIALOG = 'div.md-search[data-md-component="search"][role="dialog"]'


@dataclass
class SiteBuild:
    """One build of the site: the course it reads, the track it teaches, and what its pages share."""

    course: Course
    track: tracks.Track
    units: list[Unit]  # the track's
    lessons: set[str]  # the track's lesson files (00_machine_learning.md)
    demo_pages: dict[str, tuple[dict, int]] = field(default_factory=dict)  # unit -> (demo.json data, model bytes)
    nav_titles: dict[str, str] = field(default_factory=dict)  # unit page -> the nav's title ("Exercise")

    @classmethod
    def select(cls, course: Course) -> SiteBuild:
        """The build of the selected track (``WORKSHOP_TRACK``, else course.yml's), checked to fit its days."""
        try:
            plan = tracks.load_course(checkout=course)
            track = tracks.selected_track(course=plan, checkout=course)
            units = track.units(all_units(course), checkout=course)
        except tracks.TrackError as error:
            raise PluginError(str(error)) from None
        lessons = {path.name for path in track_lessons(course, units)}
        overrun = track_agenda(track, plan, course, units).overrun
        if overrun:
            raise PluginError(
                f"Track {track.name!r} does not fit its days: {overrun}. Take units out of it in "
                f"{course.tracks_path.name}, or give it more days or longer ones."
            )
        return cls(course, track, units, lessons)

    @property
    def staging_dir(self) -> Path:
        """Executed solutions are copied here so that their pages get stable paths (solutions/NN_slug.ipynb)."""
        return self.course.build_dir / "site-notebooks"

    @property
    def mathjax_dir(self) -> Path:
        """MathJax 3 (pinned in package.json, installed by `make setup`), served from the site itself."""
        return self.course.root / "node_modules" / "mathjax" / "es5"

    def mathjax_files(self) -> list[str]:
        fonts = self.mathjax_dir / "output/chtml/fonts/woff-v2"
        return [
            "tex-mml-chtml.js",
            *(f"output/chtml/fonts/woff-v2/{path.name}" for path in sorted(fonts.glob("*.woff"))),
        ]

    def unit(self, name: str) -> Unit | None:
        return next((unit for unit in all_units(self.course) if unit.name == name), None)


def build_of(config) -> SiteBuild:
    """This build's state, made by ``on_config``."""
    return config.workshop_build


def origin_url(course: Course) -> str | None:
    try:
        completed = subprocess.run(
            ["git", "remote", "get-url", "origin"],
            cwd=course.root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


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


def check_site_dir(config, course: Course) -> None:
    """The instructor build never goes where the learner build (the one `make serve` serves) goes:
    the Makefile's ``site/learner`` (the instructor's is ``site/instructor``)."""
    learner = course.site_dir / "learner"
    site_dir = Path(config["site_dir"]).resolve()
    if publishing_solutions() and site_dir == learner.resolve():
        raise PluginError(
            f"The instructor build (WORKSHOP_SOLUTIONS=1) would write solutions into {site_dir}, the learner "
            f"build's folder: build it with `make site` (into site/instructor/) or pass --site-dir."
        )


def cached_only() -> bool:
    """WORKSHOP_SOLUTIONS_CACHED_ONLY=1, for work on the site: publish cached solutions, train nothing."""
    return os.environ.get("WORKSHOP_SOLUTIONS_CACHED_ONLY") == "1"


def on_config(config):
    # Lesson blocks run through the figure cache (a rebuild with nothing changed runs none).
    import markdown_exec

    from workshop.site import figures

    course = Course.find()  # the entry point: everything below is handed this course
    markdown_exec.formatters["python"] = figures.lesson_block_formatter(course)
    settings = config["extra"].setdefault("workshop", {})
    settings["repository"] = github_repository(settings.get("repository"), origin_url(course))
    config["extra"]["workshop_solutions"] = publishing_solutions()
    check_site_dir(config, course)
    build = config.workshop_build = SiteBuild.select(course)
    settings["track"] = build.track.name
    log.info("Track %r: %s", build.track.name, ", ".join(unit.name for unit in build.units))
    config["nav"] = drop_other_lessons(with_unit_sections(config["nav"], build.units, course), build.lessons)
    if not publishing_solutions():
        config["nav"] = drop_solution_entries(config["nav"])
    elif cached_only():
        cached = {f"solutions/{unit.name}.ipynb" for unit in build.units if cache.executed_path(unit, course).exists()}
        config["nav"] = drop_solution_entries(config["nav"], keep=cached)
    if not (build.mathjax_dir / "tex-mml-chtml.js").is_file():
        raise PluginError(f"MathJax is missing ({build.mathjax_dir}): run `make setup` (it runs `npm ci`).")
    return config


def executed_solution(unit: Unit, course: Course | None = None):
    """The executed solution notebook (in ``course``'s cache), running the unit now if the cache has none."""
    path = cache.executed_path(unit, course)
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
    build = build_of(config)
    course = build.course
    # Lessons of units outside the track are not built (nor their figures run).
    for file in list(files):
        lesson = file.src_uri.removeprefix("lessons/")
        if lesson != file.src_uri and lesson.endswith(".md") and lesson not in build.lessons:
            files.remove(file)
    units = []
    for unit in build.units:
        exercise = course.exercises_dir / f"{unit.name}.py"
        if not exercise.is_file():  # a unit being written; `mkdocs build --strict` fails on this
            log.warning("%s is missing: run `make exercises`.", exercise.relative_to(course.root))
            continue
        units.append(unit)
        # Real files (not File.generated) because mkdocs-jupyter wraps them into pages.
        files.append(
            File(f"exercises/{exercise.name}", str(course.root), config["site_dir"], config["use_directory_urls"])
        )
        for suffix in (".ipynb", ".py"):
            files.append(
                File.generated(
                    config,
                    f"downloads/{unit.name}{suffix}",
                    content=(course.exercises_dir / f"{unit.name}{suffix}").read_bytes(),
                )
            )
        if publishing_solutions():
            if cached_only() and not cache.executed_path(unit, course).exists():
                log.warning("%s: no cached run, so no solution page (WORKSHOP_SOLUTIONS_CACHED_ONLY=1)", unit.name)
                continue
            executed = executed_solution(unit, course)
            staged = build.staging_dir / "solutions" / f"{unit.name}.ipynb"
            notebook = json.loads(executed.read_text(encoding="utf-8"))
            figure_themes.theme_notebook_figures(notebook)  # the page shows each figure in the reader's scheme
            atomic.write_text(staged, json.dumps(notebook))
            files.append(
                File(
                    f"solutions/{staged.name}", str(build.staging_dir), config["site_dir"], config["use_directory_urls"]
                )
            )
            download = json.loads(executed.read_text(encoding="utf-8"))
            figure_themes.strip_dark_twins(download)
            files.append(
                File.generated(config, f"downloads/{unit.name}_solution.ipynb", content=json.dumps(download, indent=1))
            )
            files.append(
                File.generated(config, f"downloads/{unit.name}_solution.py", content=unit.solution_path.read_bytes())
            )
    add_demos(build, units, files, config)
    files.append(File.generated(config, "results.md", content=results_markdown(units, course)))
    for relative in build.mathjax_files():
        files.append(File.generated(config, MATHJAX_URI + relative, abs_src_path=str(build.mathjax_dir / relative)))
    return files


def add_demos(build: SiteBuild, units: list[Unit], files: Files, config) -> None:
    """The in-page demos (``workshop.site.demos``) of the units that declare one, exported from the
    cached reference model (checked against Keras) or else taken from the committed artefact, and
    onnxruntime-web to run them; the build log says what each adds to its pages' downloads."""
    build.demo_pages.clear()
    runtime = demos.runtime_dir(build.course)
    try:
        with_demo = demos.demo_units(units)
    except demos.DemoError as error:
        raise PluginError(str(error)) from None
    missing = [name for name in demos.RUNTIME_FILES if not (runtime / name).is_file()]
    if with_demo and missing:
        raise PluginError(f"onnxruntime-web is missing ({', '.join(missing)}): run `make setup` (it runs `npm ci`).")
    for unit in with_demo:
        try:
            exported, source = demos.export_unit(unit, build.course), "trained here"
        except ExportError as error:
            raise PluginError(f"Demo {error}") from None
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
        build.demo_pages[unit.name] = (data, len(model))
        log.info(
            "Demo %s: %.1f MB model + %.0f kB data, and %.1f MB of onnxruntime-web, fetched on the first prediction"
            " (model %s)",
            unit.name,
            len(model) / 1e6,
            len(content) / 1e3,
            demos.runtime_bytes(build.course) / 1e6,
            source,
        )
    if build.demo_pages:
        for name in demos.RUNTIME_FILES:
            files.append(File.generated(config, demos.RUNTIME_URI + name, abs_src_path=str(runtime / name)))


# --- Generated content -------------------------------------------------------


def on_page_markdown(markdown: str, page, config, files: Files) -> str:
    """Fill in ``{{ workshop.repository }}``, ``{{ workshop.branch }}`` (from mkdocs.yml), a lesson's
    ``{{ unit.goal }}`` (from its unit's declaration) and the agenda table (in place of
    ``<!-- workshop:agenda -->``)."""
    build = build_of(config)
    settings = config["extra"].get("workshop", {})
    repository = settings.get("repository") or ""
    clone_url = f"https://github.com/{repository}.git" if repository else "<the course repository's URL>"
    markdown = markdown.replace("{{ workshop.clone_url }}", clone_url)
    for key in ("repository", "branch"):
        markdown = markdown.replace(f"{{{{ workshop.{key} }}}}", str(settings.get(key, "")))
    if page.file.src_uri.startswith("lessons/") and page.file.abs_src_path:
        unit = build.unit(str(front_matter(Path(page.file.abs_src_path)).get("unit") or ""))
        if unit is not None:
            markdown = fill_unit_fields(markdown, unit)
    if AGENDA_MARKER in markdown:
        base = "../" * page.file.src_uri.count("/")
        markdown = markdown.replace(AGENDA_MARKER, agenda_markdown(build.course, base, build.units, build.track))
    return unlink_outside_track(
        markdown, {name.removesuffix(".md") for name in build.lessons}, {unit.name for unit in build.units}
    )


# --- Unit pages ----------------------------------------------------------------


UNIT_PAGE = re.compile(r"^(exercises|solutions)/(\d\d_[a-z0-9_]+)\.(py|ipynb)$")


def on_pre_page(page, config, files: Files):
    # mkdocs-jupyter renames notebook pages after their H1; the nav's "Exercise" and "Solution"
    # tell the two pages of a unit apart, so they are put back after rendering.
    if UNIT_PAGE.match(page.file.src_uri) and page.title:
        build_of(config).nav_titles[page.file.src_uri] = page.title
    return page


def on_page_content(content: str, page, config, files: Files) -> str:
    match = UNIT_PAGE.match(page.file.src_uri)
    if not match:
        return content
    build = build_of(config)
    if page.file.src_uri in build.nav_titles:
        page.title = build.nav_titles[page.file.src_uri]
    kind, name = match.group(1), match.group(2)
    unit = build.unit(name)
    if unit is None:
        raise PluginError(f"{page.file.src_uri}: no unit {name} in {build.course.solutions_dir}")
    card = unit_card(unit, page, config, files, solution=kind == "solutions", course=build.course)
    if unit.name in build.demo_pages:
        data, model_bytes = build.demo_pages[unit.name]
        card += demos.section_html(unit, data, "../" * page.url.count("/"), model_bytes)
    try:
        # The card goes right after the notebook's title.
        return insert_after_title(clean_notebook_html(content), card, page.file.src_uri)
    except MarkupError as error:
        raise PluginError(str(error)) from None


def script(soup, src: str, where: str) -> None:
    """A deferred ``<script src>`` at the end of the page's ``<body>``."""
    required(soup, "body", "<body>", where).append(soup.new_tag("script", attrs={"defer": "", "src": src}))


def on_post_page(output: str, page, config) -> str:
    build = build_of(config)
    where = page.file.src_uri
    try:
        soup = parse(output)
        base = "../" * page.url.count("/") if page.url else ""
        if has_math(soup):
            # MathJax (about 1 MB of script) on this page only, deferred so nothing waits for it.
            script(soup, f"{base}javascripts/mathjax-config.js", where)
            script(soup, f"{base}{MATHJAX_URI}tex-mml-chtml.js", where)
        if soup.select_one("section.workshop-demo") is not None:
            script(soup, f"{base}{demos.SCRIPT_URI}", where)
        # Material's search dialog has no accessible name (axe: aria-dialog-name).
        required(soup, SEARCH_DIALOG, "Material search dialog", where)["aria-label"] = "Search"
        # The nav says "Exercise" and "Solution"; the browser tab also names the unit.
        match = UNIT_PAGE.match(where)
        unit = build.unit(match.group(2)) if match and page.title else None
        if unit:
            title = required(soup, "head > title", "<title>", where)
            prefix = f"{page.title} - "
            if not title.get_text().startswith(prefix):
                raise MarkupError(f"{where}: its <title> does not start with {prefix!r}: {title.get_text()!r}")
            title.string = f"{page.title}: {unit.title} - " + title.get_text()[len(prefix) :]
    except MarkupError as error:
        raise PluginError(str(error)) from None
    return str(soup)
