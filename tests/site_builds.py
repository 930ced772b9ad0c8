"""Builds of the course site shared by test_site.py and test_browser.py (each built once per run).

The learner build (no solutions) and the instructor build (``WORKSHOP_SOLUTIONS=1``) go to two
temporary folders. The instructor build takes the executed solutions from the cache that the
``solution_runs`` fixture fills, so no solution trains twice in one test run.

``WORKSHOP_SITE_QUICK=1`` is for working on the site itself: the builds are not strict and the
instructor build publishes only the solutions already in the cache (nothing trains).
"""

from __future__ import annotations

import atexit
import functools
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from workshop.course.course import Course
from workshop.course.units import all_units

REPO = Course.find().root  # the checkout under test

QUICK = os.environ.get("WORKSHOP_SITE_QUICK") == "1"
# The learner build is made for a configured GitHub repository (launch buttons), the instructor
# build for none at all (no buttons), whatever the checkout's own `origin` is.
REPOSITORY = {"learner": "octo-org/keras-course", "instructor": "none"}
BRANCH = "spring-2027"
BUILD_ROOT = Path(tempfile.mkdtemp(prefix="workshop-site-"))
# Every test process that imports this module makes one; each build is hundreds of files, which
# a run left behind in the temporary folder until this was removed when the process ends.
atexit.register(shutil.rmtree, BUILD_ROOT, ignore_errors=True)


@functools.cache
def build(kind: str, track: str | None = None) -> Path:
    """Build the learner or instructor site (of `track`, else course.yml's default) into a
    temporary folder; fail with mkdocs' output."""
    destination = BUILD_ROOT / (f"{kind}-{track}" if track else kind)
    env = dict(
        os.environ,
        WORKSHOP_SOLUTIONS="1" if kind == "instructor" else "0",
        NO_MKDOCS_2_WARNING="1",
        WORKSHOP_REPOSITORY=REPOSITORY[kind],
        WORKSHOP_BRANCH=BRANCH,
    )
    env.pop("WORKSHOP_TRACK", None)
    if track:
        env["WORKSHOP_TRACK"] = track
    command = [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(destination)]
    if QUICK:
        env["WORKSHOP_SOLUTIONS_CACHED_ONLY"] = "1"
        command += ["--config-file", "-"]
        stdin = "INHERIT: mkdocs.yml\nstrict: false\n"
    else:
        command += ["--strict"]
        stdin = None
    completed = subprocess.run(
        command, check=False, cwd=REPO, env=env, input=stdin, capture_output=True, text=True, timeout=3600
    )
    build_log(kind, track).write_text(completed.stdout + completed.stderr, encoding="utf-8")
    assert completed.returncode == 0, f"the {kind} build failed:\n{completed.stdout}\n{completed.stderr}"
    return destination


def build_log(kind: str, track: str | None = None) -> Path:
    """What `mkdocs build` printed for that build."""
    return BUILD_ROOT / (f"{kind}-{track}.log" if track else f"{kind}.log")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@functools.cache
def serve(folder: Path) -> str:
    """Serve `folder` on 127.0.0.1 in a daemon thread; return its base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/"


def html_pages(site: Path) -> list[Path]:
    return sorted(path for path in site.rglob("*.html") if path.name != "404.html" and "assets" not in path.parts)


def page_url(site: Path, path: Path) -> str:
    relative = path.relative_to(site).as_posix()
    return relative.removesuffix("index.html")


def visible_text(markup: str) -> str:
    """Text of an HTML page or fragment, tags removed, entities decoded, whitespace collapsed."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.DOTALL)
    text = html.unescape(re.sub(r"<[^>]+>", "", markup))
    return " ".join(text.split())


def site_units():
    """The units on the site: all of them (a unit being written, without its exercise yet, only
    under WORKSHOP_SITE_QUICK=1)."""
    return [unit for unit in all_units() if not QUICK or unit.exercise_path.is_file()]


def solution_lines() -> dict[str, str]:
    """For each unit: the longest line of its solution blocks that its exercise does not contain."""
    distinctive = {}
    for unit in site_units():
        exercise = unit.exercise_path.read_text(encoding="utf-8")
        inside, candidates = False, []
        for line in unit.solution_path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("### BEGIN SOLUTION"):
                inside = True
            elif stripped.startswith("### END SOLUTION"):
                inside = False
            elif inside and not stripped.startswith(("#", "### STUB")) and stripped not in exercise:
                candidates.append(stripped)
        assert candidates, f"{unit.name}: no solution line that the exercise lacks"
        distinctive[unit.name] = " ".join(max(candidates, key=len).split())
    return distinctive


def search_text(site: Path) -> str:
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    return visible_text(" ".join(f"{doc['title']} {doc['text']}" for doc in index["docs"]))
