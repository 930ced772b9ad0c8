"""The pure functions behind the bigger features, tested directly: stub generation, declaration
parsing, the sandbox's allow-list, the rewriting of notebook HTML, shard selection, and the
figures' colour schemes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from workshop.course.course import Course
from workshop.course.exercises import DEFAULT_STUB, MarkerError, make_exercise
from workshop.course.units import UnitError, parse_declaration
from workshop.grading.grade import GradeError, Submission, select_shard
from workshop.grading.sandbox import AllowList, bwrap_arguments, bwrap_prefix, python_runtime
from workshop.site import figure_themes
from workshop.site.notebook_html import (
    NBCONVERT_ALT,
    clean_notebook_html,
    describe_output_images,
    exclude_outputs_from_search,
)

REPO = Course.find().root

# --- Stubs ---------------------------------------------------------------------------------


def test_a_solution_block_becomes_its_stub_at_its_indentation():
    solution = "x = 1\nif True:\n    ### BEGIN SOLUTION\n    y = secret()\n    ### STUB y = None\n    ### END SOLUTION\nz = 3\n"
    assert make_exercise(solution) == "x = 1\nif True:\n    # YOUR CODE HERE\n    y = None\nz = 3\n"


def test_a_block_without_stub_lines_raises_not_implemented():
    exercise = make_exercise("### BEGIN SOLUTION\nmodel = build()\n### END SOLUTION\n")
    assert exercise == f"# YOUR CODE HERE\n{DEFAULT_STUB}\n"
    assert "build()" not in exercise


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("### BEGIN SOLUTION\nx = 1\n", "BEGIN SOLUTION without END"),
        ("x = 1\n### END SOLUTION\n", "2: END SOLUTION without BEGIN"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n", "2: BEGIN SOLUTION inside another block"),
    ],
)
def test_unbalanced_markers_are_refused_with_their_line(text, problem):
    with pytest.raises(MarkerError, match=problem):
        make_exercise(text, "solutions/99_x.py")


# --- Declarations ---------------------------------------------------------------------------

DECLARATION = "# A title\n\n- **Goal:** `test_mae <= 2.5` on held-out data\n- **Budget:** 90 s of training\n- **Data:** `auto-mpg`, `mnist`\n"


def test_a_declaration_gives_the_unit():
    unit = parse_declaration("99_x", DECLARATION, Path("solutions/99_x.py"))
    assert (unit.title, str(unit.goal), unit.budget_seconds, unit.datasets) == (
        "A title",
        "test_mae <= 2.5",
        90,
        ("auto-mpg", "mnist"),
    )
    assert unit.task == "auto-mpg"
    assert unit.goal.is_met(2.4) and not unit.goal.is_met(2.6) and not unit.goal.is_met(float("nan"))


def test_a_declaration_missing_fields_names_them():
    with pytest.raises(UnitError, match=r"must declare \*\*Budget:\*\*, \*\*Data:\*\*"):
        parse_declaration("99_x", "# A title\n\n- **Goal:** `test_accuracy >= 0.9`\n", Path("s.py"))


# --- The sandbox's allow-list -----------------------------------------------------------------


def test_the_sandbox_is_built_from_the_allow_list_in_order(tmp_path):
    """The private /tmp before the binds (a virtual environment may live in /tmp), the view's
    folders re-created in it, hidden folders covered last; the run's own folder is added where it starts, then the root is made read-only."""
    view = tmp_path / "view"
    (view / "keras" / "datasets" / "x").mkdir(parents=True)
    (view / "keras" / "datasets" / "x" / "f.gz").write_bytes(b"x")
    allow = AllowList(
        read_only=["/usr", "/venv"],
        links=[("usr/bin", "/bin")],
        etc=str(tmp_path / "etc"),
        view=str(view),
        hidden=["/venv/secret"],
    )
    arguments = bwrap_arguments(allow)
    joined = " ".join(arguments)
    steps = [
        "--unshare-all",
        "--tmpfs /tmp",
        "--symlink usr/bin /bin",
        "--ro-bind /usr /usr",
        f"--ro-bind {tmp_path / 'etc' / 'passwd'} /etc/passwd",
        f"--dir {view}",
        f"--ro-bind {view / 'keras' / 'datasets' / 'x'} {view / 'keras' / 'datasets' / 'x'}",
        "--tmpfs /venv/secret --remount-ro /venv/secret",
    ]
    positions = [joined.index(step) for step in steps]
    assert positions == sorted(positions), joined
    assert {"--cap-drop", "--disable-userns", "--die-with-parent", "--new-session"} <= set(arguments)
    script = bwrap_prefix("/usr/bin/bwrap", allow)[2]
    assert script.endswith('--bind "$W" "$W" --remount-ro / --chdir "$W" -- "$@"'), script
    # Nothing of the host outside the allow-list is named at all.
    named = {arguments[i + 1] for i, a in enumerate(arguments) if a == "--ro-bind"}
    assert named <= {"/usr", "/venv", *(str(tmp_path / "etc" / n) for n in ("passwd", "group", "hosts"))} | {
        str(view / "keras" / "datasets" / "x")
    }


def test_the_python_runtime_of_the_sandbox_leaves_the_checkout_out():
    """The course's package, the virtual environment and the interpreter are in; solutions/,
    tests/, .git and the checkout itself (pytest puts it on sys.path) are not."""
    runtime = python_runtime(REPO)
    assert REPO / "workshop" in runtime and REPO not in runtime
    assert any(
        path == Path(sys.base_prefix).resolve() or path in Path(sys.base_prefix).resolve().parents for path in runtime
    )
    for private in ("solutions", "tests", ".git", "docs"):
        assert not any(
            REPO / private == path or path in (REPO / private).parents for path in runtime if path != Path("/")
        ), private


# --- Notebook HTML ----------------------------------------------------------------------------


def test_outputs_are_wrapped_out_of_the_search_index_whole():
    page = '<div class="jp-Cell-outputWrapper"><div><div>log</div></div></div><p>after</p>'
    assert exclude_outputs_from_search(page) == (
        '<output class="workshop-output" data-search-exclude=""><div class="jp-Cell-outputWrapper"><div><div>log</div>'
        "</div></div></output><p>after</p>"
    )


def test_output_images_are_described_by_the_heading_above_them():
    page = f'<h2 id="a">Learning curves<a href="#a">¶</a></h2><img {NBCONVERT_ALT}><h3>Errors</h3><img {NBCONVERT_ALT}>'
    described = describe_output_images(page)
    assert re.findall(r'alt="([^"]+)"', described) == [
        "Figure drawn by the code cell above, in the section Learning curves",
        "Figure drawn by the code cell above, in the section Errors",
    ]


def test_cdn_scripts_are_removed():
    page = '<script src="https://cdnjs.cloudflare.com/x.js"></script><script type="text/x-mathjax-config">x</script><p>kept</p>'
    assert clean_notebook_html(page) == "<p>kept</p>"


# --- Shards -----------------------------------------------------------------------------------


def test_shards_split_the_class_without_overlap():
    submissions = [Submission(f"learner{i}", [], "", "") for i in range(7)]
    shards = [select_shard(submissions, f"{i}/3") for i in (1, 2, 3)]
    assert sorted(s.learner for shard in shards for s in shard) == sorted(s.learner for s in submissions)
    assert [len(shard) for shard in shards] == [3, 2, 2]
    for bad in ("0/3", "4/3", "x"):
        with pytest.raises(GradeError):
            select_shard(submissions, bad)


# --- Figures in both schemes --------------------------------------------------------------------


def test_neutral_colours_swap_and_data_colours_stay():
    assert figure_themes.dark_color((1, 1, 1, 1))[:3] == pytest.approx(figure_themes.DARK_BACKGROUND)
    assert figure_themes.dark_color((0, 0, 0, 0.5)) == pytest.approx((*figure_themes.DARK_INK, 0.5))
    blue = (0.12, 0.47, 0.71, 1.0)
    assert figure_themes.dark_color(blue) == blue


def test_a_notebook_figure_with_a_dark_twin_becomes_both_images():
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "data": {"image/png": "TElHSFQ="},
                        "metadata": {"image/png": {figure_themes.METADATA_KEY: "REFSSw=="}},
                    },
                    {"output_type": "display_data", "data": {"image/png": "T05MWQ=="}, "metadata": {}},
                ],
            }
        ]
    }
    assert figure_themes.theme_notebook_figures(notebook) == 1
    themed, plain = notebook["cells"][0]["outputs"]
    assert 'class="workshop-figure--light" src="data:image/png;base64,TElHSFQ="' in themed["data"]["text/html"]
    assert 'class="workshop-figure--dark" src="data:image/png;base64,REFSSw=="' in themed["data"]["text/html"]
    assert "text/html" not in plain["data"]
    figure_themes.strip_dark_twins(notebook)
    assert figure_themes.METADATA_KEY not in themed["metadata"]["image/png"]
