"""The executed-solution cache: what its key covers, and that a failing solution fails the build."""

from __future__ import annotations

import dataclasses

import pytest
from mkdocs.exceptions import PluginError

from workshop.course.course import Course
from workshop.course.units import load_unit
from workshop.running import cache
from workshop.site.mkdocs_hooks import executed_solution


def copy_of_unit(tmp_path, text=None):
    unit = load_unit("02_fashion_mnist_logreg")
    path = tmp_path / unit.solution_path.name
    path.write_text(text if text is not None else unit.solution_path.read_text())
    return dataclasses.replace(unit, solution_path=path)


def test_the_key_covers_source_data_packages_and_backend(tmp_path, monkeypatch):
    unit = copy_of_unit(tmp_path)
    key = cache.cache_key(unit)
    assert cache.cache_key(unit) == key, "the key must be stable"

    unit.solution_path.write_text(unit.solution_path.read_text() + "\n# %%\nprint('changed')\n")
    assert cache.cache_key(unit) != key

    unit = copy_of_unit(tmp_path)
    monkeypatch.setattr(cache, "package_versions", lambda: {"keras": "0.0.0"})
    assert cache.cache_key(unit) != key
    monkeypatch.undo()

    monkeypatch.setattr(cache, "data_checksums", lambda unit: {"fashion-mnist": ["other"]})
    assert cache.cache_key(unit) != key
    monkeypatch.undo()

    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert cache.cache_key(unit) != key


def test_a_failing_cell_fails_the_build_instead_of_publishing_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "cache_dir", lambda course=None: tmp_path / "cache")
    broken = copy_of_unit(tmp_path, "# %% [markdown]\n# # Broken\n\n# %%\nraise RuntimeError('data file missing')\n")
    with pytest.raises(PluginError, match="RuntimeError: data file missing"):
        executed_solution(broken)
    assert not list((tmp_path / "cache").glob("*")), "nothing may be cached for a failed run"


def test_the_cache_is_the_courses_own_folder(tmp_path):
    unit = copy_of_unit(tmp_path)
    course = Course(tmp_path / "course")
    assert cache.executed_path(unit, course) == tmp_path / "course" / ".cache" / "executed" / (
        f"{unit.name}-{cache.cache_key(unit)}.ipynb"
    )
    assert cache.model_path(unit, course).suffix == ".keras"
    assert cache.cache_dir() == Course.find().cache_dir / "executed"  # the default: the checkout's
