"""What the runner and its child processes tell each other: one record type per file.

A run has three processes (``workshop.running.runner``): the runner, the child that executes the notebook
(``workshop.running.execute``) and, once that has ended, the scorer (``workshop.running.evaluate``). They share
nothing but files in the run's folder, each holding one of these records as JSON, written
atomically with :func:`write` and read back with :func:`read`.

Cells are numbered as the learner sees them: from 1, over all the notebook's cells, Markdown
included. The runner's own cells (the setup cell before the learner's first, the cell that saves
``model`` after the last) have no number.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from workshop import atomic

PROGRESS = "progress.json"
EXECUTION = "execution.json"
MODEL_REPORT = "model_info.json"
SCORE = "score.json"


@dataclass
class Progress:
    """The child, before each cell: which one is running (a timeout names it)."""

    cell: int | None  # None: the runner's own setup or save cell
    started: float


@dataclass
class ModelReport:
    """The runner's save cell, inside the learner's kernel: what was left in ``model``."""

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
    kind: str | None = None  # for errors: "exception" or "kernel_died"
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


def from_dict(kind: type[Record], data: dict) -> Record:
    """``kind`` from its JSON object; unknown keys are ignored, nested records rebuilt."""
    hints = typing.get_type_hints(kind)
    values = {}
    for item in dataclasses.fields(kind):
        if item.name not in data:
            continue
        value = data[item.name]
        if hints[item.name] == ModelReport | None and isinstance(value, dict):
            value = from_dict(ModelReport, value)
        values[item.name] = value
    return kind(**values)


def read(path: str | Path, kind: type[Record]) -> Record | None:
    """The record in ``path``, or None when the file is missing or not a whole record (a process
    that died before writing it)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return from_dict(kind, data)
    except (OSError, ValueError, TypeError):
        return None
