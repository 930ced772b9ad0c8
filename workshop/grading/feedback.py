"""The feedback a learner gets from a grading: ``feedback/<learner>.md`` and ``.html``.

The metric against the goal, the runner's message, the learning curve of their own ``fit``
calls, the cell that failed and its traceback: only what the learner's own run produced and
the score, never the held-out data.
"""

from __future__ import annotations

import html
from pathlib import Path

from workshop import atomic
from workshop.course.units import Unit
from workshop.grading.gradebook import ERROR, OK, TIMEOUT, GradeRow


def learner_cell(path: Path | None, cell: int | None) -> str | None:
    if path is None or not cell:
        return None
    try:
        from workshop.course.notebooks import code_cells, read_notebook

        notebook = read_notebook(path)
    except Exception:  # noqa: BLE001 - no cell to show
        return None
    # RunResult.cell counts the learner's cells from 1, as the runner's messages do.
    cells = notebook["cells"]
    if 1 <= cell <= len(cells):
        source = cells[cell - 1]["source"]
        return "".join(source) if isinstance(source, list) else source
    for number, source in code_cells(notebook):
        if number == cell:
            return source
    return None


def plot_curves(histories: list[dict], target: Path) -> bool:
    histories = [h for h in histories if h]
    if not histories:
        return False
    from matplotlib.figure import Figure

    merged: dict[str, list[float]] = {}
    for history in histories:  # several fit calls: continue the curve
        for key, values in history.items():
            merged.setdefault(key, []).extend(values)
    bases = [k for k in merged if not k.startswith("val_")]
    figure = Figure(figsize=(4 * max(len(bases), 1), 3.2))
    for index, key in enumerate(bases, start=1):
        axis = figure.add_subplot(1, len(bases), index)
        axis.plot(range(1, len(merged[key]) + 1), merged[key], label="training")
        if f"val_{key}" in merged:
            axis.plot(range(1, len(merged[f"val_{key}"]) + 1), merged[f"val_{key}"], label="validation")
        axis.set(xlabel="epoch", title=key)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(target, dpi=90)
    return True


def write_feedback(
    folder: Path,
    learner: str,
    unit: Unit,
    row: GradeRow,
    result,
    path: Path | None,
    *,
    credit: str = "pass",
    points: float = 1.0,
) -> Path:
    """``feedback/<learner>.md`` (and ``.html``): metric vs goal, points and how they were
    computed, curve, error and cell.

    Only what the learner's own run produced and the score: no held-out data, no seeds.
    """
    from workshop.grading.credit import explanation, points_for

    folder.mkdir(parents=True, exist_ok=True)
    verdict = (
        "Passed"
        if row.passed
        else {OK: "Below the goal", TIMEOUT: "Stopped: time limit", ERROR: "Error"}.get(row.status, row.status)
    )
    who = f"{row.name} ({learner})" if row.name else learner
    earned = points_for(row, unit, points, credit)
    lines = [f"# {unit.title}: feedback for {who}", "", f"**{verdict}**", ""]
    if row.late:
        lines += ["Handed in after the due date (as Canvas records it).", ""]
    lines += [
        "| metric | your model | goal |",
        "|---|---|---|",
        f"| {unit.goal.metric} | {row.value_text or '-'} | {unit.goal.text} |",
        "",
        (
            "The score is measured by the grader on held-out data your notebook never sees; "
            "what the notebook prints or assigns does not count."
        ),
        "",
        f"**Points:** {'none yet (the grader could not grade it)' if earned is None else f'{earned:g} of {points:g}'}. "
        + explanation(unit, points, credit),
        "",
        "## What happened",
        "",
        "```text",
        row.message,
        "```",
        "",
    ]
    curve = folder / f"{learner}-curve.png"
    histories = getattr(result, "histories", None) or []
    if plot_curves(histories, curve):
        lines += ["## Learning curve", "", f"![learning curve]({curve.name})", ""]
    else:
        curve.unlink(missing_ok=True)
    cell_source = learner_cell(path, getattr(result, "cell", None))
    if cell_source is not None:
        lines += [f"## Your cell {result.cell}", "", "```python", cell_source.rstrip(), "```", ""]
    traceback = getattr(result, "traceback", None)
    if traceback:
        tail = "\n".join(traceback.splitlines()[-30:])
        lines += ["## Traceback", "", "```text", tail, "```", ""]
    text = "\n".join(lines)
    atomic.write_text(folder / f"{learner}.md", text)
    atomic.write_text(folder / f"{learner}.html", to_html(text, f"{unit.name}: {learner}"))
    return folder / f"{learner}.md"


STYLE = (
    "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}pre{background:#f4f4f4;"
    "padding:.6em;overflow:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}</style>"
)


def to_html(markdown_text: str, title: str) -> str:
    try:
        import markdown

        body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"])
    except ImportError:
        body = f"<pre>{html.escape(markdown_text)}</pre>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        + STYLE
        + f"</head><body>{body}</body></html>\n"
    )
