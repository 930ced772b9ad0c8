"""An ordinary user grades: the unprivileged sandbox (user namespaces; the pids limit through a
delegated cgroup, else the runner's watchdog), with the same verdicts the root grader gives.

Run as root (as CI is), the test creates an unprivileged account and grades a small hostile class
as that user. Its Python is Debian's own (/usr/bin/python3, 3.11.2: pyenv's lives under /root,
which an ordinary user cannot enter) in a virtual environment that borrows the checkout's
installed packages; the data comes from a mirror folder through `workshop fetch`, as on an
instructor's laptop.
"""

from __future__ import annotations

import csv
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from snooping import SNOOPER, Planted, leaks, plant_around

from workshop.course.course import Course
from workshop.course.units import load_unit
from workshop.datasets import manifest

COURSE = Course.find()  # the checkout under test

UNIT = "02_fashion_mnist_logreg"
ACCOUNT = "workshop-grader"
DEBIAN_PYTHON = Path("/usr/bin/python3")
UNTRAINED = (
    "# %%\nimport keras\nfrom keras import layers\n\n# %%\n"
    "model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(10, activation='softmax')])\n"
)


def readable_by_others(path: Path) -> bool:
    return all(os.stat(folder).st_mode & 0o005 == 0o005 for folder in [path, *path.parents])


def site_packages() -> str:
    return next(path for path in sys.path if path.endswith("site-packages") and Path(path).is_dir())


@pytest.fixture(scope="module")
def account():
    if os.geteuid() != 0:
        pytest.skip("runs as root, to create the unprivileged account it grades as")
    if (
        not DEBIAN_PYTHON.exists()
        or not readable_by_others(COURSE.root)
        or not readable_by_others(Path(site_packages()))
    ):
        pytest.skip("the checkout, its packages or /usr/bin/python3 are not readable by an ordinary user")
    try:
        pwd.getpwnam(ACCOUNT)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ACCOUNT], check=True)
    return pwd.getpwnam(ACCOUNT)


@pytest.mark.slow
def test_an_ordinary_user_grades_a_hostile_class_with_the_same_verdicts(account):
    home = Path(tempfile.mkdtemp(prefix="workshop-unprivileged-"))
    planted = Planted()
    try:
        home.chmod(0o755)
        mirror = home / "mirror" / "fashion-mnist"
        mirror.mkdir(parents=True)
        for entry in manifest.dataset("fashion-mnist")["files"]:
            shutil.copy(manifest.file_path("fashion-mnist", entry["name"]), mirror / entry["name"])
        submissions = home / "class"
        submissions.mkdir()
        labels = home / "data" / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
        (submissions / "untrained.py").write_text(UNTRAINED)
        (submissions / "broken.py").write_text("# %%\ndef oops(:\n    pass\n")
        (submissions / "peeker.py").write_text(UNTRAINED + f"\n# %%\nopen({str(labels)!r}, 'rb')\n")
        (submissions / "network.py").write_text(
            UNTRAINED + "\n# %%\nimport socket\nsocket.create_connection(('127.0.0.1', 22), timeout=3)\n"
        )
        (submissions / "writer.py").write_text(UNTRAINED + f"\n# %%\nopen({str(labels)!r}, 'wb').write(b'x')\n")
        shutil.copy(load_unit(UNIT).exercise_path.with_suffix(".ipynb"), submissions / "stub.ipynb")
        # The snooper looks for a private file in the grading account's home, a notebook beside the
        # checkout (readable by this account outside the sandbox) and a classmate's submission.
        (submissions / "snooper.py").write_text(SNOOPER)
        plant_around(planted, home / "private", COURSE.root.parent, submissions / "classmate.py")
        venv = home / "venv"
        subprocess.run([str(DEBIAN_PYTHON), "-m", "venv", "--without-pip", str(venv)], check=True)
        (next((venv / "lib").glob("python3.*")) / "site-packages" / "borrowed.pth").write_text(
            f"{COURSE.root}\n{site_packages()}\n"
        )
        for path in [home, *home.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)

        environment = {
            "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "WORKSHOP_DATA_DIR": str(home / "data"),
            "KERAS_HOME": str(home / "keras"),
            "TMPDIR": "/tmp",
        }

        def as_user(*command: str, timeout: int = 600) -> subprocess.CompletedProcess:
            return subprocess.run(
                ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups", *command],
                env=environment,
                cwd=home,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )

        python = str(venv / "bin" / "python")
        fetched = as_user(python, "-m", "workshop", "fetch", "fashion-mnist", "--mirror", str(home / "mirror"))
        assert fetched.returncode == 0, fetched.stderr
        out_dir = home / "out"
        before = labels.read_bytes()
        graded = as_user(
            python, "-m", "workshop", "grade", "--exercise", UNIT, str(submissions), "--out", str(out_dir), "-j", "2"
        )
        assert graded.returncode == 0, graded.stderr + graded.stdout
        planted.remove()
        report = json.loads((out_dir / "sandbox.json").read_text())
        assert report["mechanism"] == "bubblewrap (ordinary user)", report["mechanism"]
        assert {"network", "read_only", "allow_list", "scorer"} <= set(report["active"]), report
        with open(out_dir / "gradebook.csv", newline="", encoding="utf-8") as stream:
            rows = {row["learner"]: row for row in csv.DictReader(stream)}
        verdicts = {learner: (row["status"], row["passed"]) for learner, row in rows.items()}
        assert verdicts == {
            "broken": ("error", "false"),
            "classmate": ("ok", "false"),
            "network": ("error", "false"),
            "peeker": ("error", "false"),
            "snooper": ("error", "false"),
            "stub": ("error", "false"),
            "untrained": ("ok", "false"),
            "writer": ("error", "false"),
        }, {learner: row["message"] for learner, row in rows.items()}
        assert "Syntax error" in rows["broken"]["message"]
        assert "Complete this cell" in rows["stub"]["message"]
        assert "held-out data, scored by the runner" in rows["untrained"]["message"]
        assert labels.read_bytes() == before  # the instructor's data is unchanged
        assert "CHANNEL-OK" in rows["snooper"]["message"] and "found []" in rows["snooper"]["message"]
        assert leaks(out_dir, planted) == []
    finally:
        planted.remove()
        shutil.rmtree(home, ignore_errors=True)
