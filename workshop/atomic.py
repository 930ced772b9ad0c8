"""Atomic writes: a file appears whole or not at all, with the permissions of an ordinary file.

The one place the course writes files that others read while it runs (the gradebook, caches,
downloaded datasets, the executed notebooks, the site's exports): everything goes through a
temporary file beside the target, flushed to disk, then renamed over it. ``link_or_copy`` puts a
file's twin in place the same way (the learner views of the data, built from the verified files).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def replacing(path: str | os.PathLike, *, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A binary stream to write `path`'s new content to. If the block completes, the content
    replaces `path` at once; if it raises, `path` is untouched and no debris is left. `mode`
    (default rw-r--r--, where mkstemp alone would leave rw-------) is applied before the rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, content: bytes, *, mode: int = 0o644) -> Path:
    """Write `content` to `path` atomically (see `replacing`)."""
    with replacing(path, mode=mode) as stream:
        stream.write(content)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, *, mode: int = 0o644) -> Path:
    return write_bytes(path, text.encode("utf-8"), mode=mode)


def create_once(path: str | os.PathLike, content: bytes, *, mode: int = 0o644) -> bool:
    """Write `path` whole unless it exists: of several processes racing to create it, exactly one
    wins and the others keep its content. True if this call created it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        try:
            os.link(temporary, path)  # fails if another process created it first
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temporary)


def link_or_copy(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Make ``target`` a file with ``source``'s content: a hard link where the file system allows one
    (instant, no space), else a copy with its permissions and times (``shutil.copy2``).

    It appears whole, replacing a file already at ``target``. Never a symbolic link: the grading
    sandbox hides the folder a link would point into. A hard link shares the inode, so a file that
    must stay independent of its source (the scorer's held-out data) is copied, not passed here.
    Usable as ``shutil.copytree``'s ``copy_function``.
    """
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
    try:
        try:
            os.link(source, temporary)
        except OSError:  # another device, or a file system without hard links
            shutil.copy2(source, temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
