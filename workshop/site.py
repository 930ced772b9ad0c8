"""MkDocs hooks: unit pages, notebook downloads, generated pages and offline assets.

Loaded by ``hooks:`` in mkdocs.yml. For every unit the site gets

* an exercise page rendered (by mkdocs-jupyter) from ``exercises/NN_slug.py``, headed by
  a card with the goal, budget, data, the reference result and the download links;
* ``downloads/NN_slug.ipynb`` and ``.py`` for the exercise;
* in the instructor build only (``WORKSHOP_SOLUTIONS=1``): the solution page, rendered
  from the executed notebook in the cache (``workshop.cache``), and its downloads.

A solution missing from the cache is executed by the runner during the build; a
failing cell fails the build, so no traceback is ever published.

The hooks also generate the results page (``results.md``, from ``results.json``), serve
MathJax from ``node_modules`` (installed by ``make setup``; the site makes no request to
another host), remove the CDN scripts mkdocs-jupyter puts into notebook pages, and keep
notebook outputs out of the search index.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import subprocess
from pathlib import Path

import yaml
from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

from workshop import atomic, cache, figure_themes, results
from workshop.units import EXERCISES_DIR, REPO, Unit, all_units

log = logging.getLogger("mkdocs.plugins.workshop")
# Executed solutions are copied here so that their pages get stable paths (solutions/NN_slug.ipynb).
STAGING_DIR = REPO / "build" / "site-notebooks"
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

# Published results for a unit's model family, when its declaration has no `**Reference:**`
# field (adding the field changes the solution's source, and so its cache key).
# The published result each unit's model family is measured against (anchors: the course's
# REFERENCE_RESULTS), shown on the results page beside the goal and the measured value.
PUBLISHED = {
    "01_auto_mpg_regression": "test MAE about 1.6-1.8 mpg for a small network, about 2.5 for a linear model "
    '(TensorFlow "Basic regression" tutorial)',
    "02_fashion_mnist_logreg": "test accuracy 0.842: logistic regression in the Fashion-MNIST benchmark "
    "(Xiao, Rasul and Vollgraf, 2017)",
    "03_softmax_sgd_numpy": "test accuracy about 0.84: logistic regression (Xiao, Rasul and Vollgraf, 2017)",
    "04_model_selection": "test accuracy 0.870-0.883 for tuned MLPs (Fashion-MNIST benchmark and README)",
    "05_deep_mlp": "test accuracy 0.870 (scikit-learn MLP, Xiao et al. 2017) to 0.883 (MLP 256-128-100, "
    "Fashion-MNIST README)",
    "06_cnn_representations": "test accuracy 0.922-0.926 for small CNNs, 0.934 with batch normalisation "
    "(Fashion-MNIST README)",
    "07_self_driving": "no published error for a generated road; the course authors' car, steered by 3 classes of "
    "key presses, reached test accuracy 0.909 from scratch and 0.93 fine-tuned (MobileNet, GPU); DeepTesla "
    "regresses the wheel angle in the browser",
    "08_captcha": "about 0.90 whole-captcha accuracy after 5 large epochs on a GPU (ypwhs/captcha_break, "
    "4 of 36 characters); 0.67 for a small CNN after 3 CPU minutes",
    "09_text_generation": "validation loss 1.47 nats per character (nanoGPT, tiny Shakespeare, GPU); 1.88 on a "
    "laptop CPU in about 3 minutes",
    "10_sentiment_imdb": "test accuracy 0.887 (bag of unigrams) and 0.900 (bag of bigrams), Deep Learning with "
    "Python, 2nd edition",
    "11_multi_label_fashion": "no published result for these windows; small CNNs classify single Fashion-MNIST "
    "garments at 0.92-0.93, so a window of 2.2 garments is read entirely right at most about 0.83 of the time",
}


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


def cached_only() -> bool:
    """WORKSHOP_SOLUTIONS_CACHED_ONLY=1, for work on the site: publish cached solutions, train nothing."""
    return os.environ.get("WORKSHOP_SOLUTIONS_CACHED_ONLY") == "1"


def on_config(config):
    # Lesson blocks run through the figure cache (a rebuild with nothing changed runs none).
    import markdown_exec

    from workshop import figures

    markdown_exec.formatters["python"] = figures.format_lesson_block
    settings = config["extra"].setdefault("workshop", {})
    settings["repository"] = github_repository(settings.get("repository"), origin_url())
    config["extra"]["workshop_solutions"] = publishing_solutions()
    if not publishing_solutions():
        config["nav"] = drop_solution_entries(config["nav"])
    elif cached_only():
        cached = {f"solutions/{unit.name}.ipynb" for unit in all_units() if cache.executed_path(unit).exists()}
        config["nav"] = drop_solution_entries(config["nav"], keep=cached)
    if not (MATHJAX_DIR / "tex-mml-chtml.js").is_file():
        raise PluginError(f"MathJax is missing ({MATHJAX_DIR}): run `make setup` (it runs `npm ci`).")
    return config


def executed_solution(unit: Unit):
    """The executed solution notebook, running the unit now if the cache has none."""
    path = cache.executed_path(unit)
    if path.exists():
        return path
    from workshop.runner import run_unit

    log.info("Executing %s (no cached run for this source, data and package versions)", unit.name)
    result = run_unit(unit.solution_path, unit, executed_path=path)
    if result.status != "ok" or not path.exists():
        raise PluginError(f"Solution {unit.name} failed, so its page is not published:\n{result.message}")
    if not result.met:
        log.warning("%s: %s", unit.name, result.message)
    return path


@event_priority(50)  # before mkdocs-jupyter wraps notebook files into pages
def on_files(files: Files, config) -> Files:
    units = []
    for unit in all_units():
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
    files.append(File.generated(config, "results.md", content=results_markdown(units)))
    for relative in MATHJAX_FILES:
        files.append(File.generated(config, MATHJAX_URI + relative, abs_src_path=str(MATHJAX_DIR / relative)))
    return files


# --- Generated content -------------------------------------------------------


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    return yaml.safe_load(text.split("---", 2)[1]) or {}


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
    return PUBLISHED.get(unit.name, "")


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


AGENDA_MARKER = "<!-- workshop:agenda -->"


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
        markdown = markdown.replace(AGENDA_MARKER, agenda_markdown(base))
    return markdown


# --- Unit pages ----------------------------------------------------------------


def link(files: Files, page, src_uri: str) -> str:
    return files.get_file_from_path(src_uri).url_relative_to(page.file)


def unit_card(unit: Unit, page, config, files: Files, solution: bool) -> str:
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


UNIT_PAGE = re.compile(r"^(exercises|solutions)/(\d\d_[a-z0-9_]+)\.(py|ipynb)$")
# What nbconvert's templates put into every notebook page that would reach for a CDN:
# MathJax 2 and its configuration (the site loads its own MathJax 3), and require.js.
CDN_SCRIPTS = re.compile(
    r"<!-- Load mathjax -->\s*<script[^>]*>\s*</script>"
    r'|<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>'
    r'|<script type="module">(?:(?!</script>).)*?cdnjs\.cloudflare\.com.*?</script>'
    r'|<script type="text/x-mathjax-config">.*?</script>'
    r"|<!-- (?:Load mathjax|MathJax configuration|End of mathjax configuration) -->",
    re.DOTALL,
)
# Outputs (training logs, images) stay on the page but out of the search index.
OUTPUT_WRAPPER = '<div class="jp-Cell-outputWrapper">'
DIV_TAG = re.compile(r"<div\b|</div>")
INPUT_PROMPT = re.compile(r'<div class="(jp-InputPrompt|jp-OutputPrompt)')


def exclude_outputs_from_search(content: str) -> str:
    """Wrap each cell's outputs in ``<output data-search-exclude>``.

    Material's search parser matches closing tags by name only, so an excluded ``<div>`` stops
    being excluded at its first nested ``</div>``; an ``<output>`` holds no other ``<output>``.
    """
    pieces, position = [], 0
    while (start := content.find(OUTPUT_WRAPPER, position)) != -1:
        depth, end = 0, None
        for tag in DIV_TAG.finditer(content, start):
            depth += 1 if tag.group() == "<div" else -1
            if depth == 0:
                end = tag.end()
                break
        if end is None:
            break
        pieces += [
            content[position:start],
            '<output class="workshop-output" data-search-exclude>',
            content[start:end],
            "</output>",
        ]
        position = end
    return "".join(pieces) + content[position:]


NBCONVERT_ALT = 'alt="No description has been provided for this image"'
HEADING = re.compile(r"<h[1-3][^>]*>(.*?)</h[1-3]>", re.DOTALL)


def describe_output_images(content: str) -> str:
    """Give nbconvert's figures an alt text that says where they come from.

    nbconvert labels every output image "No description has been provided for this image";
    the nearest heading above a figure tells a screen-reader user what it shows.
    """
    pieces = content.split(NBCONVERT_ALT)
    described = [pieces[0]]
    for piece in pieces[1:]:
        headings = HEADING.findall("".join(described))
        section = re.sub(r"<[^>]+>|¶", "", headings[-1]).strip() if headings else "the notebook"
        described.append(f'alt="Figure drawn by the code cell above, in the section {html.escape(section)}"')
        described.append(piece)
    return "".join(described)


def clean_notebook_html(content: str) -> str:
    content = CDN_SCRIPTS.sub("", content)
    content = describe_output_images(content)
    # Code cells scroll sideways: make them reachable from the keyboard, as Material does.
    content = content.replace('<div class="highlight-ipynb', '<div tabindex="0" class="highlight-ipynb')
    content = exclude_outputs_from_search(content)
    content = INPUT_PROMPT.sub(r'<div aria-hidden="true" class="\1', content)
    return content


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
    # The card goes right after the notebook's title.
    heading_end = content.find("</h1>")
    if heading_end == -1:
        return card + content
    return content[: heading_end + 5] + card + content[heading_end + 5 :]


# Math on a page: what arithmatex marks in lessons, or $...$ / \\(...\\) in a notebook's Markdown cells.
NOTEBOOK_MARKDOWN = re.compile(r'<div class="[^"]*jp-RenderedMarkdown[^"]*"[^>]*>(.*?)</div>', re.DOTALL)
TEX_DELIMITERS = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\[")


def has_math(output: str) -> bool:
    if 'class="arithmatex"' in output:
        return True
    return any(TEX_DELIMITERS.search(cell) for cell in NOTEBOOK_MARKDOWN.findall(output))


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
