"""The course datasets: the manifest (``datasets.toml``) and the verified files on this machine.

This is the read side, what tasks and lessons use (also inside the scorer): :func:`dataset_dir`
and :func:`file_path` give the verified local copy, or raise ``DataError`` telling the learner to
run ``workshop fetch NAME`` when the data is missing or has changed since it was verified. It also
owns the record of what was verified (:class:`Verified`, the data dir's ``.verified.json``) and the
marker of a finished unpack, which ``workshop.datasets.fetching`` (mirror, download, checksums,
unpacking) writes through this module's public names.

The manifest is read when first needed (:func:`datasets`), never at import.
"""

from __future__ import annotations

import functools
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from workshop import atomic

MANIFEST_PATH = Path(__file__).with_name("datasets.toml")
STATE_FILENAME = ".verified.json"
UNPACKED_MARKER = ".workshop-unpacked.json"


class DataError(Exception):
    """A dataset is unavailable or not fetched; the message says what to do about it."""


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, dict]:
    """Read a dataset manifest and return its `datasets` table: {name: dataset table}."""
    with open(path, "rb") as manifest_file:
        tables = tomllib.load(manifest_file).get("datasets", {})
    problems = []
    for name, dataset in tables.items():
        problems += [
            f"{name}: no {key}" for key in ("description", "licence", "citation", "files") if key not in dataset
        ]
        for entry in dataset.get("files", []):
            problems += [f"{name}: a file without {key}" for key in ("name", "sha256", "url") if key not in entry]
        unpack = dataset.get("unpack", {})
        problems += [
            f"{name}: unpack without {key}" for key in ("archive", "folder", "members") if unpack and key not in unpack
        ]
        if unpack.get("archive") not in (None, *(entry.get("name") for entry in dataset.get("files", []))):
            problems.append(f"{name}: unpack.archive is not one of its files")
    if problems:
        raise DataError(f"The dataset manifest {path} is invalid: {'; '.join(problems)}.")
    return tables


@functools.cache
def datasets() -> dict[str, dict]:
    """The course's manifest (``datasets.toml`` beside this module), read once per process."""
    return load_manifest(MANIFEST_PATH)


def dataset(name: str) -> dict:
    """The manifest's table for ``name``; a ``DataError`` naming the known datasets if there is none."""
    tables = datasets()
    if name not in tables:
        raise DataError(f"There is no dataset {name!r}. Known datasets: {', '.join(tables)}.")
    return tables[name]


# ---------------------------------------------------------------------------------------------
# Where things live


def data_dir() -> Path:
    """The folder holding `<dataset>/<file>`: $WORKSHOP_DATA_DIR, else the user's cache folder."""
    configured = os.environ.get("WORKSHOP_DATA_DIR")
    if configured:
        # Absolute, because the links made for Keras point into it.
        return Path(configured).expanduser().absolute()
    cache_home = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(cache_home).expanduser().absolute() / "keras-workshop" / "datasets"


@dataclass(frozen=True)
class Copy:
    """One acceptable copy of a manifest file: the upstream file or a mirror's repackaging."""

    dataset: str
    filename: str
    sha256: str
    size: int | None

    @property
    def key(self) -> str:
        """`<dataset>/<file>`: its path below the data dir and the mirror, and its state key."""
        return f"{self.dataset}/{self.filename}"


def copies(dataset_name: str, entry: dict) -> list[Copy]:
    """The copies that satisfy a manifest file entry, upstream first."""
    upstream = Copy(dataset_name, entry["name"], entry["sha256"], entry.get("size"))
    if "mirror" not in entry:
        return [upstream]
    mirror = entry["mirror"]
    return [upstream, Copy(dataset_name, mirror["name"], mirror["sha256"], mirror.get("size"))]


# ---------------------------------------------------------------------------------------------
# What was verified: {"<dataset>/<file>": {"sha256", "size", "mtime_ns"}} in the data dir


def stat_signature(path: Path) -> dict[str, int]:
    status = path.stat()
    return {"size": status.st_size, "mtime_ns": status.st_mtime_ns}


@dataclass
class Verified:
    """The files of the data dir ``root`` that were hashed and matched, by (size, mtime_ns).

    Only a cache: a lost or unreadable state file costs one re-hash of each file.
    """

    root: Path
    entries: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> Verified:
        try:
            return cls(root, json.loads((root / STATE_FILENAME).read_text()))
        except (OSError, ValueError):
            return cls(root)

    def holds(self, copy: Copy) -> bool:
        """True if this exact file (same size and mtime) was hashed and matched before."""
        try:
            return self.entries.get(copy.key) == {"sha256": copy.sha256, **stat_signature(self.root / copy.key)}
        except OSError:
            return False

    def record(self, copy: Copy) -> None:
        """The file of ``copy`` on disk was just hashed and matched."""
        self.entries[copy.key] = {"sha256": copy.sha256, **stat_signature(self.root / copy.key)}

    def forget(self, copy: Copy) -> None:
        self.entries.pop(copy.key, None)

    def save(self) -> None:
        atomic.write_text(self.root / STATE_FILENAME, json.dumps(self.entries, indent=1, sort_keys=True))


def unpacked_marker(folder: Path) -> dict | None:
    """The marker left in ``folder`` by a completed unpack (archive, sha256, files), or None."""
    try:
        return json.loads((folder / UNPACKED_MARKER).read_text())
    except (OSError, ValueError):
        return None


def ready_copies(name: str, verified: Verified) -> dict[str, Copy]:
    """{manifest file name: verified copy on disk}, checked by the state file only (no hashing).
    Raises ``DataError`` saying to run ``workshop fetch NAME`` if any file is not ready."""
    table, root = dataset(name), verified.root
    ready = {}
    for entry in table["files"]:
        for copy in copies(name, entry):
            if verified.holds(copy):
                ready[entry["name"]] = copy
                break
        else:
            raise DataError(
                f"Dataset {name!r} is not fetched, or its file {entry['name']} changed since it "
                f"was verified (data dir: {root}): run `workshop fetch {name}`."
            )
    unpack = table.get("unpack")
    if unpack and unpacked_marker(root / name / unpack["folder"]) is None:
        raise DataError(
            f"Dataset {name!r} is fetched but not unpacked into {root / name / unpack['folder']}: "
            f"run `workshop fetch {name}`."
        )
    return ready


# ---------------------------------------------------------------------------------------------
# The read API of tasks and lessons


def dataset_dir(name: str) -> Path:
    """`<data dir>/<name>`, after a quick check that the dataset was fetched and verified."""
    root = data_dir()
    ready_copies(name, Verified.load(root))
    return root / name


def file_path(name: str, filename: str) -> Path:
    """The verified local file for `filename` (a file name listed in the manifest for `name`)."""
    table = dataset(name)
    entry_names = {copy.filename: entry["name"] for entry in table["files"] for copy in copies(name, entry)}
    if filename not in entry_names:
        raise DataError(
            f"Dataset {name!r} has no file {filename!r}; its files are "
            f"{', '.join(entry['name'] for entry in table['files'])}."
        )
    root = data_dir()
    return root / ready_copies(name, Verified.load(root))[entry_names[filename]].key
