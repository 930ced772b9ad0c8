"""A wheelhouse for a mixed room: the learners' packages for Linux, macOS and Windows, made on one
machine with internet, installed in the room with none.

``python -m workshop.room.wheelhouse DEST`` (``make wheelhouse``), for each platform:

1. resolves the learners' set (``pyproject.toml``'s dependencies, with their platform markers,
   and the build backend that installs the course itself) for Python 3.11 on that platform, with
   ``uv pip compile --python-platform --only-binary :all:``: pip cannot evaluate another
   platform's markers, uv can, and it picks releases that have a wheel for the platform;
2. downloads exactly those wheels with ``pip download --no-deps --only-binary=:all: --platform ...
   --python-version 3.11``: binary wheels only, so nothing is compiled on a learner's laptop;
3. writes ``DEST/<platform>/requirements.txt`` (the resolved pins) and ``DEST/SHA256SUMS``.

In the room the instructor serves DEST (``python -m workshop.room.serve --host 0.0.0.0 DEST``) and each
learner installs from their platform's folder: ``pip install --no-index --find-links
http://INSTRUCTOR:PORT/<platform>/ --trusted-host INSTRUCTOR -e .`` (``docs/instructor.md``).
``--print`` shows the commands without running them.
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from workshop import atomic
from workshop.course.course import Course

PYTHON_VERSION = "3.11"


@dataclass(frozen=True)
class Platform:
    name: str
    uv: str  # uv's --python-platform
    pip: tuple[str, ...]  # pip's --platform tags, most specific first
    note: str = ""


PLATFORMS = {
    platform.name: platform
    for platform in (
        Platform(
            "linux-x86_64",
            "x86_64-manylinux_2_28",
            ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64"),
        ),
        Platform(
            "linux-aarch64",
            "aarch64-manylinux_2_28",
            ("manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"),
        ),
        Platform(
            "macos-arm64",
            "aarch64-apple-darwin",
            ("macosx_14_0_arm64", "macosx_13_0_arm64", "macosx_12_0_arm64", "macosx_11_0_arm64"),
            "Apple silicon, macOS 12 or later (TensorFlow has no wheels for Intel Macs since 2.17)",
        ),
        Platform("windows-x86_64", "x86_64-pc-windows-msvc", ("win_amd64",)),
    )
}
DEFAULT_PLATFORMS = ("linux-x86_64", "macos-arm64", "windows-x86_64")


def build_requirements(course: Course) -> list[str]:
    """The course's build backend (``[build-system] requires``): `pip install -e .` needs it offline."""
    import tomllib

    return tomllib.loads((course.root / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]


def commands(dest: Path, platform: Platform, sources: list[Path]) -> list[list[str]]:
    folder = dest / platform.name
    pins = folder / "requirements.txt"
    uv = [sys.executable, "-m", "uv"]
    compile_command = [
        *uv,
        "pip",
        "compile",
        *map(str, sources),
        "--python-version",
        PYTHON_VERSION,
        "--python-platform",
        platform.uv,
        # Resolve to releases with a wheel for this platform: nothing is compiled in the room.
        "--only-binary",
        ":all:",
        "--quiet",
        "--no-header",
        "-o",
        str(pins),
    ]
    download = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        *(argument for tag in platform.pip for argument in ("--platform", tag)),
        "-r",
        str(pins),
        "-d",
        str(folder),
    ]
    return [compile_command, download]


def sha256sums(dest: Path) -> str:
    lines = []
    for path in sorted(dest.rglob("*.whl")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(dest).as_posix()}")
    return "\n".join(lines) + "\n"


def make(
    dest: Path,
    platforms=DEFAULT_PLATFORMS,
    sources: list[Path] | None = None,
    show_only: bool = False,
    course: Course | None = None,
) -> int:
    dest = Path(dest)
    course = course or Course.find()
    unknown = [name for name in platforms if name not in PLATFORMS]
    if unknown:
        print(f"Unknown platform(s) {', '.join(unknown)}; choose from {', '.join(PLATFORMS)}.", file=sys.stderr)
        return 2
    if sources is None:
        build = dest / "build-requirements.in"
        sources = [course.root / "pyproject.toml", build]
        if not show_only:
            atomic.write_text(build, "\n".join(build_requirements(course)) + "\n")
    for name in platforms:
        platform = PLATFORMS[name]
        print(f"# {name}" + (f": {platform.note}" if platform.note else ""), flush=True)
        for command in commands(dest, platform, sources):
            print(shlex.join(command), flush=True)
            if show_only:
                continue
            (dest / name).mkdir(parents=True, exist_ok=True)
            completed = subprocess.run(command, check=False)
            if completed.returncode != 0:
                print(
                    f"The wheelhouse for {name} failed at `{command[2]} {command[3]}` (exit {completed.returncode}); "
                    "it needs PyPI: run it where there is internet.",
                    file=sys.stderr,
                )
                return 1
    if not show_only:
        atomic.write_text(dest / "SHA256SUMS", sha256sums(dest))
        wheels = list(dest.rglob("*.whl"))
        size = sum(path.stat().st_size for path in wheels)
        print(f"{len(wheels)} wheels, {size / 1e6:.0f} MB, in {dest} (checksums in {dest / 'SHA256SUMS'})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.room.wheelhouse", description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="the wheelhouse folder (one sub-folder per platform)")
    parser.add_argument(
        "--platform",
        action="append",
        choices=sorted(PLATFORMS),
        help=f"a platform to include (repeatable; default {', '.join(DEFAULT_PLATFORMS)})",
    )
    parser.add_argument(
        "--requirements", type=Path, action="append", help="resolve these files instead of the learners' set"
    )
    parser.add_argument("--print", dest="show_only", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    return make(args.dest, tuple(args.platform or DEFAULT_PLATFORMS), args.requirements, args.show_only)


if __name__ == "__main__":
    sys.exit(main())
