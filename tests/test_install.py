"""A learner's install: the wheel's declared dependencies, on every platform, and what runs without the course.

The fast tests read the wheel's metadata, the lock and the exercises. The slow ones use the
registries (pip, uv) and run a solution: the wheel installed with its dependencies in a clean venv
runs `workshop check`; `workshop check` runs where taskset, unshare and `ulimit -v` are missing;
a unit's solution runs to the end in a kernel that cannot import `workshop`.
"""

from __future__ import annotations

import ast
import email.parser
import functools
import json
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from workshop.course.course import Course
from workshop.course.notebooks import code_cells, read_notebook
from workshop.course.units import all_units
from workshop.datasets.manifest import datasets
from workshop.running.runner import Isolation, ipython_to_python, memory_limit_problem, unenforced

REPO = Course.find().root

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# The cheapest unit to train (about 12 s on one core).
CHEAP_UNIT = "03_softmax_sgd_numpy"
# The commands a learner's machine may lack, hidden from the runs that must do without them.
OPTIONAL_TOOLS = {"taskset", "unshare", "setpriv", "prlimit"}

# `packaging` marker environments of the learners' platforms (Python 3.11).
PLATFORMS = {
    "Linux x86-64": {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64"},
    "Windows": {"sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64"},
    "macOS (Apple silicon)": {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"},
    "Linux ARM": {"sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64"},
}
# The TensorFlow distribution each platform must get: tensorflow-cpu where it has wheels.
TENSORFLOW_FOR = {
    "Linux x86-64": "tensorflow-cpu",
    "Windows": "tensorflow-cpu",
    "macOS (Apple silicon)": "tensorflow",
    "Linux ARM": "tensorflow",
}
# uv's names for the same platforms.
UV_PLATFORMS = {
    "Linux x86-64": "x86_64-manylinux_2_28",
    "Windows": "x86_64-pc-windows-msvc",
    "macOS (Apple silicon)": "aarch64-apple-darwin",
    "Linux ARM": "aarch64-manylinux_2_28",
}


def environment_for(platform: str, extra: str = "") -> dict[str, str]:
    python = {"python_version": "3.11", "python_full_version": "3.11.2", "extra": extra}
    return {**default_environment(), **python, **PLATFORMS[platform]}


def quiet_pip_environment() -> dict[str, str]:
    return dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(folder)]
        + [str(REPO)],
        check=True,
        cwd=folder,
        env=quiet_pip_environment(),
    )
    (built,) = folder.glob("keras_workshop-*.whl")
    return built


def wheel_requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        (metadata_name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = email.parser.Parser().parsestr(archive.read(metadata_name).decode("utf-8"))
    return [Requirement(line) for line in metadata.get_all("Requires-Dist") or []]


def wanted(requirements: list[Requirement], environment: dict[str, str]) -> dict[str, Requirement]:
    return {
        canonicalize_name(requirement.name): requirement
        for requirement in requirements
        if requirement.marker is None or requirement.marker.evaluate(environment)
    }


@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_the_wheel_declares_keras_tensorflow_and_jupyter_for_each_platform(wheel, platform):
    learners = wanted(wheel_requirements(wheel), environment_for(platform))
    for name in ("keras", "jupyterlab", "ipykernel", "nbclient", "pyyaml", "markdown", "psutil", "captcha"):
        assert name in learners, f"the wheel does not declare {name} for {platform}: {sorted(learners)}"
    tensorflows = {name for name in learners if name in ("tensorflow", "tensorflow-cpu")}
    assert tensorflows == {TENSORFLOW_FOR[platform]}, f"{platform} gets {tensorflows or 'no TensorFlow'}"
    # The site's, the grader's and the maintainers' packages are extras, not the learners' install.
    for name in ("mkdocs", "dask", "pytest", "playwright"):
        assert name not in learners, f"{name} is in the learners' set"
    site = wanted(wheel_requirements(wheel), environment_for(platform, "site"))
    assert "mkdocs" in site and "onnx" in site
    assert "dask" in wanted(wheel_requirements(wheel), environment_for(platform, "grade"))
    assert "pytest" in wanted(wheel_requirements(wheel), environment_for(platform, "dev"))


def locked_versions() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", (REPO / "requirements.lock").read_text(), re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def declared(extra: str = "", seen: frozenset = frozenset()) -> list[Requirement]:
    """pyproject's requirements for Linux x86-64 with `extra`, following self-references (dev -> site)."""
    project = PYPROJECT["project"]
    lines = project["dependencies"] if not extra else project["optional-dependencies"][extra]
    requirements = []
    for requirement in map(Requirement, lines):
        if requirement.marker is not None and not requirement.marker.evaluate(environment_for("Linux x86-64")):
            continue
        if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
            for inner in sorted(requirement.extras - seen):
                requirements += declared(inner, seen | {inner})
            continue
        requirements.append(requirement)
    return requirements


@pytest.mark.parametrize("extra", ["", "site", "grade", "dev"])
def test_the_lock_satisfies_every_declared_requirement(extra):
    """`make setup` installs requirements.lock with --no-deps: it must hold what pyproject declares."""
    locked = locked_versions()
    problems = []
    for requirement in declared(extra):
        name = canonicalize_name(requirement.name)
        if name not in locked:
            problems.append(f"{requirement} is declared but not in requirements.lock")
        elif not requirement.specifier.contains(locked[name], prereleases=True):
            problems.append(f"requirements.lock pins {name}=={locked[name]}, outside {requirement}")
    assert not problems, "\n".join(problems) + "\nAdd it to requirements.in and compile the lock (its first lines)."


def third_party_imports(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names)


@functools.cache
def installed_modules() -> dict[str, list[str]]:
    from importlib.metadata import packages_distributions

    return packages_distributions()


def distributions_of(module: str) -> set[str]:
    return {canonicalize_name(name) for name in installed_modules().get(module, [])}


def test_every_package_the_workshop_imports_is_declared():
    """Every third-party module `workshop/` imports comes from a distribution pyproject.toml declares."""
    from importlib.metadata import requires

    top = [requirement for extra in ("", "site", "grade", "dev") for requirement in declared(extra)]
    declared_names = {canonicalize_name(requirement.name) for requirement in top}
    # What an extra brings counts as declared (distributed, from dask[distributed]); nothing deeper.
    for requirement in top:
        for extra in requirement.extras:
            for inner in map(Requirement, requires(requirement.name) or []):
                if inner.marker is not None and inner.marker.evaluate(environment_for("Linux x86-64", extra)):
                    declared_names.add(canonicalize_name(inner.name))
    undeclared = {}
    for path in sorted((REPO / "workshop").rglob("*.py")):
        for module in third_party_imports(path.read_text(encoding="utf-8")) - {"workshop"}:
            if not distributions_of(module) & declared_names:
                undeclared.setdefault(module, []).append(path.relative_to(REPO).as_posix())
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


# Exercises must run as they are in Colab and Kaggle: nothing from this repository, their files
# only through Keras (which keeps them in ~/.keras, where `workshop fetch` puts them too).
REPOSITORY_NAMES = {"workshop", "solutions", "exercises", "tests", "scripts", "docs", "conftest"}
FILE_READERS = {"open", "read_csv", "read_table", "load", "loadtxt", "genfromtxt", "read_text", "read_bytes", "Path"}


@pytest.mark.parametrize("unit", all_units(), ids=lambda unit: unit.name)
def test_every_exercise_is_self_contained_and_loads_data_through_keras(unit):
    learners = {canonicalize_name(r.name) for r in declared()}
    for suffix in (".ipynb", ".py"):
        path = REPO / "exercises" / f"{unit.name}{suffix}"
        source = "\n".join(ipython_to_python(code) for _, code in code_cells(read_notebook(path)))
        imported = third_party_imports(source)
        assert not imported & REPOSITORY_NAMES, f"{path.name} imports {imported & REPOSITORY_NAMES} from the course"
        for module in imported:
            assert distributions_of(module) & learners, (
                f"{path.name} imports {module}, which the learners' install does not declare"
            )
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            assert function not in FILE_READERS or not isinstance(node.args[0].value, str), (
                f"{path.name} reads the file {node.args[0].value!r} (line {node.lineno}): load data through "
                "keras.datasets or keras.utils.get_file, which Colab and `workshop fetch` both fill"
            )
        downloaded = [name for name in unit.datasets if name in datasets()]
        if downloaded:
            assert "load_data(" in source or "get_file(" in source, (
                f"{path.name} uses {downloaded} but never calls keras.datasets' load_data() or keras.utils.get_file()"
            )


def test_what_cannot_be_enforced_is_named(tmp_path, monkeypatch):
    """No shell (Windows) means no memory limit; no taskset means no pinning, said in words."""
    assert "there is no /nonexistent/sh" in memory_limit_problem(2**30, "/nonexistent/sh")
    assert Isolation(cpus=(0,)).pinning()[:1] == ["taskset"]
    monkeypatch.setenv("PATH", str(tool_farm_without(tmp_path / "bin")))
    assert Isolation(cpus=(0,)).pinning() == []
    gaps = unenforced(Isolation(cpus=(0,)))
    assert any("pinning to CPU 0 (no `taskset` command)" in gap for gap in gaps), gaps


def tool_farm_without(folder: Path) -> Path:
    """A folder of links to every command on PATH but taskset, unshare, setpriv and prlimit."""
    folder.mkdir(parents=True, exist_ok=True)
    for directory in os.environ["PATH"].split(os.pathsep):
        for command in Path(directory).glob("*") if Path(directory).is_dir() else []:
            link = folder / command.name
            if command.name not in OPTIONAL_TOOLS and not link.exists() and not link.is_symlink():
                link.symlink_to(command)
    return folder


def without_memory_limits(command: list[str], memory_bytes: int = 11 * 2**30) -> list[str]:
    """`command` where `ulimit -v` cannot give a run the runner's 12 GiB: a lower hard limit, and
    (for root) no CAP_SYS_RESOURCE to raise it, which is how macOS and many containers answer."""
    setpriv = ["/usr/bin/setpriv", "--bounding-set", "-sys_resource", "--"] if os.geteuid() == 0 else []
    if setpriv and not Path(setpriv[0]).exists():
        pytest.fail("root needs setpriv (util-linux) to give up CAP_SYS_RESOURCE for this test")
    return [*setpriv, "/bin/sh", "-c", f'ulimit -v {memory_bytes // 1024} && exec "$@"', "limited", *command]


def test_a_refused_memory_limit_is_detected(tmp_path):
    probe = "from workshop.running.runner import Isolation, unenforced; print(unenforced(Isolation()))"
    completed = subprocess.run(
        without_memory_limits([sys.executable, "-c", probe]), capture_output=True, text=True, check=True, cwd=REPO
    )
    assert "the 12 GiB memory limit (`ulimit -v` was refused" in completed.stdout, completed.stdout


@pytest.mark.trains
def test_check_runs_and_scores_without_taskset_unshare_and_ulimit(tmp_path):
    """`workshop check` where the limits cannot be enforced: it says so once, then runs and scores."""
    bin_folder = tool_farm_without(tmp_path / "bin")
    environment = dict(os.environ, PATH=str(bin_folder))
    completed = subprocess.run(
        without_memory_limits(
            [str(Path(sys.executable).with_name("workshop")), "check", f"solutions/{CHEAP_UNIT}.py", "--json"]
            + ["--timeout", "900"]
        ),
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    result = json.loads(completed.stdout)
    assert completed.returncode == 0 and result["status"] == "ok" and result["met"], completed.stdout + completed.stderr
    notes = [line for line in completed.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "12 GiB memory limit" in notes[0], completed.stderr
    assert result["timeout_seconds"] == 900
    assert any("memory limit" in gap for gap in result["unenforced"])


def registry_tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    assert path, f"{name} is not in {Path(sys.executable).parent}: run `make setup` (it is in requirements.lock)"
    return path


@pytest.mark.slow
@pytest.mark.parametrize("platform", list(UV_PLATFORMS))
def test_the_declared_set_resolves_on_each_platform(wheel, tmp_path, platform):
    """The learners' set resolves to wheels on Linux, Windows and macOS (uv resolves for another platform)."""
    requirements = tmp_path / "learner.in"
    requirements.write_text(f"keras-workshop @ {wheel.as_uri()}\n")
    completed = subprocess.run(
        [registry_tool("uv"), "pip", "compile", str(requirements), "--python-version", "3.11"]
        + ["--python-platform", UV_PLATFORMS[platform], "--no-header", "--quiet", "--only-binary", ":all:"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, f"the learners' set does not resolve for {platform}:\n{completed.stderr}"
    pins = dict(re.findall(r"^([a-z0-9_.\-]+)==(\S+)", completed.stdout, re.MULTILINE))
    assert TENSORFLOW_FOR[platform] in pins and "keras" in pins and "jupyterlab" in pins, completed.stdout


@pytest.fixture(scope="module")
def clean_install(wheel, tmp_path_factory) -> tuple[Path, float]:
    """A fresh venv with the wheel and its declared dependencies from the registries (pip's cache helps)."""
    venv = tmp_path_factory.mktemp("clean") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    started = time.monotonic()
    completed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        env=quiet_pip_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return venv, time.monotonic() - started


def course_folder(destination: Path) -> Path:
    """What a learner downloads: the exercises and the units' declarations, and no `workshop/`."""
    for name in ("solutions", "exercises"):
        shutil.copytree(REPO / name, destination / name)
    shutil.copy(REPO / "mkdocs.yml", destination / "mkdocs.yml")
    return destination


@pytest.mark.trains
def test_the_wheel_installed_with_its_dependencies_checks_an_exercise(clean_install, tmp_path):
    venv, seconds = clean_install
    print(f"pip install of the wheel with its dependencies: {seconds:.0f} s")
    folder = course_folder(tmp_path / "keras-workshop")
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "WORKSHOP_ROOT")}
    located = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import workshop, keras, tensorflow; print(workshop.__file__)"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(located).is_relative_to(venv), located
    for command in ("jupyter-lab", "workshop"):
        assert (venv / "bin" / command).exists(), f"the clean install has no {command} command"

    def check(path: str) -> tuple[int, dict]:
        completed = subprocess.run(
            [str(venv / "bin" / "workshop"), "check", path, "--json"],
            cwd=folder,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        return completed.returncode, json.loads(completed.stdout)

    # The stub runs up to its first `# YOUR CODE HERE`...
    code, stub = check(f"exercises/{CHEAP_UNIT}.ipynb")
    assert code == 2 and "NotImplementedError" in stub["message"], stub
    # ...and a completed exercise (the reference solution) passes.
    (folder / "mine").mkdir()
    shutil.copy(REPO / "solutions" / f"{CHEAP_UNIT}.py", folder / "mine" / f"{CHEAP_UNIT}.py")
    code, done = check(f"mine/{CHEAP_UNIT}.py")
    assert code == 0 and done["met"], done


@pytest.mark.trains
def test_a_solution_runs_in_a_kernel_that_cannot_see_the_course(tmp_path):
    """As in Colab: a kernel that cannot import `workshop`, in a folder with the notebook alone."""
    import nbformat

    # Python with this environment's packages (a .pth line), but not its .pth files: the editable
    # install of `workshop` is one of them.
    venv = tmp_path / "kernel-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (purelib / "packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    folder = tmp_path / "colab"
    folder.mkdir()
    notebook = read_notebook(REPO / "solutions" / f"{CHEAP_UNIT}.py")
    notebook.cells.insert(
        0,
        nbformat.v4.new_code_cell(
            "import sys\n"
            "try:\n    import workshop\nexcept ModuleNotFoundError:\n    pass\n"
            "else:\n    raise AssertionError(f'the kernel imports workshop from {workshop.__file__}')\n"
            # The packages live in the checkout's .venv; nothing else of the checkout is on the path.
            f"assert not [p for p in sys.path if p.startswith({str(REPO)!r}) and not p.startswith({sys.prefix!r})]"
        ),
    )
    nbformat.write(notebook, folder / f"{CHEAP_UNIT}.ipynb")
    runner = (
        "import nbformat, nbclient, sys\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "nbclient.NotebookClient(nb, kernel_name='python3', timeout=900, resources={'metadata': {'path': '.'}})"
        ".execute()\n"
        "nbformat.write(nb, sys.argv[1])\n"
    )
    environment = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "WORKSHOP_ROOT", "JUPYTER_PATH")
    }
    completed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", runner, f"{CHEAP_UNIT}.ipynb"],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    executed = nbformat.read(folder / f"{CHEAP_UNIT}.ipynb", as_version=4)
    last = "".join(output.get("text", "") for output in executed.cells[-1].outputs)
    assert "meets the goal" in last, last
