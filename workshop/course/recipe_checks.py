"""Is each exercise finishable from its text alone? (part of ``workshop units --check``)

A learner writes the code of a ``### BEGIN SOLUTION`` block from the Markdown above it and from
Keras' defaults where that text is silent. Two kinds of defect break that contract:

1. **An unstated setting.** A literal the reference solution passes to Keras (``patience=5``,
   ``Dense(256)``, ``batch_size=128``) that the instructions never give and that is not Keras'
   default: a learner who follows the text trains another recipe.
2. **An unstated name.** Something a later fixed cell reads from the learner's work: a variable,
   a layer looked up with ``get_layer("...")``, a key of ``history.history``. If the text never
   asks for it, the learner's notebook ends in an error.

Each finding is one line naming the unit, the file, the cell and the line. Deliberate
exceptions live in ``EXCEPTIONS`` below, each with its reason, and nowhere else.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import re
import textwrap
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jupytext

from workshop.course.exercises import BEGIN, END

# Keyword arguments that never change what a model learns or what a later cell reads. Keyed by
# keyword; the value is the reason a learner need not be told.
IGNORED_KEYWORDS = {
    "verbose": "how much Keras prints; no result depends on it",
    "name": "a model or layer name changes no result; a name a later cell reads is checked as such",
}

# Literals a unit's reference solution may pass without the text stating them, keyed by
# (unit, call, argument) where argument is a keyword or `#N` for the Nth positional argument
# (from 1). The value is the reason. Use "*" as the unit to cover every unit.
EXCEPTIONS: dict[tuple[str, str, str], str] = {
    ("*", "predict", "batch_size"): "inference in larger batches is faster and gives the same predictions",
    ("*", "evaluate", "batch_size"): "evaluation in larger batches is faster and gives the same figure",
}

# Methods of a Keras model whose defaults are Keras' (looked up on keras.Model).
MODEL_METHODS = {"fit", "compile", "predict", "evaluate"}

# Attribute reads whose string key a later cell needs, and what the fit must be given for it.
VALIDATION_WORDS = re.compile(r"validation_data|validation_split|validation (?:set|split)|validating on", re.IGNORECASE)

NUMBER = re.compile(r"(?<![\w.])(\d[\d,_]*(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+)(?![\w])", re.IGNORECASE)
FRACTION = re.compile(r"(\d+)\s*/\s*(\d+)")


@dataclass
class Block:
    """One solution block: where it is, its code, and the instructions a learner reads for it."""

    cell: int  # 1-based, as the learner sees cells
    line: int  # line of `### BEGIN SOLUTION` in the solution file
    code: str
    instructions: str  # the declaration and the Markdown cells right above the cell
    above: str  # the Markdown cells right above the cell only


@dataclass
class Fixed:
    """The code of one cell outside its solution blocks."""

    cell: int
    line: int
    code: str
    text_above: str  # every Markdown cell before this cell


def _split(text: str) -> tuple[list[Block], list[Fixed], dict[int, int]]:
    """Solution blocks and fixed code of a percent-format solution, with their cells' lines."""
    notebook = jupytext.reads(text, fmt="py:percent")
    lines = text.splitlines()
    starts = [number for number, line in enumerate(lines, start=1) if line.startswith("# %%")]
    blocks: list[Block] = []
    fixed: list[Fixed] = []
    cell_lines: dict[int, int] = {}
    markdown_above: list[str] = []  # Markdown since the previous code cell
    all_markdown: list[str] = []
    for index, cell in enumerate(notebook.cells):
        number = index + 1
        first_line = starts[index] + 1 if index < len(starts) else 1
        cell_lines[number] = first_line
        source = cell.source
        if cell.cell_type == "markdown":
            markdown_above.append(source)
            all_markdown.append(source)
            continue
        if cell.cell_type != "code":
            continue
        outside: list[str] = []
        inside: list[str] | None = None
        begin_line = 0
        for offset, line in enumerate(source.splitlines()):
            if BEGIN.match(line):
                inside, begin_line = [], first_line + offset
            elif END.match(line) and inside is not None:
                # The declaration (the first Markdown cell) heads every exercise: it counts as stated.
                instructions = "\n".join([*all_markdown[:1], *markdown_above])
                blocks.append(
                    Block(
                        number, begin_line, textwrap.dedent("\n".join(inside)), instructions, "\n".join(markdown_above)
                    )
                )
                outside.append(line.replace("### END SOLUTION", "pass"))
                inside = None
            elif inside is not None:
                inside.append(line)
            else:
                outside.append(line)
        fixed.append(Fixed(number, first_line, "\n".join(outside), "\n".join(all_markdown)))
        markdown_above = []
    return blocks, fixed, cell_lines


def _numbers(text: str) -> set[float]:
    found = set()
    text = re.sub(r"(\d)x(\d)", r"\1 x \2", text)  # 3x3, 28x28
    for match in NUMBER.finditer(text):
        try:
            found.add(float(match.group(1).replace(",", "").replace("_", "")))
        except ValueError:
            continue
    for numerator, denominator in FRACTION.findall(text):
        if float(denominator):
            found.add(float(numerator) / float(denominator))
    return found


def _mentions(text: str, word: str) -> bool:
    """Does `text` contain `word` as a whole identifier (not inside a longer one)?"""
    return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text) is not None


def _stated(value, keyword: str | None, text: str) -> bool:
    """Is the literal `value` (passed as `keyword`, if any) given in the instructions `text`?"""
    if isinstance(value, bool) or value is None:
        if keyword is None:
            return True
        words = [keyword, keyword.replace("_", " "), keyword.split("_")[-1]]
        return any(_mentions(text.lower(), word.lower()) for word in words)
    if isinstance(value, str):
        return _mentions(text.lower(), value.lower())
    if isinstance(value, int | float):
        numbers = _numbers(text)
        return any(abs(number - value) <= 1e-9 * max(1.0, abs(value)) for number in numbers)
    if isinstance(value, tuple):
        return all(_stated(item, None, text) for item in value)
    return True


def _literal(node: ast.AST):
    """The value of a literal expression (constants, tuples of them, `-x`, `a / b`), else a marker."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left, right = _literal(node.left), _literal(node.right)
        if isinstance(left, int | float) and isinstance(right, int | float) and right:
            return left / right
    return _NOT_LITERAL


_NOT_LITERAL = object()


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _keras_aliases(text: str) -> dict[str, str]:
    """Names the solution imports from Keras: {local name: module path}."""
    aliases = {}
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return aliases
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "keras":
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else "keras"
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "keras":
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


@cache
def _signature(path: str) -> inspect.Signature | None:
    """The signature of the Keras callable at dotted `path` (``keras.layers.Dense``), or None."""
    import importlib

    parts = path.split(".")
    try:
        target = importlib.import_module(parts[0])
        for part in parts[1:]:
            target = getattr(target, part)
        return inspect.signature(target)
    except (ImportError, AttributeError, ValueError, TypeError):
        return None


def _callee(call: ast.Call, aliases: dict[str, str]) -> tuple[str, str] | None:
    """(short name for messages, dotted Keras path) of a call into Keras, or None for other calls."""
    dotted = _dotted(call.func)
    if dotted is None:
        return None
    head, _, rest = dotted.partition(".")
    if head in aliases:
        return dotted.rsplit(".", 1)[-1], aliases[head] + (f".{rest}" if rest else "")
    if isinstance(call.func, ast.Attribute) and call.func.attr in MODEL_METHODS and head not in {"np", "numpy"}:
        return call.func.attr, f"keras.Model.{call.func.attr}"
    return None


def _same(default, value) -> bool:
    """Is `value` exactly Keras' `default` (``True`` is not ``1``)?"""
    if type(default) is not type(value):
        return False
    try:
        return bool(default == value)
    except (TypeError, ValueError):  # a default that does not compare is not equal
        return False


def _excused(unit: str, call: str, argument: str) -> bool:
    return (unit, call, argument) in EXCEPTIONS or ("*", call, argument) in EXCEPTIONS


def _describe(value) -> str:
    return repr(value) if not isinstance(value, float) else f"{value:g}"


def setting_problems(unit: str, where: str, block: Block, aliases: dict[str, str]) -> list[str]:
    """Literals a Keras call in `block` receives that its instructions do not state."""
    try:
        tree = ast.parse(block.code)
    except SyntaxError as error:
        return [f"{where} cell {block.cell} (line {block.line}): the solution block does not parse: {error.msg}."]
    problems = []
    constants = {}  # name -> literal assigned in this block (num_epochs = 22)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = _literal(node.value)
            if value is not _NOT_LITERAL and not isinstance(value, str):
                constants[node.targets[0].id] = (value, node.lineno)
    passed = set()  # names that reach a Keras call's arguments, directly or in an expression
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _callee(node, aliases):
            for argument in [*node.args, *(keyword.value for keyword in node.keywords)]:
                passed.update(item.id for item in ast.walk(argument) if isinstance(item, ast.Name))
    for name, (value, lineno) in sorted(constants.items(), key=lambda item: item[1][1]):
        if name in passed and not _stated(value, name, block.instructions):
            problems.append(
                f"{where} cell {block.cell} (line {block.line + lineno}): `{name} = {_describe(value)}` is not stated "
                "in the instructions above the cell: give the value in the text."
            )
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = _callee(node, aliases)
        if callee is None:
            continue
        short, path = callee
        signature = _signature(path)
        parameters = list(signature.parameters.values()) if signature else []
        parameters = [p for p in parameters if p.name != "self"]
        line = block.line + node.lineno
        arguments = [(f"#{position}", None, argument) for position, argument in enumerate(node.args, start=1)]
        arguments += [(keyword.arg, keyword.arg, keyword.value) for keyword in node.keywords if keyword.arg]
        for label, keyword, expression in arguments:
            if keyword in IGNORED_KEYWORDS or _excused(unit, short, label):
                continue
            value = _literal(expression)
            if value is _NOT_LITERAL:
                continue
            if keyword is None and label[1:].isdigit():  # its parameter, for the default
                position = int(label[1:]) - 1
                positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
                parameter = positional[position] if position < len(positional) else None
            else:
                parameter = signature.parameters.get(keyword) if signature else None
            if parameter is not None and _same(parameter.default, value):
                continue
            if _stated(value, keyword, block.instructions):
                continue
            shown = f"{keyword}={_describe(value)}" if keyword else f"{_describe(value)} (argument {label[1:]})"
            default = (
                f" (Keras' default: {_describe(parameter.default)})"
                if parameter is not None and parameter.default is not inspect.Parameter.empty
                else ""
            )
            problems.append(
                f"{where} cell {block.cell} (line {line}): `{shown}` in {short}(...) is neither stated in the "
                f"instructions above the cell nor Keras' default{default}: state it in the text, or list it in "
                "workshop/course/recipe_checks.py EXCEPTIONS with the reason."
            )
    return problems


def _bound_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
            names.update(argument.arg for argument in ast.walk(node.args) if isinstance(argument, ast.arg))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Lambda):
            names.update(argument.arg for argument in ast.walk(node.args) if isinstance(argument, ast.arg))
    return names


def name_problems(where: str, blocks: list[Block], fixed: list[Fixed]) -> list[str]:
    """Names, layer names and history keys that fixed cells read and the text never asks for."""
    fixed_trees = []
    for cell in fixed:
        try:
            fixed_trees.append((cell, ast.parse(cell.code)))
        except SyntaxError:
            continue
    fixed_names = set(dir(builtins))
    for _, tree in fixed_trees:
        fixed_names |= _bound_names(tree)
    block_trees = []
    for block in blocks:
        try:
            block_trees.append((block, ast.parse(block.code)))
        except SyntaxError:
            continue
    learner_names: dict[str, Block] = {}
    for block, tree in block_trees:
        for name in _bound_names(tree):
            learner_names.setdefault(name, block)
    fixed_layer_names = set()
    for _, tree in fixed_trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "name" and isinstance(node.value, ast.Constant):
                fixed_layer_names.add(node.value.value)
    problems = []
    reported = set()
    for cell, tree in fixed_trees:
        for node in ast.walk(tree):
            line = cell.line + getattr(node, "lineno", 1) - 1
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                name = node.id
                if name in fixed_names or name not in learner_names or name in reported:
                    continue
                if not _mentions(cell.text_above, name):
                    reported.add(name)
                    problems.append(
                        f"{where} cell {cell.cell} (line {line}): reads `{name}`, which only a solution block defines "
                        f"and no instruction asks for: name it in the text above cell {learner_names[name].cell}."
                    )
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get_layer"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                layer = node.args[0].value
                if layer in fixed_layer_names or _mentions(cell.text_above, layer):
                    continue
                problems.append(
                    f'{where} cell {cell.cell} (line {line}): looks up the layer "{layer}" with get_layer, but no '
                    f'instruction asks the learner to name a layer "{layer}": ask for it in the text, or use '
                    "what the learner's cell produced."
                )
            elif (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "history"
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)
            ):
                key = node.slice.value
                owner = _dotted(node.value.value)
                block = learner_names.get(owner or "")
                text = block.above if block else cell.text_above
                problem = _history_problem(key, text, cell.text_above)
                if problem and (owner, key) not in reported:
                    reported.add((owner, key))
                    problems.append(
                        f"{where} cell {cell.cell} (line {line}): reads {owner}.history[{key!r}], {problem}"
                    )
    return problems


def _history_problem(key: str, text: str, everything_above: str) -> str | None:
    """Why a learner following `text` (the training cell's instructions) would have no `key` in
    the history, or None. A metric may be asked for earlier (where the model is compiled)."""
    metric = key.removeprefix("val_")
    if key.startswith("val_") and not VALIDATION_WORDS.search(text):
        return (
            "but the instructions for the training cell never ask for validation data: "
            "state `validation_data=(x_val, y_val)` (or the split) in the text."
        )
    if metric != "loss" and not _mentions(everything_above, metric):
        return f'but the instructions for the training cell never ask for the "{metric}" metric: state it in the text.'
    return None


def recipe_problems(unit: str, path: Path) -> list[str]:
    """Every unstated setting and unstated name in one solution file, one line each."""
    text = path.read_text(encoding="utf-8")
    where = f"{unit}: solutions/{path.name}"
    blocks, fixed, _ = _split(text)
    aliases = _keras_aliases(text)
    problems = []
    for block in blocks:
        problems += setting_problems(unit, where, block, aliases)
    problems += name_problems(where, blocks, fixed)
    return problems
