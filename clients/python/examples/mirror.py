"""Prints a project's chat live, as other clients (the CLI, the desktop
app, an editor plugin) write it.

    python mirror.py                 # the project in the current directory
    python mirror.py ~/src/app       # another one

The pattern every frontend needs: subscribe first, then read what is
there, then apply events newer than what was read — so nothing written in
between is lost or shown twice. On RESYNC (this reader fell behind and
events were dropped) or on anything that rewrites history (load, clear,
delete), read everything again.
"""

from __future__ import annotations

import os
import sys

from chronicle_client import ChronicleError, Client, Unavailable, pb

ROLE = {v: k for k, v in pb.Role.items()}
REREAD = {
    pb.EVENT_KIND_SNAPSHOT,
    pb.EVENT_KIND_RESYNC,
    pb.EVENT_KIND_SESSION_LOADED,
    pb.EVENT_KIND_MESSAGES_CLEARED,
    pb.EVENT_KIND_MESSAGES_DELETED,
}


def show(message: pb.Message) -> None:
    role = ROLE.get(message.role, "ROLE_?").removeprefix("ROLE_").lower()
    model = f" ({message.model})" if message.model else ""
    print(f"#{message.id} {role}{model}: {message.content}", flush=True)


def read_all(client: Client, project: str) -> int:
    """Prints every message; returns the revision that was read."""
    revision = 0
    for page in client.pages(project):
        revision = revision or page.revision
        for message in page.messages:
            show(message)
    return revision


def mirror(client: Client, project: str) -> None:
    seen = 0
    for event in client.watch(project):
        if event.kind in REREAD:
            if event.kind != pb.EVENT_KIND_SNAPSHOT:
                print("--- the session changed; reading it again ---", flush=True)
            seen = read_all(client, project)
        elif event.revision <= seen:
            continue  # already part of what was read
        elif event.kind == pb.EVENT_KIND_MESSAGE_APPENDED:
            show(event.message)
        elif event.kind == pb.EVENT_KIND_MESSAGE_UPDATED:
            if event.delta:
                print(f"#{event.message.id} ...{event.delta}", flush=True)
            else:
                print(f"#{event.message.id} (edited) {event.message.content}", flush=True)
        elif event.kind == pb.EVENT_KIND_SESSION_SAVED:
            print(f"--- saved as {event.session_name!r} ---", flush=True)
        if event.revision > seen:
            seen = event.revision


def main() -> int:
    project = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.getcwd())
    try:
        client = Client()
    except Unavailable as error:
        # A frontend would run `chronicle daemon start` here (or rely on the login service).
        print(error.message, file=sys.stderr)
        return 3
    except ChronicleError as error:
        print(error.message, file=sys.stderr)
        return 1
    with client:
        print(f"--- {project} (Ctrl+C to stop) ---", flush=True)
        try:
            mirror(client, project)
        except KeyboardInterrupt:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
