"""The course site in Chromium: every page loads cleanly and offline, search, downloads, dark mode,
solution outputs, and accessibility (axe-core, no serious or critical violation)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from site_builds import QUICK, build, html_pages, page_url, serve, site_units

from workshop.course.course import Course
from workshop.course.units import all_units

REPO = Course.find().root  # the checkout under test

pytestmark = [pytest.mark.browser, pytest.mark.trains]  # every test opens a site build, whose lesson blocks train

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def learner_url() -> str:
    return serve(build("learner"))


@pytest.fixture(scope="session")
def instructor_url(solution_runs) -> str:
    if not QUICK:
        for unit in all_units():
            solution_runs.get(unit.name)  # each solution trains once per test run; the build reuses it
    return serve(build("instructor"))


@pytest.fixture(scope="session")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser`")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """A browser page that records console errors, failed requests and requests to other hosts."""

    def __init__(self, browser, color_scheme="light"):
        self.context = browser.new_context(color_scheme=color_scheme, viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.context.route("**/*", self._only_localhost)
        self.page.on(
            "console", lambda message: message.type == "error" and self.problems.append(f"console: {message.text}")
        )
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", lambda request: self.problems.append(f"failed: {request.url} {request.failure}"))
        self.page.on(
            "response",
            lambda response: response.status >= 400 and self.problems.append(f"{response.status}: {response.url}"),
        )

    def _only_localhost(self, route):
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.hostname == "127.0.0.1":
            route.continue_()
        else:
            self.problems.append(f"blocked request to another host: {route.request.url}")
            route.abort()

    def open(self, url: str):
        self.page.goto(url, wait_until="load")
        self.page.wait_for_load_state("networkidle")
        return self.page

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser):
    visits = []

    def make(color_scheme="light"):
        visits.append(Visit(browser, color_scheme))
        return visits[-1]

    yield make
    for one in visits:
        one.close()


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    report = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in report["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def pages_to_check(kind: str, site: Path) -> list[Path]:
    """Every page of the learner build. Of the instructor build, the pages only it has (the
    solutions, its one addition: mkdocs_hooks) and its home page, which shows them in the
    navigation: its other pages are the learner's, from the same sources and template, checked
    there already."""
    pages = html_pages(site)
    if kind == "learner":
        return pages
    own = [path for path in pages if path.relative_to(site).parts[0] == "solutions" or path == site / "index.html"]
    assert len(own) > 1, f"the instructor build has no solution page: {pages}"
    return own


@pytest.mark.parametrize("kind", ["learner", "instructor"])
def test_every_page_loads_cleanly_and_is_accessible(kind, request, visit):
    base = request.getfixturevalue(f"{kind}_url")
    site = build(kind)
    assert AXE.is_file(), "axe-core is missing: run `make setup`"
    problems = []
    one = visit()
    for path in pages_to_check(kind, site):
        url = base + page_url(site, path)
        page = one.open(url)
        problems += [f"{url}: {problem}" for problem in one.problems]
        one.problems.clear()
        missing_alt = page.evaluate("() => [...document.images].filter(img => !img.hasAttribute('alt')).length")
        if missing_alt:
            problems.append(f"{url}: {missing_alt} image(s) without alt text")
        problems += [f"{url}: {violation}" for violation in axe_violations(page)]
    assert not problems, "\n".join(problems)


def test_dark_mode_is_accessible(learner_url, instructor_url, visit):
    """The slate scheme on one page of each kind: its own contrast problems (code colours, buttons)."""
    solutions = sorted(path.name for path in (build("instructor") / "solutions").iterdir())
    assert len(solutions) >= 2, "the instructor build has fewer than two solution pages to check"
    urls = [
        learner_url,
        f"{learner_url}lessons/02_classification/",
        f"{learner_url}exercises/02_fashion_mnist_logreg/",
        f"{learner_url}results/",
        *(f"{instructor_url}solutions/{name}/" for name in solutions[:2]),
    ]
    one = visit(color_scheme="dark")
    problems = []
    for url in urls:
        page = one.open(url)
        assert page.locator("body").get_attribute("data-md-color-scheme") == "slate"
        problems += [f"{url}: {violation}" for violation in axe_violations(page)]
    assert not problems, "\n".join(problems)


def test_search_finds_the_cross_entropy_lesson(learner_url, visit):
    page = visit().open(learner_url)
    search = page.locator("input.md-search__input")
    search.click()
    search.press_sequentially("cross entropy", delay=50)
    result = page.locator(".md-search-result__item a[href*='03_cross_entropy_and_sgd']").first
    result.wait_for(state="visible", timeout=15_000)
    # The hit is the lesson itself, titled as it is, and the query's words are marked in it.
    assert "cross entropy" in result.inner_text().lower(), result.inner_text()
    assert page.locator(".md-search-result__item mark").count() > 0, "the search marked no matching words"


def test_exercise_page_shows_goal_and_downloads_a_valid_notebook(learner_url, visit):
    unit = next(unit for unit in site_units() if unit.name == "02_fashion_mnist_logreg")
    page = visit().open(f"{learner_url}exercises/{unit.name}/")
    card = page.locator(f".workshop-card[data-unit='{unit.name}']")
    assert str(unit.goal) in card.inner_text()
    href = card.get_by_role("link", name="Download exercise notebook (.ipynb)").get_attribute("href")
    # Resolve the relative href the way the browser does.
    absolute = page.evaluate("href => new URL(href, location.href).href", href)
    response = page.request.get(absolute)
    assert response.ok
    nbformat.validate(nbformat.reads(response.text(), as_version=4))
    colab = card.get_by_role("link", name="Open in Colab").get_attribute("href")
    assert colab == (
        f"https://colab.research.google.com/github/octo-org/keras-course/blob/spring-2027/exercises/{unit.name}.ipynb"
    )


def test_solution_page_shows_an_output_image(instructor_url, visit):
    site = build("instructor")
    names = sorted(path.name for path in (site / "solutions").iterdir())
    assert names
    one = visit()
    for name in names:
        page = one.open(f"{instructor_url}solutions/{name}/")
        images = page.locator(".jp-OutputArea-output img")
        assert images.count() >= 1, f"{name}: no output image"
        assert page.evaluate(
            "() => [...document.querySelectorAll('.jp-OutputArea-output img')].every(i => i.naturalWidth > 0)"
        )
        href = page.get_by_role("link", name="Download solution notebook (.ipynb)").get_attribute("href")
        response = page.request.get(page.evaluate("href => new URL(href, location.href).href", href))
        nbformat.validate(nbformat.reads(response.text(), as_version=4))


def figure_backgrounds(page) -> list[tuple[str, tuple[int, int, int], tuple[int, int, int]]]:
    """For each figure shown on the page: its alt text, the colour of its top-left pixel as
    drawn on the screen, and the colour of the page right beside it (outside the image)."""
    from io import BytesIO

    from PIL import Image

    shot = Image.open(BytesIO(page.screenshot(full_page=True))).convert("RGB")
    found = []
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('img.workshop-figure--light, img.workshop-figure--dark')]
            .filter(img => img.offsetParent !== null && img.getBoundingClientRect().width > 40)
            .map(img => { const r = img.getBoundingClientRect();
                          return [img.alt, r.left + window.scrollX, r.top + window.scrollY]; })"""
    )
    for alt, left, top in boxes:
        x, y = int(left) + 2, int(top) + 2
        found.append((alt, shot.getpixel((x, y)), shot.getpixel((max(int(left) - 4, 0), y))))
    return found


@pytest.mark.parametrize("kind", ["learner", "instructor"])
def test_figures_follow_the_colour_scheme(kind, request, visit):
    """Every figure (lesson figures, and notebook outputs on solution pages) has the page's own
    background in the light and in the dark scheme, switching with the toggle; alt text unchanged."""
    base = request.getfixturevalue(f"{kind}_url")
    url = f"{base}lessons/02_classification/" if kind == "learner" else f"{base}solutions/02_fashion_mnist_logreg/"
    page = visit().open(url)
    assert page.locator("body").get_attribute("data-md-color-scheme") == "default"
    light = figure_backgrounds(page)
    assert len(light) >= 2, f"{url} shows {len(light)} figures; the check needs some"
    page.locator("form[data-md-component='palette'] label:visible").first.click()
    page.wait_for_function("() => document.body.getAttribute('data-md-color-scheme') === 'slate'")
    dark = figure_backgrounds(page)
    assert [alt for alt, *_ in dark] == [alt for alt, *_ in light]
    for scheme, figures in (("light", light), ("dark", dark)):
        for alt, figure, beside in figures:
            assert max(abs(a - b) for a, b in zip(figure, beside)) <= 3, (
                f"{scheme} scheme: the figure {alt!r} has background {figure}, the page {beside}"
            )
    assert dark[0][2] != light[0][2], "the page background did not change with the toggle"


def test_math_is_typeset_offline(learner_url, visit):
    one = visit()
    page = one.open(f"{learner_url}lessons/02_classification/")
    page.wait_for_selector("mjx-container", timeout=15_000)
    # Notebook pages: the $...$ math of Markdown cells, typeset by the same local MathJax.
    with_math = [
        unit
        for unit in site_units()
        if re.search(r"^# .*\$[^$\s][^$]*\$", unit.exercise_path.read_text(), re.MULTILINE)
    ]
    assert with_math, "no exercise has $...$ math in its Markdown cells to check"
    page = one.open(f"{learner_url}exercises/{with_math[0].name}/")
    page.wait_for_selector(".jp-RenderedMarkdown mjx-container", timeout=15_000)
    assert not one.problems, one.problems


def test_screenshots(learner_url, instructor_url, visit):
    """Screenshots for a person to look at (artifacts/screenshots/, gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shots = {
        "home": f"{learner_url}",
        "lesson": f"{learner_url}lessons/02_classification/",
        "exercise": f"{learner_url}exercises/02_fashion_mnist_logreg/",
        "results": f"{learner_url}results/",
        "solution": f"{instructor_url}solutions/02_fashion_mnist_logreg/",
    }
    for scheme in ("light", "dark"):
        one = visit(color_scheme=scheme)
        for name, url in shots.items():
            page = one.open(url)
            if scheme == "dark":
                page.evaluate("() => document.body.setAttribute('data-md-color-scheme', 'slate')")
            if name in ("lesson", "solution"):
                page.locator("img:visible").last.scroll_into_view_if_needed()  # not the other scheme's twin
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{scheme}.png"))
    summary = {path.name: path.stat().st_size for path in SCREENSHOTS.glob("*.png")}
    (SCREENSHOTS / "index.json").write_text(json.dumps(summary, indent=2))
    assert len(summary) >= 10


def make_own_input(page, section, kind):
    """What a reader does on each demo: an input of their own, not just a sample."""
    if kind == "garment":
        section.get_by_role("button", name="Sneaker").click()
        canvas = section.locator("canvas").bounding_box()
        page.mouse.move(canvas["x"] + 40, canvas["y"] + 60)
        page.mouse.down()
        for step in range(12):
            page.mouse.move(canvas["x"] + 40 + 12 * step, canvas["y"] + 60 + 4 * step)
        page.mouse.up()
    elif kind == "window":
        for place, garment in zip(
            ("Top left", "Top right", "Bottom left", "Bottom right"), ("Bag", "(empty)", "Trouser", "Sandal")
        ):
            section.get_by_label(place, exact=True).select_option(label=garment)
        section.get_by_role("button", name="Ask the network").click()
    elif kind == "road":
        section.get_by_label("Frame", exact=True).select_option(index=3)
        section.get_by_label("Mirror it").check()
        section.get_by_label("Mirror it").dispatch_event("change")
    else:
        section.get_by_label("Your review").fill("The plot was dull and predictable, but the music is wonderful!")
        section.get_by_role("button", name="Ask the network").click()


def keras_prediction(unit, last, kind, review_text=None):
    """The Keras model's answer on exactly what the page fed its ONNX copy."""
    import keras
    import numpy as np

    from workshop.running import cache

    model = keras.saving.load_model(cache.model_path(unit), safe_mode=True, compile=False)
    if kind == "review":
        import tensorflow as tf

        return np.asarray(model.predict(tf.constant([review_text]), verbose=0))[0]
    inputs = np.asarray(last["input"], np.float32).reshape(last["dims"])
    return np.asarray(model.predict(inputs, verbose=0))[0]


def test_the_reference_models_run_in_the_page_offline_as_in_keras(instructor_url, visit):
    """On each unit page with a demo: the reader's own input, run by onnxruntime-web (served by the
    site; requests to other hosts are blocked), gets the prediction Keras gives, to 1e-3."""
    import numpy as np

    from workshop.site import demos

    units = {unit.name: unit for unit in demos.demo_units(all_units())}
    assert len(units) >= len(demos.DEMOS) >= 4
    one = visit()
    for name, unit in units.items():
        demo = demos.demo_for(unit)
        page = one.open(f"{instructor_url}solutions/{name}/")
        section = page.locator(".workshop-demo")
        page.locator(".workshop-demo.is-interactive").wait_for(timeout=15_000)
        make_own_input(page, section, demo.kind)
        page.wait_for_function(
            "() => { const s = document.querySelector('.workshop-demo');"
            " return Number(s.dataset.predictions || 0) >= 1 && !s.dataset.busy; }",
            timeout=60_000,
        )
        last = page.evaluate("() => document.querySelector('.workshop-demo').workshopLast")
        review = section.get_by_label("Your review").input_value() if demo.kind == "review" else None
        expected = keras_prediction(unit, last, demo.kind, review)
        actual = np.asarray(last["output"], np.float32).reshape(expected.shape)
        if demo.kind == "garment":
            assert actual.argmax() == expected.argmax(), name
        elif demo.kind in ("window", "review"):
            assert ((actual > 0.5) == (expected > 0.5)).all(), name
        np.testing.assert_allclose(actual, expected, atol=1e-3, err_msg=name)
        assert section.locator(".workshop-demo__static").is_hidden(), f"{name}: the no-script samples still show"
        answer = section.locator(".workshop-demo__output").inner_text()
        assert answer.strip(), f"{name}: the page shows no answer"
    assert not one.problems, "\n".join(one.problems)


def test_demo_pages_are_usable_without_javascript(instructor_url, browser):
    """Without JavaScript the demo section still shows sample inputs and the model's answers."""
    from workshop.site import demos

    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        for name in (unit.name for unit in demos.demo_units(all_units())):
            page.goto(f"{instructor_url}solutions/{name}/")
            section = page.locator(".workshop-demo")
            assert section.locator(".workshop-demo__app").is_hidden()
            static = section.locator(".workshop-demo__static")
            assert static.is_visible(), name
            assert static.locator("img, td").count() >= 3, name  # sample inputs with the model's answers
    finally:
        context.close()
