"""The package as users install it: a wheel built from the checkout, in a fresh virtual environment."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from workshop.course.course import Course

REPO = Course.find().root


@pytest.mark.slow  # builds the wheel and a fresh virtual environment: about a minute, no training
def test_the_wheel_has_every_module_and_data_file_and_its_command_runs(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        cwd=tmp_path,
        env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"),
    )
    (wheel,) = wheels.glob("keras_workshop-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    package = REPO / "workshop"
    expected = {path.relative_to(REPO).as_posix() for path in package.rglob("*.py") if "__pycache__" not in path.parts}
    expected |= {path.relative_to(REPO).as_posix() for path in package.glob("*.toml")}
    assert expected - shipped == set(), f"missing from the wheel: {sorted(expected - shipped)}"

    # A fresh venv with its own pip; the heavy dependencies (TensorFlow...) come from the test's
    # own environment through a .pth line, but the package and its command only from the wheel.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (purelib / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"),
    )
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "WORKSHOP_ROOT")}

    def run(*arguments: str) -> str:
        completed = subprocess.run(
            [str(venv / "bin" / "workshop"), *arguments],
            check=False,
            cwd=REPO,
            env=environment,
            capture_output=True,
            text=True,
        )
        assert completed.returncode == 0, completed.stderr
        return completed.stdout

    located = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import workshop.tasks, workshop.datasets.manifest; print(workshop.tasks.__file__)",
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(located).is_relative_to(venv), located
    units = run("units")
    assert "02_fashion_mnist_logreg" in units and "test_accuracy" in units
    assert "usage: workshop check" in run("check", "--help")
    assert "fashion-mnist" in run("fetch", "--list")
