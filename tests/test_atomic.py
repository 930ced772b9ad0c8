"""Files that appear whole (workshop.atomic): here, the one ``link_or_copy`` the learner views use."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from workshop import atomic

OTHER_DEVICE = Path("/dev/shm")


def test_on_one_file_system_the_target_is_a_hard_link_replacing_what_was_there(tmp_path):
    source = tmp_path / "data" / "train.gz"
    source.parent.mkdir()
    source.write_bytes(b"training images")
    target = tmp_path / "view" / "train.gz"
    target.parent.mkdir()
    target.write_bytes(b"an older view")
    assert atomic.link_or_copy(source, target) == target
    assert target.read_bytes() == b"training images"
    assert os.path.samefile(source, target) and not target.is_symlink()
    assert sorted(path.name for path in target.parent.iterdir()) == ["train.gz"], "no temporary file is left"


@pytest.mark.skipif(
    not OTHER_DEVICE.is_dir() or OTHER_DEVICE.stat().st_dev == Path(tempfile.gettempdir()).stat().st_dev,
    reason="needs a second file system (/dev/shm) to make a hard link impossible",
)
def test_across_file_systems_the_target_is_a_copy_with_the_sources_times(tmp_path):
    with tempfile.TemporaryDirectory(dir=OTHER_DEVICE) as other:
        source = Path(other) / "review.txt"
        source.write_text("a fine film")
        os.utime(source, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
        target = tmp_path / "review.txt"
        atomic.link_or_copy(source, target)
        assert target.read_text() == "a fine film" and not os.path.samefile(source, target)
        assert target.stat().st_mtime_ns == source.stat().st_mtime_ns
        source.write_text("edited")  # the copy is independent of its source
        assert target.read_text() == "a fine film"


def test_it_is_a_copy_function_for_copytree(tmp_path):
    source = tmp_path / "aclImdb" / "train"
    (source / "pos").mkdir(parents=True)
    (source / "pos" / "1_9.txt").write_text("loved it")
    shutil.copytree(source, tmp_path / "view" / "train", copy_function=atomic.link_or_copy)
    assert os.path.samefile(source / "pos" / "1_9.txt", tmp_path / "view" / "train" / "pos" / "1_9.txt")


def test_a_missing_source_raises_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic.link_or_copy(tmp_path / "missing", tmp_path / "view" / "file")
    assert list((tmp_path / "view").iterdir()) == []
