"""Reading unit files: jupytext percent ``.py`` or ``.ipynb``, with errors a learner can act on."""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import nbformat


class SubmissionError(Exception):
    """The file cannot be read as a notebook; the message says why and what to do."""


def read_text(path: Path) -> str:
    """The file as text, as Python and Jupyter read it: UTF-8 with or without a byte-order mark
    (Windows editors write one), any line endings."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SubmissionError(f"{Path(path).name} is not UTF-8 text: {error}. Save it as UTF-8.") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_notebook(path: Path) -> nbformat.NotebookNode:
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file.")
    suffix = path.suffix.lower()
    if suffix == ".ipynb":
        try:
            notebook = nbformat.reads(read_text(path), as_version=4)
        except json.JSONDecodeError as error:
            raise SubmissionError(
                f"{path.name} is not a valid notebook file (it is not readable JSON: {error}). "
                "Re-download it from Jupyter or Colab with File > Download > .ipynb."
            ) from None
        except Exception as error:  # noqa: BLE001 - nbformat raises several kinds for malformed notebooks
            raise SubmissionError(f"{path.name} is not a valid notebook: {error}") from None
        try:
            nbformat.validate(notebook)
        except nbformat.ValidationError as error:
            raise SubmissionError(
                f"{path.name} is not a valid notebook ({error.message}). "
                "Re-download it from Jupyter or Colab with File > Download > .ipynb."
            ) from None
        return notebook
    if suffix == ".py":
        return jupytext.reads(read_text(path), fmt="py:percent")
    raise SubmissionError(f"{path.name}: expected a .py (jupytext percent) or .ipynb file.")


def code_cells(notebook) -> list[tuple[int, str]]:
    """(learner-visible cell number, source) for each code cell; numbers count all cells from 1."""
    return [
        (index + 1, "".join(cell["source"]))
        for index, cell in enumerate(notebook["cells"])
        if cell["cell_type"] == "code"
    ]
