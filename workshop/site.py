"""MkDocs hooks: unit pages, notebook downloads and the executed-solution cache.

Loaded by ``hooks:`` in mkdocs.yml. For every unit the site gets

* an exercise page rendered (by mkdocs-jupyter) from ``exercises/NN_slug.py``, headed by
  a card with the goal, budget, data, the reference result and the download links;
* ``downloads/NN_slug.ipynb`` and ``.py`` for the exercise;
* in the instructor build only (``WORKSHOP_SOLUTIONS=1``): the solution page, rendered
  from the executed notebook in the cache (``workshop.cache``), and its downloads.

A solution missing from the cache is executed by the runner during the build; a
failing cell fails the build, so no traceback is ever published.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

from workshop import cache, results
from workshop.units import EXERCISES_DIR, REPO, Unit, all_units

log = logging.getLogger("mkdocs.plugins.workshop")
# Executed solutions are copied here so that their pages get stable paths (solutions/NN_slug.ipynb).
STAGING_DIR = REPO / "build" / "site-notebooks"
COLAB = "https://colab.research.google.com/github/{repository}/blob/{branch}/exercises/{name}.ipynb"


def publishing_solutions() -> bool:
    return os.environ.get("WORKSHOP_SOLUTIONS", "0").lower() in {"1", "true", "yes"}


def drop_solution_entries(nav):
    """The nav without entries that point into solutions/ (the learner build)."""
    if isinstance(nav, list):
        kept = [drop_solution_entries(item) for item in nav]
        return [item for item in kept if item not in (None, [], {})]
    if isinstance(nav, dict):
        return {title: child for title, value in nav.items() if (child := drop_solution_entries(value)) not in (None, [])}
    if isinstance(nav, str) and nav.startswith("solutions/"):
        return None
    return nav


def on_config(config):
    config["extra"]["workshop_solutions"] = publishing_solutions()
    if not publishing_solutions():
        config["nav"] = drop_solution_entries(config["nav"])
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
    for unit in all_units():
        exercise = EXERCISES_DIR / f"{unit.name}.py"
        # Real files (not File.generated) because mkdocs-jupyter wraps them into pages.
        files.append(File(f"exercises/{exercise.name}", str(REPO), config["site_dir"], config["use_directory_urls"]))
        for suffix in (".ipynb", ".py"):
            files.append(
                File.generated(config, f"downloads/{unit.name}{suffix}", content=(EXERCISES_DIR / f"{unit.name}{suffix}").read_bytes())
            )
        if publishing_solutions():
            executed = executed_solution(unit)
            staged = STAGING_DIR / "solutions" / f"{unit.name}.ipynb"
            staged.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(executed, staged)
            files.append(File(f"solutions/{staged.name}", str(STAGING_DIR), config["site_dir"], config["use_directory_urls"]))
            files.append(File.generated(config, f"downloads/{unit.name}_solution.ipynb", content=executed.read_bytes()))
            files.append(
                File.generated(config, f"downloads/{unit.name}_solution.py", content=unit.solution_path.read_bytes())
            )
    return files


def link(files: Files, page, src_uri: str) -> str:
    return files.get_file_from_path(src_uri).url_relative_to(page.file)


def unit_card(unit: Unit, page, config, files: Files, solution: bool) -> str:
    measured = results.load().get("units", {}).get(unit.name)
    if measured and measured.get("value") is not None:
        reference = (
            f"{unit.goal.metric} = {measured['value']:.4f} in {measured['seconds']:.0f} s "
            f"(last test run, {measured.get('measured', '')})"
        )
    else:
        reference = "not measured yet (run <code>make test</code>)"
    repository = config["extra"].get("workshop", {}).get("repository", "")
    branch = config["extra"].get("workshop", {}).get("branch", "main")
    suffix = "_solution" if solution else ""
    buttons = [
        f'<a class="md-button md-button--primary" href="{link(files, page, f"downloads/{unit.name}{suffix}.ipynb")}" '
        f'download>Download notebook (.ipynb)</a>',
        f'<a class="md-button" href="{link(files, page, f"downloads/{unit.name}{suffix}.py")}" download>Source (.py)</a>',
    ]
    if repository and not solution:
        colab = COLAB.format(repository=repository, branch=branch, name=unit.name)
        buttons.append(f'<a class="md-button" href="{colab}" rel="noopener">Open in Colab</a>')
    rows = [
        ("Goal", f"<code>{html.escape(str(unit.goal))}</code> on held-out data, scored by the runner"),
        ("Budget", f"{unit.budget_seconds} s of training on a 2-core laptop CPU"),
        ("Data", ", ".join(f"<code>{name}</code>" for name in unit.datasets)),
        ("Reference solution", reference),
        ("Check your work", f"<code>workshop check exercises/{unit.name}.ipynb</code>"),
    ]
    table = "".join(f"<tr><th scope='row'>{name}</th><td>{value}</td></tr>" for name, value in rows)
    kind = "Reference solution" if solution else "Exercise"
    return (
        f'<div class="workshop-card" data-unit="{unit.name}"><p class="workshop-card__kind">{kind}</p>'
        f'<table class="workshop-card__facts">{table}</table>'
        f'<p class="workshop-card__buttons">{" ".join(buttons)}</p></div>'
    )


UNIT_PAGE = re.compile(r"^(exercises|solutions)/(\d\d_[a-z0-9_]+)\.(py|ipynb)$")


def on_page_content(content: str, page, config, files: Files) -> str:
    match = UNIT_PAGE.match(page.file.src_uri)
    if not match:
        return content
    kind, name = match.group(1), match.group(2)
    unit = next(unit for unit in all_units() if unit.name == name)
    card = unit_card(unit, page, config, files, solution=kind == "solutions")
    # The card goes right after the notebook's title.
    heading_end = content.find("</h1>")
    if heading_end == -1:
        return card + content
    return content[: heading_end + 5] + card + content[heading_end + 5 :]
