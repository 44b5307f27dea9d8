"""A fake daemon that runs as another uid, for tests/test_socket_owner.py.

    python foreign_server.py SOCKET UID before-bind|after-bind

Drops to UID (with its gid, no supplementary groups) either before binding
SOCKET (so the socket file is that user's) or after binding and before
listening (so the file is ours, but SO_PEERCRED reports UID). Prints
"ready" once listening, then accepts connections and counts the bytes
clients send, until a line arrives on stdin; then prints the count.
"""

import os
import select
import socket
import sys


def main() -> None:
    path, uid, when = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    def drop() -> None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)

    if when == "before-bind":
        drop()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    if when == "after-bind":
        drop()
    server.listen(16)
    print("ready", flush=True)
    received = 0
    accepted = 0
    open_connections = []
    done = False
    while True:
        # After "done" arrives, one more pass without waiting drains what
        # is already queued (a probe closed before we accepted it counts).
        readable, _, _ = select.select([server, sys.stdin, *open_connections], [], [], 0 if done else 30)
        if sys.stdin in readable:
            readable.remove(sys.stdin)
            done = True
        if not readable:
            break
        for ready in readable:
            if ready is server:
                connection, _ = server.accept()
                accepted += 1
                open_connections.append(connection)
            else:
                data = ready.recv(65536)
                if data:
                    received += len(data)
                else:
                    open_connections.remove(ready)
                    ready.close()
    print(f"accepted={accepted} received={received}", flush=True)


if __name__ == "__main__":
    main()
