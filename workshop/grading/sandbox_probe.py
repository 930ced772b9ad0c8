"""What a process inside the grader's sandbox can see and do: run there by ``workshop.grading.sandbox``.

``python -m workshop.grading.sandbox_probe EXPECTATIONS_JSON`` prints one line,
``WORKSHOP-PROBE {...}``, with the findings below. It is the evidence behind ``sandbox.json``:
the grader refuses to grade when any finding that matters is false.

- ``visible_outside``: every path that is visible although the allow-list does not name it
  (found by listing ``/`` and each folder on the way to an allowed path); must be empty;
- ``planted_visible``: files the grader planted outside the allow-list just before the probe
  (in its own home, beside the checkout) that can be seen from inside; must be empty;
- ``read_only``, ``workdir_writable``, ``view_visible``, ``required_visible``: the allowed paths
  cannot be written, the run's own folder can, the learner view (or for the scorer, the real
  data) is there;
- ``network_isolated`` and ``loopback``; ``pid_namespace``; ``capabilities_dropped`` and
  ``no_new_privs``.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

# Mounted by the sandbox itself (kernel interfaces, the private /tmp): visible, but none shows a
# file of the host's.
SYSTEM_MOUNTS = ("/proc", "/dev", "/tmp")


def writable(folder: str) -> bool:
    probe = os.path.join(folder, ".workshop-probe")
    try:
        with open(probe, "w"):
            pass
        os.unlink(probe)
        return True
    except OSError:
        return False


def visible_outside(allowed: list[str], links: list[str]) -> list[str]:
    """Paths visible from here that are neither allowed, nor on the way to an allowed path.

    ``/`` is listed, then every folder that leads to an allowed path (``/root`` when the Python
    runtime lives in ``/root/.pyenv``, say), so anything else in those folders (a home's other
    files, other checkouts, the class folder) is reported; the allowed paths are not entered.
    """
    allowed = sorted({os.path.normpath(path) for path in [*allowed, *SYSTEM_MOUNTS]})
    exact = set(allowed) | {os.path.normpath(link) for link in links}
    found: list[str] = []
    pending = ["/"]
    while pending:
        folder = pending.pop()
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if path in exact:
                continue
            if any(entry.startswith(path + "/") for entry in allowed) and not os.path.islink(path):
                pending.append(path)
            else:
                found.append(path)
    return found


def tmp_entries(allowed: list[str]) -> list[str]:
    """What the private /tmp holds besides the allowed paths and the run's own folder."""
    here = os.getcwd()
    inside = [os.path.normpath(path) for path in [*allowed, here]]
    return [
        os.path.join("/tmp", name)
        for name in sorted(os.listdir("/tmp"))
        if not any(
            entry == os.path.join("/tmp", name) or entry.startswith(os.path.join("/tmp", name) + "/")
            for entry in inside
        )
    ]


def view_ok(view: str, expect_files: bool) -> bool:
    """The learner view is there and read-only (a view that withholds nothing may be empty)."""
    files = [os.path.join(d, f) for d, _, names in os.walk(view) for f in names][:50]
    if not os.path.isdir(view) or (expect_files and not files):
        return False
    return all(len(open(f, "rb").read(2)) > 0 and not os.access(f, os.W_OK) for f in files)


def network() -> dict:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        socket.create_connection(server.getsockname(), timeout=5).close()
        loopback = True
    except OSError:
        loopback = False
    interfaces = [name for _, name in socket.if_nameindex()]
    return {"loopback": loopback, "interfaces": interfaces, "network_isolated": interfaces == ["lo"]}


def status_fields() -> dict:
    lines = Path("/proc/self/status").read_text().splitlines()
    caps = [line for line in lines if line.startswith(("CapEff", "CapBnd"))]
    return {
        "capabilities_dropped": bool(caps) and all(int(line.split()[1], 16) == 0 for line in caps),
        "no_new_privs": any(line.split() == ["NoNewPrivs:", "1"] for line in lines),
    }


def probe(expected: dict) -> dict:
    # First of all, before this process writes anything into the private /tmp.
    report = {
        "visible_outside": visible_outside(expected["allowed"], expected["links"]),
        "tmp_extra": tmp_entries(expected["allowed"]),
        "planted_visible": [path for path in expected["planted"] if os.path.lexists(path)],
    }
    try:
        marker_ok = Path("probe-marker").read_text() == "outside"
        Path("probe-write").write_text("x")
        report["workdir_writable"] = marker_ok
    except OSError:
        report["workdir_writable"] = False
    report["read_only"] = {path: not writable(path) for path in expected["read_only"] if os.path.isdir(path)}
    view = expected.get("view")
    report["view_visible"] = (not view) or view_ok(view, expected.get("expect_view_files", False))
    report["required_visible"] = {path: os.path.exists(path) for path in expected.get("required", [])}
    report.update(network())
    grader_pid = int(expected["grader_pid"])
    report["pid_namespace"] = os.getpid() < 10 or not os.path.exists(f"/proc/{grader_pid}")
    report.update(status_fields())
    return report


def main(argv: list[str]) -> int:
    print("WORKSHOP-PROBE " + json.dumps(probe(json.loads(argv[0]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
