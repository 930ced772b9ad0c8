"""The ``workshop`` command: check, fetch, exercises, units, grade."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def command_check(args) -> int:
    from workshop.course.units import UnitError, load_unit, unit_for_path
    from workshop.running import protocol
    from workshop.running.runner import Isolation, run_unit, time_limit, unenforced

    try:
        unit = load_unit(args.unit) if args.unit else unit_for_path(args.path)
    except UnitError as error:
        return fail(str(error), args.json)
    # The limit the runner applies: exactly --timeout, else the unit's for this machine's cores.
    limit = args.timeout or time_limit(unit).seconds
    # Said once, before the run: what this machine does not let the runner enforce (macOS refuses
    # `ulimit -v`, Windows has no shell to apply it). The notebook runs and is scored all the same.
    for gap in unenforced(Isolation()):
        print(
            f"note: workshop check cannot enforce {gap} on this machine; it runs and scores without it.",
            file=sys.stderr,
        )
    progress = None
    if not args.json and sys.stderr.isatty():

        def progress(elapsed: float, where: str) -> None:
            sys.stderr.write(f"\r  running {unit.name}: {where}, {elapsed:4.0f} s (limit {limit:g} s)  ")
            sys.stderr.flush()

    try:
        result = run_unit(
            Path(args.path), unit, executed_path=args.executed, timeout_seconds=args.timeout, on_progress=progress
        )
    except protocol.MalformedRecord as error:
        # The runner's own processes disagreed about a record: a fault of this tool, not of the notebook.
        if progress:
            sys.stderr.write("\r" + " " * 78 + "\r")
        return fail(f"the workshop runner failed (not your notebook): {error}. Please report this.", args.json)
    if progress:
        sys.stderr.write("\r" + " " * 78 + "\r")
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print_result(result)
    return result.exit_code


def print_result(result) -> None:
    symbol = {"ok": "PASS" if result.met else "MISS", "error": "ERROR", "timeout": "TIMEOUT"}[result.status]
    print(f"{symbol}  {result.unit}  ({result.seconds:.0f} s)")
    print(f"  goal: {result.metric} {result.goal}")
    if result.value is not None:
        print(f"  {result.metric}: {result.value:.4f}")
    for line in result.message.splitlines():
        print(f"  {line}")
    if result.traceback:
        print("\n  Traceback of your code:")
        for line in result.traceback.splitlines()[-25:]:
            print(f"    {line}")


def command_fetch(args) -> int:
    from workshop.datasets.fetching import run_fetch

    return run_fetch(args)


def command_exercises(args) -> int:
    from workshop.course.course import Course
    from workshop.course.exercises import MarkerError, generate, stale_files

    course = Course.find()
    try:
        if args.check:
            stale = stale_files(course)
            if stale:
                print("exercises/ is out of date with solutions/: " + ", ".join(stale), file=sys.stderr)
                print("Run `make exercises` and commit the result.", file=sys.stderr)
                return 1
            print("exercises/ is up to date.")
            return 0
        changed = generate(course)
    except MarkerError as error:
        return fail(str(error))
    written = [name if name.startswith("solutions/") else f"exercises/{name}" for name in changed]
    print("\n".join(f"wrote {name}" for name in written) or "exercises/ is up to date.")
    return 0


def command_units(args) -> int:
    from workshop.course.course import Course
    from workshop.course.units import UnitError, all_units, unit_summary

    course = Course.find()
    if args.check:
        from workshop.course.checks import all_problems

        problems = all_problems(course)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(
                f"{len(problems)} problem(s); CONTRIBUTING.md says where each piece of a unit lives.", file=sys.stderr
            )
            return 1
        print(f"{len(all_units(course))} units, each consistent with its task, data, lesson and exercise.")
        return 0

    try:
        units = [unit_summary(unit) for unit in all_units(course)]
    except UnitError as error:
        return fail(str(error))
    if args.json:
        print(json.dumps(units, indent=2))
    else:
        for unit in units:
            print(
                f"{unit['unit']:32} {unit['metric']} {unit['goal']:8} budget {unit['budget_seconds']:4d} s  {unit['title']}"
            )
    return 0


def command_new(args) -> int:
    from workshop.course.course import Course
    from workshop.course.scaffold import ScaffoldError, create

    try:
        data = args.data or args.name[3:].replace("_", "-")
        written = create(args.name, data, args.metric, args.op, args.value, course=Course.find())
    except ScaffoldError as error:
        return fail(str(error))
    for path in written:
        print(f"wrote {path}")
    print(
        f"Now write the places marked (to write); `workshop units --check` lists them, and "
        f"`workshop check solutions/{args.name}.py` scores the solution against its goal."
    )
    return 0


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0 (e.g. --timeout 900)")
    return seconds


def parse_bytes(text: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def command_grade(args) -> int:
    from workshop.course.course import Course
    from workshop.course.units import UnitError
    from workshop.datasets.manifest import DataError
    from workshop.grading.grade import grade
    from workshop.grading.gradebook import GradeError, merge

    try:
        if args.merge:
            summary = merge(args.merge, args.out)
            print(f"merged {len(args.merge)} gradebooks: {summary['learners']} learners -> {summary['gradebook']}")
            return 0
        if not args.exercise or not args.submissions:
            return fail("workshop grade needs --exercise UNIT and a SUBMISSIONS folder (or --merge OUT ...).")
        summary = grade(
            args.exercise,
            args.submissions,
            args.out,
            jobs=args.jobs,
            force=args.force,
            shard=args.shard,
            timeout_seconds=args.timeout,
            memory_bytes=parse_bytes(args.memory) if args.memory else None,
            dask=args.dask,
            use_namespaces=not args.no_namespaces,
            extra_hidden=args.hide,
            points=args.points,
            credit=args.credit,
            only=args.only,
            course=(course := Course.find()),
        )
        if args.similarity:
            from workshop.grading.similarity import report_for_grading

            similar = report_for_grading(args.exercise, Path(args.out), cutoff=args.similarity_cutoff, course=course)
    except (GradeError, UnitError, DataError) as error:
        return fail(str(error))
    print(
        f"graded {summary['graded']}, skipped {summary['skipped']} (unchanged), "
        f"passed {summary['passed']}/{summary['total']} -> {summary['gradebook']}"
    )
    if summary.get("skipped_files"):
        print(f"{len(summary['skipped_files'])} file(s) not graded (listed above, 'skipped ...').")
    if args.similarity:
        print(
            f"similarity: {similar['flagged']} of {similar['pairs']} pairs at or above {similar['cutoff']:g} "
            f"-> {similar['report']}"
        )
    if summary.get("grader_errors"):
        print(
            f"{summary['grader_errors']} submission(s) could not be graded because of the grader itself "
            "(status grader-error in the gradebook); run the same command again to grade them.",
            file=sys.stderr,
        )
        return 3
    return 0


def fail(message: str, as_json: bool = False) -> int:
    if as_json:
        print(json.dumps({"status": "error", "message": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workshop", description="Keras Workshop: run, check and grade the course's units."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="run a solution or exercise file and score it against its goal")
    check.add_argument("path", type=Path, help="a unit file: .py (jupytext percent) or .ipynb")
    check.add_argument("--unit", help="the unit, when the file name does not say (e.g. 02_fashion_mnist_logreg)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--executed", type=Path, help="also write the executed notebook here")
    check.add_argument(
        "--timeout",
        type=positive_seconds,
        metavar="SECONDS",
        help="stop the run after this many seconds (default: the unit's, 3 x its budget + 90 s, scaled to the cores); "
        "raise it on a slow laptop",
    )
    check.set_defaults(handler=command_check)

    from workshop.datasets.manifest import datasets

    fetch = commands.add_parser(
        "fetch",
        help="download (or copy from a mirror) and verify datasets",
        description="Fetch and verify the course datasets.",
    )
    fetch.add_argument(
        "names", nargs="*", metavar="NAME", help=f"datasets to fetch (default: all of {', '.join(datasets())})"
    )
    fetch.add_argument(
        "--mirror",
        metavar="DIR|URL",
        help="take files from this course mirror laid out as <dataset>/<file>, a local folder or the "
        "instructor's http://HOST:PORT/, before trying the network (default: $WORKSHOP_DATA_MIRROR)",
    )
    fetch.add_argument(
        "--list", action="store_true", help="list the datasets, their files, sizes, checksums and licences"
    )
    fetch.add_argument(
        "--checksums", action="store_true", help="print `sha256sum -c` lines for every file, to check a mirror"
    )
    fetch.set_defaults(handler=command_fetch)

    exercises = commands.add_parser("exercises", help="generate exercises/ from solutions/")
    exercises.add_argument("--check", action="store_true", help="only report whether exercises/ is stale")
    exercises.set_defaults(handler=command_exercises)

    units = commands.add_parser("units", help="list the units with their goals and budgets")
    units.add_argument("--json", action="store_true")
    units.add_argument(
        "--check", action="store_true", help="check every unit's declaration against its task, data, lesson, exercise"
    )
    units.set_defaults(handler=command_units)

    new = commands.add_parser(
        "new",
        help="scaffold a unit: solution, lesson, and a task module when its data set is new",
        description="Write the files of a new unit (see CONTRIBUTING.md, 'Adding a unit').",
    )
    new.add_argument("name", help="NN_slug, e.g. 12_digit_sums")
    new.add_argument(
        "--data",
        help="its data set: one in workshop/datasets/datasets.toml, a task's, or a new name for generated data "
        "(default: the unit's slug, e.g. `demo` for 12_demo: a new generated data set)",
    )
    new.add_argument("--metric", default="test_accuracy", help="the goal's metric (default test_accuracy)")
    new.add_argument("--op", default=">=", choices=[">=", "<="], help="higher (>=) or lower (<=) is better")
    new.add_argument("--value", type=float, default=0.5, help="the goal's threshold (calibrate it; default 0.5)")
    new.set_defaults(handler=command_new)

    grade = commands.add_parser(
        "grade",
        help="grade a folder of submissions in a sandbox (instructors)",
        description="Grade every learner's submission for one unit; see docs/grading.md.",
    )
    grade.add_argument(
        "submissions",
        type=Path,
        nargs="?",
        help="folder with <learner>.ipynb|.py or <learner>/, or Canvas' 'Download Submissions' zip (or its folder)",
    )
    grade.add_argument("--exercise", help="the unit, e.g. 02_fashion_mnist_logreg (its goal comes from solutions/)")
    grade.add_argument("--out", type=Path, required=True, help="output folder: gradebook.csv, feedback/, sandbox.json")
    grade.add_argument("-j", "--jobs", type=int, default=1, help="submissions graded in parallel (default 1)")
    grade.add_argument("--force", action="store_true", help="regrade learners whose file did not change")
    grade.add_argument("--shard", help="grade only shard i of n (1-based), e.g. 2/4; merge the outputs with --merge")
    grade.add_argument("--timeout", type=float, help="wall-clock limit per submission in seconds (default: the unit's)")
    grade.add_argument("--memory", help="memory (address space) limit per submission, e.g. 8G (default 8G)")
    grade.add_argument("--dask", metavar="ADDRESS", help="run on a Dask cluster (scheduler address, or 'local')")
    grade.add_argument(
        "--hide",
        type=Path,
        action="append",
        default=[],
        help="cover one more folder inside an allowed path (nothing else is visible anyway)",
    )
    grade.add_argument(
        "--no-namespaces", action="store_true", help="grade without the bubblewrap sandbox (not recommended)"
    )
    grade.add_argument(
        "--points",
        type=float,
        default=1.0,
        help="points for a pass in canvas.csv and the Gradescope results (default 1)",
    )
    grade.add_argument(
        "--credit",
        choices=["pass", "linear"],
        default="pass",
        help="pass: --points for a pass, 0 otherwise (default); linear: in proportion between the unit's "
        "declared floor (0) and its goal (full points)",
    )
    grade.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="regrade only this learner (id or name; repeatable), replacing that row and nothing else",
    )
    grade.add_argument(
        "--similarity",
        action="store_true",
        help="also write OUT/similarity/: pairs of learners whose code is alike, for a person to look at",
    )
    grade.add_argument(
        "--similarity-cutoff",
        type=float,
        default=None,
        metavar="S",
        help="flag pairs whose similarity is at least S (0-1; default 0.5)",
    )
    grade.add_argument(
        "--merge", type=Path, nargs="+", metavar="OUT", help="merge these grade output folders into --out"
    )
    grade.set_defaults(handler=command_grade)

    from workshop.grading import course_grades  # `workshop gradebook`: the units' grades, per learner

    course_grades.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
