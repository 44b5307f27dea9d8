"""Every method of chronicle_client.Client against a real daemon."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import List, Optional

import grpc
import pytest

from chronicle_client import (
    AlreadyExists,
    ChronicleError,
    Client,
    Conflict,
    InvalidArgument,
    NotFound,
    Unavailable,
    default_socket_path,
    pb,
)

from conftest import CHRONICLE_CLI, Daemon, clean_env


def test_status_names_the_daemon_and_its_socket(client: Client, daemon: Daemon) -> None:
    status = client.status()
    assert status.version
    assert status.pid == daemon.process.pid
    assert status.socket == daemon.socket


def test_client_without_arguments_uses_chronicle_socket(daemon: Daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHRONICLE_SOCKET", daemon.socket)
    with Client() as c:
        assert c.socket_path == daemon.socket
        assert c.status().socket == daemon.socket


def test_socket_rule_is_the_clis(monkeypatch: pytest.MonkeyPatch) -> None:
    import chronicle_client._socket as rule

    monkeypatch.setenv("CHRONICLE_SOCKET", "/x/explicit.sock")
    assert default_socket_path() == "/x/explicit.sock"
    monkeypatch.delenv("CHRONICLE_SOCKET")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert default_socket_path() == "/run/user/1000/chronicle/chronicle.sock"
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative/ignored")
    monkeypatch.setattr(rule.sys, "platform", "linux")
    assert default_socket_path() == f"/tmp/chronicle-{os.getuid()}/chronicle.sock"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("TMPDIR", "/var/folders/ab/T/")
    monkeypatch.setattr(rule.sys, "platform", "darwin")
    assert default_socket_path() == f"/var/folders/ab/T/chronicle-{os.getuid()}/chronicle.sock"


def test_append_returns_revision_and_message_id(client: Client, project: str) -> None:
    first = client.append(project, "Why does login fail?")
    second = client.append(project, "Because the token expired.", role="assistant", model="gpt-5")
    assert (first.revision, first.message_id) == (1, 1)
    assert second.revision == 2 and second.message_id > first.message_id
    messages = list(client.messages(project))
    assert [(m.role, m.content, m.model) for m in messages] == [
        (pb.ROLE_USER, "Why does login fail?", ""),
        (pb.ROLE_ASSISTANT, "Because the token expired.", "gpt-5"),
    ]


def test_append_message_keeps_every_field(client: Client, project: str) -> None:
    message = pb.Message(
        role=pb.ROLE_TOOL,
        content="ran it",
        tool=pb.ToolCall(name="shell", call_id="c1", args_json='{"cmd":"ls"}'),
        usage=pb.Usage(sent_tokens=10, received_tokens=5, cost=0.25),
        metadata={"source": "test"},
    )
    ack = client.append_message(project, message)
    (stored,) = list(client.messages(project))
    assert stored.id == ack.message_id
    assert stored.tool.name == "shell" and stored.usage.cost == 0.25 and stored.metadata["source"] == "test"


def test_a_stale_expected_revision_is_a_conflict_naming_the_current_one(client: Client, project: str) -> None:
    ack = client.append(project, "one")
    client.append(project, "two, from another frontend")
    with pytest.raises(Conflict) as refused:
        client.append(project, "three", expected_revision=ack.revision)
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "2" in refused.value.message, refused.value.message
    assert str(refused.value) == refused.value.message
    assert client.append(project, "three", expected_revision=2).revision == 3


def test_a_mutation_stream_acknowledges_each_mutation_in_order(client: Client, project: str) -> None:
    with client.mutations() as stream:
        question = stream.append(project, "Why does login fail?", expected_revision=0)
        answer = stream.append(project, "The hash", role="assistant")
        streamed = stream.append_to(project, answer.message_id, " check is wrong.")
        files = stream.send(
            pb.MutateRequest(
                add_context_files=pb.AddContextFilesRequest(
                    project=project, files=[pb.ContextFile(path="src/login.py")]
                )
            )
        )
    assert [a.revision for a in (question, answer, streamed, files)] == [1, 2, 3, 4]
    assert streamed.message_id == answer.message_id
    assert [m.content for m in client.messages(project)] == ["Why does login fail?", "The hash check is wrong."]
    assert [f.path for f in client.files(project)] == ["src/login.py"]


def test_a_refused_mutation_ends_its_stream_and_a_new_one_goes_on(client: Client, project: str) -> None:
    stream = client.mutations()
    stream.append(project, "one")
    with pytest.raises(Conflict) as refused:
        stream.append(project, "stale", expected_revision=0)
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(Conflict):
        stream.append(project, "after the refusal")
    stream.close()
    with client.mutations() as fresh:
        assert fresh.append(project, "two").revision == 2
    assert [m.content for m in client.messages(project)] == ["one", "two"]


def test_a_burst_sent_at_once_is_acknowledged_in_order_and_stops_at_a_refusal(client: Client, project: str) -> None:
    def append(text: str, expected: Optional[int] = None) -> pb.MutateRequest:
        request = pb.AppendMessageRequest(project=project, message=pb.Message(role=pb.ROLE_USER, content=text))
        if expected is not None:
            request.expected_revision = expected
        return pb.MutateRequest(append_message=request)

    with client.mutations() as stream:
        acks = stream.send_all(append(f"line {n}", expected=n) for n in range(50))
        assert [ack.revision for ack in acks] == list(range(1, 51))
    stream = client.mutations()
    with pytest.raises(Conflict) as refused:
        stream.send_all([append("kept"), append("stale", expected=0), append("never")])
    assert [ack.revision for ack in refused.value.acknowledged] == [51]
    texts = [m.content for m in client.messages(project)]
    assert texts == [f"line {n}" for n in range(50)] + ["kept"]


def test_an_unknown_role_is_refused_before_any_call(client: Client, project: str) -> None:
    with pytest.raises(ValueError, match="unknown role"):
        client.append(project, "x", role="wizard")


def test_a_relative_project_is_made_absolute(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rel").mkdir()
    monkeypatch.chdir(tmp_path)
    client.append("rel", "hello")
    assert [m.content for m in client.messages(str(tmp_path / "rel"))] == ["hello"]


def test_messages_reads_every_page_of_1200_lazily(client: Client, project: str) -> None:
    for i in range(1200):
        client.append(project, f"message {i}")
    calls: List[int] = []
    real = client.stub.GetWorkingSession

    def counting(request: pb.GetWorkingSessionRequest, **kwargs: object) -> pb.SessionContent:
        calls.append(request.after_message_id)
        return real(request, **kwargs)

    client.stub.GetWorkingSession = counting  # type: ignore[method-assign]
    iterator = client.messages(project, page_size=500)
    assert next(iterator).content == "message 0"
    assert len(calls) == 1, "only the first page is read before it is needed"
    rest = list(iterator)
    assert [m.content for m in rest] == [f"message {i}" for i in range(1, 1200)]
    assert len(calls) == 3, calls
    ids = [m.id for m in rest]
    assert ids == sorted(set(ids))

    # The daemon's default page size pages too.
    calls.clear()
    assert len(list(client.messages(project))) == 1200
    assert len(calls) >= 2, "1,200 messages take more than one default page"
    pages = list(client.pages(project, page_size=500))
    assert [len(p.messages) for p in pages] == [500, 500, 200]
    assert [p.more for p in pages] == [True, True, False]
    assert all(p.total_messages == 1200 for p in pages)


def test_save_and_read_a_saved_session_by_name(client: Client, project: str) -> None:
    for i in range(7):
        client.append(project, f"m{i}")
    info = client.save(project, "fix login")
    assert (info.name, info.message_count) == ("fix login", 7)
    client.append(project, "after the save")
    saved = [m.content for m in client.messages(project, session="fix login", page_size=3)]
    assert saved == [f"m{i}" for i in range(7)]


def test_saving_a_taken_name_needs_overwrite(client: Client, project: str) -> None:
    client.append(project, "one")
    client.save(project, "draft")
    client.append(project, "two")
    with pytest.raises(AlreadyExists) as refused:
        client.save(project, "draft")
    assert "draft" in refused.value.message
    assert client.save(project, "draft", overwrite=True).message_count == 2


def test_load_replaces_messages_files_or_both(client: Client, project: str) -> None:
    client.append(project, "saved message")
    client.stub.AddContextFiles(
        pb.AddContextFilesRequest(project=project, files=[pb.ContextFile(path="src/login.rs")])
    )
    client.save(project, "base")
    client.append(project, "later")
    client.stub.SetContextFiles(pb.SetContextFilesRequest(project=project, files=[]))

    ack = client.load(project, "base", messages=True, files=False)
    assert ack.revision > 0
    assert [m.content for m in client.messages(project)] == ["saved message"]
    assert client.files(project) == []
    client.load(project, "base", messages=False, files=True)
    assert [f.path for f in client.files(project)] == ["src/login.rs"]
    client.append(project, "again")
    client.load(project, "base")
    assert [m.content for m in client.messages(project)] == ["saved message"]

    with pytest.raises(InvalidArgument):
        client.load(project, "base", messages=False, files=False)
    with pytest.raises(NotFound) as missing:
        client.load(project, "no such session")
    assert "no such session" in missing.value.message


def test_sessions_lists_saved_sessions_newest_first(client: Client, project: str) -> None:
    assert client.sessions(project) == []
    client.append(project, "x")
    client.save(project, "older")
    time.sleep(0.01)
    client.save(project, "newer")
    assert [s.name for s in client.sessions(project)] == ["newer", "older"]
    client.rename(project, "older", "renamed")
    assert client.delete(project, "newer")
    assert [s.name for s in client.sessions(project)] == ["renamed"]


def test_errors_are_named_after_the_status_and_carry_the_daemons_sentence(client: Client, project: str) -> None:
    with pytest.raises(NotFound) as missing:
        list(client.messages(project, session="nope"))
    error = missing.value
    assert isinstance(error, ChronicleError)
    assert error.code == grpc.StatusCode.NOT_FOUND
    assert "nope" in str(error)
    with pytest.raises(InvalidArgument):
        client.save(project, "")


def test_no_daemon_is_unavailable_naming_the_socket(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    missing = str(run / "chronicle.sock")
    with pytest.raises(Unavailable) as refused:
        Client(socket=missing)
    assert missing in refused.value.message
    assert "chronicle daemon start" in refused.value.message


def test_the_generated_stub_is_there_for_everything_else(client: Client, project: str) -> None:
    client.append(project, "x")
    projects = client.stub.ListProjects(pb.ListProjectsRequest()).projects
    assert project in [p.project for p in projects]
    assert project in [p.project for p in client.projects()]
    assert client.open_project(project).message_count == 1


def _watch_into(client: Client, project: str, events: "queue.Queue[object]") -> threading.Thread:
    def run() -> None:
        try:
            for event in client.watch(project):
                events.put(event)
        except Exception as error:  # surfaced by the test
            events.put(error)
        events.put("ended")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _next(events: "queue.Queue[object]") -> object:
    item = events.get(timeout=10)
    if isinstance(item, Exception):
        raise item
    return item


def test_watch_sees_an_append_made_by_the_rust_cli_and_ends_on_close(daemon: Daemon, project: str) -> None:
    events: "queue.Queue[object]" = queue.Queue()
    watcher = Client(socket=daemon.socket)
    thread = _watch_into(watcher, project, events)
    snapshot = _next(events)
    assert isinstance(snapshot, pb.Event) and snapshot.kind == pb.EVENT_KIND_SNAPSHOT

    env = clean_env()
    env["CHRONICLE_SOCKET"] = daemon.socket
    subprocess.run(
        [CHRONICLE_CLI, "-C", project, "add", "written by the CLI"], check=True, env=env, capture_output=True
    )
    appended = _next(events)
    assert isinstance(appended, pb.Event)
    assert appended.kind == pb.EVENT_KIND_MESSAGE_APPENDED
    assert appended.message.content == "written by the CLI"
    assert appended.revision == snapshot.revision + 1

    watcher.close()
    assert _next(events) == "ended"
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_watch_of_every_project_sees_saves(client: Client, daemon: Daemon, project: str) -> None:
    events: "queue.Queue[object]" = queue.Queue()
    watcher = Client(socket=daemon.socket)
    _watch_into(watcher, None, events)  # type: ignore[arg-type]
    assert _next(events).kind == pb.EVENT_KIND_SNAPSHOT  # type: ignore[attr-defined]
    client.append(project, "x")
    client.save(project, "seen")
    kinds = []
    while pb.EVENT_KIND_SESSION_SAVED not in kinds:
        event = _next(events)
        if isinstance(event, pb.Event) and event.project == project:
            kinds.append(event.kind)
    assert kinds[0] == pb.EVENT_KIND_MESSAGE_APPENDED
    watcher.close()
    assert list(watcher.watch(project)) == [], "a closed client's watch ends at once"
