"""Running a real workshop: tracks and their agendas, serving the room, the data mirror over HTTP.

Nothing here builds the site or trains (test_site.py builds it, for a track too).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workshop.course import tracks
from workshop.course.course import Course
from workshop.course.units import all_units
from workshop.room import serve
from workshop.site import pages

REPO = Course.find().root  # the checkout under test

CHECKOUT = Course(REPO)  # the course the agendas are read from (tracks' `course` is course.yml's plan)

MIRROR = Path(os.environ.get("WORKSHOP_DATA_MIRROR") or REPO.parent / "shared" / "data")
needs_mirror = pytest.mark.skipif(
    not (MIRROR / "SHA256SUMS").is_file(),
    reason=f"no dataset mirror at {MIRROR}: set WORKSHOP_DATA_MIRROR to the course's shared/data folder",
)


# --- Tracks and their agendas -------------------------------------------------------------------


def test_every_track_names_known_units_and_fits_its_days():
    course = tracks.load_course()
    assert {"full", "one-day"} <= set(course.tracks)
    assert course.default == "full", "the default build is the full course"
    for track in course.tracks.values():
        units = track.units()
        assert units, track.name
        agenda = pages.track_agenda(track, course, CHECKOUT, units)
        assert agenda.overrun is None, f"{track.name}: {agenda.overrun}"


def test_the_one_day_track_is_the_foundations_and_one_application_in_about_six_hours():
    course = tracks.load_course()
    track = course.tracks["one-day"]
    numbers = [unit.number for unit in track.units()]
    assert numbers[:2] == [1, 2], "the recipe, regression and classification come first"
    applications = [n for n in numbers if n >= 7]
    assert len(applications) == 1, numbers
    agenda = pages.track_agenda(track, course, CHECKOUT)
    assert len(agenda.day_ends) == 1
    day = agenda.day_ends[0]
    assert 5 * 60 <= day <= 6 * 60, f"the day with breaks lasts {pages.clock(day)}"
    assert agenda.breaks >= 3
    full = pages.track_agenda(course.tracks["full"], course, CHECKOUT)
    assert full.total == sum(row.minutes for row in full.rows if row.kind == "lesson") >= 10 * 60


def test_no_exercise_gets_less_time_than_its_unit_needs_to_train():
    course = tracks.load_course()
    for track in course.tracks.values():
        measured = pages.results.load()
        for row in pages.track_agenda(track, course, CHECKOUT).rows:
            if row.kind == "lesson" and row.unit[:2] == row.lesson[:2]:
                assert row.exercises >= pages.measured_training_minutes(row.unit, measured), row


def test_a_long_training_run_raises_the_exercise_time_and_says_so(monkeypatch):
    lesson = REPO / "docs" / "lessons" / "06_convolutional_networks.md"
    declared = int(pages.front_matter(lesson)["exercises"])
    slow = {"units": {"06_cnn_representations": {"seconds": (declared + 20) * 60 - 30}}}
    agenda = pages.schedule([lesson], measured=slow)
    (row,) = agenda.rows
    assert row.declared_exercises == declared and row.exercises == declared + 20
    monkeypatch.setattr(pages.results, "load", lambda *args: slow)
    track = tracks.Track("cnn", "CNN only", "", ("06_cnn_representations",))
    text = pages.agenda_markdown(CHECKOUT, track=track, plan=tracks.load_course())
    assert f"{declared + 20} min †" in text and "† More than the lesson declares" in text


def test_a_benchmarked_run_alone_sets_the_exercise_time_over_the_test_runs():
    slow_shared = {"seconds": 50 * 60, "cores": 1}
    assert pages.measured_training_minutes("x", {"units": {"x": slow_shared}}) == 50
    alone = {**slow_shared, "alone": {"seconds": 9 * 60 + 1, "cores": 2, "measured": "2026-12-05"}}
    assert pages.measured_training_minutes("x", {"units": {"x": alone}}) == 10


def mkdocs_page(tmp_path: Path, src_uri: str, names: list[str]):
    """A real MkDocs config, page and file list for ``src_uri`` and the downloads of ``names``."""
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import File, Files
    from mkdocs.structure.pages import Page

    config = MkDocsConfig()
    config.load_dict({"site_name": "t", "docs_dir": str(tmp_path / "docs"), "site_dir": str(tmp_path / "site")})
    (tmp_path / "docs").mkdir(exist_ok=True)
    assert not config.validate()[0]
    docs, site = str(tmp_path / "docs"), str(tmp_path / "site")
    uris = [src_uri, *(f"downloads/{name}{suffix}" for name in names for suffix in (".ipynb", ".py"))]
    files = [File(uri, docs, site, use_directory_urls=True) for uri in uris]
    page = Page(None, files[0], config)
    return config, page, Files(files)


def test_the_card_and_the_results_page_show_the_budget_and_the_run_alone_on_the_same_basis(tmp_path):
    import json

    first, second = all_units()[:2]
    checkout = Course(tmp_path)
    shared = {"value": 0.9, "met": True, "seconds": 1077.0, "cpu_seconds": 557.4, "cores": 1, "measured": "d"}
    measured = {
        "units": {
            first.name: {
                **shared,
                "alone": {"seconds": 212.4, "cpu_seconds": 390, "cores": 2, "measured": "2026-12-05"},
            },
            second.name: shared,
        }
    }
    checkout.results_path.write_text(json.dumps(measured))
    config, page, files = mkdocs_page(tmp_path, f"exercises/{first.name}.py", [first.name, second.name])
    card = pages.unit_card(first, page, config, files, solution=False, course=checkout)
    assert f"{first.budget_seconds} s for the whole notebook on 2 cores" in card
    assert "212 s for the whole notebook alone on 2 cores" in card and "2026-12-05" in card
    assert "1077" not in card and "one core" not in card, "the shared one-core time is not on the card"
    card = pages.unit_card(second, page, config, files, solution=False, course=checkout)
    assert "not measured yet" in card and "1077" not in card
    text = pages.results_markdown([first, second], checkout)
    assert "| Budget (2 cores) | Alone (2 cores) | CPU-s (one core) |" in text
    first_row, second_row = (
        next(line for line in text.splitlines() if f"({kind}/{u.name}.py)" in line)
        for kind, u in (("exercises", first), ("exercises", second))
    )
    assert f"| {first.budget_seconds} s | 212 s | 557 |" in first_row
    assert f"| {second.budget_seconds} s | not measured yet | 557 |" in second_row
    assert "1077" not in text


def test_breaks_and_days_are_laid_out_and_an_agenda_too_long_for_its_days_says_by_how_much():
    lessons = pages.track_lessons(CHECKOUT, all_units())
    agenda = pages.schedule(lessons, every=90, break_minutes=10, day_minutes=240, days=2, measured={})
    assert agenda.overrun and "days of 4:00" in agenda.overrun
    for day in range(1, len(agenda.day_ends) + 1):
        rows = [row for row in agenda.rows if row.day == day]
        assert rows[0].kind == "lesson" and rows[0].start == 0 and rows[-1].kind == "lesson"
        stretch = 0
        for row in rows:
            stretch = 0 if row.kind == "break" else stretch + row.minutes
            assert stretch <= 90 or row.start == 0 or rows[rows.index(row) - 1].kind == "break", row
    fits = pages.schedule(lessons, day_minutes=390, days=2, measured={})
    assert fits.overrun is None and len(fits.day_ends) == 2


def test_course_file_errors_say_what_to_change(tmp_path, monkeypatch):
    bad = tmp_path / "course.yml"
    bad.write_text("track: two-day\ntracks:\n  one-day:\n    units: [01_auto_mpg_regression]\n")
    with pytest.raises(tracks.TrackError, match=r"`track: two-day` is not one of its tracks \(one-day\)"):
        tracks.load_course(bad)
    bad.write_text("tracks:\n  t:\n    units: [99_nothing]\n")
    with pytest.raises(tracks.TrackError, match="unknown unit\\(s\\) 99_nothing"):
        tracks.selected_track(course=tracks.load_course(bad)).units()
    monkeypatch.setenv("WORKSHOP_TRACK", "half-day")
    with pytest.raises(tracks.TrackError, match="No track 'half-day'.*full, one-day"):
        tracks.selected_track()


def test_links_to_lessons_and_exercises_outside_the_track_become_text():
    markdown = (
        "See [lesson 9](09_text_generation.md#sampling), [lesson 2](02_classification.md), "
        "[the exercise](../exercises/09_text_generation.py) and [ours](../exercises/02_fashion_mnist_logreg.py)."
    )
    kept = pages.unlink_outside_track(markdown, {"02_classification"}, {"02_fashion_mnist_logreg"})
    assert kept == (
        "See lesson 9, [lesson 2](02_classification.md), the exercise and "
        "[ours](../exercises/02_fashion_mnist_logreg.py)."
    )


# --- Serving the room ---------------------------------------------------------------------------


def test_the_address_to_open_is_the_lan_address_when_serving_the_room():
    assert serve.addresses_to_open("127.0.0.1", 8000) == ["http://127.0.0.1:8000/"]
    room = serve.addresses_to_open("0.0.0.0", 8000)
    for url in room:
        host = re.match(r"http://([\d.]+):8000/$", url)[1]
        assert not host.startswith("127.") or url == "http://127.0.0.1:8000/"
    assert "Only this machine can open it: use HOST=0.0.0.0" in serve.announcement("127.0.0.1", 8000, "learner site")


def start_server(folder: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """`python -m workshop.room.serve` on a free port; returns the process and the first line it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "workshop.room.serve", "--port", "0", *args, str(folder)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    return process, line


def test_serving_the_room_prints_the_address_and_serves_it(tmp_path):
    (tmp_path / "index.html").write_text("<h1>the learner site</h1>")
    process, line = start_server(tmp_path, "--host", "0.0.0.0", "--what", "learner site")
    try:
        port = int(re.search(r":(\d+)/", line)[1])
        lan = serve.lan_addresses()
        if lan:
            assert f"Participants open: http://{lan[0]}:{port}/" in line, line
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert b"the learner site" in response.read()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_an_instructor_build_is_served_only_when_asked_by_name(tmp_path):
    (tmp_path / "index.html").write_text("home")
    (tmp_path / "solutions").mkdir()
    process, _ = start_server(tmp_path)
    assert process.wait(timeout=30) == 2
    assert "holds solution pages" in process.stderr.read()
    process, line = start_server(tmp_path, "--solutions", "--what", "instructor site")
    try:
        assert "Serving the instructor site at http://127.0.0.1:" in line
    finally:
        process.terminate()
        process.wait(timeout=10)


# As if typed at a shell: under `make test` a nested make would add "Entering directory" lines.
TOP_LEVEL_MAKE = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}


def test_the_makefile_builds_two_folders_and_serves_the_learner_one():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "LEARNER_SITE := site/learner" in makefile and "INSTRUCTOR_SITE := site/instructor" in makefile
    dry = subprocess.run(
        ["make", "-n", "--always-make", "serve", "HOST=0.0.0.0", "TRACK=one-day", "STAMP=x", "NODE_STAMP=y"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env=TOP_LEVEL_MAKE,
    )
    commands = dry.stdout
    assert "WORKSHOP_TRACK=one-day WORKSHOP_SOLUTIONS=0" in commands and "--site-dir site/learner" in commands
    assert "workshop.room.serve --host 0.0.0.0" in commands and commands.rstrip().endswith("site/learner")
    dry = subprocess.run(
        ["make", "-n", "--always-make", "site", "STAMP=x", "NODE_STAMP=y"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env=TOP_LEVEL_MAKE,
    )
    assert "WORKSHOP_SOLUTIONS=1" in dry.stdout and "--site-dir site/instructor" in dry.stdout


def test_the_instructor_build_refuses_the_learner_folder(tmp_path):
    from mkdocs.exceptions import PluginError

    from workshop.site import mkdocs_hooks

    course = Course(tmp_path / "course")
    os.environ["WORKSHOP_SOLUTIONS"] = "1"
    try:
        with pytest.raises(PluginError, match="would write solutions into .*site/learner"):
            mkdocs_hooks.check_site_dir({"site_dir": str(course.site_dir / "learner")}, course)
        mkdocs_hooks.check_site_dir({"site_dir": str(course.site_dir / "instructor")}, course)
        mkdocs_hooks.check_site_dir({"site_dir": str(REPO / "site" / "learner")}, course)  # another course's
    finally:
        del os.environ["WORKSHOP_SOLUTIONS"]


# --- The data mirror over the room's network ------------------------------------------------------


def free_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/"


def fetch_command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "WORKSHOP_DATA_MIRROR"}
    env.update(WORKSHOP_DATA_DIR=str(tmp_path / "data"), KERAS_HOME=str(tmp_path / "keras"))
    return subprocess.run(
        [sys.executable, "-m", "workshop", "fetch", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@needs_mirror
def test_a_participant_fetches_the_data_from_the_instructors_laptop(tmp_path):
    """The instructor serves the mirror with the workshop's own server; a participant's
    `workshop fetch --mirror http://...` takes every file from it, verified."""
    process, line = start_server(MIRROR, "--host", "127.0.0.1", "--what", "data mirror")
    try:
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", line)[1]
        completed = fetch_command(tmp_path, "auto-mpg", "tinyshakespeare", "--mirror", url)
        assert completed.returncode == 0, completed.stderr
        assert f"auto-mpg/auto-mpg.data: fetched from the mirror {url}" in completed.stdout
        for name in ("auto-mpg/auto-mpg.data", "auto-mpg/auto-mpg.names", "tinyshakespeare/input.txt"):
            assert (tmp_path / "data" / name).read_bytes() == (MIRROR / name).read_bytes(), name
        started = time.monotonic()
        again = fetch_command(tmp_path, "auto-mpg", "--mirror", url)
        assert again.returncode == 0 and "fetched from" not in again.stdout and time.monotonic() - started < 60
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_corrupt_or_unreachable_http_mirror_is_an_error_that_says_so(tmp_path):
    served = tmp_path / "mirror"
    (served / "auto-mpg").mkdir(parents=True)
    (served / "auto-mpg" / "auto-mpg.data").write_text("not the data")
    process, line = start_server(served, "--host", "127.0.0.1")
    try:
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", line)[1]
        completed = fetch_command(tmp_path, "auto-mpg", "--mirror", url)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert completed.returncode == 2
    assert f"the mirror copy {url}auto-mpg/auto-mpg.data is corrupt" in completed.stderr
    assert not (tmp_path / "data" / "auto-mpg" / "auto-mpg.data").exists()
    dead = free_port_url()
    completed = fetch_command(tmp_path, "auto-mpg", "--mirror", dead)
    assert completed.returncode == 2 and f"the mirror {dead} could not be reached" in completed.stderr
    assert "is its server running?" in completed.stderr


# --- Packages for a mixed room -------------------------------------------------------------------


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


def test_the_wheelhouse_recipe_resolves_each_platforms_markers_and_downloads_binary_wheels_only(capsys, tmp_path):
    from workshop.room import wheelhouse

    assert wheelhouse.make(tmp_path / "wheelhouse", show_only=True) == 0
    printed = capsys.readouterr().out
    for name in ("linux-x86_64", "macos-arm64", "windows-x86_64"):
        platform = wheelhouse.PLATFORMS[name]
        assert f"--python-platform {platform.uv}" in printed, name
        assert f"--platform {platform.pip[0]}" in printed, name
    assert printed.count("--only-binary=:all:") == 3 and printed.count("--no-deps") == 3
    assert "pyproject.toml" in printed and "build-requirements.in" in printed
    assert wheelhouse.build_requirements(Course.find()), "pip install -e . offline needs the build backend's wheel"


@pytest.mark.skipif(not pypi_reachable(), reason="needs PyPI")
def test_a_small_wheelhouse_for_three_platforms(tmp_path):
    """psutil has a wheel per platform; tqdm needs colorama on Windows only (a platform marker)."""
    from workshop.room import wheelhouse

    requirements = tmp_path / "small.in"
    requirements.write_text("psutil==7.2.2\ntqdm==4.70.1\n")
    assert wheelhouse.make(tmp_path / "wh", sources=[requirements]) == 0
    wheels = {folder.name: sorted(p.name for p in folder.glob("*.whl")) for folder in (tmp_path / "wh").iterdir()}
    assert any("win_amd64" in name for name in wheels["windows-x86_64"]), wheels
    assert any("macosx_11_0_arm64" in name for name in wheels["macos-arm64"]), wheels
    assert any("manylinux" in name and "x86_64" in name for name in wheels["linux-x86_64"]), wheels
    assert any(name.startswith("colorama-") for name in wheels["windows-x86_64"])
    assert not any(name.startswith("colorama-") for name in wheels["macos-arm64"] + wheels["linux-x86_64"])
    sums = (tmp_path / "wh" / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == sum(map(len, wheels.values()))
