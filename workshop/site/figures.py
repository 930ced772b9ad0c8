"""Figures drawn while the site builds.

Lesson pages contain Python blocks that markdown-exec runs at build time
(```` ```python exec="on" html="on" ````). Those blocks draw with matplotlib and
end with ``show(figure, alt="...")``, which prints an ``<img>`` tag with the PNG
inlined, so the figure always matches the code that made it and needs no file.

What a block prints is cached under ``.cache/lesson-blocks/``, keyed on the block's code, the
package versions that draw it, the ``workshop`` package and the dataset manifest (and the
solutions, for blocks that draw generated data from them), like the executed solutions: a
rebuild with nothing changed runs no block.
"""

import functools
import hashlib
import html
import io
import json
import sys
import traceback
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt

from workshop.course.course import Course
from workshop.site import figure_themes

# Drawn on white for the light scheme; `figure_themes` makes the dark twin.
plt.rcParams.update(
    {
        "figure.facecolor": "white",
        "axes.facecolor": "white",
        "savefig.facecolor": "white",
        "figure.dpi": 100,
        "font.size": 10,
    }
)


def show(figure, alt, caption=None, width=None):
    """Print ``figure`` as inline PNG ``<img>`` tags with alt text, one per colour scheme (the
    stylesheet shows the one matching the reader's), and close it."""
    if not alt or not alt.strip():
        raise ValueError("every figure needs alt text that describes what it shows")
    light, dark = figure_themes.png_pair(figure, bbox_inches="tight")
    plt.close(figure)
    style = f' style="max-width:{int(width)}px"' if width else ""
    # markdown-exec captures what a block prints through the `print` it injects into the
    # block's globals; use that one, so the figure lands on the page and not on the console.
    print_ = sys._getframe(1).f_globals.get("print", print)
    images = figure_themes.image_pair_html(light, dark, alt, extra_class="workshop-figure", style=style)
    if caption:
        print_(f"<figure>{images}<figcaption>{html.escape(caption)}</figcaption></figure>")
    else:
        print_(f"<figure>{images}</figure>")


def lesson_cache_dir(course: Course) -> Path:
    """Where lesson blocks' outputs are kept, by ``lesson_block_key``."""
    return course.cache_dir / "lesson-blocks"


def _tree_digest(paths) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.name).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def lesson_block_key(code: str, course: Course) -> str:
    """Everything a lesson block's output can depend on: its code, the versions of the packages
    that run it, the workshop package (data readers, generators, this module) and the manifest."""
    from workshop.running import cache

    package = Path(__file__).resolve().parents[1]  # the whole workshop package
    ingredients = {
        "code": code,
        "packages": cache.package_versions(),
        "python": sys.version,
        "workshop": _tree_digest([*package.rglob("*.py"), *package.glob("*.toml")]),
    }
    if "workshop.course.reference" in code:  # quotes the reference runs recorded in results.json
        results_path = course.results_path
        ingredients["results"] = _tree_digest([results_path]) if results_path.is_file() else ""
    if "load_generator" in code:  # draws with the solutions' generator cells
        ingredients["solutions"] = _tree_digest(course.solutions_dir.glob("*.py"))
    return hashlib.sha256(json.dumps(ingredients, sort_keys=True).encode()).hexdigest()[:24]


def run_lesson_block(code: str, returncode=None, session=None, id=None, *, course: Course, **extra) -> str:
    """markdown-exec's runner for Python blocks, with a cache (in ``course``'s): what the block printed.

    The block runs in fresh globals (no ``session``), so its output depends on its code alone.
    An exception fails the block (and a strict build) with the block's traceback.
    """
    from markdown_exec import ExecutionError

    if session:
        raise ExecutionError("Lesson blocks run in fresh globals; remove the `session` option.")
    key_path = lesson_cache_dir(course) / f"{lesson_block_key(code, course)}.html"
    try:
        return key_path.read_text(encoding="utf-8")
    except OSError:
        pass
    buffer = io.StringIO()

    def print_(*args, **kwargs):
        kwargs["file"] = buffer
        print(*args, **kwargs)

    namespace = {"__name__": "__main__", "print": print_}
    try:
        exec(compile(code, f"<lesson block {id or ''}>", "exec"), namespace)  # noqa: S102 (the course's own lessons)
    except Exception:  # noqa: BLE001 (any error fails the build, with its traceback)
        raise ExecutionError(traceback.format_exc()) from None
    output = buffer.getvalue()
    from workshop import atomic

    atomic.write_text(key_path, output)
    return output


def lesson_block_formatter(course: Course):
    """The ``python`` fence formatter of markdown-exec for this course, running blocks through its cache."""
    from markdown_exec import base_format

    def format_lesson_block(**kwargs):
        return base_format(language="python", run=functools.partial(run_lesson_block, course=course), **kwargs)

    return format_lesson_block
