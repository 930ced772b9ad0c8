"""Publishing the learner site: the GitHub Pages workflow runs the Makefile's build, and a build
that trains nothing (a fresh clone) has the in-page demos from the committed, verified models."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from workshop.course.course import Course
from workshop.course.units import all_units, load_unit
from workshop.site import demos

REPO = Course.find().root  # the checkout under test

WORKFLOW = REPO / ".github" / "workflows" / "pages.yml"
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV") or REPO / ".venv") / "bin"


def workflow_steps() -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["build"]["steps"]


def build_step() -> str:
    (run,) = [step["run"] for step in workflow_steps() if "make site-learner" in step.get("run", "")]
    return run


def test_the_workflow_publishes_the_makefiles_learner_build_and_nothing_else():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "LEARNER_SITE := site/learner" in makefile
    assert build_step().startswith("make site-learner ")
    (upload,) = [step for step in workflow_steps() if step.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload["with"]["path"] == "site/learner"
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "WORKSHOP_SOLUTIONS" not in text and "make site " not in text and "site/instructor" not in text
    deploy = yaml.safe_load(text)["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["steps"][0]["uses"].startswith("actions/deploy-pages")


def demo_names() -> list[str]:
    """The units whose declaration names a demo (``- **Demo:** garment``)."""
    return [unit.name for unit in demos.demo_units(all_units())]


def test_every_demo_kind_is_declared_by_a_unit():
    assert sorted(unit.demo for unit in demos.demo_units(all_units())) == sorted(demos.DEMOS)


def test_a_renamed_unit_keeps_its_demo_and_an_unknown_kind_is_named():
    unit = demos.demo_units(all_units())[0]
    renamed = dataclasses.replace(unit, name="99_renamed")
    assert demos.demo_for(renamed) is demos.demo_for(unit) is demos.DEMOS[unit.demo]
    with pytest.raises(demos.DemoError, match=r"99_renamed: its declaration names the demo 'hologram'; the demos are"):
        demos.demo_for(dataclasses.replace(renamed, demo="hologram"))
    assert demos.demo_for(dataclasses.replace(renamed, demo=None)) is None


def test_every_demo_has_a_committed_model_that_matches_its_units_code_and_data():
    sizes = 0
    for name in demo_names():
        exported, why = demos.committed_export(load_unit(name))
        assert exported is not None, f"{name}: {why}"
        model, data = exported
        assert data["unit"] == name and data["examples_predicted"]
        sizes += len(model) + len((demos.ARTEFACT_DIR / name / "demo.json").read_bytes())
    assert sizes < 6e6, f"the committed demo models take {sizes / 1e6:.1f} MB"


def test_a_code_change_makes_the_committed_model_unusable_and_a_comment_change_does_not(tmp_path):
    name = next(iter(demos.load_manifest()["units"]))
    unit = load_unit(name)
    source = unit.solution_path.read_text(encoding="utf-8")
    commented = tmp_path / "commented.py"
    commented.write_text(source.replace("\n# ", "\n# (edited) ", 3), encoding="utf-8")
    assert demos.committed_export(dataclasses.replace(unit, solution_path=commented))[0] is not None
    changed = tmp_path / "changed.py"
    changed.write_text(source + "\nmodel = None\n", encoding="utf-8")
    exported, why = demos.committed_export(dataclasses.replace(unit, solution_path=changed))
    assert exported is None and "`make demo-models`" in why and "code changed" in why


@pytest.fixture(scope="module")
def fresh_clone_build(tmp_path_factory) -> tuple[Path, str]:
    """A clone of the committed course built by the workflow's own command: no .cache of runs or
    models, only what `npm ci` and the workflow's caches (datasets, lesson figures) provide."""
    clone = tmp_path_factory.mktemp("publish") / "course"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=300)
    (clone / "node_modules").symlink_to(REPO / "node_modules")  # what `npm ci` installs
    figures = REPO / ".cache" / "lesson-blocks"
    if figures.is_dir():  # the workflow's cache of lesson figures
        shutil.copytree(figures, clone / ".cache" / "lesson-blocks")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("WORKSHOP_") or key in {"WORKSHOP_DATA_DIR", "WORKSHOP_DATA_MIRROR"}
    }
    env.update(TRACK="", PYTHONPATH=str(clone), WORKSHOP_ROOT=str(clone), NO_MKDOCS_2_WARNING="1")
    # The venv and the datasets are set up already: `-o setup -o data` skips only those steps.
    command = f"{build_step()} BIN={VENV_BIN} -o setup -o data"
    completed = subprocess.run(
        ["bash", "-c", command], cwd=clone, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    log = completed.stdout + completed.stderr
    assert completed.returncode == 0, log[-4000:]
    assert not (clone / ".cache" / "executed").exists() or not list((clone / ".cache" / "executed").glob("*.keras"))
    return clone / "site" / "learner", log


@pytest.mark.trains  # a site build: its lesson blocks train (unless the workflow's cache has them)
def test_a_fresh_clone_built_like_the_workflow_has_every_demo_and_no_solution(fresh_clone_build):
    site, log = fresh_clone_build
    assert not (site / "solutions").exists() and not list((site / "downloads").glob("*_solution*"))
    for name in demo_names():
        assert f"Demo {name}: " in log and "(model committed)" in log, name
        served = site / "demos" / name / "model.onnx"
        assert served.read_bytes() == (demos.ARTEFACT_DIR / name / "model.onnx").read_bytes(), name
        page = (site / "exercises" / name / "index.html").read_text(encoding="utf-8")
        assert 'class="workshop-demo"' in page and "workshop-demo.js" in page, name
    for filename in demos.RUNTIME_FILES:
        assert (site / demos.RUNTIME_URI / filename).is_file(), filename
