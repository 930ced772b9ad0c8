"""The built course site, without a browser: solutions kept out of the learner build, links,
offline assets, the search index, and the generated agenda and results pages."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import nbformat
import pytest
from site_builds import (
    BRANCH,
    QUICK,
    REPOSITORY,
    build,
    build_log,
    html_pages,
    search_text,
    site_units,
    solution_lines,
    visible_text,
)

from workshop.course.course import Course
from workshop.course.units import all_units
from workshop.running import cache
from workshop.site.pages import front_matter

REPO = Course.find().root  # the checkout under test


@pytest.fixture(scope="session")
def learner_site() -> Path:
    return build("learner")


@pytest.fixture(scope="session")
def instructor_site(solution_runs) -> Path:
    if not QUICK:
        for unit in all_units():
            solution_runs.get(unit.name)  # each solution trains once per test run; the build reuses it
    return build("instructor")


@pytest.fixture(params=["learner", "instructor"])
def any_site(request) -> Path:
    return request.getfixturevalue(f"{request.param}_site")


def published_units(site: Path) -> list[str]:
    return sorted(path.name for path in (site / "solutions").iterdir()) if (site / "solutions").is_dir() else []


# --- Solutions -------------------------------------------------------------------


@pytest.mark.trains
def test_learner_build_has_no_solution_code(learner_site):
    lines = solution_lines()
    assert not (learner_site / "solutions").exists()
    assert not list((learner_site / "downloads").glob("*_solution*"))
    for name, line in lines.items():
        for path in html_pages(learner_site):
            assert line not in visible_text(path.read_text(encoding="utf-8")), f"{name}'s solution in {path}"
        for path in (learner_site / "downloads").iterdir():
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".ipynb":
                text = "\n".join(
                    "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                    for cell in json.loads(text)["cells"]
                )
            assert line not in " ".join(text.split()), f"{name}'s solution in {path}"
        assert line not in search_text(learner_site), f"{name}'s solution in the search index"


@pytest.mark.trains
def test_instructor_build_has_the_solutions(instructor_site):
    lines = solution_lines()
    published = published_units(instructor_site)
    assert published, "the instructor build has no solution page"
    for name in published:
        line = lines[name]
        page = instructor_site / "solutions" / name / "index.html"
        assert line in visible_text(page.read_text(encoding="utf-8"))
        assert line in " ".join((instructor_site / "downloads" / f"{name}_solution.py").read_text().split())
        notebook = nbformat.reads((instructor_site / "downloads" / f"{name}_solution.ipynb").read_text(), as_version=4)
        nbformat.validate(notebook)
        assert any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    if not QUICK:
        assert published == sorted(unit.name for unit in all_units())


@pytest.mark.trains
def test_downloads_are_valid_notebooks(learner_site):
    for unit in site_units():
        notebook = nbformat.reads((learner_site / "downloads" / f"{unit.name}.ipynb").read_text(), as_version=4)
        nbformat.validate(notebook)
        assert (learner_site / "downloads" / f"{unit.name}.py").read_text() == unit.exercise_path.read_text()


# --- Links, anchors and offline assets --------------------------------------------


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.sources = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("script", "img", "iframe", "source") and attrs.get("src"):
            self.sources.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.sources.append(attrs["href"])


def parsed(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.trains
def test_no_broken_internal_link_or_anchor(any_site):
    pages = {path: parsed(path) for path in html_pages(any_site)}
    broken = []
    for path, links in pages.items():
        base = "file://" + path.as_posix()
        for href in links.links:
            target = urlsplit(urljoin(base, href))
            if target.scheme != "file":
                continue
            file = Path(unquote(target.path))
            if file.is_dir():
                file = file / "index.html"
            if not file.exists():
                broken.append(f"{path.relative_to(any_site)}: {href}")
            elif target.fragment and file.suffix == ".html":
                ids = pages[file].ids if file in pages else parsed(file).ids
                if unquote(target.fragment) not in ids:
                    broken.append(f"{path.relative_to(any_site)}: {href} (no such anchor)")
    assert not broken, "\n".join(broken)


@pytest.mark.trains
def test_every_asset_is_served_by_the_site(any_site):
    """No script, stylesheet, font or image from another host: the site works in an offline room."""
    remote = []
    for path in [*html_pages(any_site), any_site / "404.html"]:
        for source in parsed(path).sources:
            if urlsplit(source).scheme in ("http", "https") or source.startswith("//"):
                remote.append(f"{path.relative_to(any_site)}: {source}")
        text = path.read_text(encoding="utf-8")
        for host in ("fonts.googleapis", "cdnjs.cloudflare", "cdn.jsdelivr", "unpkg.com", "requirejs"):
            if host in text:
                remote.append(f"{path.relative_to(any_site)}: mentions {host}")
    assert not remote, "\n".join(remote)
    assert (any_site / "javascripts" / "mathjax" / "tex-mml-chtml.js").is_file()
    assert list((any_site / "javascripts" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))


@pytest.mark.trains
def test_search_index_has_no_notebook_outputs(instructor_site):
    index = (instructor_site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "data:image" not in index and "base64" not in index
    text = search_text(instructor_site)
    for name in published_units(instructor_site):
        notebook = nbformat.read(cache.executed_path(next(u for u in all_units() if u.name == name)), as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and len(output.get("text", "").strip()) > 30:
                    first = " ".join(output["text"].strip().splitlines()[0].split())
                    assert first not in text, f"{name}: output {first!r} is in the search index"
    assert "cross entropy" in text.lower()


# --- Generated pages ------------------------------------------------------------------


@pytest.mark.trains
def test_home_agenda_comes_from_the_lessons(learner_site):
    home = visible_text((learner_site / "index.html").read_text(encoding="utf-8"))
    total = 0
    for path in sorted((REPO / "docs" / "lessons").glob("[0-9][0-9]_*.md")):
        meta = front_matter(path)
        assert meta["title"] in home
        total += int(meta["teaching"]) + int(meta["exercises"])
    assert f"{total // 60}:{total % 60:02d} Total" in home


@pytest.mark.trains
def test_results_page_lists_every_unit(learner_site):
    page = visible_text((learner_site / "results" / "index.html").read_text(encoding="utf-8"))
    assert "Unit Goal Reference value Budget (2 cores) Alone (2 cores) CPU-s (one core) Published result" in page
    for unit in site_units():
        assert unit.title in page and str(unit.goal) in page
        assert " ".join(unit.published.split()) in page, f"{unit.name}: its declared published result"


@pytest.mark.trains
def test_the_navigation_has_a_section_per_unit_from_its_declaration(learner_site):
    """No unit is listed in mkdocs.yml: each gets its section (lesson, exercise) from its solution
    and its lesson's front matter."""
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    nav = re.search(r"^nav:\n((?:[ #].*\n|\n)*)", config, re.MULTILINE)[1]
    assert "exercises/" not in nav and "lessons/01" not in nav, nav
    home = (learner_site / "index.html").read_text(encoding="utf-8")
    for unit in site_units():
        lesson = next((REPO / "docs" / "lessons").glob(f"{unit.name[:2]}_*.md"))
        meta = front_matter(lesson)
        title = html.escape(f"{unit.number}. {meta.get('nav_title') or meta['title']}", quote=False)
        assert title in home, f"no navigation section {title!r}"
        assert f'href="exercises/{unit.name}/"' in home and f'href="lessons/{lesson.stem}/"' in home


@pytest.mark.trains
def test_exercise_pages_have_the_card(learner_site):
    for unit in site_units():
        page = (learner_site / "exercises" / unit.name / "index.html").read_text(encoding="utf-8")
        assert f'data-unit="{unit.name}"' in page
        text = visible_text(page)
        assert str(unit.goal) in text and f"{unit.budget_seconds} s for the whole notebook on 2 cores" in text
        assert "alone on 2 cores" in text or "not measured yet" in text, f"{unit.name}: the reference run's time"
        link = re.search(rf'<a [^>]*href="[./]*downloads/{unit.name}\.ipynb"[^>]*>', page)
        assert link and re.search(r"\bdownload\b", link[0]), f"{unit.name}: no download link to its notebook"


@pytest.mark.trains
def test_launch_buttons_open_the_configured_repository_and_are_absent_without_one(learner_site, instructor_site):
    notebook = f"{REPOSITORY['learner']}/blob/{BRANCH}/exercises/{{name}}.ipynb"
    for unit in site_units():
        page = (learner_site / "exercises" / unit.name / "index.html").read_text(encoding="utf-8")
        assert f'href="https://colab.research.google.com/github/{notebook.format(name=unit.name)}"' in page
        assert (
            f'href="https://kaggle.com/kernels/welcome?src=https://github.com/{notebook.format(name=unit.name)}"'
            in page
        )
    setup = (learner_site / "setup" / "index.html").read_text(encoding="utf-8")
    assert f"https://github.com/{REPOSITORY['learner']}.git" in setup
    for path in html_pages(instructor_site):
        page = path.read_text(encoding="utf-8")
        # (The instructor guide shows the links' form as text; no page links to them.)
        assert 'href="https://colab.research.google.com' not in page, path
        assert 'href="https://kaggle.com/kernels' not in page, path


@pytest.mark.parametrize(
    ("configured", "remote", "expected"),
    [
        ("", "https://github.com/octo/course.git", "octo/course"),
        ("", "git@github.com:octo/course.git", "octo/course"),
        ("", "ssh://git@github.com/octo/course", "octo/course"),
        ("", "https://gitlab.com/octo/course.git", ""),
        ("", "/srv/git/course", ""),
        ("", None, ""),
        ("me/fork", "https://github.com/octo/course.git", "me/fork"),
        ("none", "https://github.com/octo/course.git", ""),
    ],
)
def test_the_repository_comes_from_the_setting_else_the_origin_remote(configured, remote, expected):
    from workshop.site.pages import github_repository

    assert github_repository(configured, remote) == expected


@pytest.mark.trains
def test_lessons_typeset_math_locally(learner_site):
    page = (learner_site / "lessons" / "02_classification" / "index.html").read_text(encoding="utf-8")
    assert 'class="arithmatex"' in page
    # `defer` as written by hand or as the HTML parser serialises it (defer="").
    assert re.search(r'<script defer(="")? src="\.\./\.\./javascripts/mathjax/tex-mml-chtml\.js">', page)


@pytest.mark.trains
def test_mathjax_loads_only_on_pages_with_math(learner_site):
    """About 1 MB of script: the home page and other pages without math do without it."""
    for name in ("index.html", "setup/index.html", "results/index.html"):
        page = (learner_site / name).read_text(encoding="utf-8")
        assert "tex-mml-chtml.js" not in page and "mathjax-config.js" not in page, f"{name} loads MathJax"
    with_math = [path for path in html_pages(learner_site) if "tex-mml-chtml.js" in path.read_text(encoding="utf-8")]
    assert len(with_math) >= 5, with_math


@pytest.mark.trains
@pytest.mark.skipif(QUICK, reason="quick site builds publish only what is cached")
def test_a_rebuild_with_nothing_changed_does_not_train_again(instructor_site, tmp_path):
    from workshop.course.course import Course
    from workshop.site.figures import lesson_cache_dir

    lesson_blocks = lesson_cache_dir(Course(REPO))
    executed = {unit.name: cache.executed_path(unit) for unit in all_units()}
    assert all(path.exists() for path in executed.values())
    before = {name: path.stat().st_mtime_ns for name, path in executed.items()}
    # Lesson figures are cached the same way: a rebuild runs no lesson block.
    figures_before = {path.name: path.stat().st_mtime_ns for path in lesson_blocks.glob("*.html")}
    assert len(figures_before) >= 20
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        env={**os.environ, "WORKSHOP_SOLUTIONS": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Executing" not in completed.stderr, "a solution was executed again"
    assert {name: path.stat().st_mtime_ns for name, path in executed.items()} == before
    assert {path.name: path.stat().st_mtime_ns for path in lesson_blocks.glob("*.html")} == figures_before
    assert (tmp_path / "site" / "solutions" / "02_fashion_mnist_logreg" / "index.html").exists()


# --- In-page demos -------------------------------------------------------------------


@pytest.mark.trains
def test_demos_are_exported_served_locally_and_sized_in_the_build_log(instructor_site):
    """Each demo unit's pages carry the demo section; the model, its data and onnxruntime-web are
    files of the site; the build log states what each demo adds to its pages' downloads."""
    from workshop.site import demos

    log = build_log("instructor").read_text(encoding="utf-8")
    names = [unit.name for unit in demos.demo_units(all_units())]
    assert len(names) == len(demos.DEMOS)
    for name in names:
        folder = instructor_site / "demos" / name
        assert (folder / "model.onnx").stat().st_size > 1000, name
        data = json.loads((folder / "demo.json").read_text(encoding="utf-8"))
        assert data["unit"] == name and data["examples_predicted"], name
        for kind in ("exercises", "solutions"):
            page = (instructor_site / kind / name / "index.html").read_text(encoding="utf-8")
            assert 'class="workshop-demo"' in page and "workshop-demo.js" in page, f"{kind}/{name}"
        assert re.search(rf"Demo {name}: [0-9.]+ MB model \+ [0-9]+ kB data, and [0-9.]+ MB of onnxruntime-web", log), (
            name
        )
    for filename in demos.RUNTIME_FILES:
        assert (instructor_site / demos.RUNTIME_URI / filename).is_file(), filename
    other = next(unit.name for unit in all_units() if unit.demo is None)
    assert "workshop-demo" not in (instructor_site / "exercises" / other / "index.html").read_text(encoding="utf-8")


# --- Tracks ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def one_day_site() -> Path:
    return build("learner", "one-day")


@pytest.mark.trains
def test_a_track_builds_its_units_only_and_an_agenda_that_fits_its_day(one_day_site):
    from workshop.course import tracks
    from workshop.course.course import Course
    from workshop.site import pages

    course, checkout = tracks.load_course(), Course(REPO)
    track = course.tracks["one-day"]
    kept = {unit.name for unit in track.units()}
    left_out = [unit for unit in all_units() if unit.name not in kept]
    assert kept and left_out
    assert {path.name for path in (one_day_site / "exercises").iterdir()} == kept
    assert {path.name.split(".")[0] for path in (one_day_site / "downloads").iterdir()} == kept
    lessons = {path.stem for path in pages.track_lessons(checkout, track.units())}
    assert {path.name for path in (one_day_site / "lessons").iterdir()} == lessons
    home = (one_day_site / "index.html").read_text(encoding="utf-8")
    text = visible_text(home)
    for unit in left_out:
        assert f'exercises/{unit.name}/"' not in home and unit.title not in text, unit.name
        lesson = next((REPO / "docs" / "lessons").glob(f"{unit.name[:2]}_*.md"))
        assert f"lessons/{lesson.stem}/" not in home, f"the navigation links {lesson.stem}"
    agenda = pages.track_agenda(track, course, checkout)
    (day,) = agenda.day_ends
    assert day <= track.day_minutes
    assert f"{pages.clock(agenda.total)} Total" in text
    assert f"the day ends at {pages.clock(day)} (days of {pages.clock(track.day_minutes)} planned)" in text
    results_page = visible_text((one_day_site / "results" / "index.html").read_text(encoding="utf-8"))
    assert all(unit.title in results_page for unit in track.units())
    assert not any(unit.title in results_page for unit in left_out)
    for path in html_pages(one_day_site):
        page = path.read_text(encoding="utf-8")
        for unit in left_out:
            assert f"exercises/{unit.name}" not in page, f"{path.relative_to(one_day_site)} links {unit.name}"


@pytest.mark.trains
def test_the_room_gets_the_learner_build_on_its_address_and_no_solution(one_day_site):
    """`make serve HOST=0.0.0.0` serves the learner build with `workshop.room.serve`: it says which address
    participants open, and the site it serves has no solution page."""
    import urllib.error
    import urllib.request

    process = subprocess.Popen(
        [sys.executable, "-m", "workshop.room.serve", "--host", "0.0.0.0", "--port", "0", str(one_day_site)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        port = int(re.search(r":(\d+)/", line)[1])
        assert "Participants open: http://" in line or "no network address" in line, line
        base = f"http://127.0.0.1:{port}/"  # this machine's own view of what the room sees
        with urllib.request.urlopen(base, timeout=10) as response:
            assert b"Keras Workshop" in response.read()
        unit = next(iter(solution_lines()))
        for path in (f"solutions/{unit}/", f"downloads/{unit}_solution.py", f"downloads/{unit}_solution.ipynb"):
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(base + path, timeout=10)
            assert missing.value.code == 404, path
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- The pages' HTML, through a parser (no build) ------------------------------------------------

MATERIAL_PAGE = (
    "<!doctype html><html><head><title>Exercise - Keras Workshop</title></head><body>"
    '<div class="md-search" data-md-component="search" role="dialog"><input></div>'
    '<article><h1 id="t">A title</h1><p>$x^2$ math? no: {text}</p>{extra}</article></body></html>'
)


def hook_run(tmp_path, output: str, src_uri: str, title: str = "Exercise"):
    """``on_post_page`` of a real build object (the checkout's course, its full track) on ``output``,
    for a real MkDocs page at ``src_uri``."""
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import File
    from mkdocs.structure.pages import Page

    from workshop.course import tracks
    from workshop.course.course import Course
    from workshop.site import mkdocs_hooks

    course = Course(REPO)
    config = MkDocsConfig()
    docs, site = tmp_path / "docs", tmp_path / "site"
    docs.mkdir(exist_ok=True)
    config.load_dict({"site_name": "t", "docs_dir": str(docs), "site_dir": str(site)})
    assert not config.validate()[0]
    config.workshop_build = mkdocs_hooks.SiteBuild(
        course, tracks.load_course(checkout=course).tracks["full"], all_units(), set()
    )
    page = Page(title, File(src_uri, str(docs), str(site), use_directory_urls=True), config)
    return mkdocs_hooks.on_post_page(output, page, config)


def test_pages_get_the_search_dialogs_name_the_units_title_and_the_demo_script_through_the_parser(tmp_path):
    from bs4 import BeautifulSoup

    unit = all_units()[0]
    demo = '<section class="workshop-demo" data-kind="garment"></section>'
    page = MATERIAL_PAGE.format(text="a &lt; b", extra=demo)
    soup = BeautifulSoup(hook_run(tmp_path, page, f"exercises/{unit.name}.py"), "html.parser")
    assert soup.select_one("div.md-search")["aria-label"] == "Search"
    assert soup.title.get_text() == f"Exercise: {unit.title} - Keras Workshop"
    scripts = [tag["src"] for tag in soup.body.find_all("script", recursive=False)]
    assert scripts == ["../javascripts/workshop-demo.js"], "deferred, relative to the page (one folder deep)"
    assert "a &lt; b" in str(soup), "text is escaped as it was"


def test_a_page_without_the_markup_the_build_changes_fails_the_build_naming_it(tmp_path):
    """What a Material or nbconvert upgrade that renamed these would do: one clear error, not a silent skip."""
    from mkdocs.exceptions import PluginError

    from workshop.site.notebook_html import MarkupError, insert_after_title

    unit = all_units()[0]
    renamed = MATERIAL_PAGE.format(text="", extra="").replace('role="dialog"', 'role="search"')
    with pytest.raises(PluginError, match=r"index.md has no Material search dialog \(CSS selector 'div.md-search"):
        hook_run(tmp_path, renamed, "index.md")
    retitled = MATERIAL_PAGE.format(text="", extra="").replace("<title>Exercise - ", "<title>Exercise | ")
    with pytest.raises(PluginError, match="its <title> does not start with 'Exercise - '"):
        hook_run(tmp_path, retitled, f"exercises/{unit.name}.py")
    with pytest.raises(MarkupError, match=r"exercises/x.py has no title \(<h1>\)"):
        insert_after_title("<div><h2>no title</h2></div>", "<div>card</div>", "exercises/x.py")
    assert insert_after_title("<h1>T</h1><p>x</p>", "<div>card</div>", "p") == "<h1>T</h1><div>card</div><p>x</p>"


def test_notebook_html_is_cleaned_through_the_parser():
    from bs4 import BeautifulSoup

    from workshop.site.notebook_html import NBCONVERT_ALT, clean_notebook_html, has_math, parse

    page = (
        "<!-- Load mathjax -->"
        '<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js"> </script>'
        '<script type="text/x-mathjax-config">init()</script><script>local()</script>'
        '<h2>Curves ¶</h2><div class="jp-Cell"><div class="jp-InputPrompt jp-InputArea-prompt">In [1]:</div>'
        '<div class="highlight-ipynb hl-python"><pre>x = 1</pre></div>'
        '<div class="jp-Cell-outputWrapper"><div><div>loss</div></div><img '
        + NBCONVERT_ALT
        + "></div></div><p>after</p>"
    )
    soup = BeautifulSoup(clean_notebook_html(page), "html.parser")
    assert [script.string for script in soup.find_all("script")] == ["local()"]
    assert "Load mathjax" not in str(soup)
    output = soup.select_one("output.workshop-output[data-search-exclude]")
    assert output.select_one("div.jp-Cell-outputWrapper img")["alt"] == (
        "Figure drawn by the code cell above, in the section Curves"
    )
    assert output.select_one("p") is None and soup.select_one("p").get_text() == "after", "it ends with the outputs"
    assert soup.select_one("div.highlight-ipynb")["tabindex"] == "0"
    assert soup.select_one("div.jp-InputPrompt")["aria-hidden"] == "true"
    assert not has_math(soup)
    assert has_math(parse('<div class="jp-RenderedMarkdown"><p>with $x^2$</p><div>nested</div></div>'))
    assert has_math(parse('<span class="arithmatex">\\(x\\)</span>'))


def test_lesson_blocks_run_through_the_courses_own_cache(tmp_path):
    """markdown-exec's formatter for this course: the block's output, kept under the course's cache."""
    import markdown

    from workshop.course.course import Course
    from workshop.site import figures

    course = Course(tmp_path)
    formatter = figures.lesson_block_formatter(course)
    code = "print('<p>drawn</p>')"
    rendered = formatter(code=code, md=markdown.Markdown(), html=True)
    assert "<p>drawn</p>" in str(rendered)
    (kept,) = figures.lesson_cache_dir(course).glob("*.html")
    assert kept.name == f"{figures.lesson_block_key(code, course)}.html"
    kept.write_text("<p>from the cache</p>", encoding="utf-8")
    assert "from the cache" in str(formatter(code=code, md=markdown.Markdown(), html=True))
