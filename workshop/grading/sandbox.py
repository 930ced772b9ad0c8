"""OS confinement for graded submissions (``workshop grade``).

The runner already gives every submission a fresh process in its own temporary working
directory, a wall-clock limit, a memory limit (RLIMIT_AS) and a scrubbed environment. This
module adds what the operating system can give on top, and checks at grader start, with a probe
run inside (``workshop.grading.sandbox_probe``), which of it actually holds here:

- ``pids``: a cgroup (v1 ``pids`` controller, or a delegated v2 one) per submission with
  ``pids.max``, so a fork storm fails inside the submission instead of exhausting the machine;
  without it, the runner's watchdog still stops a run that starts more than ``max_processes``.
- an **allow-list** file system, built by bubblewrap (``bwrap``, what Flatpak uses): an empty
  root into which only what the run needs is bound, read-only: the system folders (``/usr`` and
  its links, a few loader files of ``/etc``), the Python runtime (the virtual environment, the
  interpreter it was made from, the folders on its import path) and the course's own package
  (``workshop/``, not the rest of the checkout); generated ``/etc/passwd``, ``group`` and
  ``hosts``; the learner view of the data; a private ``/tmp`` and ``/dev/shm``; and the run's
  own working folder, the only writable host path. Nothing else of the host exists inside: not
  the grader's home, ``/root``, ``/home``, ``/srv``, ``/media``, ``/mnt``, the class folder, the
  output, the real data or other checkouts. The scorer runs under the same allow-list with the
  real data and ``solutions/`` added, read-only;
- new namespaces of every kind: network (loopback only: the Jupyter kernel talks to nbclient
  over 127.0.0.1), PID (it cannot see or signal other runs or the grader), user, IPC, UTS,
  cgroup; no capabilities, ``no_new_privs``, no further user namespaces; and the sandbox dies
  with the grader.

A batch's sandbox is prepared where its runs happen (``prepare_sandbox``: the learner view of
the data, the generated /etc, the probe; ``worker_plan`` once per Dask worker), and a batch whose
sandbox does not hold stops before any submission runs (``sandbox_refusal``).

The allow-list is the design: a deny-list (hide what the grader knows about, show the rest)
leaves everything the grader does not know about readable, such as an instructor's mail, keys
or other courses' answer keys. The probe plants a file in the grading account's home and one
beside the checkout, lists what is visible from inside, and the grader refuses to start where
anything outside the allow-list shows.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from workshop import atomic
from workshop.course.course import Course
from workshop.course.units import load_unit
from workshop.grading.gradebook import now
from workshop.running.runner import Isolation

GRADE_MEMORY_BYTES = 8 * 2**30
GRADE_PIDS_MAX = 400
GRADE_MAX_PROCESSES = 256  # below pids.max (which also counts threads), so a storm is stopped either way
PIDS_ROOT = Path("/sys/fs/cgroup/pids")
PRIVATE_TMP_BYTES = 2 * 2**30
PRIVATE_SHM_BYTES = 2**30

PROTECTIONS = {
    "time_limit": "wall-clock limit per submission (runner)",
    "memory_limit": "address-space limit, RLIMIT_AS (runner)",
    "clean_environment": "fresh process, own working directory, scrubbed environment (runner)",
    "process_watchdog": "runner stops a run with too many processes (polled)",
    "pids_cgroup": "cgroup pids.max: fork() fails inside the submission past the limit",
    "network": "network namespace with loopback only: nothing outside is reachable",
    "read_only": "file system read-only except the run's own working directory",
    "allow_list": "only the allow-list of the host is visible (system, Python runtime, workshop/, the view)",
    "pid_namespace": "own PID namespace: cannot see or signal other runs or the grader",
    "capabilities": "no capabilities, no_new_privs, no further user namespaces: mounts cannot be undone",
    "parent_death": "killing the grader kills every sandboxed process",
    "held_out_withheld": "the submission's data view holds no true held-out labels",
    "scorer": "the scorer runs under the same allow-list, with the real data and solutions/ (read-only) added",
}


@dataclass
class SandboxPlan:
    """Everything a worker needs to confine one run; plain data, so it pickles (Dask)."""

    prefix: list[str] = field(default_factory=list)
    scorer_prefix: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    memory_bytes: int = GRADE_MEMORY_BYTES
    max_processes: int = GRADE_MAX_PROCESSES
    pids_max: int = GRADE_PIDS_MAX
    pids_root: str | None = None
    view: str | None = None
    mechanism: str = "none"
    allow_list: dict = field(default_factory=dict)  # an AllowList as plain data, for sandbox.json
    scorer_allow_list: dict = field(default_factory=dict)
    protections: dict[str, dict] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @contextmanager
    def isolation(self) -> Iterator[Isolation]:
        """An Isolation for one run, with its own pids cgroup (removed afterwards)."""
        cgroup = None
        if self.pids_root:
            try:
                cgroup = make_pids_cgroup(Path(self.pids_root), self.pids_max)
            except OSError:
                cgroup = None
        try:
            yield Isolation(
                memory_bytes=self.memory_bytes,
                max_processes=self.max_processes,
                prefix=list(self.prefix),
                scorer_prefix=list(self.scorer_prefix),
                environment=dict(self.environment),
                pids_cgroup=cgroup,
            )
        finally:
            if cgroup is not None:
                remove_pids_cgroup(cgroup)

    def report(self) -> dict:
        data = asdict(self)
        data.pop("environment")
        data["active"] = sorted(name for name, item in self.protections.items() if item["active"])
        data["inactive"] = sorted(name for name, item in self.protections.items() if not item["active"])
        return data


# ---------------------------------------------------------------------------------------------
# pids cgroup


def make_pids_cgroup(root: Path, pids_max: int) -> Path:
    cgroup = root / f"workshop-{uuid.uuid4().hex[:12]}"
    cgroup.mkdir()
    try:
        (cgroup / "pids.max").write_text(str(pids_max))
    except OSError:
        cgroup.rmdir()
        raise
    return cgroup


def remove_pids_cgroup(cgroup: Path, wait_seconds: float = 10.0) -> bool:
    """Kill whatever is left in the cgroup and remove it."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            pids = [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            cgroup.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)


def sweep_stale_cgroups(root: Path = PIDS_ROOT, older_than_seconds: float = 600) -> None:
    """Remove empty ``workshop-*`` cgroups left by a grader that was killed."""
    for cgroup in root.glob("workshop-*"):
        try:
            if (
                time.time() - cgroup.stat().st_mtime > older_than_seconds
                and not (cgroup / "cgroup.procs").read_text().strip()
            ):
                cgroup.rmdir()
        except OSError:
            pass


def delegated_cgroup_v2() -> Path | None:
    """This process's own cgroup v2 folder, when it offers the pids controller and this user may
    write it (systemd delegates one to each user's session manager); None otherwise."""
    try:
        relative = next(
            line.split("::", 1)[1].strip()
            for line in Path("/proc/self/cgroup").read_text().splitlines()
            if line.startswith("0::")
        )
    except (OSError, StopIteration):
        return None
    for mount in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        folder = mount / relative.lstrip("/")
        try:
            offers_pids = "pids" in (folder / "cgroup.controllers").read_text().split()
        except OSError:
            continue
        if offers_pids and os.access(folder, os.W_OK):
            return folder
    return None


def pids_roots() -> list[Path]:
    """Where a pids cgroup per run may be made: the v1 pids hierarchy (root), then a delegated v2 one."""
    delegated = delegated_cgroup_v2()
    return [PIDS_ROOT] + ([delegated] if delegated else [])


def pids_cgroup_works(root: Path = PIDS_ROOT) -> tuple[bool, str]:
    if not (root / "cgroup.procs").exists():
        return False, f"no pids cgroup at {root}"
    if (root / "cgroup.subtree_control").exists():  # cgroup v2: children get pids.max once enabled
        try:
            if "pids" not in (root / "cgroup.subtree_control").read_text().split():
                (root / "cgroup.subtree_control").write_text("+pids")
        except OSError as error:
            return False, f"cannot enable the pids controller under {root}: {error.strerror or error}"
    try:
        cgroup = make_pids_cgroup(root, 5)
    except OSError as error:
        return False, f"cannot create a cgroup under {root}: {error.strerror or error}"
    try:
        # A shell in the cgroup cannot start more than pids.max processes.
        completed = subprocess.run(
            [
                "sh",
                "-c",
                (
                    f"echo $$ > {shlex.quote(str(cgroup / 'cgroup.procs'))}; "
                    "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done 2>/dev/null; jobs -p | wc -l"
                ),
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        started = int((completed.stdout.strip() or "0").split()[-1])
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        remove_pids_cgroup(cgroup)
        return False, f"probe failed: {error}"
    remove_pids_cgroup(cgroup)
    if started >= 8:
        return False, "pids.max was not enforced"
    return True, f"{root}/workshop-<id>, pids.max enforced"


# ---------------------------------------------------------------------------------------------
# the allow-list: what a submission's file system is built from


# Read-only system folders and the links that stand for them on merged-/usr systems; /etc only
# in the few entries the dynamic loader and fontconfig read.
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts", "localtime", "nsswitch.conf")
# Written by the grader for the sandbox (the host's own would name its accounts and machines).
GENERATED_ETC = ("passwd", "group", "hosts")


@dataclass
class AllowList:
    """Everything a sandboxed process sees of the host; nothing else is mounted.

    All plain strings, so that it pickles and can be written to ``sandbox.json`` as it is."""

    read_only: list[str]  # host paths bound read-only at the same place
    links: list[tuple[str, str]]  # (target, path): /bin -> usr/bin where the host has that link
    etc: str  # the folder holding GENERATED_ETC, bound over /etc/<name>
    view: str | None = None  # the learner view: its top folders writable, its files read-only
    hidden: list[str] = field(default_factory=list)  # inside a read-only path, covered by an empty tmpfs

    def paths(self) -> list[str]:
        """Every path this allow-list makes visible (for the probe)."""
        return [
            *self.read_only,
            *(f"/etc/{name}" for name in GENERATED_ETC),
            *([self.view] if self.view else []),
        ]


def inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def existing(paths) -> list[Path]:
    """The paths that exist, absolute and resolved, without duplicates."""
    seen, result = set(), []
    for path in paths:
        if not path:
            continue
        path = Path(path).expanduser().absolute()
        try:
            path = path.resolve()
        except OSError:
            continue
        if path.exists() and path not in seen and path != Path("/"):
            seen.add(path)
            result.append(path)
    return result


def outermost(paths: list[Path]) -> list[Path]:
    """The paths not inside another of them (one bind covers what lies below it)."""
    return [p for p in paths if not any(other != p and inside(p, other) for other in paths)]


def python_runtime(repo: Path) -> list[Path]:
    """What the notebook's Python needs: its prefixes (the virtual environment and the interpreter
    it was made from) and every folder on its import path, plus the course's own package.

    Nothing else of the checkout: the import path is the one a run's fresh interpreter has (not
    this process's, which holds the folder it was started from, and pytest's ``tests/``), and the
    checkout on it, or a folder that holds the checkout, is narrowed to ``workshop/``."""
    repo = repo.resolve()
    venv = Path(sys.prefix).resolve()
    candidates = existing(
        [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *child_import_path(repo)]
    )
    # The checkout itself (on the path so that `workshop` imports) and any folder holding it are
    # narrowed to the package; a folder inside it that the run imports from (a .venv) stays.
    runtime = [path for path in candidates if not inside(repo, path) or path == venv]
    return outermost([*runtime, *existing([repo / "workshop"])])


def child_import_path(repo: Path) -> list[str]:
    """The import path of a run's Python, as a fresh interpreter started like the runner starts
    one reports it (this process's own ``sys.path`` also holds the folder it was started from,
    which a run never needs: an instructor's home, say)."""
    with tempfile.TemporaryDirectory(prefix="workshop-path-") as folder:
        completed = subprocess.run(
            [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
            cwd=folder,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(repo), "HOME": folder},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    return json.loads(completed.stdout)


def system_paths() -> tuple[list[Path], list[tuple[str, str]]]:
    """The system folders to bind, and the top-level links (``/bin -> usr/bin``) to re-create."""
    folders, links = [], []
    for name in SYSTEM_FOLDERS:
        path = Path(name)
        if path.is_symlink():
            links.append((os.readlink(path), name))
        elif path.is_dir():
            folders.append(path)
    folders += [Path("/etc") / name for name in ETC_ENTRIES if (Path("/etc") / name).exists()]
    return folders, links


def write_generated_etc(folder: Path) -> Path:
    """passwd, group and hosts for the sandbox: its own user, and localhost; nothing of the host's."""
    folder.mkdir(parents=True, exist_ok=True)
    uid, gid = os.getuid(), os.getgid()
    users = {0: "root", uid: "learner"}
    (folder / "passwd").write_text(
        "".join(
            f"{name}:x:{number}:{gid if number == uid else 0}:{name}:/tmp:/bin/sh\n" for number, name in users.items()
        )
        + "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    groups = {0: "root", gid: "learner"}
    (folder / "group").write_text(
        "".join(f"{name}:x:{number}:\n" for number, name in groups.items()) + "nogroup:x:65534:\n"
    )
    (folder / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")
    for entry in folder.iterdir():
        entry.chmod(0o644)
    folder.chmod(0o755)
    return folder


def view_entries(view: Path, depth: int = 2) -> list[tuple[Path, bool]]:
    """(path, re-create as a writable folder?) for the view: folders down to ``depth`` are
    re-created (Keras writes its config under KERAS_HOME, and looks for its datasets in /tmp
    when KERAS_HOME is not writable), everything below them is bound whole and read-only."""
    entries: list[tuple[Path, bool]] = [(view, True)]
    for child in sorted(view.iterdir()):
        if child.is_dir() and not child.is_symlink() and depth > 0:
            entries += view_entries(child, depth - 1)
        else:
            entries.append((child, False))
    return entries


def bwrap_arguments(allow: AllowList) -> list[str]:
    """bubblewrap's arguments for ``allow``, up to (not including) the run's own folder.

    New namespaces of every kind (network: loopback only, brought up by bwrap), an empty root
    built from read-only binds of the allowed paths, a private /tmp, fresh /proc and /dev, no
    capabilities, no further user namespaces, and the sandbox killed with its parent."""
    arguments = [
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]
    # The private folders first: a virtual environment or a view under /tmp is bound into them.
    arguments += ["--proc", "/proc", "--dev", "/dev"]
    arguments += ["--perms", "1777", "--size", str(PRIVATE_SHM_BYTES), "--tmpfs", "/dev/shm"]
    arguments += ["--perms", "1777", "--size", str(PRIVATE_TMP_BYTES), "--tmpfs", "/tmp"]
    for target, path in allow.links:
        arguments += ["--symlink", target, path]
    for path in allow.read_only:
        arguments += ["--ro-bind", path, path]
    for name in GENERATED_ETC:
        arguments += ["--ro-bind", str(Path(allow.etc) / name), f"/etc/{name}"]
    if allow.view:
        for entry, is_folder in view_entries(Path(allow.view)):
            if is_folder:
                arguments += ["--perms", "0755", "--dir", str(entry)]
            else:
                arguments += ["--ro-bind", str(entry), str(entry)]
    for path in allow.hidden:
        arguments += ["--perms", "0555", "--size", "4096", "--tmpfs", path, "--remount-ro", path]
    return arguments


def bwrap_prefix(bwrap: str, allow: AllowList) -> list[str]:
    """The command a run is started through: bubblewrap with ``allow`` and, added where the run
    starts, its own working folder (the only writable host path), then the root made read-only."""
    fixed = shlex.join([bwrap, *bwrap_arguments(allow)])
    script = f'W=$(pwd -P) && exec {fixed} --bind "$W" "$W" --remount-ro / --chdir "$W" -- "$@"'
    return ["/bin/sh", "-c", script, "workshop-sandbox"]


# ---------------------------------------------------------------------------------------------
# the probe


def plant_files(repo: Path) -> tuple[list[Path], list[str]]:
    """Files the allow-list must keep out of sight, planted for the probe: one in this account's
    home, one beside the checkout ``repo``. Returns (planted files, notes on places that could not be used)."""
    planted, notes = [], []
    for label, folder in (("home", Path.home()), ("beside the checkout", Path(repo).resolve().parent)):
        try:
            place = Path(tempfile.mkdtemp(prefix=".workshop-probe-", dir=folder))
            (place / "answers.txt").write_text("planted by the sandbox probe\n")
            planted.append(place / "answers.txt")
        except OSError as error:
            notes.append(f"could not plant a file {label} ({folder}: {error.strerror or error})")
    return planted, notes


def remove_planted(planted: list[Path]) -> None:
    for path in planted:
        shutil.rmtree(path.parent, ignore_errors=True)


def run_probe(prefix: list[str], expected: dict, environment: dict[str, str], repo: Path) -> tuple[dict | None, str]:
    """Run ``workshop.grading.sandbox_probe`` (of the checkout ``repo``) through ``prefix``; its
    report, or None and why."""
    workdir = Path(tempfile.mkdtemp(prefix="workshop-probe-"))
    (workdir / "probe-marker").write_text("outside")
    try:
        completed = subprocess.run(
            [*prefix, sys.executable, "-m", "workshop.grading.sandbox_probe", json.dumps(expected)],
            cwd=workdir,
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "LANG": "C.UTF-8",
                "PYTHONPATH": str(repo),
                **environment,
            },
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        written = (workdir / "probe-write").exists()
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, str(error)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for line in completed.stdout.splitlines():
        if line.startswith("WORKSHOP-PROBE "):
            report = json.loads(line[len("WORKSHOP-PROBE ") :])
            report["workdir_writable"] = report["workdir_writable"] and written
            return report, ""
    return None, (completed.stderr.strip().splitlines() or ["(no output)"])[-1]


def probe_expectations(allow: AllowList, planted: list[Path], required: list[Path] = ()) -> dict:
    view = Path(allow.view) if allow.view else None
    return {
        "allowed": allow.paths(),
        "links": [path for _, path in allow.links],
        "planted": [str(path) for path in planted],
        "read_only": [path for path in allow.read_only if Path(path).is_dir()][:12],
        "view": allow.view,
        "expect_view_files": bool(view and any(files for _, _, files in os.walk(view))),
        "required": [str(path) for path in required],
        "grader_pid": os.getpid(),
    }


def judge(report: dict) -> dict[str, dict]:
    """The protections a probe report shows to hold, with the evidence in words."""
    outside = report["visible_outside"] + report["tmp_extra"]
    allow_ok = not outside and not report["planted_visible"] and report["view_visible"]
    return {
        "network": {
            "active": report["network_isolated"] and report["loopback"],
            "detail": f"interfaces inside: {', '.join(report['interfaces'])}",
        },
        "read_only": {
            "active": all(report["read_only"].values()) and report["workdir_writable"],
            "detail": "not writable: " + ", ".join(p for p, ok in report["read_only"].items() if ok),
        },
        "allow_list": {
            "active": allow_ok,
            "detail": (
                "nothing visible outside the allow-list; planted files unseen: "
                + str(len(report["planted_visible"]) == 0)
                if allow_ok
                else "visible outside the allow-list: "
                + ", ".join((outside + report["planted_visible"])[:10])
                + ("" if report["view_visible"] else "; the learner view is missing")
            ),
        },
        "pid_namespace": {"active": report["pid_namespace"], "detail": "bwrap --unshare-pid"},
        "capabilities": {
            "active": report["capabilities_dropped"] and report["no_new_privs"],
            "detail": "bwrap --cap-drop ALL --disable-userns; no_new_privs",
        },
    }


# ---------------------------------------------------------------------------------------------
# the plan


def build_plan(
    *,
    repo: Path,
    out_dir: Path,
    submissions: Path,
    view: Path | None,
    view_environment: dict[str, str],
    etc: Path,
    extra_hidden: list[Path] = (),
    memory_bytes: int = GRADE_MEMORY_BYTES,
    pids_max: int = GRADE_PIDS_MAX,
    use_namespaces: bool = True,
) -> SandboxPlan:
    """Probe what this machine allows and return the strongest confinement that works.

    ``etc`` is a folder of the batch's own for the generated /etc files; ``view`` the learner
    view of the data. The submission sees the allow-list only; the scorer the same plus the real
    data and ``solutions/`` (the generated labs' generator cells), read-only.
    """
    from workshop.datasets import manifest

    plan = SandboxPlan(memory_bytes=memory_bytes, pids_max=pids_max, environment=dict(view_environment))
    plan.view = str(view) if view else None
    protections = {name: {"active": False, "detail": ""} for name in PROTECTIONS}
    for name in ("time_limit", "memory_limit", "clean_environment", "process_watchdog"):
        protections[name] = {"active": True, "detail": PROTECTIONS[name]}

    details = []
    for root in pids_roots():
        works, detail = pids_cgroup_works(root)
        details.append(detail)
        if works:
            plan.pids_root = str(root)
            sweep_stale_cgroups(root)
            break
    protections["pids_cgroup"] = {"active": plan.pids_root is not None, "detail": "; ".join(details)}
    if plan.pids_root is None:
        plan.warnings.append(f"No pids cgroup ({'; '.join(details)}); relying on the runner's process watchdog.")

    bwrap = shutil.which("bwrap")
    if not use_namespaces:
        plan.warnings.append("Sandbox turned off (--no-namespaces): no network, file-system or PID confinement.")
    elif bwrap is None:
        plan.warnings.append(
            "No sandbox: bubblewrap is not installed (`bwrap` not found on PATH). Install it "
            "(Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap)."
        )
    else:
        keras_home = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser()
        real_data = existing([manifest.data_dir(), keras_home, os.environ.get("WORKSHOP_DATA_MIRROR")])
        never = existing([repo / ".git", repo / "solutions", submissions, out_dir, *extra_hidden]) + real_data
        folders, links = system_paths()
        read_only = outermost([*existing(folders), *python_runtime(repo)])
        allow = AllowList(
            read_only=[str(p) for p in read_only],
            links=links,
            etc=str(write_generated_etc(etc)),
            view=str(view) if view else None,
            hidden=[str(p) for p in never if any(inside(p, r) for r in read_only)],
        )
        scorer_extra = existing([manifest.data_dir(), repo / "solutions"])
        scorer_allow = AllowList(
            read_only=[str(p) for p in outermost([*read_only, *scorer_extra])],
            links=links,
            etc=allow.etc,
            hidden=[str(p) for p in never if p not in scorer_extra and any(inside(p, r) for r in read_only)],
        )
        plan.allow_list, plan.scorer_allow_list = asdict(allow), asdict(scorer_allow)
        planted, notes = plant_files(repo)
        try:
            prefix = bwrap_prefix(bwrap, allow)
            report, error = run_probe(prefix, probe_expectations(allow, planted), view_environment, repo)
            scorer_prefix = bwrap_prefix(bwrap, scorer_allow)
            scorer_report, scorer_error = run_probe(
                scorer_prefix, probe_expectations(scorer_allow, planted, scorer_extra), {}, repo
            )
        finally:
            remove_planted(planted)
        plan.warnings += [f"Sandbox probe: {note}." for note in notes]
        if report is None:
            plan.warnings.append(
                f"No sandbox: bubblewrap could not start here ({error}). As an ordinary user it needs "
                "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, or "
                "user.max_user_namespaces > 0)."
            )
        else:
            plan.prefix, plan.scorer_prefix = prefix, scorer_prefix
            plan.mechanism = f"bubblewrap ({'root' if os.geteuid() == 0 else 'ordinary user'})"
            protections.update(judge(report))
            protections["parent_death"] = {"active": True, "detail": "bwrap --die-with-parent"}
            if scorer_report is None:
                protections["scorer"] = {"active": False, "detail": f"probe failed: {scorer_error}"}
            else:
                scorer = judge(scorer_report)
                missing = [p for p, seen in scorer_report["required_visible"].items() if not seen]
                scorer_ok = all(scorer[name]["active"] for name in ("network", "read_only", "allow_list"))
                protections["scorer"] = {
                    "active": scorer_ok and not missing,
                    "detail": (
                        "the allow-list, no network, read-only, plus (read-only): "
                        + ", ".join(str(p) for p in scorer_extra)
                        + (f"; missing inside: {', '.join(missing)}" if missing else "")
                        + ("" if scorer_ok else f"; {scorer['allow_list']['detail']}")
                    ),
                }
            for name in ("network", "read_only", "allow_list", "pid_namespace", "capabilities", "scorer"):
                if not protections[name]["active"]:
                    plan.warnings.append(
                        f"Sandbox probe: {name} is NOT effective here ({protections[name]['detail']})."
                    )
    if view is not None and view_environment:
        protections["held_out_withheld"] = {
            "active": protections["allow_list"]["active"],
            "detail": "learner view "
            + ", ".join(f"{k}={v}" for k, v in view_environment.items())
            + ("" if protections["allow_list"]["active"] else " (but the real files stay readable: no sandbox)"),
        }
    elif view is not None:
        protections["held_out_withheld"] = {
            "active": True,
            "detail": "the task generates its held-out data at scoring time",
        }
    plan.protections = protections
    return plan


# ---------------------------------------------------------------------------------------------
# preparing a batch's sandbox, on the grader's machine or on each Dask worker


class GraderFailure(Exception):
    """The grader's machinery failed for one submission; the message says what and where."""


@dataclass(frozen=True)
class SandboxSpec:
    """What any machine needs to build its own learner view and sandbox for a batch.

    On a Dask worker nothing of the grader's machine can be assumed (its /tmp least of all): the
    worker builds the view and probes the sandbox itself, from this, before the first run."""

    unit: str
    repo: str
    out_dir: str
    submissions: str
    extra_hidden: tuple[str, ...] = ()
    memory_bytes: int | None = None
    use_namespaces: bool = True


def prepare_sandbox(spec: SandboxSpec, report_path: Path, log=sys.stderr) -> tuple[SandboxPlan, Path]:
    """On this machine: the learner view (in this machine's /tmp) and the probed sandbox plan.

    Writes the probe's report to ``report_path``; returns ``(plan, scratch)``: the batch's own
    folder holding the view and the sandbox's generated /etc files, which the caller removes when
    the batch is done.
    """
    from workshop.tasks import get_task
    from workshop.tasks.generated import held_out_secret

    unit = load_unit(spec.unit, Course(Path(spec.repo)))
    # The scorer's secret must exist before the first run: inside the sandbox the data is read-only.
    held_out_secret()
    # Named after the output folder, so that a rerun removes the view a killed grader left.
    tag = hashlib.sha256(spec.out_dir.encode()).hexdigest()[:10]
    for stale in Path(tempfile.gettempdir()).glob(f"workshop-grade-view-{tag}-*"):
        owner = stale.name.rpartition("-")[2]
        if not (owner.isdigit() and psutil.pid_exists(int(owner))):  # another live worker's view stays
            shutil.rmtree(stale, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"workshop-grade-view-{tag}-", suffix=f"-{os.getpid()}"))
    try:
        scratch.chmod(0o755)
        view = scratch / "data"
        view.mkdir(mode=0o755)
        view_environment = get_task(unit.task).learner_view(view)
        plan = build_plan(
            repo=Path(spec.repo),
            out_dir=Path(spec.out_dir),
            submissions=Path(spec.submissions),
            view=view,
            view_environment=view_environment,
            etc=scratch / "etc",
            extra_hidden=[Path(path) for path in spec.extra_hidden],
            memory_bytes=spec.memory_bytes or GRADE_MEMORY_BYTES,
            use_namespaces=spec.use_namespaces,
        )
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    report = {"unit": unit.name, "probed_at": now(), "host": os.uname().nodename, "pid": os.getpid(), **plan.report()}
    atomic.write_text(report_path, json.dumps(report, indent=2) + "\n")
    for warning in plan.warnings:
        print(f"warning: {warning}", file=log)
    return plan, scratch


def sandbox_refusal(plan: SandboxPlan, spec: SandboxSpec) -> str | None:
    """Why a sandbox that was asked for does not hold here, or None.

    One that writes into solutions/ or reads the held-out labels would otherwise do so unnoticed,
    so a batch (or a worker) that gets a reason stops before any submission runs."""
    protections = ("network", "read_only", "allow_list", "scorer")
    failing = [name for name in protections if not plan.protections.get(name, {}).get("active")]
    if spec.use_namespaces and failing:
        reasons = [w for w in plan.warnings if w.startswith(("No sandbox", "Sandbox probe: "))]
        because = f": {' '.join(reasons)}" if reasons else ""
        return f"The sandbox does not hold on {os.uname().nodename} ({', '.join(failing)} not effective){because}"
    return None


# A worker process prepares each batch's view and sandbox once, on its first job of that batch.
_WORKER_PLANS: dict[SandboxSpec, SandboxPlan | GraderFailure] = {}
_WORKER_LOCK = threading.Lock()


def worker_plan(spec: SandboxSpec) -> SandboxPlan:
    """The sandbox plan for `spec` on this machine (a Dask worker), built and probed here once."""
    with _WORKER_LOCK:
        if spec not in _WORKER_PLANS:
            host = f"{os.uname().nodename}-{os.getpid()}"
            report_path = Path(spec.out_dir) / "sandbox-workers" / f"{host}.json"
            try:
                plan, view = prepare_sandbox(spec, report_path, log=io.StringIO())
            except Exception as error:  # noqa: BLE001 - reported as the grader's failure, per row
                _WORKER_PLANS[spec] = GraderFailure(f"preparing the sandbox on {host} failed: {error}")
            else:
                atexit.register(shutil.rmtree, view, ignore_errors=True)
                refusal = sandbox_refusal(plan, spec)
                _WORKER_PLANS[spec] = GraderFailure(f"{refusal}; see {report_path}") if refusal else plan
        plan = _WORKER_PLANS[spec]
    if isinstance(plan, GraderFailure):
        raise plan
    return plan
