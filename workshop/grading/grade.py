"""Batch grading of a class: ``workshop grade --exercise UNIT SUBMISSIONS --out OUT``.

Every submission goes through the one runner (``workshop.running.runner.run_unit``) inside the OS
confinement of ``workshop.grading.sandbox`` (which also builds the learner view and probes the
sandbox, here or on each Dask worker); the goal always comes from ``solutions/``. Each run's
wall-clock limit is the unit's, scaled for the runs sharing the machine's cores
(``runner.time_limit``; docs/grading.md, "Limits"). The gradebook (``OUT/gradebook.csv``, rows
of ``workshop.grading.gradebook.GradeRow``) is rewritten atomically after every submission, so
the grader can be killed at any moment; a rerun grades only what is missing or changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
import zipfile
from concurrent.futures import Executor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from workshop.course.course import Course
from workshop.course.units import Unit, load_unit
from workshop.grading import exports
from workshop.grading.feedback import write_feedback
from workshop.grading.gradebook import ERROR, GRADER_ERROR, OK, Gradebook, GradeError, GradeRow, now
from workshop.grading.sandbox import (
    GraderFailure,
    SandboxPlan,
    SandboxSpec,
    prepare_sandbox,
    sandbox_refusal,
    worker_plan,
)
from workshop.running.runner import time_limit

SUFFIXES = (".ipynb", ".py")
IGNORED = {"__pycache__", ".ipynb_checkpoints", ".git", ".DS_Store"}


@dataclass
class Submission:
    learner: str
    path: Path | None
    sha256: str
    problem: str | None = None
    name: str = ""  # the learner's name for people, when the learner is an id (Canvas' sortable name)
    late: bool = False  # handed in after the due date (Canvas marks it)

    @property
    def details(self) -> dict:
        """The gradebook columns that come from the submission itself."""
        return {"name": self.name, "late": self.late}


@dataclass
class Collected:
    """What a class folder or a Canvas archive holds."""

    submissions: list[Submission]
    folder: Path  # where the files are: the folder given, or where the archive was unpacked
    skipped: list[str]  # files reported and not graded, each with the reason


@dataclass
class Job:
    """One learner to grade; plain data so that a Dask worker can take it."""

    learner: str
    path: str
    sha256: str
    unit: str
    out_dir: str
    plan: SandboxPlan | None  # built here, or None: build it where the job runs (a Dask worker)
    # --timeout: the limit of a run alone, scaled for sharing like the unit's own (runner.time_limit)
    timeout_seconds: float | None = None
    spec: SandboxSpec | None = None
    details: dict = field(default_factory=dict)  # gradebook columns from the submission (name, late)
    credit: str = "pass"  # how the feedback says points are computed (workshop.grading.credit)
    points: float = 1.0
    jobs: int = 1  # runs at once on the machine where this one runs (-j); a Dask worker counts its threads
    course_root: str = ""  # the checkout whose solutions/ holds the unit (the same path on every worker)

    @property
    def course(self) -> Course:
        return Course(Path(self.course_root)) if self.course_root else Course.find()


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs: parallel runs, limits, the sandbox, and the points the feedback names."""

    jobs: int = 1
    timeout_seconds: float | None = None
    memory_bytes: int | None = None
    dask: str | None = None
    use_namespaces: bool = True
    extra_hidden: tuple[Path, ...] = ()
    credit: str = "pass"
    points: float = 1.0
    progress: bool | None = None


# ---------------------------------------------------------------------------------------------
# finding the submissions


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def collect(source: Path, unit: Unit, out_dir: Path) -> Collected:
    """The submissions in ``source``: a class folder, or Canvas' "Download Submissions" zip (or
    that zip unpacked). A zip is checked whole, then unpacked under ``OUT/archives/``; a bad one
    raises GradeError before anything is written."""
    from workshop.grading import canvas

    source = Path(source)
    out_existed = Path(out_dir).exists()
    try:
        if source.is_file() and zipfile.is_zipfile(source):
            folder = canvas.unpack(source, Path(out_dir) / "archives")
            try:
                skipped: list[str] = []
                return Collected(find_submissions(folder, unit, skipped), folder, skipped)
            except GradeError:  # nothing half-written: not even the unpacked archive
                shutil.rmtree(folder, ignore_errors=True)
                if not out_existed:
                    shutil.rmtree(out_dir, ignore_errors=True)
                raise
        elif source.is_file():
            raise GradeError(f"{source} is a file but not a zip archive: give the class folder or Canvas' zip.")
        else:
            folder = source
            if folder.is_dir():
                canvas.check_folder(folder)
    except canvas.ArchiveError as error:
        raise GradeError(str(error)) from None
    skipped: list[str] = []
    return Collected(find_submissions(folder, unit, skipped), folder, skipped)


def find_submissions(directory: Path, unit: Unit, skipped: list[str] | None = None) -> list[Submission]:
    """One entry per learner: ``<learner>.py``, ``<learner>.ipynb`` or a folder ``<learner>/``; or
    files named the Canvas way (``workshop.grading.canvas``): one learner per Canvas user id, the latest
    resubmission. Other files are listed in ``skipped`` with the reason."""
    from workshop.grading import canvas

    directory = Path(directory)
    if not directory.is_dir():
        raise GradeError(f"The submissions folder {directory} does not exist.")
    skipped = [] if skipped is None else skipped
    by_learner: dict[str, list[Path]] = {}
    canvas_files: list[canvas.CanvasFile] = []
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(".") or entry.name in IGNORED:
            continue
        parsed = canvas.parse(entry) if entry.is_file() else None
        if parsed is not None:
            if entry.suffix in SUFFIXES:
                canvas_files.append(parsed)
            else:
                skipped.append(f"{entry.name}: not a .ipynb or .py file (from Canvas user {parsed.learner})")
        elif entry.is_dir():
            by_learner.setdefault(entry.name, []).append(entry)
        elif entry.suffix in SUFFIXES:
            by_learner.setdefault(entry.stem, []).append(entry)
        else:
            skipped.append(f"{entry.name}: not a .ipynb or .py file, nor a learner's folder")
    try:
        canvas.check_names(canvas_files)
    except canvas.ArchiveError as error:
        raise GradeError(str(error)) from None
    submissions = [resolve(learner, entries, unit) for learner, entries in by_learner.items()]
    per_learner: dict[str, list[canvas.CanvasFile]] = {}
    for file in canvas_files:
        per_learner.setdefault(file.learner, []).append(file)
    for learner, files in per_learner.items():
        if learner in by_learner:
            raise GradeError(
                f"{learner!r} is both a Canvas user id and the name of another entry ({by_learner[learner][0].name}); "
                "rename that entry."
            )
        submissions.append(resolve_canvas(learner, files, unit))
    return sorted(submissions, key=lambda submission: submission.learner)


def resolve_canvas(learner: str, files: list, unit: Unit) -> Submission:
    """The latest resubmission of one Canvas learner; when it holds several files, the one named
    after the unit."""
    from workshop.grading import canvas

    newest = canvas.latest(files)
    if len(newest) > 1:
        named = [file for file in newest if file.stem.startswith(unit.name)]
        newest = named if len(named) == 1 else newest
    first = newest[0]
    details = {"name": first.name, "late": any(file.late for file in newest)}
    if len(newest) > 1:
        listing = ", ".join(file.filename for file in newest)
        digest = hashlib.sha256("\n".join(sorted(str(file.path) for file in newest)).encode()).hexdigest()
        return Submission(
            learner,
            None,
            digest,
            f"Ambiguous submission: {listing} were all handed in together; hand in one file, or name it "
            f"{unit.name}.ipynb.",
            **details,
        )
    return Submission(learner, first.path, sha256_of(first.path), **details)


def resolve(learner: str, entries: list[Path], unit: Unit) -> Submission:
    def problem(text: str, listing: list[Path]) -> Submission:
        digest = hashlib.sha256("\n".join(sorted(str(p) for p in listing)).encode()).hexdigest()
        return Submission(learner, None, digest, text)

    if len(entries) > 1:
        names = ", ".join(e.name for e in entries)
        return problem(f"Ambiguous submission: {names} all belong to {learner!r}; keep exactly one.", entries)
    entry = entries[0]
    if entry.is_file():
        return Submission(learner, entry, sha256_of(entry))
    candidates = sorted(
        p
        for p in entry.rglob("*")
        if p.is_file()
        and p.suffix in SUFFIXES
        and not any(part in IGNORED or part.startswith(".") for part in p.relative_to(entry).parts)
    )
    if not candidates:
        return problem(f"The folder {entry.name}/ holds no .ipynb or .py file for {unit.name}.", [entry])
    if len(candidates) > 1:
        named = [p for p in candidates if p.stem.startswith(unit.name)]
        if len(named) == 1:
            candidates = named
        else:
            names = ", ".join(str(p.relative_to(entry)) for p in (named or candidates))
            return problem(
                f"Ambiguous submission: the folder {entry.name}/ holds several files ({names}); "
                f"keep one, or name it {unit.name}.ipynb.",
                candidates,
            )
    return Submission(learner, candidates[0], sha256_of(candidates[0]))


def select_shard(submissions: list[Submission], shard: str | None) -> list[Submission]:
    """``i/n`` (1-based): every n-th learner in name order, starting with the i-th."""
    if not shard:
        return submissions
    try:
        index, count = (int(part) for part in shard.split("/"))
    except ValueError:
        raise GradeError(f"--shard takes i/n, e.g. 1/4 (got {shard!r}).") from None
    if not (count >= 1 and 1 <= index <= count):
        raise GradeError(f"--shard {shard}: i must be between 1 and n.")
    return [s for position, s in enumerate(submissions) if position % count == index - 1]


def select_only(submissions: list[Submission], only: list[str]) -> list[Submission]:
    """``--only NAME`` (repeatable): the learners with that id or name; every NAME must match."""
    if not only:
        return submissions
    chosen, unknown = [], []
    for name in only:
        matches = [s for s in submissions if name in (s.learner, s.name)]
        if not matches:
            unknown.append(name)
        elif len(matches) > 1:
            ids = ", ".join(s.learner for s in matches)
            raise GradeError(f"--only {name}: several learners have that name ({ids}); give the id.")
        chosen += [s for s in matches if s not in chosen]
    if unknown:
        known = ", ".join(s.learner + (f" ({s.name})" if s.name else "") for s in submissions[:20])
        raise GradeError(
            f"--only: no learner {', '.join(map(repr, unknown))} in this class. Learners: {known}"
            + (" ..." if len(submissions) > 20 else "")
        )
    return chosen


# ---------------------------------------------------------------------------------------------
# the gradebook


def problem_row(submission: Submission, unit: Unit, message: str) -> GradeRow:
    return GradeRow(
        learner=submission.learner,
        unit=unit.name,
        status=ERROR,
        metric=unit.goal.metric,
        goal=unit.goal.text,
        seconds=0.0,
        message=message,
        sha256=submission.sha256,
        graded_at=now(),
        **submission.details,
    )


# ---------------------------------------------------------------------------------------------
# grading one learner (runs in a thread, or on a Dask worker)


def grader_error_row(learner: str, sha256: str, unit: Unit, what: str) -> GradeRow:
    row = problem_row(Submission(learner, None, sha256), unit, "")
    row.status = GRADER_ERROR
    row.message = (
        f"The grader could not grade this submission ({what}). This is a problem of the grading "
        "machinery, not of the submission: fix it and run the same command again to grade it."
    )
    return row


def runs_at_once(job: Job) -> int:
    """How many runs share this machine with ``job``'s: the -j threads here, or on a Dask worker
    its own threads (each worker machine has its own cores)."""
    if job.plan is not None:
        return job.jobs
    try:
        from distributed import get_worker

        return int(getattr(get_worker(), "nthreads", job.jobs))
    except (ImportError, ValueError):  # not on a Dask worker after all
        return job.jobs


def grade_one(job: Job) -> GradeRow:
    """Run one submission through the runner in the sandbox; write its feedback; return its row."""
    from workshop.running.runner import run_unit

    unit = load_unit(job.unit, job.course)  # the goal comes from solutions/, never from the submission
    started = time.monotonic()
    try:
        plan = job.plan if job.plan is not None else worker_plan(job.spec)
        if not Path(job.path).is_file():
            raise GraderFailure(f"the submission {job.path} is not readable on {os.uname().nodename}")
        if plan.view and not Path(plan.view).is_dir():
            raise GraderFailure(f"the learner view {plan.view} is missing on {os.uname().nodename}")
        # Runs are not pinned: the OS shares the cores among them, so each one's limit grows with
        # the number that run at once (docs/grading.md, "Limits").
        limit = time_limit(unit, jobs=runs_at_once(job), alone_seconds=job.timeout_seconds)
        with plan.isolation() as isolation:
            result = run_unit(Path(job.path), unit, isolation=isolation, timeout_seconds=limit)
    except GraderFailure as failure:
        row = grader_error_row(job.learner, job.sha256, unit, str(failure)).with_details(job.details)
        row.submission = str(job.path)
        return row
    except Exception as error:  # noqa: BLE001 - a grader bug must not stop the batch, nor be the learner's
        row = grader_error_row(job.learner, job.sha256, unit, f"{type(error).__name__}: {error}")
        row.seconds = time.monotonic() - started
        return row.with_details(job.details)
    row = GradeRow(
        learner=job.learner,
        unit=unit.name,
        status=result.status,
        metric=unit.goal.metric,
        value=None if result.value is None else round(result.value, 4),  # as the gradebook keeps it
        goal=unit.goal.text,
        passed=result.status == OK and result.met,
        seconds=result.seconds,
        message=result.message,
        sha256=job.sha256,
        submission=str(job.path),
        graded_at=now(),
        **job.details,
    )
    try:
        write_feedback(
            Path(job.out_dir) / "feedback",
            job.learner,
            unit,
            row,
            result,
            Path(job.path),
            credit=job.credit,
            points=job.points,
        )
    except Exception as error:  # noqa: BLE001 - feedback is a courtesy; the row is what counts
        row.message += f" (feedback could not be written: {error})"
    return row


# ---------------------------------------------------------------------------------------------
# the batch


def dask_executor(address: str, workers: int):
    """A concurrent.futures-compatible executor backed by a Dask cluster."""
    from distributed import Client, LocalCluster

    if address == "local":
        cluster = LocalCluster(n_workers=1, threads_per_worker=workers, processes=False, dashboard_address=None)
        client = Client(cluster)
    else:
        cluster, client = None, Client(address)
    executor = client.get_executor()

    def close() -> None:
        client.close()
        if cluster is not None:
            cluster.close()

    return executor, close


def grade(
    unit_name: str,
    submissions_dir: Path,
    out_dir: Path,
    *,
    jobs: int = 1,
    force: bool = False,
    shard: str | None = None,
    timeout_seconds: float | None = None,
    memory_bytes: int | None = None,
    dask: str | None = None,
    use_namespaces: bool = True,
    extra_hidden: list[Path] = (),
    points: float = 1.0,
    credit: str = "pass",
    only: list[str] = (),
    progress: bool | None = None,
    course: Course | None = None,
    log=sys.stderr,
) -> dict:
    """Grade every submission; return a summary. Raises GradeError for bad arguments.

    ``submissions_dir`` is a class folder, or Canvas' "Download Submissions" zip or its unpacked
    folder (``workshop.grading.canvas``). ``only`` (learner ids or names) regrades just those learners,
    whatever their file, replacing their rows and nothing else. Besides ``gradebook.csv`` and
    ``feedback/``, writes the platform exports of ``workshop.grading.exports`` (Canvas CSV, Gradescope
    results): ``points`` for a pass, or with ``credit="linear"`` in proportion between the unit's
    floor and its goal. ``timeout_seconds`` replaces the unit's limit of a run alone; either is
    scaled for the runs that share the machine (``workshop.running.runner.time_limit``)."""
    from workshop.grading.credit import check_credit

    course = course or Course.find()
    if not points > 0:
        raise GradeError(f"--points must be a positive number (got {points}).")
    if jobs < 1:
        raise GradeError(f"-j/--jobs must be 1 or more (got {jobs}).")
    unit = load_unit(unit_name, course)
    check_credit(credit, unit)
    options = BatchOptions(
        jobs=jobs,
        timeout_seconds=timeout_seconds,
        memory_bytes=memory_bytes,
        dask=dask,
        use_namespaces=use_namespaces,
        extra_hidden=tuple(extra_hidden),
        credit=credit,
        points=points,
        progress=progress,
    )
    submissions_dir, out_dir = Path(submissions_dir).absolute(), Path(out_dir).absolute()
    collected = collect(submissions_dir, unit, out_dir)  # a bad archive stops here, before any output
    for line in collected.skipped:
        print(f"skipped {line}", file=log)
    submissions_dir = collected.folder
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "feedback").mkdir(exist_ok=True)
    everyone = select_shard(collected.submissions, shard)
    chosen = select_only(everyone, only)
    gradebook = Gradebook(out_dir / "gradebook.csv")

    todo, skipped = [], 0
    for submission in chosen:
        if not (force or only) and gradebook.is_current(submission, unit):
            skipped += 1
        elif submission.problem:
            row = problem_row(submission, unit, submission.problem)
            gradebook.put(row)
            write_feedback(
                out_dir / "feedback", submission.learner, unit, row, None, None, credit=credit, points=points
            )
        else:
            todo.append(submission)

    graded = run_all(todo, unit, submissions_dir, out_dir, gradebook, options, course, log=log) if todo else 0
    rows = [gradebook.rows[s.learner] for s in everyone if s.learner in gradebook.rows]
    exports.write_exports(out_dir, unit, rows, points, credit=credit)
    passed = sum(row.passed for row in rows)
    grader_errors = sum(row.status == GRADER_ERROR for row in rows)
    return {
        "graded": graded,
        "skipped": skipped,
        "failed": len(rows) - passed - grader_errors,
        "passed": passed,
        "grader_errors": grader_errors,
        "total": len(everyone),
        "skipped_files": collected.skipped,
        "gradebook": str(gradebook.path),
    }


def run_all(
    todo: list[Submission],
    unit: Unit,
    submissions_dir: Path,
    out_dir: Path,
    gradebook: Gradebook,
    options: BatchOptions,
    course: Course,
    log=sys.stderr,
) -> int:
    """Build the learner view and the sandbox (probed), then grade ``todo`` in parallel; return how
    many were graded (each row is in ``gradebook`` as soon as it is done).

    With ``--dask`` every worker builds its own view and sandbox where it runs (``worker_plan``);
    here, only threads of this process run submissions, in the view and sandbox built below.
    """
    spec = SandboxSpec(
        unit=unit.name,
        repo=str(course.root),
        out_dir=str(out_dir),
        submissions=str(submissions_dir),
        extra_hidden=tuple(str(path) for path in options.extra_hidden),
        memory_bytes=options.memory_bytes,
        use_namespaces=options.use_namespaces,
    )

    def jobs_with(plan: SandboxPlan | None) -> list[Job]:
        return [
            Job(
                learner=s.learner,
                path=str(s.path),
                sha256=s.sha256,
                unit=unit.name,
                out_dir=str(out_dir),
                plan=plan,
                timeout_seconds=options.timeout_seconds,
                spec=spec if plan is None else None,
                details=s.details,
                credit=options.credit,
                points=options.points,
                jobs=options.jobs,
                course_root=str(course.root),
            )
            for s in todo
        ]

    if options.dask:
        executor, close = dask_executor(options.dask, options.jobs)
        try:
            return run_batch(executor, jobs_with(None), gradebook, options.progress)
        finally:
            close()
    plan, view = prepare_sandbox(spec, out_dir / "sandbox.json", log=log)
    try:
        refusal = sandbox_refusal(plan, spec)
        if refusal:
            raise GradeError(
                f"{refusal} (see {out_dir / 'sandbox.json'}). Nothing was graded. To grade without it anyway, "
                "pass --no-namespaces: submissions can then reach the network and read or write whatever this "
                "user can."
            )
        executor = ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="grade")
        try:
            return run_batch(executor, jobs_with(plan), gradebook, options.progress)
        finally:
            # After Ctrl-C: start nothing new; the runs in progress end at their limits.
            executor.shutdown(wait=True, cancel_futures=True)
    finally:
        shutil.rmtree(view, ignore_errors=True)


def run_batch(executor: Executor, run_jobs: list[Job], gradebook: Gradebook, progress: bool | None) -> int:
    """Grade ``run_jobs`` on ``executor``, each row into ``gradebook`` as it comes; return the count."""
    from tqdm import tqdm

    bar = tqdm(
        total=len(run_jobs), unit="learner", disable=(not sys.stderr.isatty()) if progress is None else not progress
    )
    graded = failed = 0
    futures = {executor.submit(grade_one, job): job for job in run_jobs}
    try:
        for future in as_completed(futures):
            job = futures[future]
            try:
                row = future.result()
            except Exception as error:  # noqa: BLE001 - the worker itself failed (e.g. a lost Dask worker)
                what = f"{type(error).__name__}: {error}"
                row = grader_error_row(job.learner, job.sha256, load_unit(job.unit, job.course), what)
            gradebook.put(row.with_details(job.details))
            graded += 1
            failed += not row.passed
            bar.set_postfix_str(f"done {graded}, failed {failed}, remaining {len(run_jobs) - graded}")
            bar.update(1)
    finally:
        bar.close()
    return graded
