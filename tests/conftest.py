"""Shared fixtures: every solution is executed once per test run and the result reused."""

from __future__ import annotations

import pytest

from workshop import cache, results
from workshop.runner import run_unit
from workshop.units import all_units, load_unit

UNIT_NAMES = [unit.name for unit in all_units()]


class SolutionRuns:
    """Runs each reference solution at most once per session, records it, caches its notebook."""

    def __init__(self):
        self.runs = {}

    def get(self, name: str):
        if name not in self.runs:
            unit = load_unit(name)
            result = run_unit(unit.solution_path, unit, executed_path=cache.executed_path(unit))
            results.record(result)
            self.runs[name] = result
        return self.runs[name]


@pytest.fixture(scope="session")
def solution_runs() -> SolutionRuns:
    return SolutionRuns()
