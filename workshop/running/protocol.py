"""What the runner and its child processes tell each other: one record type per file.

A run has three processes (``workshop.running.runner``): the runner, the child that executes the notebook
(``workshop.running.execute``) and, once that has ended, the scorer (``workshop.running.evaluate``). They share
nothing but files in the run's folder, each holding one of these records as JSON, written
atomically with :func:`write` (also inside the learner's kernel: ``workshop.running.kernel``) and
read back with :func:`read`, which tells a record never written (``MissingRecord``: the process
ended first, the notebook's doing) from one that is not a whole record of its kind
(``MalformedRecord``: bad JSON or a schema drift, the runner's own fault).

Cells are numbered as the learner sees them: from 1, over all the notebook's cells, Markdown
included. The runner's own cells (the setup cell before the learner's first, the cell that saves
``model`` after the last) have no number.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from workshop import atomic

PROGRESS = "progress.json"
EXECUTION = "execution.json"
MODEL_REPORT = "model_info.json"
SCORE = "score.json"
# Execution.kind when the child found the kernel's ModelReport malformed (the runner's fault).
MALFORMED = "malformed_record"


@dataclass
class Progress:
    """The child, before each cell: which one is running (a timeout names it)."""

    cell: int | None  # None: the runner's own setup or save cell
    started: float


@dataclass
class ModelReport:
    """The runner's save cell, inside the learner's kernel (``workshop.running.kernel.save_model``):
    what was left in ``model``."""

    histories: list[dict] = field(default_factory=list)  # what each `fit` returned
    saved: bool = False
    problem: str | None = None  # "no_model", "not_a_model" or "unloadable"
    type: str | None = None  # the type of a `model` that is not a Keras model
    load_error: str = ""
    foreign_functions: list[dict] = field(default_factory=list)  # {layer, setting, function, keras_name}


@dataclass
class Execution:
    """The child, at the end: how the notebook ran."""

    status: str  # "ok" or "error"
    kind: str | None = None  # for errors: "exception", "kernel_died" or MALFORMED
    cell: int | None = None  # the failing cell (learner's numbering)
    in_runner_save: bool = False  # the error came from saving `model`, after the learner's cells
    ename: str = ""
    evalue: str = ""
    traceback: str = ""
    execute_seconds: float | None = None
    cpu_seconds: float | None = None
    model: ModelReport | None = None


@dataclass
class Score:
    """The scorer: the task's metrics on held-out data, or why there are none."""

    status: str  # "ok" or "error"
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""
    diagnosis: str = ""  # when the goal is missed: the preprocessing step to move inside the model


Record = TypeVar("Record", Progress, ModelReport, Execution, Score)


def write(path: str | Path, record) -> None:
    atomic.write_text(path, json.dumps(dataclasses.asdict(record)))


class RecordError(Exception):
    """A record that cannot be read; the message names the file and why."""


class MissingRecord(RecordError):
    """The file is not there: the process meant to write it died (or never reached that point) first.

    Records are written atomically, so a process that dies leaves no file rather than part of one.
    """


class MalformedRecord(RecordError):
    """The file is there but is not a record of its kind (bad JSON, or keys or types that drifted
    from this module's dataclasses): a fault of the runner's own processes, never of the notebook."""


def conforms(value, hint) -> bool:
    """Whether a JSON value fits a field's annotation (outer types only: ``list[dict]`` checks the list)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        return any(conforms(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:  # JSON writes 2.0 as 2.0, but a hand-made record may hold 2
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, origin or hint)


def from_dict(kind: type[Record], data: dict) -> Record:
    """``kind`` from its JSON object; unknown keys are ignored, nested records rebuilt. Raises
    ``MalformedRecord`` for anything else than an object holding ``kind``'s required fields."""
    if not isinstance(data, dict):
        raise MalformedRecord(f"a {kind.__name__} record must be a JSON object, not {type(data).__name__}")
    hints = typing.get_type_hints(kind)
    values = {}
    for item in dataclasses.fields(kind):
        if item.name not in data:
            continue
        value = data[item.name]
        if hints[item.name] == ModelReport | None and value is not None:
            value = from_dict(ModelReport, value)
        elif not conforms(value, hints[item.name]):
            raise MalformedRecord(f"{item.name} = {value!r} in a {kind.__name__} record is not a {hints[item.name]}")
        values[item.name] = value
    missing = [
        item.name
        for item in dataclasses.fields(kind)
        if item.name not in values
        and item.default is dataclasses.MISSING
        and item.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise MalformedRecord(f"a {kind.__name__} record without {', '.join(missing)}")
    return kind(**values)


def read(path: str | Path, kind: type[Record]) -> Record:
    """The record in ``path``. Raises ``MissingRecord`` when there is no such file, and
    ``MalformedRecord`` when there is one that does not hold a ``kind`` (both name the file)."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise MissingRecord(f"no {kind.__name__} record: {path.name} was not written") from None
    try:
        return from_dict(kind, json.loads(content.decode("utf-8")))
    except ValueError as error:  # bad JSON or UTF-8 (both are ValueErrors)
        raise MalformedRecord(f"the runner's record {path.name} is not JSON ({error})") from None
    except MalformedRecord as error:
        raise MalformedRecord(f"the runner's record {path.name} is malformed: {error}") from None


def read_if_written(path: str | Path, kind: type[Record]) -> Record | None:
    """The record in ``path``, or None when it was not written (a process that ended before it);
    a malformed record still raises ``MalformedRecord``."""
    try:
        return read(path, kind)
    except MissingRecord:
        return None
