"""`workshop fetch`: put the course datasets on this machine, verified.

`workshop fetch [NAME ...] [--mirror DIR|URL]` puts each dataset's files in `<data dir>/<name>/<file>`,
taken from a course mirror laid out as `<name>/<file>` (a local folder such as a USB stick, or the
instructor's laptop serving one over HTTP: `--mirror http://INSTRUCTOR:8080/`) or downloaded from
upstream. Every file is checked against the sha256 in the manifest and written
atomically, so a partial or corrupt file is never used. Files already on disk are re-verified on
each fetch; a small state file caches those checks by (size, mtime_ns) so that a re-run is instant.

What a dataset holds and what was verified are ``workshop.datasets.manifest``'s (its public
``datasets()``, ``copies()``, ``Verified``, ``ready_copies()``...); this module only brings files
in, checks them and unpacks them.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import http.client
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tqdm import tqdm

from workshop import atomic
from workshop.datasets import manifest
from workshop.datasets.manifest import UNPACKED_MARKER, Copy, DataError, Verified, copies, data_dir, unpacked_marker

# urllib applies this to the connection and to each read: a dead network fails within seconds,
# while a slow but live download keeps going.
NETWORK_TIMEOUT_S = 15
CHUNK_BYTES = 1 << 20
MIRROR_HINT = (
    "Without internet, take the files from a course mirror (a USB stick or shared folder laid "
    "out as <dataset>/<file>, or the instructor's laptop serving one): run "
    "`workshop fetch {names} --mirror DIR` (or `--mirror http://INSTRUCTOR:8080/`) or set "
    "WORKSHOP_DATA_MIRROR=DIR (or the URL)."
)


def _keras_home() -> Path:
    # The same rule as keras/src/backend/config.py, so our links land where load_data() looks.
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Atomic, verified writes


class _ChecksumMismatch(Exception):
    def __init__(self, expected: str, actual: str):
        super().__init__(f"sha256 {actual}, expected {expected}")


def _progress_bar(total: int | None, label: str, progress: bool) -> tqdm:
    return tqdm(
        total=total,
        desc=label,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        leave=False,
        disable=not (progress and sys.stderr.isatty()),
    )


def _write_verified(
    target: Path, sha256: str, reader: BinaryIO, length: int | None, label: str, progress: bool
) -> None:
    """Stream `reader` (announcing `length` bytes, if known) into `target`, which appears only if
    its sha256 matches."""
    digest = hashlib.sha256()
    received = 0
    with atomic.replacing(target) as file, _progress_bar(length, label, progress) as bar:
        while chunk := reader.read(CHUNK_BYTES):
            file.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            bar.update(len(chunk))
        # http.client ends a cut-off response quietly; say so rather than report a bad checksum.
        if length is not None and received < length:
            raise ConnectionError(f"the transfer stopped after {received:,} of {length:,} bytes")
        if digest.hexdigest() != sha256:
            raise _ChecksumMismatch(sha256, digest.hexdigest())


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


# ---------------------------------------------------------------------------------------------
# Fetching


class _Unavailable(Exception):
    """No source gave a verified copy of one file; `reasons` says what went wrong with each."""

    def __init__(self, key: str, reasons: list[str]):
        super().__init__(f"{key}: {'; '.join(reasons)}")
        self.reasons = reasons


def _verified_local_copy(root: Path, candidates: list[Copy], verified: Verified) -> Copy | None:
    """The copy already on disk that matches its checksum; corrupt copies are deleted."""
    for copy in candidates:
        path = root / copy.key
        if not path.is_file():
            continue
        if verified.holds(copy):
            return copy
        actual = _sha256_of(path)
        if actual == copy.sha256:
            verified.record(copy)
            return copy
        print(
            f"{copy.key}: the file on disk is corrupt (sha256 {actual}, expected {copy.sha256}); fetching it again.",
            file=sys.stderr,
        )
        path.unlink()
        verified.forget(copy)
    return None


def _copy_from_mirror(root: Path, candidates: list[Copy], mirror: Path, url: str, progress: bool) -> Copy:
    """Copy the first of `candidates` the mirror holds; raise _Unavailable with the reason if none."""
    for copy in candidates:
        source = mirror / copy.key
        if not source.is_file():
            continue
        try:
            with open(source, "rb") as reader:
                _write_verified(
                    root / copy.key, copy.sha256, reader, source.stat().st_size, f"copying {copy.key}", progress
                )
        except _ChecksumMismatch as mismatch:
            print(f"{copy.key}: the mirror copy {source} is corrupt ({mismatch}); trying {url}.", file=sys.stderr)
            raise _Unavailable(copy.key, [f"the mirror copy {source} is corrupt ({mismatch})"])
        except OSError as error:
            raise _Unavailable(copy.key, [f"could not copy {source}: {_describe(error)}"])
        # Keep the mirror's mtime, as `cp -p` does: any later edit of the file then changes its
        # mtime, even one made within the same clock tick as this copy.
        source_mtime_ns = source.stat().st_mtime_ns
        os.utime(root / copy.key, ns=(source_mtime_ns, source_mtime_ns))
        print(f"{copy.key}: copied from the mirror {mirror}")
        return copy
    names = " or ".join(copy.filename for copy in candidates)
    raise _Unavailable(candidates[0].key, [f"the mirror {mirror} has no {candidates[0].dataset}/{names}"])


def _is_url(mirror: object) -> bool:
    return isinstance(mirror, str) and mirror.startswith(("http://", "https://"))


def _mirror_url(base: str, copy: Copy) -> str:
    return base.rstrip("/") + "/" + urllib.parse.quote(copy.key)


def _copy_from_http_mirror(root: Path, candidates: list[Copy], base: str, url: str, progress: bool) -> Copy:
    """Download the first of `candidates` that the mirror served over HTTP (`python -m http.server` on
    the instructor's laptop) holds; every byte is checked against the manifest's sha256."""
    reasons = []
    for copy in candidates:
        source = _mirror_url(base, copy)
        request = urllib.request.Request(source, headers={"User-Agent": "keras-workshop-fetch"})
        try:
            with urllib.request.urlopen(request, timeout=NETWORK_TIMEOUT_S) as response:
                length = response.headers.get("Content-Length")
                _write_verified(
                    root / copy.key,
                    copy.sha256,
                    response,
                    int(length) if length else None,
                    f"fetching {copy.key}",
                    progress,
                )
        except urllib.error.HTTPError as error:
            if error.code == 404:
                reasons.append(f"the mirror {base} has no {copy.key}")
                continue
            raise _Unavailable(copy.key, [f"the mirror copy {source} failed: {_describe(error)}"]) from None
        except _ChecksumMismatch as mismatch:
            print(f"{copy.key}: the mirror copy {source} is corrupt ({mismatch}); trying {url}.", file=sys.stderr)
            raise _Unavailable(copy.key, [f"the mirror copy {source} is corrupt ({mismatch})"]) from None
        except (OSError, http.client.HTTPException) as error:
            raise _Unavailable(
                copy.key, [f"the mirror {base} could not be reached ({_describe(error)}): is its server running?"]
            ) from None
        print(f"{copy.key}: fetched from the mirror {base}")
        return copy
    raise _Unavailable(candidates[0].key, reasons[-1:] or [f"the mirror {base} has no {candidates[0].key}"])


def _download(root: Path, upstream: Copy, url: str, progress: bool) -> Copy:
    request = urllib.request.Request(url, headers={"User-Agent": "keras-workshop-fetch"})
    try:
        with urllib.request.urlopen(request, timeout=NETWORK_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            _write_verified(
                root / upstream.key,
                upstream.sha256,
                response,
                int(length) if length else None,
                f"downloading {upstream.key}",
                progress,
            )
    except _ChecksumMismatch as mismatch:
        raise _Unavailable(upstream.key, [f"the download from {url} is corrupt ({mismatch})"])
    except (OSError, http.client.HTTPException) as error:
        raise _Unavailable(upstream.key, [f"the download from {url} failed: {_describe(error)}"])
    print(f"{upstream.key}: downloaded from {url}")
    return upstream


def _fetch_file(
    root: Path, dataset_name: str, entry: dict, mirror: Path | str | None, verified: Verified, progress: bool
) -> Copy:
    """Make sure one manifest file is on disk and verified; return the copy that is there."""
    candidates = copies(dataset_name, entry)
    copy = _verified_local_copy(root, candidates, verified)
    if copy is not None:
        return copy
    reasons = ["no mirror was given"]
    if mirror is not None:
        # The mirror's own repackaging first: it is what a course mirror holds.
        from_mirror = _copy_from_http_mirror if _is_url(mirror) else _copy_from_mirror
        try:
            copy = from_mirror(root, candidates[::-1], mirror, entry["url"], progress)
        except _Unavailable as unavailable:
            reasons = unavailable.reasons
    if copy is None:
        try:
            copy = _download(root, candidates[0], entry["url"], progress)
        except _Unavailable as unavailable:
            raise _Unavailable(candidates[0].key, reasons + unavailable.reasons) from None
    verified.record(copy)
    return copy


def _link_into_keras_cache(root: Path, dataset: dict, ready: dict[str, Copy], progress: bool) -> None:
    """Point $KERAS_HOME/datasets/<keras_cache>/<file> at our verified files.

    keras.datasets loaders look there first and only check that the files exist, so after this
    they work offline. `keras_cache = "."` puts the files in $KERAS_HOME/datasets/ itself, where
    `keras.utils.get_file(name, url)` looks by default.
    """
    keras_dir = _keras_home() / "datasets" / dataset["keras_cache"]
    keras_dir.mkdir(parents=True, exist_ok=True)
    for entry in dataset["files"]:
        source = root / ready[entry["name"]].key
        link = keras_dir / entry["name"]
        if link.is_symlink() and Path(os.readlink(link)) == source:
            continue
        if not link.is_symlink() and link.is_file() and _sha256_of(link) == entry["sha256"]:
            continue  # a good copy Keras downloaded itself
        temporary_link = link.with_name(f".{link.name}.{os.getpid()}.link")
        temporary_link.unlink(missing_ok=True)
        try:
            os.symlink(source, temporary_link)
        except OSError:
            # Windows without developer mode cannot create symlinks: copy instead.
            with open(source, "rb") as reader:
                _write_verified(
                    link, entry["sha256"], reader, source.stat().st_size, f"copying {link.name} for Keras", progress
                )
            continue
        os.replace(temporary_link, link)


def _link_folder_into_keras_cache(root: Path, name: str, dataset: dict) -> None:
    """Point $KERAS_HOME/datasets/<keras_cache>/<unpack.folder> at our unpacked folder.

    For example $KERAS_HOME/datasets/aclImdb, where the IMDB exercise looks before it downloads
    and unpacks the archive itself. A real folder there (the learner's own download) is left alone.
    """
    folder = dataset["unpack"]["folder"]
    link = _keras_home() / "datasets" / dataset["keras_cache"] / folder
    source = root / name / folder
    if link.is_symlink() and Path(os.readlink(link)) == source:
        return
    if link.exists() and not link.is_symlink():
        return  # a folder Keras or the learner unpacked: leave it alone
    temporary_link = link.with_name(f".{link.name}.{os.getpid()}.link")
    temporary_link.unlink(missing_ok=True)
    try:
        os.symlink(source, temporary_link, target_is_directory=True)
    except OSError:
        return  # no symlinks (Windows without developer mode): the exercise downloads instead
    os.replace(temporary_link, link)


def _is_unpacked(folder: Path, archive: Copy) -> bool:
    marker = unpacked_marker(folder)
    if marker is None or marker.get("sha256") != archive.sha256:
        return False
    # Also catch files deleted after unpacking: counting 50,000 names takes a fraction of a second.
    present = sum(len(files) for _, _, files in os.walk(folder)) - 1
    return present == marker.get("files")


def check_archive_member(member: tarfile.TarInfo, archive_name: str) -> None:
    """Refuse an archive with a member that could write outside the folder it is unpacked into.

    Our own checks rather than ``extract(filter="data")``: that argument exists only from Python
    3.11.4, and Debian 12's Python is 3.11.2. They hold whatever the Python: no absolute names, no
    ``..``, no link that points outside the archive's folder, no device or FIFO.
    """

    def refuse(reason: str) -> DataError:
        return DataError(
            f"{archive_name} is not safe to unpack: member {member.name!r} {reason}. "
            "The file passed its checksum, so the manifest names a hostile archive; do not use it."
        )

    name = member.name.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (parts and parts[0].endswith(":")):
        raise refuse("has an absolute path")
    if ".." in parts:
        raise refuse("climbs out of the folder with '..'")
    if member.ischr() or member.isblk() or member.isfifo():
        raise refuse("is a device or a FIFO")
    if member.issym() or member.islnk():
        target = member.linkname.replace("\\", "/")
        # A symbolic link is relative to its own folder; a hard link names another member.
        base = PurePosixPath(name).parent if member.issym() else PurePosixPath()
        resolved: list[str] = []
        for part in (base / target).parts if not target.startswith("/") else ["/"]:
            if part == "/":
                raise refuse(f"links to the absolute path {member.linkname!r}")
            if part == "..":
                if not resolved:
                    raise refuse(f"links outside the folder ({member.linkname!r})")
                resolved.pop()
            elif part != ".":
                resolved.append(part)


def extract_regular_file(tar: tarfile.TarFile, member: tarfile.TarInfo, folder: Path) -> None:
    """Write one checked regular member under `folder`, as an ordinary file (mode 0644)."""
    target = folder.joinpath(*PurePosixPath(member.name.replace("\\", "/")).parts)
    if folder.resolve() not in target.resolve().parents:  # defence in depth after check_archive_member
        raise DataError(f"Refusing to unpack {member.name!r} outside {folder}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    with source, open(target, "wb") as file:
        shutil.copyfileobj(source, file, CHUNK_BYTES)
    os.chmod(target, 0o644)


def _unpack(root: Path, dataset_name: str, unpack: dict, archive: Copy, progress: bool) -> None:
    """Extract the archive's wanted members into <dataset>/<folder>, atomically and once.

    The marker is written inside a staging folder before the staging folder is renamed into place,
    so a folder without a marker (or with a stale one) is an interrupted or outdated unpack.
    """
    dataset_root = root / dataset_name
    folder = dataset_root / unpack["folder"]
    if _is_unpacked(folder, archive):
        return
    # Staging or outdated folders left by a run that was killed.
    for leftover in dataset_root.glob(f".{unpack['folder']}.*"):
        shutil.rmtree(leftover)
    staging = Path(tempfile.mkdtemp(dir=dataset_root, prefix=f".{unpack['folder']}.unpacking-"))
    try:
        count = 0
        bar = tqdm(
            desc=f"unpacking {archive.key}", unit=" files", disable=not (progress and sys.stderr.isatty()), leave=False
        )
        # Stream mode ("r|*") reads the compressed archive once, front to back.
        with bar, tarfile.open(root / archive.key, "r|*") as tar:
            for member in tar:
                check_archive_member(member, archive.key)
                if member.isfile() and any(fnmatch.fnmatchcase(member.name, pattern) for pattern in unpack["members"]):
                    extract_regular_file(tar, member, staging)
                    count += 1
                    bar.update()
        unpacked = staging / unpack["folder"]
        if count == 0:
            # The archive passed its checksum, so the manifest's patterns are wrong.
            raise DataError(
                f"No member of {archive.key} matches the manifest's unpack.members ({', '.join(unpack['members'])})."
            )
        marker = {"archive": archive.filename, "sha256": archive.sha256, "files": count}
        (unpacked / UNPACKED_MARKER).write_text(json.dumps(marker))
        if folder.exists():
            outdated = dataset_root / f".{unpack['folder']}.outdated-{os.getpid()}"
            os.replace(folder, outdated)
        os.replace(unpacked, folder)
        print(f"{archive.key}: unpacked {count} files into {folder}")
    finally:
        for leftover in dataset_root.glob(f".{unpack['folder']}.*"):
            shutil.rmtree(leftover)


def _mirror_folder(mirror: str | os.PathLike | None) -> Path | str | None:
    """The mirror: a local folder (checked to exist), or an http(s):// URL, kept as a string."""
    configured = mirror if mirror is not None else os.environ.get("WORKSHOP_DATA_MIRROR")
    if not configured:
        return None
    if _is_url(str(configured)):
        return str(configured)
    if str(configured).startswith(("ftp://", "file://")) or "://" in str(configured):
        raise DataError(
            f"The mirror {configured} is neither a folder nor an http:// URL. Use a folder laid out as "
            "<dataset>/<file>, or the address the instructor's laptop serves it at (http://HOST:PORT/)."
        )
    folder = Path(configured).expanduser()
    if not folder.is_dir():
        raise DataError(
            f"The mirror folder {folder} (from --mirror or WORKSHOP_DATA_MIRROR) does not exist. "
            "Point it at a folder laid out as <dataset>/<file>, such as the course USB stick."
        )
    return folder


def fetch(
    names: Iterable[str] | None = None, mirror: str | os.PathLike | None = None, progress: bool = True
) -> dict[str, Path]:
    """Fetch and verify datasets (all when `names` is None); return {name: dataset folder}.

    `mirror` (else $WORKSHOP_DATA_MIRROR) is a local folder laid out as `<dataset>/<file>`, or the
    http:// URL of one served over the room's network, tried before the network. Raises DataError, with a message saying what to do, if any file
    could not be fetched; the other datasets are still fetched.
    """
    names = [names] if isinstance(names, str) else list(names or manifest.datasets())
    for name in names:
        manifest.dataset(name)
    mirror_folder = _mirror_folder(mirror)
    root = data_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(
            f"Cannot create the data folder {root} ({_describe(error)}). Set WORKSHOP_DATA_DIR to a writable folder."
        ) from None
    verified = Verified.load(root)
    failures: list[str] = []
    failed_names: list[str] = []
    ready_folders = {}
    try:
        try:
            for name in names:
                dataset = manifest.dataset(name)
                (root / name).mkdir(exist_ok=True)
                ready: dict[str, Copy] = {}
                for entry in dataset["files"]:
                    try:
                        ready[entry["name"]] = _fetch_file(root, name, entry, mirror_folder, verified, progress)
                    except _Unavailable as unavailable:
                        failures.append(str(unavailable))
                if len(ready) < len(dataset["files"]):
                    failed_names.append(name)
                    continue
                if "keras_cache" in dataset:
                    _link_into_keras_cache(root, dataset, ready, progress)
                if "unpack" in dataset:
                    unpack = dataset["unpack"]
                    _unpack(root, name, unpack, ready[unpack["archive"]], progress)
                    if "keras_cache" in dataset:
                        _link_folder_into_keras_cache(root, name, dataset)
                ready_folders[name] = root / name
                print(f"{name}: ready in {root / name}")
        finally:
            # Also after a failure: what was verified so far stays verified.
            verified.save()
    except OSError as error:
        # Network and mirror errors are handled per file above; this is the local disk.
        raise DataError(
            f"{_describe(error)}. Check the free space and permissions of {root}, "
            "or set WORKSHOP_DATA_DIR to another folder."
        ) from None
    if failures:
        raise DataError(
            f"Could not fetch {len(failures)} file(s):\n  "
            + "\n  ".join(failures)
            + "\n"
            + MIRROR_HINT.format(names=" ".join(failed_names))
        )
    return ready_folders


def _copy_line(copy: Copy) -> str:
    size = f"{copy.size:,} bytes" if copy.size is not None else "size unknown"
    return f"{copy.filename}  {size}  sha256 {copy.sha256}"


def _print_list(names: list[str]) -> None:
    root = data_dir()
    verified = Verified.load(root)
    for name in names:
        dataset = manifest.dataset(name)
        try:
            manifest.ready_copies(name, verified)
            status = f"fetched in {root / name}"
        except DataError:
            status = "not fetched"
        print(f"{name} ({status})\n  {dataset['description']}\n  licence: {dataset['licence']}")
        for entry in dataset["files"]:
            upstream, *mirror_copy = copies(name, entry)
            print(f"  {_copy_line(upstream)}\n    from {entry['url']}")
            if mirror_copy:
                print(f"  {_copy_line(mirror_copy[0])}\n    the course mirror's repackaging")


def run_fetch(args: argparse.Namespace) -> int:
    """Run `workshop fetch` with parsed arguments: 0 on success, 2 with a message on stderr."""
    try:
        names = args.names or list(manifest.datasets())
        for name in names:
            manifest.dataset(name)
        if args.list:
            _print_list(names)
        elif args.checksums:
            for name in names:
                for entry in manifest.dataset(name)["files"]:
                    for copy in copies(name, entry):
                        print(f"{copy.sha256}  {copy.key}")
        else:
            fetch(names, mirror=args.mirror)
    except DataError as error:
        print(f"workshop fetch: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("workshop fetch: interrupted; no partial file was kept.", file=sys.stderr)
        return 130
    return 0
