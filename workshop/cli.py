"""The ``workshop`` command: check, fetch, exercises, units (and grade)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def command_check(args) -> int:
    from workshop.runner import run_unit
    from workshop.units import UnitError, load_unit, unit_for_path

    try:
        unit = load_unit(args.unit) if args.unit else unit_for_path(args.path)
    except UnitError as error:
        return fail(str(error), args.json)
    progress = None
    if not args.json and sys.stderr.isatty():

        def progress(elapsed: float, where: str) -> None:
            sys.stderr.write(f"\r  running {unit.name}: {where}, {elapsed:4.0f} s (limit {unit.timeout_seconds} s)  ")
            sys.stderr.flush()

    result = run_unit(Path(args.path), unit, executed_path=args.executed, on_progress=progress)
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


def command_exercises(args) -> int:
    from workshop.exercises import MarkerError, generate, stale_files

    try:
        if args.check:
            stale = stale_files()
            if stale:
                print("exercises/ is out of date with solutions/: " + ", ".join(stale), file=sys.stderr)
                print("Run `make exercises` and commit the result.", file=sys.stderr)
                return 1
            print("exercises/ is up to date.")
            return 0
        changed = generate()
    except MarkerError as error:
        return fail(str(error))
    print("\n".join(f"wrote exercises/{name}" for name in changed) or "exercises/ is up to date.")
    return 0


def command_units(args) -> int:
    from workshop.units import all_units, unit_summary

    units = [unit_summary(unit) for unit in all_units()]
    if args.json:
        print(json.dumps(units, indent=2))
    else:
        for unit in units:
            print(f"{unit['unit']:32} {unit['metric']} {unit['goal']:8} budget {unit['budget_seconds']:4d} s  {unit['title']}")
    return 0


def fail(message: str, as_json: bool = False) -> int:
    if as_json:
        print(json.dumps({"status": "error", "message": message}))
    else:
        print(f"error: {message}", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workshop", description="Keras Workshop: run, check and grade the course's units.")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="run a solution or exercise file and score it against its goal")
    check.add_argument("path", type=Path, help="a unit file: .py (jupytext percent) or .ipynb")
    check.add_argument("--unit", help="the unit, when the file name does not say (e.g. 02_fashion_mnist_logreg)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--executed", type=Path, help="also write the executed notebook here")
    check.set_defaults(handler=command_check)

    from workshop import data

    fetch = commands.add_parser("fetch", help="download (or copy from a mirror) and verify datasets")
    data.add_fetch_arguments(fetch)
    fetch.set_defaults(handler=data.run_fetch)

    exercises = commands.add_parser("exercises", help="generate exercises/ from solutions/")
    exercises.add_argument("--check", action="store_true", help="only report whether exercises/ is stale")
    exercises.set_defaults(handler=command_exercises)

    units = commands.add_parser("units", help="list the units with their goals and budgets")
    units.add_argument("--json", action="store_true")
    units.set_defaults(handler=command_units)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
