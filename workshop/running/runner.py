"""The one runner: execute a unit file in a fresh subprocess, then score it elsewhere.

Used by ``workshop check`` (learners, the tests, the site build) and by
``workshop grade`` (instructors). The steps:

1. read the file (``.py`` percent or ``.ipynb``) and compile every cell, so a syntax
   error is reported with its cell before anything runs;
2. execute it with ``workshop.running.execute`` in a new process group, in a temporary working
   directory, with a scrubbed environment, a memory limit and a wall-clock limit
   derived from the unit's budget; that process saves the model left in ``model``;
3. score the saved model with ``workshop.running.evaluate`` in a second, clean process that
   loads it with ``safe_mode=True`` and predicts on held-out data.

Nothing the unit prints, assigns or patches reaches step 3.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from IPython.core.inputtransformer2 import TransformerManager

import workshop
from workshop import atomic
from workshop.course.notebooks import SubmissionError, code_cells, read_notebook
from workshop.course.units import (
    BUDGET_CORES,
    TIMEOUT_ALLOWANCE_SECONDS,
    TIMEOUT_FACTOR,
    Unit,
    UnitError,
    unit_for_path,
)
from workshop.running import protocol

EVALUATE_TIMEOUT_SECONDS = 300
DEFAULT_MEMORY_BYTES = 12 * 2**30
MAX_LOG_BYTES = 1_000_000


@dataclass
class Isolation:
    """How tightly a run is confined. ``workshop check`` uses the defaults; ``workshop grade`` more.

    ``prefix`` is a command the child is started through (for example a sandbox that
    denies the network); ``environment`` adds variables (for example a data view that
    withholds the held-out labels).
    """

    memory_bytes: int = DEFAULT_MEMORY_BYTES
    max_processes: int = 512
    prefix: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    pids_cgroup: Path | None = None
    # The command the scorer is started through: the grader's sandbox with the real data visible
    # read-only (the scorer needs the held-out labels) and everything else as for the submission.
    scorer_prefix: list[str] = field(default_factory=list)
    # CPU cores the run (notebook and scorer) is pinned to, with every thread pool sized to match;
    # empty: all of the machine's. Pinned runs give the same values whatever else the machine does.
    cpus: tuple[int, ...] = ()

    def pinning(self) -> list[str]:
        """``taskset`` for the cores in ``cpus``; nothing where there is no ``taskset`` (macOS, Windows):
        the run is not pinned there, its thread pools still sized to ``cpus`` (see ``unenforced``)."""
        if not self.cpus or shutil.which("taskset") is None:
            return []
        return ["taskset", "--cpu-list", ",".join(map(str, self.cpus))]

    def thread_environment(self) -> dict[str, str]:
        if not self.cpus:
            return {}
        threads = str(len(self.cpus))
        return {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads, "OMP_NUM_THREADS": threads}


@dataclass(frozen=True)
class TimeLimit:
    """The wall-clock limit of one run, and how it was arrived at (a timeout's message says both)."""

    seconds: int
    reason: str


def available_cores() -> int:
    """The cores this process may run on (its affinity: ``taskset``, a cgroup's cpuset), else all."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def time_limit(
    unit: Unit, *, cores: float | None = None, jobs: int = 1, alone_seconds: float | None = None
) -> TimeLimit:
    """The wall-clock limit of one run of ``unit`` among ``jobs`` runs sharing ``cores`` cores.

    ``alone_seconds`` (default ``unit.timeout_seconds``: 90 s + 3 x the budget) is the limit of a
    run with ``BUDGET_CORES`` cores of its own, the laptop budgets are declared for. A run that gets
    fewer (``cores / jobs``: a 1-core machine, a pinned test lane, ``workshop grade -j 2`` on 2
    cores) trains proportionally slower, so its limit is ``alone_seconds`` times
    ``max(1, BUDGET_CORES x jobs / cores)``; more cores than that never lower it.
    """
    cores = cores or available_cores()
    jobs = max(1, jobs)
    share = cores / jobs
    factor = max(1.0, BUDGET_CORES / share)
    if alone_seconds is None:
        alone = unit.timeout_seconds
        base = f"{TIMEOUT_ALLOWANCE_SECONDS} s + {TIMEOUT_FACTOR} x its {unit.budget_seconds} s budget = {alone} s"
    else:
        alone = alone_seconds
        base = f"{alone:g} s as given"
    seconds = math.ceil(alone * factor)
    if factor == 1:
        return TimeLimit(seconds, f"{base}, for a run with {BUDGET_CORES} or more cores of its own")
    gets = f"{share:g} core{'s' if share != 1 else ''}" + (f" ({jobs} runs sharing {cores:g})" if jobs > 1 else "")
    return TimeLimit(
        seconds, f"{base}, x {factor:g} because this run gets {gets} where the budget assumes {BUDGET_CORES}"
    )


@dataclass
class RunResult:
    unit: str
    path: str
    metric: str
    goal: str
    value: float | None = None
    met: bool = False
    status: str = "error"  # ok / error / timeout
    message: str = ""
    seconds: float = 0.0
    execute_seconds: float | None = None
    cpu_seconds: float | None = None  # CPU time of the notebook's processes (its kernel included)
    cpus: list[int] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    cell: int | None = None
    traceback: str | None = None
    histories: list = field(default_factory=list)
    executed_notebook: str | None = None
    budget_seconds: int | None = None
    timeout_seconds: int | None = None
    timeout_reason: str = ""  # how the limit was arrived at (``TimeLimit.reason``)
    backend: str = ""
    # The limits this machine would not let the runner enforce (see `unenforced`); the run went on.
    unenforced: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.status != "ok":
            return 2
        return 0 if self.met else 1

    def to_dict(self, *, full: bool = False) -> dict:
        data = asdict(self)
        if not full:
            data.pop("histories")
        return data


def ipython_to_python(source: str) -> str:
    """Turn IPython syntax (``%magic``, ``!pip install``) into plain Python for compiling."""
    return TransformerManager().transform_cell(source)


def syntax_problem(notebook) -> tuple[int, str] | None:
    """The first cell that does not compile, with a message that points into it."""
    for cell_number, source in code_cells(notebook):
        try:
            compile(ipython_to_python(source), f"cell {cell_number}", "exec")
        except SyntaxError as error:
            line = (error.text or "").rstrip()
            pointer = " " * max((error.offset or 1) - 1, 0) + "^"
            return cell_number, (
                f"Syntax error in cell {cell_number}, line {error.lineno}: {error.msg}\n    {line}\n    {pointer}"
            )
    return None


def package_parent() -> str:
    """The folder the child processes import ``workshop`` from (the kernel runs ``workshop.running.kernel``):
    the one this process imported it from, a checkout or an installed package's site-packages."""
    return str(Path(workshop.__file__).resolve().parents[1])


def child_environment(workdir: Path, isolation: Isolation) -> dict[str, str]:
    """A scrubbed environment: nothing of the caller's beyond what the run needs."""
    keras_home = os.environ.get("KERAS_HOME") or str(Path("~/.keras").expanduser())
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONPATH": package_parent(),
        "PYTHONUNBUFFERED": "1",
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "KERAS_HOME": keras_home,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        "IPYTHONDIR": str(workdir / ".ipython"),
        "JUPYTER_RUNTIME_DIR": str(workdir / ".jupyter-runtime"),
    }
    for name in (
        "WORKSHOP_DATA_DIR",
        "XDG_CACHE_HOME",
        # Windows: Python cannot start without SYSTEMROOT; the others are where Windows keeps temp files.
        *(("SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP") if os.name == "nt" else ()),
        "OMP_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS",
    ):
        if name in os.environ:
            environment[name] = os.environ[name]
    environment.update(isolation.thread_environment())
    environment.update(isolation.environment)
    return environment


# The shell the limits are applied through (every POSIX system has one; Windows has none).
SHELL = "/bin/sh"


@functools.cache
def memory_limit_problem(memory_bytes: int, shell: str = SHELL) -> str | None:
    """Why ``ulimit -v`` cannot limit a run to ``memory_bytes`` here, or None where it can.

    Tried once per process, in the shell the runs start through: macOS refuses ``ulimit -v``
    ("Invalid argument"), a container or an administrator may have set a lower hard limit, and
    Windows has no shell at all.
    """
    if not Path(shell).is_file():
        return f"there is no {shell} to apply it with"
    try:
        probe = subprocess.run(
            [shell, "-c", f"ulimit -v {memory_bytes // 1024}"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{shell} could not be started ({error})"
    if probe.returncode != 0:
        said = (probe.stderr.strip().splitlines() or ["no message"])[-1]
        return f"`ulimit -v` was refused: {said}"
    return None


def unenforced(isolation: Isolation) -> list[str]:
    """The limits of ``isolation`` this machine cannot enforce, one readable line each.

    The run goes on without them (it is scored the same); ``workshop check`` says so once.
    """
    gaps = []
    problem = memory_limit_problem(isolation.memory_bytes)
    if problem:
        gaps.append(f"the {isolation.memory_bytes / 2**30:g} GiB memory limit ({problem})")
    if isolation.cpus and shutil.which("taskset") is None:
        gaps.append(
            f"pinning to CPU {','.join(map(str, isolation.cpus))} (no `taskset` command); "
            f"its thread pools are still sized to {len(isolation.cpus)}"
        )
    return gaps


def limits_wrapper(isolation: Isolation) -> list[str]:
    """A shell that applies the memory limit and joins the pids cgroup, then execs the child.

    A shell rather than ``preexec_fn``: the grader starts runs from several threads, and
    ``preexec_fn`` is not safe in a threaded parent. It runs before any sandbox prefix, so the
    limits hold inside the sandbox, where the cgroup files are no longer writable. A limit this
    machine refuses is left out (``unenforced`` names it); without a shell there is no wrapper.
    """
    if not Path(SHELL).is_file():
        return []
    steps = ["ulimit -c 0"]
    if memory_limit_problem(isolation.memory_bytes) is None:
        steps.insert(0, f"ulimit -v {isolation.memory_bytes // 1024}")
    if isolation.pids_cgroup is not None:
        steps.append(f'echo $$ > "{isolation.pids_cgroup / "cgroup.procs"}"')
    return [SHELL, "-c", " && ".join(steps) + ' && exec "$@"', "workshop-limits"]


def kill_tree(process: subprocess.Popen) -> None:
    """Kill the child and everything it started, even processes that left its group."""
    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for member in family:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
    if hasattr(os, "killpg"):  # not on Windows, where psutil's kills above are all there is
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    else:
        process.kill()
    process.wait()


def count_tree(pid: int) -> int:
    try:
        return 1 + len(psutil.Process(pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return 0


def describe_cell(notebook, cell: int | None) -> str:
    """ "cell 7 (its first line)", for a cell in the learner's numbering (from 1)."""
    if cell is None or not (1 <= cell <= len(notebook["cells"])):
        return ""
    first_line = next(
        (line for line in "".join(notebook["cells"][cell - 1]["source"]).splitlines() if line.strip()), ""
    )
    return f"cell {cell} ({first_line.strip()[:60]})"


@dataclass
class Run:
    """One run of one file: what it needs, and the result it fills in as it goes."""

    unit: Unit
    notebook: dict
    isolation: Isolation
    result: RunResult
    started: float
    executed_path: Path | None = None
    on_progress: Callable[[float, str], None] | None = None

    def finish(self, status: str, message: str, **changes) -> RunResult:
        """The run ends here: its status and message, and any other fields of the result."""
        self.result.status, self.result.message = status, message
        for name, value in changes.items():
            setattr(self.result, name, value)
        self.result.seconds = round(time.monotonic() - self.started, 2)
        return self.result


def run_unit(
    path: Path,
    unit: Unit | None = None,
    *,
    isolation: Isolation | None = None,
    executed_path: Path | None = None,
    timeout_seconds: float | TimeLimit | None = None,
    on_progress: Callable[[float, str], None] | None = None,
) -> RunResult:
    """Run and score one unit file. Never raises for problems in the file itself; raises
    ``protocol.MalformedRecord`` when the runner's own processes disagree about a record.

    ``timeout_seconds``: a number is the wall-clock limit exactly (``workshop check --timeout``); by
    default, ``time_limit`` for a run alone on the cores of ``isolation`` (or of this machine)."""
    started = time.monotonic()
    path = Path(path)
    isolation = isolation or Isolation()
    if unit is None:
        unit = unit_for_path(path)
    if timeout_seconds is None:
        limit = time_limit(unit, cores=len(isolation.cpus) or None)
    elif isinstance(timeout_seconds, TimeLimit):
        limit = timeout_seconds
    else:
        limit = TimeLimit(math.ceil(timeout_seconds), f"{timeout_seconds:g} s as given")
    result = RunResult(
        unit=unit.name,
        path=str(path),
        metric=unit.goal.metric,
        goal=unit.goal.text,
        budget_seconds=unit.budget_seconds,
        timeout_seconds=limit.seconds,
        timeout_reason=limit.reason,
        backend=os.environ.get("KERAS_BACKEND", "tensorflow"),
        cpus=list(isolation.cpus),
        unenforced=unenforced(isolation),
    )
    run = Run(unit, {}, isolation, result, started, executed_path, on_progress)
    try:
        run.notebook = read_notebook(path)
    except SubmissionError as error:
        return run.finish("error", str(error))
    problem = syntax_problem(run.notebook)
    if problem:
        return run.finish("error", problem[1], cell=problem[0])

    workdir = Path(tempfile.mkdtemp(prefix=f"workshop-{unit.name}-"))
    try:
        return execute_and_score(run, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def execute_and_score(run: Run, workdir: Path) -> RunResult:
    notebook, isolation, result = run.notebook, run.isolation, run.result
    out_dir = workdir / ".runner"
    out_dir.mkdir()
    notebook_path = out_dir / "submission.ipynb"
    import nbformat

    nbformat.write(notebook, notebook_path)
    log_path = out_dir / "log.txt"
    command = [
        *isolation.pinning(),
        *limits_wrapper(isolation),
        *isolation.prefix,
        sys.executable,
        "-m",
        "workshop.running.execute",
        str(notebook_path),
        str(out_dir),
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env={
                **child_environment(workdir, isolation),
                # Figures in both colour schemes cost a second rendering: only for the site's runs.
                **({"WORKSHOP_THEMED_FIGURES": "1"} if run.executed_path is not None else {}),
            },
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + result.timeout_seconds
        timed_out = too_many_processes = False
        while process.poll() is None:
            if time.monotonic() > deadline:
                timed_out = True
                break
            if count_tree(process.pid) > isolation.max_processes:
                too_many_processes = True
                break
            if run.on_progress:
                run.on_progress(time.monotonic() - (deadline - result.timeout_seconds), current_cell(out_dir, notebook))
            time.sleep(0.25)
        # Also after a normal exit: the kernel may linger after the client has finished.
        kill_tree(process)
    # A record that is missing is the notebook's doing (its process died first); one that is
    # malformed is the runner's own fault: protocol.MalformedRecord leaves run_unit as it is, so
    # the grader reports a grader error, never a failure of the notebook.
    progress = protocol.read_if_written(out_dir / protocol.PROGRESS, protocol.Progress)
    running = describe_cell(notebook, progress.cell if progress else None)
    if timed_out:
        return run.finish(
            "timeout",
            f"Stopped after {result.timeout_seconds} s, the runner's limit for this unit here "
            f"({result.timeout_reason}). It was still running {running or 'the notebook'}. "
            "Look for a loop that never ends, or train for fewer epochs. On a slow computer, "
            "allow it more time: `workshop check FILE --timeout SECONDS`.",
        )
    if too_many_processes:
        return run.finish(
            "error",
            f"Stopped: the notebook started more than {isolation.max_processes} processes ({running}).",
        )
    execution = protocol.read_if_written(out_dir / protocol.EXECUTION, protocol.Execution)
    if execution is None:
        tail = log_path.read_bytes()[-MAX_LOG_BYTES:].decode("utf-8", "replace").strip().splitlines()[-5:]
        hint = ""
        if any("MemoryError" in line or "std::bad_alloc" in line for line in tail):
            hint = f" It ran out of memory (limit {isolation.memory_bytes // 2**30} GiB)."
        return run.finish(
            "error",
            f"The notebook process ended unexpectedly ({running or 'before the first cell'}).{hint}\n"
            + "\n".join(tail),
        )
    # Only a notebook that ran to the end is kept: the site must never publish a traceback.
    if run.executed_path is not None and execution.status == "ok" and (out_dir / "executed.ipynb").exists():
        executed_path = Path(run.executed_path)
        atomic.write_bytes(executed_path, (out_dir / "executed.ipynb").read_bytes())
        result.executed_notebook = str(executed_path)
    result.execute_seconds = execution.execute_seconds
    result.cpu_seconds = execution.cpu_seconds
    if execution.kind == protocol.MALFORMED:  # the child found the kernel's report malformed
        raise protocol.MalformedRecord(execution.evalue)
    report = execution.model or protocol.ModelReport()
    result.histories = report.histories
    if execution.status != "ok":
        where = describe_cell(notebook, execution.cell) or "the notebook"
        if execution.kind == "kernel_died":
            return run.finish(
                "error",
                f"The Python process died while running {where}: it called os._exit(), crashed, "
                f"or ran out of memory (limit {isolation.memory_bytes // 2**30} GiB).",
                cell=execution.cell,
            )
        if execution.in_runner_save:
            return run.finish("error", f"Saving `model` failed: {execution.ename}: {execution.evalue}")
        return run.finish(
            "error",
            f"{where[0].upper() + where[1:]} raised {execution.ename or 'Error'}: {execution.evalue}",
            cell=execution.cell,
            traceback=execution.traceback,
        )
    if report.problem == "no_model":
        return run.finish(
            "error",
            "The notebook ran, but left no Keras model in the name `model`. "
            "Assign your trained model to `model`, e.g. `model = keras.Sequential([...])`.",
        )
    if report.problem == "not_a_model":
        return run.finish(
            "error",
            f"`model` is a {report.type}, not a Keras model (keras.Model). Assign your trained Keras model to `model`.",
        )
    if report.problem == "unloadable":
        return run.finish("error", unloadable_message(report))
    if result.executed_notebook:  # kept with its notebook: the site lets readers try it
        atomic.write_bytes(Path(result.executed_notebook).with_suffix(".keras"), (out_dir / "model.keras").read_bytes())
    return score(run, out_dir / "model.keras")


def unloadable_message(report: protocol.ModelReport) -> str:
    """Why the saved `model` cannot be loaded back by the scorer, naming the layer and the fix."""
    error = report.load_error
    if "safe_mode" in error or "lambda" in error.lower():
        return (
            "The model could not be loaded: the saved model contains code that would run when it is loaded "
            "(for example a Lambda layer), which the runner refuses (safe_mode=True). Use built-in Keras "
            "layers instead."
        )
    lines = ["Your `model` was saved, but Keras cannot load it back safely, so it cannot be scored."]
    for found in report.foreign_functions:
        setting = found["setting"].lstrip("_")
        fix = (
            f'write {setting}="{found["keras_name"]}" (the Keras name) instead'
            if found.get("keras_name")
            else "use a built-in Keras function or layer instead"
        )
        lines.append(
            f"Layer {found['layer']!r} has {setting}={found['function']}, a function from outside Keras: {fix}."
        )
    if len(lines) == 1:
        lines.append(f"Keras says: {report.load_error or 'unknown error'}")
        lines.append("Build the model from built-in Keras layers and functions (no Lambda layers or custom code).")
    return "\n".join(lines)


def score(run: Run, model_path: Path) -> RunResult:
    """Score the saved model in a clean process; the unit's own process has ended."""
    # A folder of the scorer's own, holding a copy of the model: the unit's process could have
    # left a score.json next to its model, and a sandboxed scorer sees only its working folder.
    score_dir = Path(tempfile.mkdtemp(prefix="workshop-score-"))
    try:
        shutil.copyfile(model_path, score_dir / "model.keras")
        return score_in(run, score_dir / "model.keras", score_dir / protocol.SCORE)
    finally:
        shutil.rmtree(score_dir, ignore_errors=True)


def score_in(run: Run, model_path: Path, score_path: Path) -> RunResult:
    unit, isolation = run.unit, run.isolation
    environment = {key: value for key, value in os.environ.items() if not key.startswith("WORKSHOP_GRADE")}
    environment.update({"PYTHONPATH": package_parent(), "TF_CPP_MIN_LOG_LEVEL": "3", **isolation.thread_environment()})
    # The scorer's own limits: the run's memory limit and its pids cgroup, and the sandbox.
    scorer_limits = Isolation(memory_bytes=isolation.memory_bytes, pids_cgroup=isolation.pids_cgroup)
    try:
        completed = subprocess.run(
            [
                *isolation.pinning(),
                *limits_wrapper(scorer_limits),
                *isolation.scorer_prefix,
                sys.executable,
                "-m",
                "workshop.running.evaluate",
                unit.task,
                str(model_path),
                str(score_path),
                str(unit.goal),  # a score that misses it comes with a diagnosis (workshop.running.evaluate)
                str(unit.solution_path),  # a generated task draws its held-out data with its generator cells
            ],
            cwd=model_path.parent,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=EVALUATE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return run.finish("error", f"Scoring the model took longer than {EVALUATE_TIMEOUT_SECONDS} s.")
    scored = protocol.read_if_written(score_path, protocol.Score)
    if scored is None:
        stderr = completed.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        return run.finish("error", "Scoring the model failed:\n" + "\n".join(stderr))
    if scored.status != "ok":
        return run.finish("error", scored.message)
    value = scored.metrics.get(unit.goal.metric)
    met = unit.goal.is_met(value)
    verdict = "meets" if met else "does not meet"
    message = (
        f"{unit.goal.metric} = {value:.4f} {verdict} the goal {unit.goal.text} (held-out data, scored by the runner)."
    )
    if not met:
        message += scored.diagnosis or validation_gap_hint(unit, value, run.result.histories)
    return run.finish("ok", message, value=value, met=met, metrics=scored.metrics)


# The validation metric `fit` reports for each kind of goal metric, by the names Keras gives it.
VALIDATION_KEYS = {
    "accuracy": ("val_accuracy", "val_sparse_categorical_accuracy", "val_categorical_accuracy", "val_binary_accuracy"),
    "mae": ("val_mae", "val_mean_absolute_error"),
    "loss": ("val_loss",),
}


def validation_gap_hint(unit: Unit, value: float | None, histories: list[dict]) -> str:
    """When held-out data scores far below what `fit` reported on the learner's own validation
    data, the usual cause is preprocessing done outside the model: say so."""
    if value is None or not histories:
        return ""
    kind = unit.goal.metric.removeprefix("test_").removeprefix("val_")
    last_fit = next((history for history in reversed(histories) if history), {})
    key = next((key for key in VALIDATION_KEYS.get(kind, ()) if last_fit.get(key)), None)
    if key is None:
        return ""
    reached = last_fit[key][-1]
    far = reached - value >= 0.1 if unit.goal.op == ">=" else value >= 1.5 * reached
    if not far:
        return ""
    return (
        f"\nDuring `fit` your model reached {key} = {reached:.4f} on your validation data, far better than "
        "on the held-out data. The usual cause is preprocessing done outside the model (for example "
        "`x / 255` or a reshape before `fit`): the runner feeds the raw inputs, as loaded. Put that step "
        "inside the model (for example `layers.Rescaling(1 / 255)`)."
    )


def current_cell(out_dir: Path, notebook) -> str:
    try:
        progress = protocol.read_if_written(out_dir / protocol.PROGRESS, protocol.Progress)
    except protocol.MalformedRecord:
        return "running"  # only a progress line: the read after the run reports it (and the child is killed first)
    if progress is None or progress.cell is None:
        return "starting"
    return f"cell {progress.cell}/{len(notebook['cells'])}"


__all__ = ["Isolation", "RunResult", "SubmissionError", "UnitError", "run_unit"]
