"""Canvas' "Download Submissions" archive, as the instructor receives it.

Canvas names every file ``<sortable name>_<late_><user id>_<submission id>_<file name>``, e.g.
``doejane_late_48213_1190342_02_fashion_mnist_logreg-1.ipynb``: the learner's sortable name
(lower case, no spaces), ``late_`` when handed in after the due date, the Canvas user id, the
submission id, and the learner's own file name, which Canvas gives a ``-1``, ``-2``... suffix
when the learner resubmits a file of the same name. Here a learner is their Canvas user id (what
Canvas' gradebook import matches on, in its ``ID`` column), the sortable name is kept for people,
and the latest resubmission is the one graded.

``unpack`` checks a downloaded zip completely before it writes anything (its size once unpacked,
its compression ratios, its paths, its names), then unpacks it into a temporary folder that is
renamed into place only when whole.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# <sortable name>_<late_><user id>_<submission id>_<file name>
NAME_PATTERN = re.compile(
    r"^(?P<name>[^_/\\]+)_(?:(?P<late>late)_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<filename>.+)$", re.IGNORECASE
)
# "hw-2.ipynb": the learner's second resubmission of hw.ipynb.
RESUBMISSION_PATTERN = re.compile(r"^(?P<base>.+?)-(?P<number>\d{1,3})$")

# What an archive of notebooks may be. A class of 500 notebooks with outputs is a few hundred MB;
# a zip bomb unpacks to far more, or from a tiny member to a huge one.
MAX_TOTAL_BYTES = 4 * 2**30
MAX_MEMBERS = 20_000
MAX_RATIO = 200  # uncompressed / compressed, for members above RATIO_FLOOR_BYTES
RATIO_FLOOR_BYTES = 2**20


class ArchiveError(Exception):
    """The archive cannot be graded as it is: nothing of it was unpacked."""


@dataclass(frozen=True)
class CanvasFile:
    """One file of a Canvas download, parsed from its name."""

    path: Path
    learner: str  # the Canvas user id
    name: str  # the sortable name
    late: bool
    submission_id: str
    filename: str  # the learner's own file name, resubmission suffix included
    resubmission: int  # 0 for the first upload, n for "-n"

    @property
    def stem(self) -> str:
        """The learner's file name without its resubmission suffix or extension."""
        return resubmission_of(Path(self.filename).stem)[0]


def resubmission_of(stem: str) -> tuple[str, int]:
    match = RESUBMISSION_PATTERN.match(stem)
    return (match["base"], int(match["number"])) if match else (stem, 0)


def parse(path: Path) -> CanvasFile | None:
    """The Canvas fields of ``path``'s name, or None when it is not named the Canvas way."""
    match = NAME_PATTERN.match(Path(path).name)
    if match is None:
        return None
    return CanvasFile(
        path=Path(path),
        learner=match["user"],
        name=match["name"],
        late=bool(match["late"]),
        submission_id=match["submission"],
        filename=match["filename"],
        resubmission=resubmission_of(Path(match["filename"]).stem)[1],
    )


def check_names(files: list[CanvasFile]) -> None:
    """One Canvas user id is one person: two sortable names for one id is a broken archive."""
    names: dict[str, set[str]] = {}
    for file in files:
        names.setdefault(file.learner, set()).add(file.name.lower())
    clashes = {learner: sorted(found) for learner, found in names.items() if len(found) > 1}
    if clashes:
        listing = "; ".join(f"id {learner}: {', '.join(found)}" for learner, found in sorted(clashes.items()))
        raise ArchiveError(
            f"The same Canvas user id belongs to several names ({listing}). Download the submissions "
            "again from Canvas, or rename the files so that each id has one name."
        )


def latest(files: list[CanvasFile]) -> list[CanvasFile]:
    """The files of one learner's latest resubmission (several when they handed in several files)."""
    top = max(file.resubmission for file in files)
    return [file for file in files if file.resubmission == top]


# ---------------------------------------------------------------------------------------------
# the zip itself


def check_archive(archive: zipfile.ZipFile, where: Path) -> list[zipfile.ZipInfo]:
    """Every member, checked before anything is written; raises ArchiveError naming the problem."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ArchiveError(f"{where} holds {len(members):,} entries (at most {MAX_MEMBERS:,}); is it a class download?")
    total, seen = 0, set()
    for member in members:
        name = member.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or re.match(r"^[A-Za-z]:", name):
            raise ArchiveError(
                f"{where}: the entry {name!r} points outside the archive's folder; refusing to unpack it."
            )
        if stat.S_ISLNK(member.external_attr >> 16):
            raise ArchiveError(f"{where}: the entry {name!r} is a symbolic link; refusing to unpack it.")
        key = str(pure).lower()  # two names a case-insensitive file system would merge
        if key in seen:
            raise ArchiveError(f"{where} holds the entry {name!r} twice; download it again from Canvas.")
        seen.add(key)
        if member.flag_bits & 0x1:
            raise ArchiveError(f"{where}: the entry {name!r} is encrypted.")
        total += member.file_size
        if total > MAX_TOTAL_BYTES:
            raise ArchiveError(
                f"{where} would unpack to more than {MAX_TOTAL_BYTES / 2**30:.0f} GiB; refusing (a zip bomb, or not "
                "a class of notebooks)."
            )
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise ArchiveError(
                f"{where}: the entry {name!r} is compressed {member.file_size / max(member.compress_size, 1):,.0f} "
                f"to 1 (at most {MAX_RATIO} to 1 is accepted); refusing to unpack a likely zip bomb."
            )
    parsed = [parse(Path(PurePosixPath(m.filename.replace("\\", "/")).name)) for m in members if not m.is_dir()]
    check_names([file for file in parsed if file is not None])
    return members


def unpack(zip_path: Path, into: Path) -> Path:
    """Unpack ``zip_path`` into ``into/<archive name>-<digest>/`` (reused when already there).

    The archive is checked whole first; it is unpacked into a temporary folder beside the
    target and renamed into place only when every member was written, so an error leaves
    nothing behind. Members are read with a byte cap, as their headers may lie."""
    zip_path = Path(zip_path)
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()[:12]
    target = Path(into) / f"{zip_path.stem}-{digest}"
    if target.is_dir():
        return target
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(f"{zip_path} is not a readable zip archive ({error}).") from None
    with archive:
        members = check_archive(archive, zip_path)
        Path(into).mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(dir=into, prefix=f".{target.name}.", suffix=".partial"))
        try:
            written = 0
            for member in members:
                destination = temporary.joinpath(*PurePosixPath(member.filename.replace("\\", "/")).parts)
                if member.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, open(destination, "wb") as sink:
                    while chunk := source.read(2**20):
                        written += len(chunk)
                        if written > MAX_TOTAL_BYTES:
                            raise ArchiveError(f"{zip_path} unpacks to more than its entries declare; refusing.")
                        sink.write(chunk)
            temporary.rename(target)
        except zipfile.BadZipFile as error:
            shutil.rmtree(temporary, ignore_errors=True)
            raise ArchiveError(f"{zip_path} is damaged ({error}); download it again.") from None
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    return target


def check_folder(folder: Path) -> None:
    """An unpacked download: no entry may lead outside it (a symbolic link out is refused)."""
    root = Path(folder).resolve()
    for entry in Path(folder).rglob("*"):
        if entry.is_symlink() and not entry.resolve().is_relative_to(root):
            raise ArchiveError(f"{entry} is a link to {entry.resolve()}, outside {folder}; refusing to grade it.")
