"""examples/mirror.py prints what other clients write, live."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from pathlib import Path

from chronicle_client import Client

from conftest import CHRONICLE_CLI, Daemon, clean_env

MIRROR = Path(__file__).resolve().parents[1] / "examples" / "mirror.py"


def test_mirror_prints_history_then_what_others_append(daemon: Daemon, client: Client, project: str) -> None:
    client.append(project, "written before the mirror started")
    env = clean_env()
    env["CHRONICLE_SOCKET"] = daemon.socket
    mirror = subprocess.Popen(
        [sys.executable, str(MIRROR), project], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in mirror.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        assert lines.get(timeout=10).startswith("---")
        assert lines.get(timeout=10) == "#1 user: written before the mirror started"
        subprocess.run(
            [CHRONICLE_CLI, "-C", project, "add", "--role", "assistant", "--model", "gpt-5", "from the CLI"],
            check=True, env=env, capture_output=True,
        )
        assert lines.get(timeout=10) == "#2 assistant (gpt-5): from the CLI"
        client.save(project, "kept")
        assert lines.get(timeout=10) == "--- saved as 'kept' ---"
    finally:
        mirror.terminate()
        mirror.wait(timeout=10)
