"""Shared fixtures, the suite's tiers, their timeouts, and the guard that keeps training out of the
fast tier.

Tiers. Each test says what it does where it is defined (a decorator, or a module's `pytestmark`):

- `trains`: fits a Keras model, or executes something that does (a reference solution, a notebook
  or a submission that trains, a site build, whose lesson blocks train);
- `browser`: drives Chromium;
- `slow`: trains nothing, but costs more than the fast tier's three minutes allow (a limit waited
  out, kernels for cases beyond the runner's and grader's core ones, a kernel per unit, a fresh
  virtual environment, a clone, a dependency resolution).

A test with none of these marks is in the fast tier: `make check` runs those (`-m "not trains and
not browser and not slow"`), `make test` runs everything. A test that waits for a solution run
must be marked `trains` (collection stops otherwise); nothing is marked from fixture names.

Timeouts (pytest-timeout): a test's setup, call and teardown together get `timeout` from
pyproject.toml (the fast tier's), or TIER_TIMEOUTS' largest for its marks; an explicit
`@pytest.mark.timeout(...)` wins. A test past its limit fails with the stacks of every thread.

The guard: while a test not marked `trains` runs, `keras.Model.fit` and `train_on_batch` raise in the
test process and in the processes it starts with its environment (tests/no_training/sitecustomize.py
says which processes that covers, and which not).

Solutions. Every solution is executed once per test run and the result reused. The solutions train
in the background while the rest of the session runs: one lane per core (two on the course's 2-core
machine), each run pinned to its own core with every thread pool sized to one thread, so a unit's
value is the same from one run to the next whatever else the machine is doing. Tests that need a
solution's result run last and wait for it; the longest solutions start first. `make test` runs
them, marked `front` below, in one session and the rest in a second one beside it
(tests/run_suite.py), so that those do not wait for a free core one at a time; that script records
the run.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from no_training import sitecustomize as no_training

from workshop.course.units import all_units, load_unit
from workshop.running import cache, results
from workshop.running.runner import Isolation, run_unit, time_limit

UNIT_NAMES = [unit.name for unit in all_units()]

# The generated labs' held-out seed comes from the scorer's secret, random per machine; the suite
# fixes it, so that their reference values are the same on every fresh CI machine. (A grading
# machine never sets it; see workshop/tasks/generated.py.)
os.environ.setdefault("WORKSHOP_HELD_OUT_SECRET", "reference-measurements-of-the-test-suite")


def available_cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def lane_count() -> int:
    """WORKSHOP_TEST_LANES, else one lane per available core."""
    configured = os.environ.get("WORKSHOP_TEST_LANES")
    return max(1, int(configured)) if configured else len(available_cores())


class SolutionRuns:
    """Runs each reference solution at most once per session, records it, caches its notebook."""

    def __init__(self, lanes: int):
        self.lanes = lanes
        self.executor = ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="solution-lane")
        self.free_cores: queue.Queue[int] = queue.Queue()
        cores = available_cores()
        for lane in range(lanes):
            self.free_cores.put(cores[lane % len(cores)])
        self.runs: dict[str, Future] = {}
        self.lock = threading.Lock()

    def start(self, names) -> None:
        """Queue `names`, the longest (by the last recorded run, else by budget) first."""
        previous = results.load().get("units", {})

        def expected_seconds(name: str) -> float:
            return previous.get(name, {}).get("cpu_seconds") or load_unit(name).budget_seconds

        for name in sorted(names, key=expected_seconds, reverse=True):
            self.submit(name)

    def submit(self, name: str) -> Future:
        with self.lock:
            if name not in self.runs:
                self.runs[name] = self.executor.submit(self.run, name)
            return self.runs[name]

    def run(self, name: str):
        core = self.free_cores.get()
        try:
            unit = load_unit(name)
            # The limit a learner's run gets in this situation, by the grader's own accounting
            # (runner.time_limit): a lane is pinned to one core where the budget assumes two, so
            # the unit's limit alone x 2. The unpinned rest of the suite also takes turns on that
            # core and is not counted: a solution near this limit is a margin to fix, not to widen.
            result = run_unit(
                unit.solution_path,
                unit,
                isolation=Isolation(cpus=(core,)),
                executed_path=cache.executed_path(unit),
                timeout_seconds=time_limit(unit, cores=1),
            )
            results.record(result)
            return result
        finally:
            self.free_cores.put(core)

    def get(self, name: str):
        return self.submit(name).result()

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def needs_solutions(item) -> bool:
    """Asks for `solution_runs`, directly or through a fixture, or for the instructor build by parameter."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return "solution_runs" in getattr(item, "fixturenames", ()) or "instructor" in params.values()


# `make test` runs two sessions side by side (tests/run_suite.py). The front one, a single process,
# runs the tests marked `front`: those that wait for a solution run (the training lanes are its
# own). The second session spreads the rest over xdist workers (--dist loadgroup); tests that share
# a costly module- or session-scoped fixture are one group, sent whole to one worker and run there
# one after another, so that the fixture is built once. (Under pytest 9.2, xdist ignored every
# group, so requirements.in keeps pytest below it: a fresh-clone run then graded test_grade.py's
# hostile class twice, 257 s in each worker, and built the learner site in both.)
FRONT_FIXTURES = {"solution_runs"}
SHARED_FIXTURE_GROUPS = {
    "test_site.py": "site-builds",  # the learner and one-day builds (tests/site_builds.py)
    "test_browser.py": "site-builds",  # the same builds, and one Chromium
    "test_install.py": "install",  # the wheel and its clean virtual environment
    "test_publishing.py": "publishing",  # a fresh clone built like the Pages workflow
}
SHARED_FIXTURES = {"batch": "hostile-class"}  # test_grade.py's graded class


def pytest_itemcollected(item):
    """As each test is collected, before `-m` selects: `front` on a test that waits for a solution
    run, and an `xdist_group` on a test that shares a costly fixture."""
    if needs_solutions(item) or FRONT_FIXTURES & set(item.fixturenames):
        item.add_marker(pytest.mark.front)
    groups = [group for fixture, group in SHARED_FIXTURES.items() if fixture in item.fixturenames]
    group = groups[0] if groups else SHARED_FIXTURE_GROUPS.get(item.path.name)
    if group:
        item.add_marker(pytest.mark.xdist_group(group))


TIERS = ("trains", "browser", "slow")
# Seconds for setup, call and teardown together. A `trains` test may wait for the whole background
# training of the solutions before its own (about 35 min of a CI run); a site build or a clean
# install takes minutes. The fast tier's default is `timeout` in pyproject.toml.
TIER_TIMEOUTS = {"trains": 3600, "browser": 1200, "slow": 1800}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """After `-m` and `-k` have selected: each test gets its tier's timeout; tests that wait for a
    solution go last, and the solutions they need start training now, in the background."""
    unmarked = [item.nodeid for item in items if needs_solutions(item) and not item.get_closest_marker("trains")]
    if unmarked:
        raise pytest.UsageError(
            "these tests wait for a solution run but are not marked `trains`: " + ", ".join(unmarked)
        )
    for item in items:
        timeouts = [TIER_TIMEOUTS[tier] for tier in TIERS if item.get_closest_marker(tier)]
        if timeouts and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(max(timeouts)))
    waiting = [item for item in items if needs_solutions(item)]
    if not waiting:
        return
    items[:] = [item for item in items if not needs_solutions(item)] + waiting
    if config.option.collectonly:
        return
    names = set()
    for item in waiting:
        name = getattr(getattr(item, "callspec", None), "params", {}).get("name")
        if name is None:  # a site build or another test that needs every solution
            names = set(UNIT_NAMES)
            break
        names.add(name)
    runs = SolutionRuns(lane_count())
    config.stash[RUNS_KEY] = runs
    runs.start(names)


# The guard, in this process (pytest's, or each xdist worker's): wraps Keras when it is imported.
no_training.install()
GUARD_FOLDER = str(Path(no_training.__file__).parent)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A test not marked `trains` runs, fixtures included, with the guard on: in this process through
    the variable, in the processes it starts through the variable and PYTHONPATH."""
    if item.get_closest_marker("trains"):
        return (yield)
    saved = {name: os.environ.get(name) for name in (no_training.VARIABLE, "PYTHONPATH")}
    os.environ[no_training.VARIABLE] = item.nodeid
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [GUARD_FOLDER, saved["PYTHONPATH"]]))
    try:
        return (yield)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


RUNS_KEY = pytest.StashKey[SolutionRuns]()


def pytest_sessionfinish(session, exitstatus):
    runs = session.config.stash.get(RUNS_KEY, None)
    if runs is not None:
        runs.close()


@pytest.fixture(scope="session")
def solution_runs(request) -> SolutionRuns:
    runs = request.config.stash.get(RUNS_KEY, None)
    if runs is None:  # a test that asked for the fixture dynamically
        runs = request.config.stash[RUNS_KEY] = SolutionRuns(lane_count())
    return runs
