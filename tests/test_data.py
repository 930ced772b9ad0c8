"""`workshop fetch` and the dataset helpers, on real files and a real local HTTP server.

The tests never reach the internet: every upstream URL in the manifest is pointed at a closed port
on 127.0.0.1. Files come from the course's dataset mirror (set WORKSHOP_DATA_MIRROR, default
<repo>/../shared/data), from small folders built here, or from an http.server on 127.0.0.1.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import io
import os
import re
import socket
import subprocess
import sys
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from workshop import cli
from workshop.datasets import fetching, manifest

REPO = Path(__file__).resolve().parents[1]
# Read before the fixture below clears WORKSHOP_DATA_MIRROR for each test.
MIRROR = Path(os.environ.get("WORKSHOP_DATA_MIRROR") or REPO.parent / "shared" / "data")
needs_mirror = pytest.mark.skipif(
    not (MIRROR / "SHA256SUMS").is_file(),
    reason=f"no dataset mirror at {MIRROR}: set WORKSHOP_DATA_MIRROR to the course's shared/data folder",
)
DATASET_NAMES = {"fashion-mnist", "mnist", "auto-mpg", "imdb", "tinyshakespeare", "dom-casmurro"}


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def use_manifest(monkeypatch, path: Path, text: str) -> None:
    """Write a manifest, load it with the real loader and make it the one `workshop.datasets.manifest` uses."""
    path.write_text(text)
    tables = manifest.load_manifest(path)
    monkeypatch.setattr(manifest, "datasets", lambda: tables)


def listing(folder: Path) -> set[str]:
    """Every name in `folder`, hidden ones included, so a leftover temporary file shows up."""
    return {path.name for path in folder.iterdir()}


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("WORKSHOP_DATA_MIRROR", raising=False)
    offline = copy.deepcopy(manifest.datasets())
    for dataset in offline.values():
        for entry in dataset["files"]:
            entry["url"] = f"{closed_port_url()}/{entry['name']}"
    monkeypatch.setattr(manifest, "datasets", lambda: offline)


@pytest.fixture
def http_folder(tmp_path):
    """A folder served over HTTP on 127.0.0.1; `/truncated` promises 1000 bytes and sends 10."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/truncated":
                return super().do_GET()
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


# --- the manifest ------------------------------------------------------------------------------


def test_manifest_describes_every_dataset():
    tables = manifest.load_manifest()
    assert set(tables) == DATASET_NAMES
    for name, dataset in tables.items():
        for key in ("description", "licence", "citation", "homepage"):
            assert dataset[key].strip() and "\n" not in dataset[key], (name, key)
        for entry in dataset["files"]:
            assert entry["url"].startswith("https://") and entry["url"].endswith(entry["name"]), entry
            assert re.fullmatch("[0-9a-f]{64}", entry["sha256"]), entry
    imdb_tarball = tables["imdb"]["files"][0]
    assert imdb_tarball["sha256"] == "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
    assert imdb_tarball["mirror"]["sha256"] != imdb_tarball["sha256"]


def test_the_manifest_is_read_when_first_needed_not_at_import():
    code = (
        "import workshop.datasets.fetching, workshop.tasks.fashion_mnist\n"
        "from workshop.datasets import manifest\n"
        "before = manifest.datasets.cache_info().misses\n"
        "manifest.dataset('mnist'); manifest.file_path\n"
        "print(before, manifest.datasets.cache_info().misses)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == ["0", "1"]


def test_fetching_uses_only_the_public_names_of_the_manifest():
    """The split follows concern: fetching reaches the read side through its public interface."""
    tree = ast.parse(Path(fetching.__file__).read_text())
    private = [
        node.attr if isinstance(node, ast.Attribute) else alias.name
        for node in ast.walk(tree)
        for alias in (node.names if isinstance(node, ast.ImportFrom) and node.module == manifest.__name__ else [None])
        if (alias is not None and alias.name.startswith("_"))
        or (
            isinstance(node, ast.Attribute)
            and getattr(node.value, "id", "") == "manifest"
            and node.attr.startswith("_")
        )
    ]
    assert private == []


@needs_mirror
def test_manifest_checksums_match_the_mirror(capsys):
    """`workshop fetch --checksums` agrees with the mirror's SHA256SUMS, and sizes match too."""
    assert cli.main(["fetch", "--checksums"]) == 0
    printed = set(capsys.readouterr().out.splitlines())
    mirror_lines = {
        line
        for line in (MIRROR / "SHA256SUMS").read_text().splitlines()
        if line.split("  ")[1].split("/")[0] in DATASET_NAMES
    }
    assert mirror_lines <= printed
    for name, dataset in manifest.datasets().items():
        for entry in dataset["files"]:
            mirror_copy = entry.get("mirror", entry)
            assert (MIRROR / name / mirror_copy["name"]).stat().st_size == mirror_copy["size"]


def test_list_shows_files_sizes_and_licences(capsys):
    assert cli.main(["fetch", "--list", "auto-mpg", "imdb"]) == 0
    out = capsys.readouterr().out
    assert "auto-mpg (not fetched)" in out
    assert "auto-mpg.data  30,286 bytes  sha256 48b830e11fee" in out
    assert "CC BY 4.0" in out
    assert "aclImdb_train_test.tar.gz  28,631,047 bytes" in out and "aclImdb_v1.tar.gz  84,125,825 bytes" in out


# --- where data lives --------------------------------------------------------------------------


def test_data_dir_follows_the_environment(tmp_path, monkeypatch):
    assert manifest.data_dir() == tmp_path / "data"
    monkeypatch.delenv("WORKSHOP_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert manifest.data_dir() == tmp_path / "cache" / "keras-workshop" / "datasets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert manifest.data_dir() == tmp_path / "home" / ".cache" / "keras-workshop" / "datasets"


def test_dataset_dir_says_how_to_fetch_a_missing_dataset():
    with pytest.raises(manifest.DataError, match="run `workshop fetch auto-mpg`"):
        manifest.dataset_dir("auto-mpg")
    with pytest.raises(manifest.DataError, match="There is no dataset 'nope'"):
        manifest.dataset_dir("nope")


# --- fetching from a mirror --------------------------------------------------------------------


@needs_mirror
def test_fetch_from_the_mirror_lands_verified_files_and_a_second_fetch_is_a_no_op(monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_DATA_MIRROR", str(MIRROR))
    folders = fetching.fetch(["auto-mpg"], progress=False)

    folder = manifest.data_dir() / "auto-mpg"
    assert folders == {"auto-mpg": folder} and manifest.dataset_dir("auto-mpg") == folder
    assert listing(folder) == {"auto-mpg.data", "auto-mpg.names"}
    for entry in manifest.dataset("auto-mpg")["files"]:
        assert sha256((folder / entry["name"]).read_bytes()) == entry["sha256"]
    assert manifest.file_path("auto-mpg", "auto-mpg.data") == folder / "auto-mpg.data"
    assert "copied from the mirror" in capsys.readouterr().out

    # Without the mirror, and with every URL refused, only a no-op can succeed.
    monkeypatch.delenv("WORKSHOP_DATA_MIRROR")
    before = {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in folder.iterdir()}
    assert cli.main(["fetch", "auto-mpg"]) == 0
    assert {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in folder.iterdir()} == before
    assert capsys.readouterr().out == f"auto-mpg: ready in {folder}\n"


@needs_mirror
@pytest.mark.parametrize("damage", ["flipped bytes", "truncated"])
def test_a_corrupt_file_on_disk_is_detected_and_fetched_again(damage, capsys):
    fetching.fetch(["auto-mpg"], mirror=MIRROR, progress=False)
    target = manifest.data_dir() / "auto-mpg" / "auto-mpg.data"
    good = target.read_bytes()
    with open(target, "r+b") as file:
        if damage == "truncated":
            file.truncate(len(good) // 2)
        else:
            file.seek(1000)
            file.write(bytes(255 - byte for byte in good[1000:1010]))
    with pytest.raises(manifest.DataError, match="changed since it was verified"):
        manifest.dataset_dir("auto-mpg")
    capsys.readouterr()

    fetching.fetch(["auto-mpg"], mirror=MIRROR, progress=False)

    captured = capsys.readouterr()
    assert "auto-mpg/auto-mpg.data: the file on disk is corrupt" in captured.err
    assert "auto-mpg/auto-mpg.data: copied from the mirror" in captured.out
    assert target.read_bytes() == good
    assert manifest.dataset_dir("auto-mpg") == target.parent


@needs_mirror
def test_a_corrupt_file_with_no_source_to_repair_it_is_removed_not_used():
    fetching.fetch(["auto-mpg"], mirror=MIRROR, progress=False)
    target = manifest.data_dir() / "auto-mpg" / "auto-mpg.names"
    target.write_bytes(b"not the names file")

    with pytest.raises(manifest.DataError, match="auto-mpg/auto-mpg.names: no mirror was given"):
        fetching.fetch(["auto-mpg"], progress=False)
    assert listing(target.parent) == {"auto-mpg.data"}
    with pytest.raises(manifest.DataError, match="run `workshop fetch auto-mpg`"):
        manifest.dataset_dir("auto-mpg")


def test_a_corrupt_mirror_copy_is_an_error_naming_the_file_and_both_hashes(tmp_path, capsys):
    mirror = tmp_path / "usb-stick"
    (mirror / "auto-mpg").mkdir(parents=True)
    bad_copy = mirror / "auto-mpg" / "auto-mpg.data"
    bad_copy.write_bytes(b'18.0 8 307.0 130.0 3504. 12.0 70 1\t"a truncated copy"\n')
    expected = manifest.dataset("auto-mpg")["files"][0]["sha256"]

    assert cli.main(["fetch", "auto-mpg", "--mirror", str(mirror)]) == 2

    err = capsys.readouterr().err
    assert str(bad_copy) in err and expected in err and sha256(bad_copy.read_bytes()) in err
    assert "has no auto-mpg/auto-mpg.names" in err  # the mirror lacks the second file
    assert "Traceback" not in err
    assert listing(manifest.data_dir() / "auto-mpg") == set()


def test_no_reachable_source_names_the_mirror_option_the_dataset_and_the_url(capsys):
    url = manifest.dataset("tinyshakespeare")["files"][0]["url"]

    with pytest.raises(manifest.DataError) as raised:
        fetching.fetch(["tinyshakespeare"], progress=False)
    message = str(raised.value)
    assert "tinyshakespeare/input.txt" in message and url in message
    assert "`workshop fetch tinyshakespeare --mirror DIR`" in message and "WORKSHOP_DATA_MIRROR=DIR" in message

    assert cli.main(["fetch", "tinyshakespeare"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("workshop fetch: Could not fetch 1 file(s)") and "Traceback" not in err


def test_bad_arguments_are_errors_with_a_message(tmp_path, capsys):
    assert cli.main(["fetch", "auto-mpg", "--mirror", str(tmp_path / "absent")]) == 2
    assert "mirror folder" in capsys.readouterr().err
    assert cli.main(["fetch", "mnist", "nope"]) == 2
    assert "There is no dataset 'nope'. Known datasets: fashion-mnist, mnist" in capsys.readouterr().err


# --- downloading -------------------------------------------------------------------------------


def served_manifest(url: str, name: str, sha: str) -> str:
    return f"""
[datasets.served]
description = "A file served by a local http.server."
licence = "CC0"
citation = "This test."
[[datasets.served.files]]
name = "notes.txt"
sha256 = "{sha}"
url = "{url}/{name}"
"""


def test_a_download_over_http_is_verified_and_written_atomically(http_folder, tmp_path, monkeypatch, capsys):
    folder, url = http_folder
    content = b"the quick brown fox\n" * 5000
    (folder / "notes.txt").write_bytes(content)
    use_manifest(monkeypatch, tmp_path / "manifest.toml", served_manifest(url, "notes.txt", sha256(content)))

    fetching.fetch(["served"], progress=False)

    assert f"served/notes.txt: downloaded from {url}/notes.txt" in capsys.readouterr().out
    assert listing(manifest.data_dir() / "served") == {"notes.txt"}
    assert manifest.file_path("served", "notes.txt").read_bytes() == content


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("notes.txt", "is corrupt (sha256 "),
        ("truncated", "the transfer stopped after 10 of 1,000 bytes"),
        ("missing.txt", "HTTP 404"),
    ],
)
def test_a_failed_or_corrupt_download_leaves_nothing_behind(http_folder, tmp_path, monkeypatch, path, reason):
    folder, url = http_folder
    (folder / "notes.txt").write_bytes(b"not what the manifest promises")
    use_manifest(monkeypatch, tmp_path / "manifest.toml", served_manifest(url, path, sha256(b"the real notes")))

    with pytest.raises(manifest.DataError, match=re.escape(reason)):
        fetching.fetch(["served"], progress=False)
    assert listing(manifest.data_dir() / "served") == set()


# --- Keras ---------------------------------------------------------------------------------------


@needs_mirror
def test_keras_fashion_mnist_loader_works_offline_after_fetch(tmp_path):
    keras_dir = tmp_path / "keras" / "datasets" / "fashion-mnist"
    keras_dir.mkdir(parents=True)
    # A good copy Keras downloaded earlier stays; a damaged one is replaced by a link.
    good_copy = keras_dir / "train-labels-idx1-ubyte.gz"
    good_copy.write_bytes((MIRROR / "fashion-mnist" / good_copy.name).read_bytes())
    (keras_dir / "t10k-labels-idx1-ubyte.gz").write_bytes(b"a damaged download")

    fetching.fetch(["fashion-mnist"], mirror=MIRROR, progress=False)

    assert not good_copy.is_symlink()
    for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert (keras_dir / name).resolve() == manifest.file_path("fashion-mnist", name)
    assert listing(keras_dir) == {entry["name"] for entry in manifest.dataset("fashion-mnist")["files"]}
    check = (
        "import keras\n"
        "(x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()\n"
        "print(x_train.shape, x_test.shape, y_train[:10].tolist())\n"
    )
    environment = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", check], env=environment, capture_output=True, text=True, check=False, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(60000, 28, 28) (10000, 28, 28) [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]"


@needs_mirror
def test_keras_cache_dot_links_into_the_keras_datasets_folder_itself(tmp_path):
    # keras.utils.get_file("auto-mpg.data", url) looks for $KERAS_HOME/datasets/auto-mpg.manifest.
    fetching.fetch(["auto-mpg"], mirror=MIRROR, progress=False)
    keras_file = tmp_path / "keras" / "datasets" / "auto-mpg.data"
    assert keras_file.resolve() == manifest.file_path("auto-mpg", "auto-mpg.data")


# --- unpacking -----------------------------------------------------------------------------------


def build_reviews_archive(path: Path) -> None:
    """A tiny aclImdb-shaped tar.gz, with the parts unpacking must leave out."""
    members = {
        "aclImdb/README": "Large Movie Review Dataset v1.0",
        "aclImdb/train/pos/0_9.txt": "Loved it.",
        "aclImdb/train/neg/1_2.txt": "Hated it.",
        "aclImdb/train/unsup/2_0.txt": "Unlabelled.",
        "aclImdb/train/labeledBow.feat": "0 9:1",
        "aclImdb/test/pos/3_8.txt": "Great.",
        "aclImdb/test/neg/4_1.txt": "Awful.",
    }
    with tarfile.open(path, "w:gz") as archive:
        for name, text in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            archive.addfile(info, io.BytesIO(text.encode()))


def test_an_archive_is_unpacked_once_atomically_and_again_when_incomplete(tmp_path, monkeypatch, capsys):
    mirror = tmp_path / "mirror"
    (mirror / "reviews").mkdir(parents=True)
    build_reviews_archive(mirror / "reviews" / "reviews_small.tar.gz")
    # Like imdb: upstream publishes one tarball, the mirror holds a repackaging with its own checksum.
    use_manifest(
        monkeypatch,
        tmp_path / "manifest.toml",
        f"""
[datasets.reviews]
description = "A tiny aclImdb look-alike."
licence = "CC0"
citation = "This test."
[datasets.reviews.unpack]
archive = "reviews_v1.tar.gz"
folder = "aclImdb"
members = ["aclImdb/train/pos/*.txt", "aclImdb/train/neg/*.txt", "aclImdb/test/pos/*.txt", "aclImdb/test/neg/*.txt"]
[[datasets.reviews.files]]
name = "reviews_v1.tar.gz"
sha256 = "{sha256(b"the upstream tarball")}"
url = "{closed_port_url()}/reviews_v1.tar.gz"
mirror = {{ name = "reviews_small.tar.gz", sha256 = "{sha256((mirror / "reviews" / "reviews_small.tar.gz").read_bytes())}" }}
""",
    )
    dataset_folder = manifest.data_dir() / "reviews"
    unpacked = dataset_folder / "aclImdb"
    reviews = {"train/pos/0_9.txt", "train/neg/1_2.txt", "test/pos/3_8.txt", "test/neg/4_1.txt"}

    def unpacked_files() -> set[str]:
        return {str(path.relative_to(unpacked)) for path in unpacked.rglob("*") if path.is_file()}

    fetching.fetch(["reviews"], mirror=mirror, progress=False)
    assert "unpacked 4 files" in capsys.readouterr().out
    assert unpacked_files() == reviews | {manifest.UNPACKED_MARKER}
    assert (unpacked / "train" / "pos" / "0_9.txt").read_text() == "Loved it."
    assert listing(dataset_folder) == {"reviews_small.tar.gz", "aclImdb"}
    assert manifest.dataset_dir("reviews") == dataset_folder
    assert manifest.file_path("reviews", "reviews_v1.tar.gz") == dataset_folder / "reviews_small.tar.gz"

    inode = unpacked.stat().st_ino
    fetching.fetch(["reviews"], progress=False)
    assert ": unpacked" not in capsys.readouterr().out and unpacked.stat().st_ino == inode

    # A review deleted by hand: the folder is incomplete and is unpacked again.
    (unpacked / "test" / "neg" / "4_1.txt").unlink()
    fetching.fetch(["reviews"], progress=False)
    assert "unpacked 4 files" in capsys.readouterr().out and unpacked_files() == reviews | {manifest.UNPACKED_MARKER}

    # A killed run: no marker in the folder and a staging folder left beside it.
    (unpacked / manifest.UNPACKED_MARKER).unlink()
    (dataset_folder / ".aclImdb.unpacking-killed" / "aclImdb").mkdir(parents=True)
    with pytest.raises(manifest.DataError, match="not unpacked"):
        manifest.dataset_dir("reviews")
    fetching.fetch(["reviews"], progress=False)
    assert "unpacked 4 files" in capsys.readouterr().out
    assert listing(dataset_folder) == {"reviews_small.tar.gz", "aclImdb"}
    assert unpacked_files() == reviews | {manifest.UNPACKED_MARKER}


@pytest.mark.slow
@needs_mirror
def test_the_mirrors_imdb_archive_unpacks_to_the_labelled_reviews():
    """The real 28 MB archive: 50,000 small files, about 10 s."""
    fetching.fetch(["imdb"], mirror=MIRROR, progress=False)
    unpacked = manifest.dataset_dir("imdb") / "aclImdb"
    assert sorted(path.name for path in unpacked.iterdir()) == [manifest.UNPACKED_MARKER, "test", "train"]
    for split in ("train", "test"):
        assert sorted(path.name for path in (unpacked / split).iterdir()) == ["neg", "pos"]
        for label in ("pos", "neg"):
            assert len(list((unpacked / split / label).glob("*.txt"))) == 12_500


def test_an_unpacked_folder_is_linked_into_the_keras_cache_unless_one_is_there(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "reviews").mkdir(parents=True)
    build_reviews_archive(mirror / "reviews" / "reviews_v1.tar.gz")
    use_manifest(
        monkeypatch,
        tmp_path / "manifest.toml",
        f"""
[datasets.reviews]
description = "A tiny aclImdb look-alike."
licence = "CC0"
citation = "This test."
keras_cache = "."
[datasets.reviews.unpack]
archive = "reviews_v1.tar.gz"
folder = "aclImdb"
members = ["aclImdb/train/pos/*.txt", "aclImdb/train/neg/*.txt"]
[[datasets.reviews.files]]
name = "reviews_v1.tar.gz"
sha256 = "{sha256((mirror / "reviews" / "reviews_v1.tar.gz").read_bytes())}"
url = "{closed_port_url()}/reviews_v1.tar.gz"
""",
    )
    keras_datasets = tmp_path / "keras" / "datasets"
    fetching.fetch(["reviews"], mirror=mirror, progress=False)
    assert (keras_datasets / "aclImdb").resolve() == manifest.dataset_dir("reviews") / "aclImdb"
    assert (keras_datasets / "aclImdb" / "train" / "pos" / "0_9.txt").read_text() == "Loved it."
    assert (keras_datasets / "reviews_v1.tar.gz").resolve() == manifest.file_path("reviews", "reviews_v1.tar.gz")

    # A folder the learner unpacked there themselves is left alone.
    (keras_datasets / "aclImdb").unlink()
    (keras_datasets / "aclImdb" / "mine").mkdir(parents=True)
    fetching.fetch(["reviews"], progress=False)
    assert listing(keras_datasets / "aclImdb") == {"mine"}


def hostile_member(kind: str) -> tarfile.TarInfo:
    """One member that would write outside the unpack folder, or create a device, if extracted."""
    if kind == "absolute":
        info = tarfile.TarInfo("/workshop-evil/aclImdb/train/pos/evil.txt")
    elif kind == "dotdot":
        info = tarfile.TarInfo("aclImdb/train/pos/../../../../evil.txt")
    elif kind == "symlink":
        info = tarfile.TarInfo("aclImdb/train/pos/link.txt")
        info.type, info.linkname = tarfile.SYMTYPE, "../../../../../etc/passwd"
    elif kind == "absolute symlink":
        info = tarfile.TarInfo("aclImdb/train/pos/link.txt")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif kind == "hardlink":
        info = tarfile.TarInfo("aclImdb/train/pos/hard.txt")
        info.type, info.linkname = tarfile.LNKTYPE, "../outside.txt"
    elif kind == "device":
        info = tarfile.TarInfo("aclImdb/train/pos/null.txt")
        info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    else:
        raise AssertionError(kind)
    return info


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "absolute symlink", "hardlink", "device"])
def test_a_hostile_archive_is_refused_and_nothing_lands_outside(kind, tmp_path, monkeypatch):
    """The data tool's own member checks: the same on every Python 3.11 (no `filter=` needed)."""
    mirror = tmp_path / "mirror"
    (mirror / "reviews").mkdir(parents=True)
    archive_path = mirror / "reviews" / "reviews_v1.tar.gz"
    with tarfile.open(archive_path, "w:gz") as archive:
        good = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
        good.size = 9
        archive.addfile(good, io.BytesIO(b"Loved it."))
        evil = hostile_member(kind)
        if evil.isfile():
            evil.size = 5
            archive.addfile(evil, io.BytesIO(b"pwned"))
        else:
            archive.addfile(evil)
    use_manifest(
        monkeypatch,
        tmp_path / "manifest.toml",
        f"""
[datasets.reviews]
description = "A hostile aclImdb look-alike."
licence = "CC0"
citation = "This test."
[datasets.reviews.unpack]
archive = "reviews_v1.tar.gz"
folder = "aclImdb"
members = ["aclImdb/train/pos/*", "/workshop-evil/aclImdb/*"]
[[datasets.reviews.files]]
name = "reviews_v1.tar.gz"
sha256 = "{sha256(archive_path.read_bytes())}"
url = "{closed_port_url()}/reviews_v1.tar.gz"
""",
    )
    before = set(tmp_path.rglob("*"))
    with pytest.raises(manifest.DataError, match="not safe to unpack"):
        fetching.fetch(["reviews"], mirror=mirror, progress=False)
    dataset_folder = manifest.data_dir() / "reviews"
    # Only the verified archive (and the verification record) is left: no folder, no staging, nothing outside.
    assert listing(dataset_folder) == {"reviews_v1.tar.gz"}
    created = {path for path in set(tmp_path.rglob("*")) - before if dataset_folder not in path.parents}
    assert created <= {dataset_folder, manifest.data_dir(), manifest.data_dir() / manifest.STATE_FILENAME}, created
    assert not Path("/workshop-evil/aclImdb/train/pos/evil.txt").exists() and not (tmp_path / "evil.txt").exists()


def test_member_checks_accept_links_that_stay_inside():
    inside = tarfile.TarInfo("aclImdb/train/pos/link.txt")
    inside.type, inside.linkname = tarfile.SYMTYPE, "../neg/1_2.txt"
    assert fetching.check_archive_member(inside, "reviews.tar.gz") is None
    assert fetching.check_archive_member(tarfile.TarInfo("aclImdb/./train/pos/0_9.txt"), "reviews.tar.gz") is None
    # The boundary: the nearest link that climbs out of the archive's folder is refused.
    outside = tarfile.TarInfo("aclImdb/train/pos/link.txt")
    outside.type, outside.linkname = tarfile.SYMTYPE, "../../../../x"
    with pytest.raises(manifest.DataError, match="links outside the folder"):
        fetching.check_archive_member(outside, "reviews.tar.gz")
