"""`workshop grade`: hostile submissions never stop the batch, never change a score, never
touch the grader's files; the gradebook survives a killed grader.

One batch (the module fixture) grades a class folder that mixes every hostile case with the
honest solution and the generated stub, through the real command, with -j 2. Each test then
checks one row. The hostile cases do not train (tiny untrained models), so they fail fast.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import pytest
from grading_runs import rows_of, run_grade
from snooping import SNOOPER, Planted, leaks, plant_around

from workshop.course.course import Course
from workshop.course.units import load_unit
from workshop.datasets import manifest

COURSE = Course.find()  # the checkout under test

UNIT = "02_fashion_mnist_logreg"
IMPORTS = "# %%\nimport keras\nimport numpy as np\nfrom keras import layers\n"
UNTRAINED = (
    IMPORTS + "\n# %%\nmodel = keras.Sequential([keras.Input((28, 28)), layers.Rescaling(1 / 255), layers.Flatten(),"
    " layers.Dense(10, activation='softmax')])\n"
)
SLEEP_MARK = "987"  # the fork storm's sleeping processes run `sleep 987`
# Appended to IMPORTS: a second cell that never ends. It waits rather than spins: the limit is on
# wall-clock time, and a spinning loop would take a core from the rest of the suite all that time.
ENDLESS = "import time\n\n# %%\nwhile True:\n    time.sleep(0.05)\n"


def real_labels() -> Path:
    return manifest.file_path("fashion-mnist", "t10k-labels-idx1-ubyte.gz")


def protected_files() -> list[Path]:
    return [COURSE.root / "workshop" / "running" / "runner.py", load_unit(UNIT).solution_path, real_labels()]


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def hostile_cases(out_dir: Path, submissions: Path, port: int) -> dict[str, str]:
    targets = [str(p) for p in protected_files()] + [
        str(out_dir / "gradebook.csv"),
        str(submissions / "honest.py"),
        str(
            Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser()
            / "datasets"
            / "fashion-mnist"
            / "t10k-labels-idx1-ubyte.gz"
        ),
    ]
    return {
        "syntax": IMPORTS + "\n# %%\ndef broken(:\n    pass\n",
        "import_error": "# %%\nimport keras_does_not_exist\n",
        "memory_bomb": UNTRAINED + "\n# %%\nhog = []\nwhile True:\n    hog.append(bytearray(2**28))\n",
        "fake_accuracy": UNTRAINED
        + "\n# %%\nimport json, os\ntest_accuracy = 0.99\naccuracy = 1.0\nprint('test_accuracy: 0.99')\n"
        "for name in ('score.json', '.runner/score.json'):\n"
        "    try:\n"
        "        open(name, 'w').write(json.dumps({'status': 'ok', 'metrics': {'test_accuracy': 1.0}}))\n"
        "    except OSError:\n"
        "        pass\n",
        "monkeypatch": UNTRAINED + "\n# %%\nimport numpy, workshop.tasks, workshop.tasks.fashion_mnist as fm\n"
        "keras.Model.evaluate = lambda self, *a, **k: [0.0, 1.0]\n"
        "keras.metrics.Accuracy.result = lambda self: 1.0\n"
        "numpy.mean = lambda *a, **k: 1.0\n"
        "fm.FashionMnist.evaluate = lambda self, model: {'test_accuracy': 1.0}\n"
        "print(model.evaluate())\n",
        "writes": UNTRAINED + "\n# %%\nwrote = []\n"
        f"for target in {targets!r}:\n"
        "    try:\n"
        "        with open(target, 'ab') as stream:\n"
        "            stream.write(b'0')\n"
        "        wrote.append(target)\n"
        "    except OSError:\n"
        "        pass\n"
        "assert not wrote, f'could write {wrote}'\n",
        "heldout": UNTRAINED
        + "\n# %%\nimport gzip\n(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()\n"
        "try:\n"
        f"    with gzip.open({str(real_labels())!r}, 'rb') as stream:\n"
        "        y_true = np.frombuffer(stream.read(), np.uint8, offset=8)\n"
        "except OSError:\n"
        "    y_true = y_test  # the view's labels: shuffled\n"
        "model.compile('adam', 'sparse_categorical_crossentropy')\n"
        "model.fit(x_test, y_true, epochs=3, batch_size=128, verbose=0)\n",
        "sys_exit": IMPORTS + "\n# %%\nimport sys\nsys.exit(0)\n" + UNTRAINED.replace(IMPORTS, ""),
        "os_exit": IMPORTS + "\n# %%\nimport os\nos._exit(0)\n" + UNTRAINED.replace(IMPORTS, ""),
        "fork_storm": UNTRAINED + "\n# %%\nimport subprocess\nsleepers = []\nfor _ in range(1000):\n"
        f"    sleepers.append(subprocess.Popen(['sleep', '{SLEEP_MARK}']))\n",
        "thread_storm": UNTRAINED + "\n# %%\nimport threading, time\nthreads = []\nfor _ in range(1000):\n"
        "    threads.append(threading.Thread(target=time.sleep, args=(987,), daemon=True))\n"
        "    threads[-1].start()\n",
        "flood": UNTRAINED + "\n# %%\nfor i in range(20000):\n    print('x' * 1000)\n",
        "no_model": IMPORTS + "\n# %%\nweights = 3\n",
        "input_shape": IMPORTS
        + "\n# %%\nmodel = keras.Sequential([keras.Input((32, 32)), layers.Flatten(), layers.Dense(10)])\n",
        "output_shape": IMPORTS
        + "\n# %%\nmodel = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(5)])\n",
        "lambda_layer": IMPORTS
        + "\n# %%\nmodel = keras.Sequential([keras.Input((28, 28)), layers.Lambda(lambda x: x * 2),"
        " layers.Flatten(), layers.Dense(10)])\n",
        "network": UNTRAINED
        + f"\n# %%\nimport socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5).sendall(b'leak')\n",
    }


class Listener:
    """A TCP server outside the sandbox that records every connection it accepts."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(5)
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.accepted += 1
            connection.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("grade")
    submissions, out_dir = root / "class", root / "out"
    submissions.mkdir()
    listener = Listener()
    cases = hostile_cases(out_dir, submissions, listener.port)
    # A copy of the data the grader was not told about, inside the checkout: outside the
    # allow-list, so invisible (and named with --hide, which still works, for good measure).
    (COURSE.root / ".cache").mkdir(exist_ok=True)
    shared_copy = Path(tempfile.mkdtemp(prefix="hide-test-", dir=COURSE.root / ".cache"))
    (shared_copy / "answers.txt").write_text("the held-out labels")
    cases["hidden_copy"] = UNTRAINED + f"\n# %%\nprint(open({str(shared_copy / 'answers.txt')!r}).read())\n"
    # A snooper that searches the machine for files planted in the grader's home, beside the
    # checkout and in another learner's submission, and reports what it finds in its error.
    cases["snooper"] = SNOOPER
    planted = Planted()
    plant_around(planted, Path.home(), COURSE.root.parent, submissions / "classmate.py")
    for learner, source in cases.items():
        (submissions / f"{learner}.py").write_text(source)
    (submissions / "corrupt.ipynb").write_text('{"cells": [')
    (submissions / "stub").mkdir()
    shutil.copy(COURSE.root / "exercises" / f"{UNIT}.ipynb", submissions / "stub")
    (submissions / "two_files").mkdir()
    (submissions / "two_files" / "a.py").write_text(UNTRAINED)
    (submissions / "two_files" / "b.py").write_text(UNTRAINED)
    # The reference solution trains for a minute: graded only when the test that checks it runs.
    with_solution = any(item.name == "test_the_reference_solution_passes" for item in request.session.items)
    if with_solution:
        shutil.copy(load_unit(UNIT).solution_path, submissions / "honest.py")
    else:
        (submissions / "honest.py").write_text(UNTRAINED)
    before = {path: digest(path) for path in protected_files()}
    started = time.monotonic()
    completed = run_grade(submissions, "--out", out_dir, "-j", "2", "--hide", shared_copy, timeout=900)
    listener.close()
    shutil.rmtree(shared_copy, ignore_errors=True)
    planted_in_class = [path for path in planted.files if submissions in path.parents]
    planted.files = [path for path in planted.files if path not in planted_in_class]
    planted.remove()  # the home and sibling files; the classmate's stays with the class
    yield {
        "completed": completed,
        "rows": rows_of(out_dir),
        "out": out_dir,
        "submissions": submissions,
        "before": before,
        "listener": listener,
        "seconds": time.monotonic() - started,
        "learners": sorted([*cases, "corrupt", "stub", "two_files", "honest", "classmate"]),
        "planted": planted,
    }


def row(batch, learner: str) -> dict:
    return batch["rows"][learner]


def assert_error(batch, learner: str, *expected: str) -> dict:
    found = row(batch, learner)
    assert found["status"] in ("error", "timeout") and found["passed"] == "false", found
    assert any(text in found["message"] for text in expected), found["message"]
    return found


def assert_low_score(batch, learner: str) -> dict:
    found = row(batch, learner)
    assert found["status"] == "ok", found["message"]
    assert float(found["value"]) < 0.3 and found["passed"] == "false", found
    assert "held-out data, scored by the runner" in found["message"]
    return found


@pytest.mark.trains
def test_the_batch_finishes_with_a_complete_gradebook(batch):
    assert batch["completed"].returncode == 0, batch["completed"].stderr
    assert sorted(batch["rows"]) == batch["learners"]
    for found in batch["rows"].values():
        assert found["unit"] == UNIT and found["goal"] == ">= 0.84" and found["metric"] == "test_accuracy"
        assert len(found["sha256"]) == 64 and found["graded_at"]
        assert (batch["out"] / "feedback" / f"{found['learner']}.md").exists()
        assert (batch["out"] / "feedback" / f"{found['learner']}.html").exists()
    assert_sandbox_held(json.loads((batch["out"] / "sandbox.json").read_text()))


def assert_sandbox_held(report: dict) -> None:
    """What the grader's sandbox.json must say of a batch that ran: every protection it refuses to
    grade without is active (every key exists in every report, so only the values tell)."""
    protections = report["protections"]
    required = ("network", "read_only", "allow_list", "scorer", "held_out_withheld", "pid_namespace")
    assert [name for name in required if not protections[name]["active"]] == [], protections
    assert report["mechanism"].startswith("bubblewrap"), report["mechanism"]
    # Not every machine delegates a pids cgroup: the report says so, and agrees with the plan.
    assert protections["pids_cgroup"]["active"] == (report["pids_root"] is not None), report


@pytest.mark.trains
def test_syntax_error(batch):
    assert_error(batch, "syntax", "Syntax error in cell 2, line 1")


@pytest.mark.trains
def test_exception_at_import(batch):
    assert_error(batch, "import_error", "ModuleNotFoundError: No module named 'keras_does_not_exist'")


@pytest.mark.trains
def test_memory_bomb(batch):
    assert_error(batch, "memory_bomb", "MemoryError", "out of memory", "died")


@pytest.mark.trains
def test_printed_or_assigned_accuracy_and_a_planted_score_change_nothing(batch):
    assert_low_score(batch, "fake_accuracy")


@pytest.mark.trains
def test_monkeypatching_keras_or_the_metric_changes_nothing(batch):
    assert_low_score(batch, "monkeypatch")


@pytest.mark.trains
def test_writes_to_the_graders_files_solutions_and_data_fail(batch):
    assert_low_score(batch, "writes")  # its own check raised if any write had succeeded
    assert {path: digest(path) for path in protected_files()} == batch["before"]
    assert (batch["submissions"] / "honest.py").read_bytes()[-1:] != b"0"


@pytest.mark.trains
def test_reading_the_held_out_labels_gives_nothing(batch):
    # The real labels are hidden, so it trains on the view's shuffled ones: scored, and low.
    assert_low_score(batch, "heldout")


@pytest.mark.trains
def test_sys_exit_before_training(batch):
    assert_error(batch, "sys_exit", "SystemExit")


@pytest.mark.trains
def test_os_exit_before_training(batch):
    assert_error(batch, "os_exit", "died")


@pytest.mark.trains
def test_fork_storm_is_bounded_and_cleaned_up(batch):
    assert_error(batch, "fork_storm", "BlockingIOError", "Resource temporarily unavailable", "processes")
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if (p.info["cmdline"] or [])[-2:] == ["sleep", SLEEP_MARK]]
    assert not leftovers


@pytest.mark.trains
def test_a_thread_storm_hits_the_pids_cgroup(batch):
    sandbox = json.loads((batch["out"] / "sandbox.json").read_text())
    if not sandbox["protections"]["pids_cgroup"]["active"]:
        pytest.skip("no writable pids cgroup here")
    assert_error(batch, "thread_storm", "can't start new thread")


@pytest.mark.trains
def test_a_flood_of_output(batch):
    assert_low_score(batch, "flood")


@pytest.mark.trains
def test_a_corrupt_notebook(batch):
    assert_error(batch, "corrupt", "not a valid notebook")


@pytest.mark.trains
def test_no_model(batch):
    assert_error(batch, "no_model", "left no Keras model in the name `model`")


@pytest.mark.trains
def test_wrong_input_or_output_shape(batch):
    assert_error(batch, "input_shape", "expects inputs of shape (32, 32)")
    assert_error(batch, "output_shape", "outputs shape (5,)")


@pytest.mark.trains
def test_a_lambda_layer_is_refused(batch):
    assert_error(batch, "lambda_layer", "safe_mode=True")


@pytest.mark.trains
def test_the_network_is_unreachable(batch):
    assert_error(batch, "network", "ConnectionRefusedError", "Network is unreachable", "OSError")
    assert batch["listener"].accepted == 0


@pytest.mark.trains
def test_an_ambiguous_folder_is_an_error_row(batch):
    assert_error(batch, "two_files", "Ambiguous submission")


@pytest.mark.trains
def test_a_folder_named_with_hide_is_invisible(batch):
    assert_error(batch, "hidden_copy", "FileNotFoundError")


@pytest.mark.trains
def test_a_snooper_finds_nothing_of_the_machine_and_nothing_reaches_the_output(batch):
    """Home, a folder beside the checkout, another learner's file: none is visible inside, so no
    byte of them reaches the gradebook, the feedback, the Canvas CSV or Gradescope's results."""
    found = assert_error(batch, "snooper", "CHANNEL-OK")  # the report channel works
    assert "found []" in found["message"], found["message"]
    top_level = found["message"].split("top level ", 1)[1].split("]", 1)[0]
    assert not {"'home'", "'srv'", "'media'", "'mnt'"} & set(top_level.strip("[").split(", ")), top_level
    assert leaks(batch["out"], batch["planted"]) == []
    feedback = (batch["out"] / "feedback" / "snooper.md").read_text()
    assert "CHANNEL-OK" in feedback and batch["planted"].token not in feedback


@pytest.mark.slow
def test_the_snooper_finds_the_planted_files_when_nothing_confines_it(tmp_path):
    """The same snooper, graded with --no-namespaces: it finds the file in the grader's home and
    reports it, so the test above would see a leak if the sandbox let one through."""
    submissions, out_dir = tmp_path / "class", tmp_path / "out"
    submissions.mkdir()
    (submissions / "snooper.py").write_text(SNOOPER)
    planted = Planted()
    try:
        plant_around(planted, Path.home(), COURSE.root.parent, submissions / "classmate.py")
        completed = run_grade(submissions, "--out", out_dir, "--no-namespaces", timeout=600)
    finally:
        planted.remove()
    assert completed.returncode == 0, completed.stderr
    message = rows_of(out_dir)["snooper"]["message"]
    assert "CHANNEL-OK" in message and f"{planted.token}-home" in message, message
    assert str(out_dir / "gradebook.csv") in leaks(out_dir, planted)


@pytest.mark.trains
def test_the_generated_stub_fails(batch):
    assert_error(batch, "stub", "NotImplementedError")


@pytest.mark.trains
def test_the_reference_solution_passes(batch):
    found = row(batch, "honest")
    assert found["status"] == "ok" and found["passed"] == "true", found
    assert float(found["value"]) >= 0.84
    feedback = (batch["out"] / "feedback" / "honest.md").read_text()
    assert "Learning curve" in feedback and (batch["out"] / "feedback" / "honest-curve.png").exists()
    assert "t10k" not in feedback


@pytest.mark.trains
def test_feedback_shows_the_learners_cell_and_not_the_data(batch):
    feedback = (batch["out"] / "feedback" / "import_error.md").read_text()
    assert "import keras_does_not_exist" in feedback and "| test_accuracy | - | >= 0.84 |" in feedback


# ---------------------------------------------------------------------------------------------
# killed mid-batch, resumed; an infinite loop; Dask; shards


@pytest.mark.slow
def test_killing_the_grader_mid_batch_then_rerunning_finishes_without_regrading(tmp_path):
    submissions, out_dir = tmp_path / "class", tmp_path / "out"
    submissions.mkdir()
    (submissions / "a_first.py").write_text(IMPORTS + "\n# %%\nweights = 1\n")
    # A token of this run's own, so that no other run's endless loop (a concurrent test's, or one a
    # killed test run left in the temporary folder) is taken for this one.
    token = f"run {uuid.uuid4().hex}"
    (submissions / "b_loop.py").write_text(IMPORTS + ENDLESS + f"# {token}\n")
    (submissions / "c_last.py").write_text(IMPORTS + "\n# %%\nweights = 3\n")
    command = [
        sys.executable,
        "-m",
        "workshop",
        "grade",
        "--exercise",
        UNIT,
        str(submissions),
        "--out",
        str(out_dir),
        "-j",
        "1",
        # Room for starting a kernel and importing Keras while the suite trains on both cores (a
        # submission without a model took more than 15 s there); only the endless loop waits it out.
        "--timeout",
        "45",
    ]
    started = time.time()
    grader = subprocess.Popen(command, cwd=COURSE.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and running_cell(token, since=started) != 2:
        time.sleep(0.2)
    assert running_cell(token, since=started) == 2, "the endless loop never started"
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    first = rows_of(out_dir)
    assert list(first) == ["a_first"]
    feedback_mtime = (out_dir / "feedback" / "a_first.md").stat().st_mtime_ns

    completed = subprocess.run(command, cwd=COURSE.root, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "skipped 1" in completed.stdout
    rows = rows_of(out_dir)
    assert sorted(rows) == ["a_first", "b_loop", "c_last"]
    assert rows["a_first"]["graded_at"] == first["a_first"]["graded_at"]
    assert (out_dir / "feedback" / "a_first.md").stat().st_mtime_ns == feedback_mtime
    assert rows["b_loop"]["status"] == "timeout" and "cell 2 (while True:)" in rows["b_loop"]["message"]
    assert "left no Keras model" in rows["c_last"]["message"]

    # A changed file is regraded; --force regrades everything.
    (submissions / "c_last.py").write_text(IMPORTS + "\n# %%\nweights = 4\n")
    completed = subprocess.run(command, cwd=COURSE.root, capture_output=True, text=True, timeout=300, check=False)
    assert "graded 1, skipped 2" in completed.stdout, completed.stdout
    # The learner view the killed grader left behind was removed by the rerun.
    tag = hashlib.sha256(str(out_dir.absolute()).encode()).hexdigest()[:10]
    assert not list(Path(tempfile.gettempdir()).glob(f"workshop-grade-view-{tag}-*"))


def running_cell(marker: str, since: float) -> int | None:
    """The cell a run in progress of a submission containing ``marker`` is executing (the runner's
    progress record, in its working folder), or None. Records older than ``since`` are ignored:
    a run killed earlier (by another test, or a killed test run) leaves its folder behind."""
    for progress in Path(tempfile.gettempdir()).glob(f"workshop-{UNIT}-*/.runner/progress.json"):
        try:
            if progress.stat().st_mtime < since:
                continue
            if marker in progress.with_name("submission.ipynb").read_text():
                return json.loads(progress.read_text())["cell"]
        except (OSError, ValueError, KeyError):  # the run ended meanwhile, or is writing it
            continue
    return None


def quick_class(folder: Path) -> Path:
    folder.mkdir()
    (folder / "ann.py").write_text(IMPORTS + "\n# %%\ndef broken(:\n    pass\n")
    (folder / "bob.py").write_text(IMPORTS + "\n# %%\nweights = 3\n")
    return folder


def test_dask_executor_grades_the_same_way(tmp_path):
    from workshop.grading.grade import grade

    summary = grade(UNIT, quick_class(tmp_path / "class"), tmp_path / "out", jobs=2, dask="local", progress=False)
    rows = rows_of(tmp_path / "out")
    assert summary["graded"] == 2 and sorted(rows) == ["ann", "bob"]
    assert "Syntax error" in rows["ann"]["message"] and "left no Keras model" in rows["bob"]["message"]


def test_shards_merge_into_one_gradebook(tmp_path):
    submissions = quick_class(tmp_path / "class")
    (submissions / "bob.py").write_text('{"cells": [')  # instant, no kernel
    (submissions / "bob.py").rename(submissions / "bob.ipynb")
    for shard in ("1/2", "2/2"):
        completed = run_grade(submissions, "--out", tmp_path / shard.replace("/", "of"), "--shard", shard)
        assert completed.returncode == 0, completed.stderr
    assert list(rows_of(tmp_path / "1of2")) == ["ann"] and list(rows_of(tmp_path / "2of2")) == ["bob"]
    # Unchanged files are skipped; --force grades them again.
    again = run_grade(submissions, "--out", tmp_path / "1of2", "--shard", "1/2")
    assert "graded 0, skipped 1" in again.stdout, again.stdout
    forced = run_grade(submissions, "--out", tmp_path / "1of2", "--shard", "1/2", "--force")
    assert "graded 1, skipped 0" in forced.stdout, forced.stdout
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "workshop",
            "grade",
            "--merge",
            tmp_path / "1of2",
            tmp_path / "2of2",
            "--out",
            tmp_path / "all",
        ],
        capture_output=True,
        text=True,
        cwd=COURSE.root,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert sorted(rows_of(tmp_path / "all")) == ["ann", "bob"]
    assert (tmp_path / "all" / "feedback" / "bob.md").exists()


# ---------------------------------------------------------------------------------------------
# exports; generated labs


@pytest.mark.trains
def test_the_batch_writes_canvas_and_gradescope_grades(batch):
    lines = (batch["out"] / "canvas.csv").read_text().splitlines()
    assert lines[0] == "Student,ID,SIS User ID,SIS Login ID,Section,02. Fashion-MNIST with logistic regression"
    assert lines[1] == "Points Possible,,,,,1"
    graded = {line.split(",")[0]: line.split(",")[-1] for line in lines[2:]}
    assert sorted(graded) == batch["learners"]
    for learner, found in batch["rows"].items():
        assert graded[learner] == ("1" if found["passed"] == "true" else "0")
        results = json.loads((batch["out"] / "gradescope" / learner / "results.json").read_text())
        assert results["max_score"] == 1.0 and results["score"] == float(graded[learner])
        assert results["tests"][0]["status"] == ("passed" if found["passed"] == "true" else "failed")
        assert found["message"] in results["output"]


def test_exports_give_no_points_for_a_grader_error_and_scale_to_points():
    from workshop.grading.exports import canvas_csv, gradescope_results
    from workshop.grading.gradebook import GradeRow

    unit = load_unit(UNIT)
    rows = [
        GradeRow("ann", UNIT, "ok", value=0.85, passed=True, message="meets"),
        GradeRow("bob", UNIT, "ok", value=0.2, message="does not meet"),
        GradeRow("cy", UNIT, "grader-error", message="worker lost"),
    ]
    lines = canvas_csv(unit, rows, 10).splitlines()
    assert lines[1].endswith(",10") and lines[2:] == ["ann,,,ann,,10", "bob,,,bob,,0", "cy,,,cy,,"]
    assert gradescope_results(unit, rows[0], 10)["score"] == 10
    assert "score" not in gradescope_results(unit, rows[2], 10)


@pytest.mark.parametrize(
    ("unit", "shapes"),
    [
        ("07_self_driving", "keras.Input((45, 80, 3)), layers.Flatten(), layers.Dense(1)"),
        (
            "08_captcha",
            "keras.Input((40, 100)), layers.Flatten(), layers.Dense(40), layers.Reshape((4, 10)), layers.Softmax()",
        ),
        ("11_multi_label_fashion", "keras.Input((56, 56)), layers.Flatten(), layers.Dense(10, activation='sigmoid')"),
    ],
)
@pytest.mark.slow
def test_a_generated_lab_is_scored_by_the_confined_scorer(unit, shapes, tmp_path):
    """The scorer of a generated lab needs the reference solution's generator cells and the secret:
    inside the grader's sandbox it still finds both, and scores an (untrained) model."""
    submissions = tmp_path / "class"
    submissions.mkdir()
    (submissions / "untrained.py").write_text(
        f"# %%\nimport keras\nfrom keras import layers\n\n# %%\nmodel = keras.Sequential([{shapes}])\n"
    )
    completed = run_grade(submissions, "--out", tmp_path / "o", unit=unit, timeout=600)
    assert completed.returncode == 0, completed.stderr
    found = rows_of(tmp_path / "o")["untrained"]
    assert found["status"] == "ok" and found["passed"] == "false", found
    assert "held-out data, scored by the runner" in found["message"]
    report = json.loads((tmp_path / "o" / "sandbox.json").read_text())
    assert "scorer" in report["active"], report


@pytest.mark.slow
def test_a_generated_lab_submission_cannot_recompute_the_held_out_data(tmp_path, monkeypatch):
    """Unit 07 in the sandbox: importing the course's generator to rebuild "the held-out frames"
    fails (the scorer's secret is in the hidden data folder), and changes nothing of the grader's."""
    from workshop.tasks.generated import SECRET_FILENAME, held_out_secret

    monkeypatch.delenv("WORKSHOP_HELD_OUT_SECRET", raising=False)  # a grading machine's own secret
    held_out_secret()  # the instructor's, made before grading as `workshop grade` does
    secret = manifest.data_dir() / SECRET_FILENAME
    before = secret.read_bytes()
    submissions = tmp_path / "class"
    submissions.mkdir()
    # It knows where the checkout keeps the reference solution (the generator cells) and asks the
    # course's own code for the held-out frames, as the scorer does.
    reference = load_unit("07_self_driving").solution_path
    (submissions / "recomputer.py").write_text(
        "# %%\nfrom pathlib import Path\nfrom workshop.tasks.generated import held_out_data\n"
        f"frames, angles = held_out_data('self-driving', 100, reference=Path({str(reference)!r}))\n"
        "# %%\nraise SystemExit('recomputed the held-out frames')\n"
    )
    completed = run_grade(submissions, "--out", tmp_path / "out", unit="07_self_driving", timeout=600)
    assert completed.returncode == 0, completed.stderr
    found = rows_of(tmp_path / "out")["recomputer"]
    assert found["status"] == "error" and found["passed"] == "false", found
    # The generator cells live in the hidden solutions/, the secret in the hidden data folder: the
    # first cell itself fails (a notebook that got past both would reach cell 2 and say so).
    assert found["message"].startswith("Cell 1 (from pathlib import Path) raised "), found["message"]
    assert "recomputed the held-out frames" not in found["message"]
    assert secret.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# the sandbox refuses where it cannot hold


def test_grading_refuses_to_start_without_bubblewrap(tmp_path):
    submissions = quick_class(tmp_path / "class")
    completed = run_grade(
        submissions, "--out", tmp_path / "out", env={**os.environ, "PATH": str(Path(sys.executable).parent)}
    )
    assert completed.returncode == 2, completed.stderr
    assert "bubblewrap is not installed" in completed.stderr and "apt-get install bubblewrap" in completed.stderr
    assert "Nothing was graded" in completed.stderr and "--no-namespaces" in completed.stderr
    assert not (tmp_path / "out" / "gradebook.csv").exists() or rows_of(tmp_path / "out") == {}


def test_grading_refuses_to_start_when_the_probe_sees_the_graders_home(tmp_path):
    """A Python whose import path includes the grader's home (a .pth file pointing there) would
    put the home inside the sandbox: the probe sees the file it planted there and the grader stops."""
    home = tmp_path / "home"
    home.mkdir()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = next(path for path in sys.path if path.endswith("site-packages") and Path(path).is_dir())
    (next((venv / "lib").glob("python3.*")) / "site-packages" / "borrowed.pth").write_text(
        f"{COURSE.root}\n{site_packages}\n{home}\n"
    )
    completed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "workshop", "grade", "--exercise", UNIT]
        + [str(quick_class(tmp_path / "class")), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=COURSE.root,
        env={**os.environ, "HOME": str(home), "WORKSHOP_DATA_DIR": str(manifest.data_dir())},
        timeout=300,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert "allow_list" in completed.stderr and str(home / ".workshop-probe-") in completed.stderr, completed.stderr
    assert "Nothing was graded" in completed.stderr
    assert not list(home.iterdir())  # the planted file is removed again


# ---------------------------------------------------------------------------------------------
# the time limit of runs that share the machine (docs/grading.md, "Limits")


def test_the_limit_grows_with_the_runs_sharing_the_cores():
    from workshop.running.runner import time_limit

    unit = load_unit(UNIT)  # budget 60 s: 90 + 3 x 60 = 270 s alone on two cores
    alone = unit.timeout_seconds
    assert time_limit(unit, cores=2, jobs=1).seconds == alone
    assert time_limit(unit, cores=16, jobs=2).seconds == alone  # more cores never lower it
    assert time_limit(unit, cores=2, jobs=2).seconds == 2 * alone
    assert time_limit(unit, cores=1, jobs=1).seconds == 2 * alone  # a 1-core laptop, a test lane
    assert time_limit(unit, cores=2, jobs=4).seconds == 4 * alone
    assert time_limit(unit, cores=2, jobs=2, alone_seconds=30).seconds == 60
    shared = time_limit(unit, cores=2, jobs=2).reason
    assert shared == (
        f"90 s + 3 x its {unit.budget_seconds} s budget = {alone} s, x 2 because this run gets 1 core "
        "(2 runs sharing 2) where the budget assumes 2"
    )


def spinner(cores: int, cpu_seconds: float) -> str:
    """A submission that keeps every core busy for ``cpu_seconds`` each, then leaves a tiny model."""
    return (
        "# %%\nimport os\nimport time\n\n\ndef spin(cpu_seconds):\n    end = time.process_time() + cpu_seconds\n"
        "    while time.process_time() < end:\n        pass\n\n\n"
        "# One busy process per core, as Keras' thread pools keep every core busy while it trains.\n"
        "children = []\n"
        f"for _ in range({cores - 1}):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        f"        spin({cpu_seconds})\n"
        "        os._exit(0)\n"
        "    children.append(pid)\n"
        f"spin({cpu_seconds})\n"
        "for pid in children:\n"
        "    os.waitpid(pid, 0)\n\n" + UNTRAINED
    )


# Short on purpose: every core is busy for the whole test (five grading runs, two of them endless).
SPIN_SECONDS, ENDLESS_LIMIT = 3, 8


@pytest.mark.slow  # no training, but it keeps every core busy by design
def test_runs_sharing_the_cores_are_not_timed_out_where_they_fit_alone(tmp_path):
    """Graded alone, a CPU-bound submission takes S seconds. With a limit alone of 1.25 x S, two
    of them graded with -j CORES (each run gets one core) are not timed out: the limit is scaled
    for the sharing. Endless submissions graded the same way are stopped at that scaled limit."""
    from workshop.running.runner import available_cores

    cores = available_cores()
    if cores < 2:
        pytest.skip("sharing the cores needs at least two")
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "solo.py").write_text(spinner(cores, SPIN_SECONDS))
    completed = run_grade(alone, "--out", tmp_path / "alone-out", "--timeout", 300, timeout=600)
    assert completed.returncode == 0, completed.stderr
    solo = rows_of(tmp_path / "alone-out")["solo"]
    assert solo["status"] == "ok", solo["message"]
    limit_alone = math.ceil(1.25 * float(solo["seconds"]))

    shared = tmp_path / "shared"
    shared.mkdir()
    for learner in ("a_spin", "b_spin"):
        (shared / f"{learner}.py").write_text(spinner(cores, SPIN_SECONDS))
    completed = run_grade(shared, "--out", tmp_path / "shared-out", "-j", cores, "--timeout", limit_alone, timeout=900)
    assert completed.returncode == 0, completed.stderr
    rows = rows_of(tmp_path / "shared-out")
    for learner in ("a_spin", "b_spin"):
        assert rows[learner]["status"] == "ok", rows[learner]["message"]
    # (Whether sharing slowed them past the limit alone depends on what else the machine does;
    # the endless runs below show the limit that applied.)

    endless = tmp_path / "endless"
    endless.mkdir()
    for learner in ("a_loop", "b_loop"):
        (endless / f"{learner}.py").write_text(IMPORTS + ENDLESS)
    completed = run_grade(
        endless, "--out", tmp_path / "endless-out", "-j", cores, "--timeout", ENDLESS_LIMIT, timeout=600
    )
    assert completed.returncode == 0, completed.stderr
    factor = 2  # BUDGET_CORES x jobs / cores, with as many jobs as cores: each run gets one core
    for found in rows_of(tmp_path / "endless-out").values():
        assert found["status"] == "timeout", found
        assert found["message"].startswith(f"Stopped after {ENDLESS_LIMIT * factor} s"), found["message"]
        assert (
            f"({ENDLESS_LIMIT} s as given, x {factor} because this run gets 1 core ({cores} runs sharing {cores})"
            in (found["message"])
        )
