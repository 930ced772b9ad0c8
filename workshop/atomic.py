"""Atomic writes: a file appears whole or not at all, with the permissions of an ordinary file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_bytes(path: str | os.PathLike, content: bytes, *, mode: int = 0o644) -> Path:
    """Write `content` to a temporary file beside `path`, flush it to disk, then rename it over
    `path`. Readers see the old file or the new one, never half of one; a crash leaves no debris
    under the target's name. `mode` (default rw-r--r--) is applied before the rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | os.PathLike, text: str, *, mode: int = 0o644) -> Path:
    return write_bytes(path, text.encode("utf-8"), mode=mode)
