"""OS confinement for graded submissions (``workshop grade``).

The runner already gives every submission a fresh process in its own temporary working
directory, a wall-clock limit, a memory limit (RLIMIT_AS) and a scrubbed environment. This
module adds what the operating system can give on top, and checks at grader start which of
it actually works here:

- ``pids``: a cgroup (v1 ``pids`` controller) per submission with ``pids.max``, so a fork
  storm fails inside the submission instead of exhausting the machine; without it, the
  runner's watchdog still stops a run that starts more than ``max_processes`` processes.
- ``namespaces`` (``unshare``: mount, network, PID; as root, or in a user namespace where
  unprivileged ones are allowed), and inside them:
  - ``network``: a network namespace with only the loopback interface (up, because the
    Jupyter kernel talks to nbclient over 127.0.0.1): nothing outside can be reached;
  - ``read_only``: the whole file system read-only, except the run's own working directory;
  - ``hidden``: empty read-only tmpfs over the real data folder, the real Keras dataset
    cache, the mirror, ``solutions/``, ``.git``, the submissions and the grade output; a
    private ``/tmp`` (other learners' runs and any copy of the data there are invisible);
    the submission reads the learner view built by ``Task.learner_view`` (held-out labels
    withheld), mounted read-only;
  - ``pid``: its own PID namespace (it cannot see or signal other runs or the grader);
  - ``capabilities``: ``setpriv`` empties the capability bounding set and sets
    no_new_privs, so the submission cannot undo any of the mounts;
  - ``parent_death``: if the grader is killed, the sandbox and everything in it dies too.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workshop.runner import Isolation

GRADE_MEMORY_BYTES = 8 * 2**30
GRADE_PIDS_MAX = 400
GRADE_MAX_PROCESSES = 256  # below pids.max (which also counts threads), so a storm is stopped either way
PIDS_ROOT = Path("/sys/fs/cgroup/pids")
PRIVATE_TMP_SIZE = "2g"
PRIVATE_SHM_SIZE = "1g"

PROTECTIONS = {
    "time_limit": "wall-clock limit per submission (runner)",
    "memory_limit": "address-space limit, RLIMIT_AS (runner)",
    "clean_environment": "fresh process, own working directory, scrubbed environment (runner)",
    "process_watchdog": "runner stops a run with too many processes (polled)",
    "pids_cgroup": "cgroup pids.max: fork() fails inside the submission past the limit",
    "network": "network namespace with loopback only: nothing outside is reachable",
    "read_only": "file system read-only except the run's own working directory",
    "hidden": "real data, Keras cache, mirror, solutions, .git, submissions, output and /tmp invisible",
    "pid_namespace": "own PID namespace: cannot see or signal other runs or the grader",
    "capabilities": "capability bounding set empty + no_new_privs: mounts cannot be undone",
    "parent_death": "killing the grader kills every sandboxed process",
    "held_out_withheld": "the submission's data view holds no true held-out labels",
    "scorer": "the scorer runs in the same sandbox, with only the real data (read-only) added",
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
# namespaces


def q(value: str | os.PathLike) -> str:
    return shlex.quote(str(value))


def setup_script(
    *,
    ip: str | None,
    read_only: list[Path],
    hidden: list[Path],
    tmp: Path,
    view: Path | None,
    bind_back: list[Path] = (),
    rehide: list[Path] = (),
) -> str:
    """The shell run inside the new namespaces before the submission's process starts.

    The order matters: read-only bind mounts first (a non-recursive bind would drop mounts
    below it), then the root made read-only, then the hiding tmpfs mounts on top, then a
    private /tmp into which the run's working directory (and the view) are bound back.
    ``bind_back`` are folders under /tmp the run needs read-only (the repository and the
    virtual environment, when a checkout lives there, as CI's may); ``rehide`` are the hidden
    folders inside them (solutions/, .git, a grade output), hidden again once bound back.
    """
    lines = ["set -e"]
    if ip:
        lines.append(f"{q(ip)} link set lo up")
    for path in read_only:
        lines.append(f"mount --bind {q(path)} {q(path)} && mount -o remount,bind,ro {q(path)}")
    lines.append("mount -o remount,bind,ro /")
    for path in hidden:
        lines.append(f"mount -t tmpfs -o ro,size=4k,mode=755 workshop-hidden {q(path)}")
    lines.append("W=$(pwd -P)")
    tmp_text = str(tmp).rstrip("/")
    lines.append(
        f'case "$W" in {q(tmp_text)}/*) ;; *) echo "sandbox: working directory $W is not under {tmp_text}" >&2; exit 97 ;; esac'
    )
    lines.append(f"cd {q(tmp_text)}")
    lines.append(f"mount -t tmpfs -o mode=1777,size={PRIVATE_TMP_SIZE} workshop-tmp {q(tmp_text)}")
    lines.append('mkdir -p "$W"')
    # -c: no canonicalising; the relative source resolves from the old /tmp (our cwd).
    lines.append(f'mount -c --bind "./${{W#{tmp_text}/}}" "$W" && mount -o remount,bind,rw "$W"')
    for path in bind_back:
        relative = os.path.relpath(path, tmp)
        lines.append(
            f"mkdir -p {q(path)} && mount -c --bind ./{q(relative)} {q(path)} && mount -o remount,bind,ro {q(path)}"
        )
    for path in rehide:
        lines.append(f"mount -t tmpfs -o ro,size=4k,mode=755 workshop-hidden {q(path)}")
    if view is not None:
        # The view's top folders (view/, view/keras/, view/keras/datasets/) are re-created in the
        # private /tmp, writable: Keras writes its config under KERAS_HOME, and falls back to
        # /tmp/.keras when KERAS_HOME is not writable. What they hold is bound in read-only.
        for entry, is_folder in view_entries(view):
            relative = os.path.relpath(entry, tmp)
            if is_folder:
                lines.append(f"mkdir -p {q(entry)}")
            else:
                make = f"mkdir -p {q(entry)}" if entry.is_dir() else f": > {q(entry)}"
                lines.append(
                    f"{make} && mount -c --bind ./{q(relative)} {q(entry)} && mount -o remount,bind,ro {q(entry)}"
                )
    lines.append(f"mount -t tmpfs -o mode=1777,size={PRIVATE_SHM_SIZE} workshop-shm /dev/shm 2>/dev/null || true")
    lines.append('cd "$W"')
    lines.append('exec setpriv --bounding-set=-all --inh-caps=-all --no-new-privs -- "$@"')
    return "\n".join(lines)


def view_entries(view: Path, depth: int = 2) -> list[tuple[Path, bool]]:
    """(path, re-create as a writable folder?) for the view: folders down to ``depth`` are
    re-created, everything below them is bound in whole (a dataset folder is one mount)."""
    entries: list[tuple[Path, bool]] = [(view, True)]
    for child in sorted(view.iterdir()):
        if child.is_dir() and not child.is_symlink() and depth > 0:
            entries += view_entries(child, depth - 1)
        else:
            entries.append((child, False))
    return entries


def namespace_prefix(script: str, *, user_namespace: bool) -> list[str]:
    prefix = ["setpriv", "--pdeathsig", "KILL", "--", "unshare"]
    if user_namespace:
        prefix.append("--map-root-user")
    prefix += ["--mount", "--net", "--pid", "--mount-proc", "--kill-child=SIGKILL", "--", "sh", "-c", script, "sh"]
    return prefix


PROBE_CODE = r"""
import json, os, socket, sys
report = {}
try:
    assert open("probe-marker").read() == "outside"
    open("probe-write", "w").write("x"); report["workdir_writable"] = True
except (OSError, AssertionError):
    report["workdir_writable"] = False
def writable(path):
    try:
        with open(os.path.join(path, ".workshop-probe"), "w"):
            pass
        os.unlink(os.path.join(path, ".workshop-probe"))
        return True
    except OSError:
        return False
report["read_only"] = {p: not writable(p) for p in json.loads(sys.argv[1])}
report["hidden"] = {p: (not os.path.exists(p)) or os.listdir(p) == [] for p in json.loads(sys.argv[2])}
view = sys.argv[3]
def view_ok(view, expect_files):
    # A view that withholds nothing (data generated at scoring time) is empty, and valid.
    files = [os.path.join(d, f) for d, _, names in os.walk(view) for f in names][:50]
    if not os.path.isdir(view) or (expect_files and not files):
        return False
    return all(len(open(f, "rb").read(2)) > 0 and not os.access(f, os.W_OK) for f in files)
report["view_visible"] = (not view) or view_ok(view, sys.argv[5] == "1")
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
client = socket.create_connection(server.getsockname(), timeout=5)
report["loopback"] = True
outside = [i for i in socket.if_nameindex() if i[1] != "lo"]
report["interfaces"] = [name for _, name in socket.if_nameindex()]
report["network_isolated"] = not outside
report["pid_namespace"] = os.getpid() < 10 or not os.path.exists("/proc/%d" % int(sys.argv[4]))
caps = [l for l in open("/proc/self/status") if l.startswith(("CapEff", "CapBnd"))]
report["capabilities_dropped"] = all(int(l.split()[1], 16) == 0 for l in caps)
report["no_new_privs"] = any(l.startswith("NoNewPrivs:\t1") for l in open("/proc/self/status"))
print("WORKSHOP-PROBE " + json.dumps(report))
"""


def run_probe(
    prefix: list[str], read_only: list[Path], hidden: list[Path], view: Path | None
) -> tuple[dict | None, str]:
    """Run a small Python script through ``prefix`` and report what it could see and do."""
    workdir = Path(tempfile.mkdtemp(prefix="workshop-probe-"))
    (workdir / "probe-marker").write_text("outside")
    try:
        completed = subprocess.run(
            [
                *prefix,
                sys.executable,
                "-c",
                PROBE_CODE,
                json.dumps([str(p) for p in read_only]),
                json.dumps([str(p) for p in hidden]),
                str(view or ""),
                str(os.getpid()),
                "1" if view and any(files for _, _, files in os.walk(view)) else "0",
            ],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
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


# ---------------------------------------------------------------------------------------------
# the plan


def existing(paths) -> list[Path]:
    seen, result = set(), []
    for path in paths:
        if path is None:
            continue
        path = Path(path).expanduser().absolute()
        try:
            path = path.resolve()
        except OSError:
            continue
        if path.is_dir() and path not in seen and path != Path("/"):
            seen.add(path)
            result.append(path)
    return result


def build_plan(
    *,
    repo: Path,
    out_dir: Path,
    submissions: Path,
    view: Path | None,
    view_environment: dict[str, str],
    extra_hidden: list[Path] = (),
    memory_bytes: int = GRADE_MEMORY_BYTES,
    pids_max: int = GRADE_PIDS_MAX,
    use_namespaces: bool = True,
) -> SandboxPlan:
    """Probe what this machine allows and return the strongest confinement that works."""
    from workshop import data

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

    keras_home = Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser()
    mirror = os.environ.get("WORKSHOP_DATA_MIRROR")
    real_data = existing([data.data_dir(), keras_home / "datasets", mirror])
    # The scorer reads solutions/ (the generated labs' generator cells); submissions must not.
    solutions = existing([repo / "solutions"])
    not_for_anyone = existing([repo / ".git", submissions, out_dir, *extra_hidden])
    hidden = real_data + solutions + not_for_anyone
    read_only = existing([repo, keras_home, data.data_dir().parent])
    tmp = Path(tempfile.gettempdir()).resolve()
    # The scorer: the same confinement, but the real data (not the mirror) and solutions/ visible,
    # read-only.
    scorer_hidden = [p for p in not_for_anyone if tmp not in p.parents]
    scorer_bind_back = [p for p in existing([repo, Path(sys.prefix), data.data_dir()]) if tmp in p.parents]
    scorer_bind_back = [p for p in scorer_bind_back if not any(o in p.parents for o in scorer_bind_back)]
    scorer_rehide = [p for p in not_for_anyone if any(b == p or b in p.parents for b in scorer_bind_back)]
    # What the run needs from below /tmp is bound back into the private /tmp, read-only; the
    # hidden folders inside it are hidden again. Everything else below /tmp the private /tmp
    # hides already, so it needs no mount of its own.
    bind_back = [p for p in existing([repo, Path(sys.prefix)]) if tmp in p.parents]
    bind_back = [p for p in bind_back if not any(other in p.parents for other in bind_back)]
    rehide = [p for p in hidden if tmp in p.parents and any(b == p or b in p.parents for b in bind_back)]
    hidden = [p for p in hidden if tmp not in p.parents]
    read_only = [p for p in read_only if tmp not in p.parents]
    if view is not None and tmp not in Path(view).resolve().parents:
        plan.warnings.append(f"The learner view {view} is not under {tmp}; it will not be visible in the sandbox.")

    ip = shutil.which("ip") or next((p for p in ("/usr/sbin/ip", "/sbin/ip") if os.path.exists(p)), None)
    missing = [tool for tool in ("unshare", "setpriv", "mount") if shutil.which(tool) is None]
    if not use_namespaces:
        plan.warnings.append("Namespaces turned off (--no-namespaces): no network, file-system or PID confinement.")
    elif missing:
        plan.warnings.append(f"No namespaces: {', '.join(missing)} not found.")
    else:
        script = setup_script(
            ip=ip,
            read_only=read_only,
            hidden=hidden,
            tmp=tmp,
            view=Path(view) if view else None,
            bind_back=bind_back,
            rehide=rehide,
        )
        attempts = [("root", False)] if os.geteuid() == 0 else []
        attempts.append(("user namespace", True))
        errors = []
        for mechanism, user_namespace in attempts:
            prefix = namespace_prefix(script, user_namespace=user_namespace)
            report, error = run_probe(prefix, read_only + bind_back, hidden + rehide, Path(view) if view else None)
            if report is None:
                errors.append(f"{mechanism}: {error}")
                continue
            plan.prefix, plan.mechanism = prefix, f"unshare ({mechanism})"
            plan.scorer_prefix = namespace_prefix(
                setup_script(
                    ip=ip,
                    read_only=read_only,
                    hidden=scorer_hidden,
                    tmp=tmp,
                    view=None,
                    bind_back=scorer_bind_back,
                    rehide=scorer_rehide,
                ),
                user_namespace=user_namespace,
            )
            scorer_report, scorer_error = run_probe(
                plan.scorer_prefix, read_only + scorer_bind_back, scorer_hidden + scorer_rehide, None
            )
            scorer_ok = bool(scorer_report) and (
                scorer_report["network_isolated"]
                and all(scorer_report["read_only"].values())
                and all(scorer_report["hidden"].values())
            )
            protections["scorer"] = {
                "active": scorer_ok,
                "detail": (
                    "no network, read-only; hidden: " + ", ".join(str(p) for p in scorer_hidden + scorer_rehide)
                    if scorer_report
                    else f"probe failed: {scorer_error}"
                ),
            }
            protections["network"] = {
                "active": report["network_isolated"] and report["loopback"],
                "detail": f"interfaces inside: {', '.join(report['interfaces'])}",
            }
            ro_ok = all(report["read_only"].values()) and report["workdir_writable"]
            protections["read_only"] = {
                "active": ro_ok,
                "detail": "not writable: " + ", ".join(p for p, ok in report["read_only"].items() if ok),
            }
            hidden_ok = all(report["hidden"].values()) and report["view_visible"]
            protections["hidden"] = {
                "active": hidden_ok,
                "detail": "empty inside: "
                + ", ".join(p for p, ok in report["hidden"].items() if ok)
                + f"; private {tmp}",
            }
            protections["pid_namespace"] = {"active": report["pid_namespace"], "detail": "unshare --pid"}
            protections["capabilities"] = {
                "active": report["capabilities_dropped"] and report["no_new_privs"],
                "detail": "setpriv --bounding-set=-all --no-new-privs",
            }
            protections["parent_death"] = {"active": True, "detail": "setpriv --pdeathsig KILL + unshare --kill-child"}
            for name in ("network", "read_only", "hidden", "pid_namespace", "capabilities", "scorer"):
                if not protections[name]["active"]:
                    plan.warnings.append(
                        f"Sandbox probe: {name} is NOT effective here ({protections[name]['detail']})."
                    )
            break
        else:
            plan.warnings.append(
                "No namespaces (not root and no unprivileged user namespaces?): submissions can reach the "
                "network and read or write whatever this user can. " + "; ".join(errors)
            )
    if view is not None and view_environment:
        protections["held_out_withheld"] = {
            "active": protections["hidden"]["active"],
            "detail": "learner view "
            + ", ".join(f"{k}={v}" for k, v in view_environment.items())
            + ("" if protections["hidden"]["active"] else " (but the real files stay readable: no namespaces)"),
        }
    elif view is not None:
        protections["held_out_withheld"] = {
            "active": True,
            "detail": "the task generates its held-out data at scoring time",
        }
    plan.protections = protections
    return plan
