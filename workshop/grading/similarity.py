"""Which learners' code is alike: winnowed fingerprints, as in MOSS, for a person to look at.

Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document fingerprinting"
(SIGMOD 2003), the method behind MOSS:

1. The code a learner wrote: the code cells of the submission, less every line that is the
   stub's own text (``exercises/NN_slug.py``), since every learner starts from it.
2. Normalised: Python's tokenizer drops comments and blank lines; every name the learner made up
   becomes ``V`` (names of the stub, of Python and attributes stay: renaming variables changes
   nothing), every number ``N`` and every string ``S``.
3. Every run of ``K`` tokens hashed; in every window of ``W`` consecutive hashes the smallest is
   kept (the winnowing): any passage of ``K + W - 1`` tokens or more shared by two submissions
   shares at least one kept hash, wherever it sits in either (reordered cells change nothing).
4. Hashes the stub itself produces, and those shared by many learners (the exercise's common
   idioms, as MOSS's ``-m``), are dropped.
5. Each pair's similarity: the hashes they share over the hashes of the smaller of the two.

Pairs at or above the cut-off are flagged for a person to compare; nothing here changes a grade.
The report is ``OUT/similarity/index.html`` (pairs ranked), one side-by-side page per listed
pair with the shared lines marked, and ``similarity.csv``.
"""

from __future__ import annotations

import builtins
import csv
import html
import io
import keyword
import math
import time
import tokenize
import zlib
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from workshop import atomic

K = 12  # tokens per hashed run
W = 8  # hashes per winnowing window: shared runs of K + W - 1 = 19 tokens are always caught
DEFAULT_CUTOFF = 0.5
MIN_FINGERPRINTS = 8  # less own code than this is not compared (a stub handed back)
LISTED = 40  # pairs with a page of their own, besides the flagged ones
KEPT_NAMES = set(dir(builtins)) | set(keyword.kwlist) | {"self", "model"}


@dataclass
class Document:
    learner: str
    label: str  # what people see: the name and id
    lines: list[str]  # the learner's own code, line by line (stub lines blanked)
    tokens: list[str] = field(default_factory=list)
    token_lines: list[int] = field(default_factory=list)  # the line (0-based) of each token
    fingerprints: dict[int, list[int]] = field(default_factory=dict)  # hash -> token positions


def code_lines(path: Path) -> list[str]:
    """The code cells of a notebook or percent script, as lines (IPython magics dropped)."""
    from workshop.course.notebooks import code_cells, read_notebook

    lines: list[str] = []
    for _, source in code_cells(read_notebook(path)):
        for line in source.splitlines():
            stripped = line.lstrip()
            lines.append("" if stripped.startswith(("!", "%")) else line)
        lines.append("")
    return lines


def names_in(source: str) -> set[str]:
    return {token for kind, token in raw_tokens(source) if kind == tokenize.NAME}


def raw_tokens(source: str) -> list[tuple[int, str]]:
    return [(kind, text) for kind, text, _ in located_tokens(source)]


def located_tokens(source: str) -> list[tuple[int, str, int]]:
    """(type, text, line) of each token; a line the tokenizer cannot read is skipped, not fatal."""
    found: list[tuple[int, str, int]] = []
    reader = io.StringIO(source).readline
    try:
        for token in tokenize.generate_tokens(reader):
            found.append((token.type, token.string, token.start[0] - 1))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def normalise(source: str, kept: set[str]) -> tuple[list[str], list[int]]:
    """Tokens with made-up names, numbers and strings replaced; comments and layout dropped."""
    tokens, lines = [], []
    previous = ""
    for kind, text, line in located_tokens(source):
        if kind in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING):
            continue
        if kind == tokenize.ENDMARKER:
            break
        if kind == tokenize.NAME:
            text = text if (text in kept or previous == ".") else "V"
        elif kind == tokenize.NUMBER:
            text = "N"
        elif kind == tokenize.STRING or kind == getattr(tokenize, "FSTRING_START", -1):
            text = "S"
        elif kind == tokenize.NEWLINE:
            text = ";"
        tokens.append(text)
        lines.append(line)
        previous = text
    return tokens, lines


def winnow(tokens: list[str], k: int = K, w: int = W) -> dict[int, list[int]]:
    """The kept hashes of ``tokens`` with the positions of their runs (robust winnowing)."""
    hashes = [zlib.crc32("\x1f".join(tokens[i : i + k]).encode()) for i in range(len(tokens) - k + 1)]
    kept: dict[int, list[int]] = {}
    if not hashes:
        return kept
    if len(hashes) <= w:
        position = min(range(len(hashes)), key=lambda i: (hashes[i], -i))
        return {hashes[position]: [position]}
    last = -1
    for start in range(len(hashes) - w + 1):
        window = hashes[start : start + w]
        smallest = min(window)
        position = start + max(i for i, value in enumerate(window) if value == smallest)  # rightmost
        if position != last:
            kept.setdefault(hashes[position], []).append(position)
            last = position
    return kept


def document(learner: str, label: str, path: Path, stub_lines: set[str], kept: set[str]) -> Document:
    lines = [("" if line.strip() in stub_lines else line) for line in code_lines(path)]
    doc = Document(learner, label, lines)
    doc.tokens, doc.token_lines = normalise("\n".join(lines) + "\n", kept)
    doc.fingerprints = winnow(doc.tokens)
    return doc


@dataclass
class Pair:
    a: Document
    b: Document
    shared: set[int]
    score: float

    @property
    def slug(self) -> str:
        return f"{safe(self.a.learner)}--{safe(self.b.learner)}"


def safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def compare(documents: list[Document], stub_prints: set[int], common_limit: int | None = None) -> list[Pair]:
    """Every pair with something in common, most alike first."""
    limit = common_limit or max(4, math.ceil(0.1 * len(documents)))
    holders: dict[int, list[int]] = {}
    for index, doc in enumerate(documents):
        for value in doc.fingerprints:
            if value not in stub_prints:
                holders.setdefault(value, []).append(index)
    usable = [{v for v in doc.fingerprints if v not in stub_prints and len(holders[v]) <= limit} for doc in documents]
    counts: dict[tuple[int, int], set[int]] = {}
    for value, owners in holders.items():
        if len(owners) > limit or len(owners) < 2:
            continue
        for i, j in combinations(owners, 2):
            counts.setdefault((i, j), set()).add(value)
    pairs = []
    for (i, j), shared in counts.items():
        smaller = min(len(usable[i]), len(usable[j]))
        if smaller < MIN_FINGERPRINTS:
            continue
        pairs.append(Pair(documents[i], documents[j], shared, len(shared) / smaller))
    return sorted(pairs, key=lambda pair: (-pair.score, pair.a.learner, pair.b.learner))


def marked_lines(doc: Document, shared: set[int]) -> set[int]:
    lines = set()
    for value in shared:
        for position in doc.fingerprints.get(value, ()):
            lines.update(doc.token_lines[position : position + K])
    return lines


# ---------------------------------------------------------------------------------------------
# the report

STYLE = """<style>
body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}tr.flag td{background:#fff1e6}
.cols{display:flex;gap:1em}.cols>div{flex:1;min-width:0}pre{background:#f6f6f6;padding:.5em;overflow:auto;
font-size:12px;line-height:1.35}mark{background:#ffd27a}.gap{color:#999}.note{color:#555;max-width:60em}
</style>"""


def page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>{STYLE}"
        f"</head><body>{body}</body></html>\n"
    )


GAP = "<span class='gap'>\u22ee</span>"  # where blank lines and the stub's lines were


def side_by_side(pair: Pair, cutoff: float) -> str:
    columns = []
    for doc in (pair.a, pair.b):
        marked = marked_lines(doc, pair.shared)
        shown: list[str] = []
        for number, line in enumerate(doc.lines):
            if not line.strip():  # blank, or the stub's own line: runs of them shown as one
                if shown and shown[-1] != GAP:
                    shown.append(GAP)
                continue
            text = html.escape(line)
            shown.append(f"<mark>{text}</mark>" if number in marked else text)
        columns.append(f"<div><h2>{html.escape(doc.label)}</h2><pre>{chr(10).join(shown)}</pre></div>")
    verdict = "flagged for a person to compare" if pair.score >= cutoff else "below the cut-off"
    return page(
        f"{pair.a.label} and {pair.b.label}",
        f"<p><a href='../index.html'>All pairs</a></p><h1>{html.escape(pair.a.label)} and "
        f"{html.escape(pair.b.label)}: {pair.score:.0%}</h1><p class='note'>{len(pair.shared)} shared "
        f"fingerprints; {verdict} (cut-off {cutoff:.0%}). Marked: lines in a passage both wrote, after names, "
        "numbers, strings and comments were set aside; the stub's own lines are left out (\u22ee). "
        "Similar code is a reason to look, not a finding.</p>"
        f"<div class='cols'>{''.join(columns)}</div>",
    )


def write_report(folder: Path, unit_name: str, pairs: list[Pair], documents: list[Document], cutoff: float, seconds):
    folder = Path(folder)
    listed = [pair for pair in pairs if pair.score >= cutoff] or []
    listed += [pair for pair in pairs if pair.score < cutoff][:LISTED]
    rows = []
    for pair in listed:
        atomic.write_text(folder / "pairs" / f"{pair.slug}.html", side_by_side(pair, cutoff))
        flag = pair.score >= cutoff
        rows.append(
            f"<tr class='{'flag' if flag else ''}'><td>{pair.score:.0%}</td><td>{'yes' if flag else ''}</td>"
            f"<td>{html.escape(pair.a.label)}</td><td>{html.escape(pair.b.label)}</td><td>{len(pair.shared)}</td>"
            f"<td><a href='pairs/{pair.slug}.html'>compare</a></td></tr>"
        )
    flagged = sum(pair.score >= cutoff for pair in pairs)
    body = (
        f"<h1>Similarity: {html.escape(unit_name)}</h1><p class='note'>{len(documents)} submissions, "
        f"{len(documents) * (len(documents) - 1) // 2} pairs compared in {seconds:.1f} s; <b>{flagged}</b> at or "
        f"above the cut-off of {cutoff:.0%}. Similarity is the share of the smaller submission's fingerprints "
        f"(winnowed runs of {K} normalised tokens, as in MOSS) that the other has too, the stub's own code and "
        "passages most of the class shares left out. It flags pairs for a person to compare; it changes no "
        "grade.</p><table><tr><th>similarity</th><th>flagged</th><th>learner</th><th>learner</th>"
        "<th>shared</th><th></th></tr>" + "".join(rows) + "</table>"
    )
    atomic.write_text(folder / "index.html", page(f"Similarity: {unit_name}", body))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["learner_a", "learner_b", "similarity", "shared_fingerprints", "flagged"])
    for pair in pairs:
        flag = "true" if pair.score >= cutoff else "false"
        writer.writerow([pair.a.learner, pair.b.learner, f"{pair.score:.3f}", len(pair.shared), flag])
    atomic.write_text(folder / "similarity.csv", buffer.getvalue())
    return flagged


def stub_of(unit) -> tuple[set[str], set[int], set[str]]:
    """The stub's lines, its fingerprints and its names (kept as they are when normalising)."""
    path = unit.exercise_path
    lines = code_lines(path) if path.exists() else []
    source = "\n".join(lines) + "\n"
    kept = KEPT_NAMES | names_in(source)
    tokens, _ = normalise(source, kept)
    return {line.strip() for line in lines if line.strip()}, set(winnow(tokens)), kept


def similarity_report(unit, submissions: list[tuple[str, str, Path]], folder: Path, cutoff: float | None = None):
    """Compare ``submissions`` ((learner, label, path) each); write the report into ``folder``."""
    cutoff = DEFAULT_CUTOFF if cutoff is None else cutoff
    if not 0 < cutoff <= 1:
        from workshop.grading.gradebook import GradeError

        raise GradeError(f"--similarity-cutoff takes a number between 0 and 1 (got {cutoff}).")
    started = time.monotonic()
    stub_lines, stub_prints, kept = stub_of(unit)
    documents = []
    for learner, label, path in submissions:
        try:
            documents.append(document(learner, label, Path(path), stub_lines, kept))
        except Exception:  # noqa: BLE001, S112 - an unreadable file has no code to compare; its grade says why
            continue
    pairs = compare(documents, stub_prints)
    seconds = time.monotonic() - started
    flagged = write_report(folder, unit.name, pairs, documents, cutoff, seconds)
    return {
        "pairs": len(documents) * (len(documents) - 1) // 2,
        "flagged": flagged,
        "cutoff": cutoff,
        "seconds": seconds,
        "report": str(Path(folder) / "index.html"),
        "ranked": [(pair.a.learner, pair.b.learner, pair.score) for pair in pairs],
    }


def report_for_grading(unit_name: str, out_dir: Path, cutoff: float | None = None, course=None) -> dict:
    """The similarity report of a graded class: every learner in ``OUT/gradebook.csv`` with a file."""
    from workshop.course.units import load_unit
    from workshop.grading.gradebook import read_gradebook

    unit = load_unit(unit_name, course)  # course None: Course.find()
    submissions = []
    for row in read_gradebook(Path(out_dir) / "gradebook.csv"):
        if row.submission and Path(row.submission).is_file():
            label = f"{row.name} ({row.learner})" if row.name else row.learner
            submissions.append((row.learner, label, Path(row.submission)))
    return similarity_report(unit, submissions, Path(out_dir) / "similarity", cutoff)
