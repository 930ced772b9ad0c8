"""Serve a built site (or the data mirror, or a wheelhouse) to the room: ``make serve``.

``python -m workshop.room.serve [--host HOST] [--port PORT] FOLDER`` serves FOLDER over HTTP and says
which address to open: on 127.0.0.1 only this machine can; on ``0.0.0.0`` (``HOST=0.0.0.0 make
serve``) every machine on the room's network can, at this machine's LAN address, which it prints.
Refuses to serve a folder that holds an instructor build unless ``--solutions`` says so.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import ipaddress
import socket
import sys
from pathlib import Path

# Written by the instructor build only (workshop.site.mkdocs_hooks), in the site's root.
INSTRUCTOR_MARKER = "solutions"


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses that other machines on its network can reach (no loopback).

    The address of the default route comes first: connecting a UDP socket sends no packet, it only
    asks the kernel which local address it would use.
    """
    found: list[str] = []
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere, and nothing is sent
        found.append(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(info[4][0])
    except OSError:
        pass
    usable = []
    for address in found:
        ip = ipaddress.ip_address(address)
        if not (ip.is_loopback or ip.is_unspecified or ip.is_link_local) and address not in usable:
            usable.append(address)
    return usable


def addresses_to_open(host: str, port: int) -> list[str]:
    """The URLs that a browser should open to reach a server bound to `host`:`port`."""
    if host in {"0.0.0.0", "", "::"}:
        return [f"http://{address}:{port}/" for address in lan_addresses()] or [f"http://127.0.0.1:{port}/"]
    return [f"http://{host}:{port}/"]


def announcement(host: str, port: int, what: str) -> str:
    urls = addresses_to_open(host, port)
    if host in {"0.0.0.0", "", "::"}:
        if urls[0].startswith("http://127.0.0.1"):
            return (
                f"Serving the {what} on every interface, port {port}, but this machine has no network address "
                f"yet: join the room's network, then participants open http://<this machine's address>:{port}/"
            )
        lines = [f"Serving the {what} to the room. Participants open: {urls[0]}"]
        lines += [f"  (or, on another network of this machine: {url})" for url in urls[1:]]
        lines.append(f"  On this machine: http://127.0.0.1:{port}/   (Ctrl-C to stop)")
        return "\n".join(lines)
    loopback = ipaddress.ip_address(socket.gethostbyname(host)).is_loopback if host else False
    note = " Only this machine can open it: use HOST=0.0.0.0 to serve the room." if loopback else ""
    return f"Serving the {what} at {urls[0]} (Ctrl-C to stop).{note}"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop.room.serve", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--host", default="127.0.0.1", help="127.0.0.1 (this machine) or 0.0.0.0 (the room)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--what", default="site", help="what is served, for the message")
    parser.add_argument("--solutions", action="store_true", help="serve an instructor build (with solutions)")
    args = parser.parse_args(argv)
    folder = args.folder
    if not (folder / "index.html").is_file() and not any(folder.iterdir() if folder.is_dir() else ()):
        print(f"Nothing to serve in {folder}: build it first (make site-learner).", file=sys.stderr)
        return 2
    if (folder / INSTRUCTOR_MARKER).is_dir() and not args.solutions:
        print(
            f"{folder} holds solution pages (an instructor build): not serving it. The learner build is "
            "`make serve`; serve the instructor build on purpose with `make serve SOLUTIONS=1`.",
            file=sys.stderr,
        )
        return 2
    handler = functools.partial(QuietHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer((args.host, args.port), handler)
    except OSError as error:
        print(f"Cannot listen on {args.host}:{args.port} ({error.strerror}): try PORT=8001.", file=sys.stderr)
        return 2
    print(announcement(args.host, server.server_address[1], args.what), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
