"""The child process of the runner: execute one notebook and save its ``model``.

Run as ``python -m workshop.running.execute NOTEBOOK OUT_DIR``. It executes every cell in a
fresh Jupyter kernel (nbclient), so magics and inline figures behave as in Jupyter,
then saves the Keras model left in the name ``model`` to ``OUT_DIR/model.keras``: a cell before the
learner's first and one after their last call ``workshop.running.kernel`` inside the kernel.
It writes a ``Progress`` record before each cell (so a timeout can name the cell) and an
``Execution`` record at the end (``workshop.running.protocol``). It never scores anything: the score is
computed later by ``workshop.running.evaluate`` in a process this notebook never touched.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

from workshop.running import protocol

# Output beyond these sizes per cell is dropped, so a print loop cannot exhaust memory
# or bloat the executed notebook. Figures get more room than printed text.
MAX_TEXT_CHARS_PER_CELL = 200_000
MAX_OUTPUT_CHARS_PER_CELL = 8_000_000
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def setup_cell(*, themed_figures: bool) -> str:
    """The runner's cell before the learner's first: ``workshop.running.kernel.setup``."""
    return (
        "from workshop.running import kernel as __workshop_kernel\n"
        f"__workshop_histories = __workshop_kernel.setup(get_ipython(), themed_figures={themed_figures!r})\n"
    )


def save_cell(model_path: Path, report_path: Path) -> str:
    """The runner's cell after the learner's last: ``workshop.running.kernel.save_model``."""
    return (
        "from workshop.running import kernel as __workshop_kernel\n"
        f"__workshop_kernel.save_model(globals(), {str(model_path)!r}, {str(report_path)!r}, __workshop_histories)\n"
    )


class BoundedClient(NotebookClient):
    """An nbclient that caps each cell's output and reports the cell it starts.

    The notebook it runs is the learner's with the runner's setup cell in front (index 0) and its
    save cell behind, so nbclient's index of a learner's cell is the learner's own number for it.
    """

    def __init__(self, *args, progress_path: Path, learner_cells: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.progress_path = progress_path
        self.learner_cells = learner_cells
        self.current_index: int | None = None
        self.output_chars: dict[tuple[int, bool], int] = {}
        self.on_cell_start = self.record_progress

    def learner_number(self, index: int | None) -> int | None:
        return index if index is not None and 1 <= index <= self.learner_cells else None

    def record_progress(self, cell, cell_index):
        self.current_index = cell_index
        protocol.write(self.progress_path, protocol.Progress(cell=self.learner_number(cell_index), started=time.time()))

    def output(self, outs, msg, display_id, cell_index):
        is_text = msg.get("msg_type") == "stream"
        key, limit = (cell_index, is_text), MAX_TEXT_CHARS_PER_CELL if is_text else MAX_OUTPUT_CHARS_PER_CELL
        size = len(json.dumps(msg.get("content", {})))
        used = self.output_chars.get(key, 0)
        self.output_chars[key] = used + size
        if used + size > limit:
            if used <= limit:
                outs.append(
                    nbformat.v4.new_output("stream", name="stderr", text="[output truncated by the workshop runner]\n")
                )
            return None
        return super().output(outs, msg, display_id, cell_index)


def error_of(notebook, cell_index: int | None) -> dict:
    """The error output of the failing cell (nbclient's index), with ANSI colours removed."""
    cells = notebook.cells if cell_index is None else [notebook.cells[cell_index]]
    for cell in cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                traceback = ANSI_ESCAPE.sub("", "\n".join(output.get("traceback", [])))
                return {"ename": output.get("ename", ""), "evalue": output.get("evalue", ""), "traceback": traceback}
    return {"ename": "", "evalue": "", "traceback": ""}


def coalesce_streams(notebook) -> None:
    """Merge consecutive stdout (or stderr) outputs of a cell, as Jupyter displays them."""
    for cell in notebook.cells:
        merged = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (
                previous is not None
                and output.get("output_type") == "stream"
                and previous.get("output_type") == "stream"
                and previous.get("name") == output.get("name")
            ):
                previous["text"] += output["text"]
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged


def main(notebook_path: str, out_dir: str) -> int:
    out = Path(out_dir)
    notebook = nbformat.read(notebook_path, as_version=4)
    learner_cells = len(notebook.cells)
    model_path, report_path = out / "model.keras", out / protocol.MODEL_REPORT
    # Figures in both colour schemes cost a second rendering: only in the runs the site shows.
    themed = os.environ.get("WORKSHOP_THEMED_FIGURES") == "1"
    notebook.cells.insert(0, nbformat.v4.new_code_cell(setup_cell(themed_figures=themed)))
    notebook.cells.append(nbformat.v4.new_code_cell(save_cell(model_path, report_path)))
    client = BoundedClient(
        notebook,
        timeout=None,  # the parent enforces the wall-clock limit for the whole run
        kernel_name="python3",
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": os.getcwd()}},
        progress_path=out / protocol.PROGRESS,
        learner_cells=learner_cells,
    )
    result = protocol.Execution(status="ok")
    started = time.monotonic()
    try:
        client.execute()
    except CellExecutionError:
        failing = next(
            (
                i
                for i, c in enumerate(notebook.cells)
                if any(o.get("output_type") == "error" for o in c.get("outputs", []))
            ),
            None,
        )
        result = protocol.Execution(status="error", kind="exception", **error_of(notebook, failing))
        result.cell, result.in_runner_save = (
            client.learner_number(failing),
            failing is not None and failing > learner_cells,
        )
    except DeadKernelError:
        index = client.current_index
        result = protocol.Execution(status="error", kind="kernel_died", cell=client.learner_number(index))
        result.in_runner_save = index is not None and index > learner_cells
    result.execute_seconds = round(time.monotonic() - started, 2)
    result.cpu_seconds = cpu_seconds()
    # The executed notebook, without the runner's own cells, is what the site shows.
    notebook.cells = notebook.cells[1:-1]
    coalesce_streams(notebook)
    nbformat.write(notebook, out / "executed.ipynb")
    try:
        result.model = protocol.read_if_written(report_path, protocol.ModelReport)  # none if a cell failed
    except protocol.MalformedRecord as error:
        # Said in the Execution record, so the runner reports the runner's fault, not a dead notebook.
        result = protocol.Execution(status="error", kind=protocol.MALFORMED, evalue=str(error))
    protocol.write(out / protocol.EXECUTION, result)
    return 0


def cpu_seconds() -> float | None:
    """CPU time of this process and the kernel it started (None on Windows, which lacks `resource`)."""
    try:
        import resource
    except ImportError:
        return None
    # The kernel has been shut down and reaped, so its CPU time is in RUSAGE_CHILDREN.
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return round(sum(usage.ru_utime + usage.ru_stime for usage in used), 2)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
