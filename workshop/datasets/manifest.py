"""The course datasets: the manifest (datasets.toml) and where each dataset's files are.

This is what the tasks read inside the scorer: ``dataset_dir(name)`` and ``file_path(name,
filename)`` give the verified local copy, or raise ``DataError`` telling the learner to run
``workshop fetch NAME`` when the data is missing or has changed since it was verified. Fetching
itself (mirror, download, checksums, unpacking) is ``workshop.datasets.fetching``.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

MANIFEST_PATH = Path(__file__).with_name("datasets.toml")
STATE_FILENAME = ".verified.json"
UNPACKED_MARKER = ".workshop-unpacked.json"


class DataError(Exception):
    """A dataset is unavailable or not fetched; the message says what to do about it."""


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, dict]:
    """Read a dataset manifest and return its `datasets` table: {name: dataset table}."""
    with open(path, "rb") as manifest_file:
        datasets = tomllib.load(manifest_file).get("datasets", {})
    problems = []
    for name, dataset in datasets.items():
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
    return datasets


DATASETS = load_manifest()


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
class _Copy:
    """One acceptable copy of a manifest file: the upstream file or a mirror's repackaging."""

    dataset: str
    filename: str
    sha256: str
    size: int | None

    @property
    def key(self) -> str:
        """`<dataset>/<file>`: its path below the data dir and the mirror, and its state key."""
        return f"{self.dataset}/{self.filename}"


def _copies(dataset_name: str, entry: dict) -> list[_Copy]:
    """The copies that satisfy a manifest file entry, upstream first."""
    upstream = _Copy(dataset_name, entry["name"], entry["sha256"], entry.get("size"))
    if "mirror" not in entry:
        return [upstream]
    mirror = entry["mirror"]
    return [upstream, _Copy(dataset_name, mirror["name"], mirror["sha256"], mirror.get("size"))]


def _dataset(name: str) -> dict:
    if name not in DATASETS:
        raise DataError(f"There is no dataset {name!r}. Known datasets: {', '.join(DATASETS)}.")
    return DATASETS[name]


# ---------------------------------------------------------------------------------------------
# Verification state: {"<dataset>/<file>": {"sha256", "size", "mtime_ns"}} in the data dir


def _load_state(root: Path) -> dict[str, dict]:
    try:
        return json.loads((root / STATE_FILENAME).read_text())
    except (OSError, ValueError):
        # Only a cache: losing it costs one re-hash of each file.
        return {}


def _stat_signature(path: Path) -> dict[str, int]:
    status = path.stat()
    return {"size": status.st_size, "mtime_ns": status.st_mtime_ns}


def _recorded_as_verified(state: dict, copy: _Copy, path: Path) -> bool:
    """True if this exact file (same size and mtime) was hashed and matched before."""
    try:
        return state.get(copy.key) == {"sha256": copy.sha256, **_stat_signature(path)}
    except OSError:
        return False


def _unpacked_from(folder: Path) -> dict | None:
    """The marker left by a completed unpack of `folder`, or None."""
    try:
        return json.loads((folder / UNPACKED_MARKER).read_text())
    except (OSError, ValueError):
        return None


def _ready_copies(name: str, root: Path, state: dict) -> dict[str, _Copy]:
    """{manifest file name: verified copy on disk}, checked by the state file only (no hashing)."""
    dataset = _dataset(name)
    ready = {}
    for entry in dataset["files"]:
        for copy in _copies(name, entry):
            if _recorded_as_verified(state, copy, root / copy.key):
                ready[entry["name"]] = copy
                break
        else:
            raise DataError(
                f"Dataset {name!r} is not fetched, or its file {entry['name']} changed since it "
                f"was verified (data dir: {root}): run `workshop fetch {name}`."
            )
    unpack = dataset.get("unpack")
    if unpack and _unpacked_from(root / name / unpack["folder"]) is None:
        raise DataError(
            f"Dataset {name!r} is fetched but not unpacked into {root / name / unpack['folder']}: "
            f"run `workshop fetch {name}`."
        )
    return ready


def dataset_dir(name: str) -> Path:
    """`<data dir>/<name>`, after a quick check that the dataset was fetched and verified."""
    root = data_dir()
    _ready_copies(name, root, _load_state(root))
    return root / name


def file_path(name: str, filename: str) -> Path:
    """The verified local file for `filename` (a file name listed in the manifest for `name`)."""
    entry_names = {copy.filename: entry["name"] for entry in _dataset(name)["files"] for copy in _copies(name, entry)}
    if filename not in entry_names:
        raise DataError(
            f"Dataset {name!r} has no file {filename!r}; its files are "
            f"{', '.join(entry['name'] for entry in DATASETS[name]['files'])}."
        )
    root = data_dir()
    ready = _ready_copies(name, root, _load_state(root))
    return root / ready[entry_names[filename]].key
