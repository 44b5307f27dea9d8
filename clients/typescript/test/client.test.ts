// Every method of Client against a real daemon.
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { promisify } from "node:util";
import { credentials } from "@grpc/grpc-js";

import {
  AlreadyExists,
  ChronicleError,
  Client,
  Conflict,
  InvalidArgument,
  NotFound,
  Unavailable,
  defaultSocketPath,
  loadProto,
  type Event,
} from "../src/index";
import { CHRONICLE_CLI, Daemon, cleanEnv } from "./daemon";

let daemon: Daemon;
let client: Client;
let counter = 0;
const fresh = () => daemon.project(`p${++counter}`);

before(async () => {
  daemon = await Daemon.start();
  client = await Client.connect({ socket: daemon.socket });
});
after(async () => {
  client.close();
  await daemon.stop();
});

describe("the daemon", () => {
  test("status names the daemon and its socket", async () => {
    const status = await client.status();
    assert.ok(status.version);
    assert.equal(status.pid, daemon.pid);
    assert.equal(status.socket, daemon.socket);
  });

  test("connect() without options uses CHRONICLE_SOCKET", async () => {
    process.env.CHRONICLE_SOCKET = daemon.socket;
    try {
      const c = await Client.connect();
      assert.equal(c.socketPath, daemon.socket);
      assert.equal((await c.status()).socket, daemon.socket);
      c.close();
    } finally {
      delete process.env.CHRONICLE_SOCKET;
    }
  });

  test("the socket rule is the CLI's", () => {
    const uid = process.getuid!();
    assert.equal(defaultSocketPath({ CHRONICLE_SOCKET: "/x/e.sock", XDG_RUNTIME_DIR: "/run/user/1" }), "/x/e.sock");
    assert.equal(defaultSocketPath({ XDG_RUNTIME_DIR: "/run/user/1" }), "/run/user/1/chronicle/chronicle.sock");
    assert.equal(defaultSocketPath({ XDG_RUNTIME_DIR: "rel" }, "linux"), `/tmp/chronicle-${uid}/chronicle.sock`);
    assert.equal(defaultSocketPath({ TMPDIR: "/var/folders/x/T/" }, "darwin"), `/var/folders/x/T/chronicle-${uid}/chronicle.sock`);
    assert.equal(defaultSocketPath({ TMPDIR: "/var/folders/x/T/" }, "linux"), `/tmp/chronicle-${uid}/chronicle.sock`);
  });

  test("no daemon is Unavailable, naming the socket", async () => {
    const missing = `${daemon.root}/s/nothing-here.sock`;
    await assert.rejects(Client.connect({ socket: missing }), (error: unknown) => {
      assert.ok(error instanceof Unavailable);
      assert.match(error.message, /nothing-here\.sock/);
      assert.match(error.message, /chronicle daemon start/);
      return true;
    });
  });

  test("stock @grpc/grpc-js works without any setting (it sends localhost as :authority)", async () => {
    const Sessions = loadProto().chronicle.v1.Sessions;
    const stock = new Sessions(`unix:${daemon.socket}`, credentials.createInsecure());
    const version = await new Promise<string>((ok, fail) =>
      stock.GetStatus({}, (error, status) => (error ? fail(error) : ok(status!.version))),
    );
    stock.close();
    assert.ok(version);
  });
});

describe("the working session", () => {
  test("append returns revision and message id; role and model are kept", async () => {
    const project = fresh();
    const first = await client.append(project, "Why does login fail?");
    const second = await client.append(project, "The token expired.", { role: "assistant", model: "gpt-5" });
    assert.deepEqual([first.revision, first.messageId], [1, 1]);
    assert.equal(second.revision, 2);
    const messages = [];
    for await (const m of client.messages(project)) messages.push([m.role, m.content, m.model]);
    assert.deepEqual(messages, [
      ["ROLE_USER", "Why does login fail?", ""],
      ["ROLE_ASSISTANT", "The token expired.", "gpt-5"],
    ]);
  });

  test("appendMessage keeps every field", async () => {
    const project = fresh();
    const ack = await client.appendMessage(project, {
      role: "ROLE_TOOL",
      content: "ran it",
      tool: { name: "shell", callId: "c1", argsJson: '{"cmd":"ls"}' },
      usage: { sentTokens: 10, receivedTokens: 5, cost: 0.25 },
      metadata: { source: "test" },
    });
    const [stored] = await collect(client.messages(project));
    assert.equal(stored.id, ack.messageId);
    assert.equal(stored.tool?.name, "shell");
    assert.equal(stored.usage?.cost, 0.25);
    assert.equal(stored.metadata.source, "test");
  });

  test("a stale expectedRevision is a Conflict naming the current revision", async () => {
    const project = fresh();
    const ack = await client.append(project, "one");
    await client.append(project, "two, from another frontend");
    await assert.rejects(client.append(project, "three", { expectedRevision: ack.revision }), (error: unknown) => {
      assert.ok(error instanceof Conflict && error instanceof ChronicleError);
      assert.match(error.message, /2/);
      return true;
    });
    assert.equal((await client.append(project, "three", { expectedRevision: 2 })).revision, 3);
  });

  test("a Mutate stream acknowledges each mutation in order", async () => {
    const project = fresh();
    const stream = client.mutations();
    const question = await stream.append(project, "Why does login fail?", { expectedRevision: 0 });
    const answer = await stream.append(project, "The hash", { role: "assistant" });
    const streamed = await stream.appendTo(project, Number(answer.messageId), " check is wrong.");
    const files = await stream.send({ addContextFiles: { project, files: [{ path: "src/login.ts" }] } });
    await stream.close();
    assert.deepEqual(
      [question, answer, streamed, files].map((ack) => Number(ack.revision)),
      [1, 2, 3, 4],
    );
    const texts = (await collect(client.messages(project))).map((m) => m.content);
    assert.deepEqual(texts, ["Why does login fail?", "The hash check is wrong."]);
    assert.deepEqual((await client.files(project)).map((f) => f.path), ["src/login.ts"]);
  });

  test("a refused mutation ends its stream, and a new stream goes on", async () => {
    const project = fresh();
    const stream = client.mutations();
    await stream.append(project, "one");
    await assert.rejects(stream.append(project, "stale", { expectedRevision: 0 }), (error: unknown) => error instanceof Conflict);
    await assert.rejects(stream.append(project, "after the refusal"), (error: unknown) => error instanceof Conflict);
    await stream.close();
    const fresher = client.mutations();
    assert.equal(Number((await fresher.append(project, "two")).revision), 2);
    await fresher.close();
    const texts = (await collect(client.messages(project))).map((m) => m.content);
    assert.deepEqual(texts, ["one", "two"]);
  });

  test("appends sent at once over a stream are answered in order, and a refusal stops the rest", async () => {
    const project = fresh();
    const stream = client.mutations();
    const acks = await Promise.all(Array.from({ length: 50 }, (_, n) => stream.append(project, `line ${n}`, { expectedRevision: n })));
    assert.deepEqual(
      acks.map((ack) => Number(ack.revision)),
      Array.from({ length: 50 }, (_, n) => n + 1),
    );
    const burst = [stream.append(project, "kept"), stream.append(project, "stale", { expectedRevision: 0 }), stream.append(project, "never")];
    const settled = await Promise.allSettled(burst);
    assert.equal(settled[0].status, "fulfilled");
    assert.equal(Number((settled[0] as PromiseFulfilledResult<{ revision: unknown }>).value.revision), 51);
    for (const refused of settled.slice(1)) {
      assert.equal(refused.status, "rejected");
      assert.ok((refused as PromiseRejectedResult).reason instanceof Conflict);
    }
    const texts = (await collect(client.messages(project))).map((m) => m.content);
    assert.deepEqual(texts, [...Array.from({ length: 50 }, (_, n) => `line ${n}`), "kept"]);
  });

  test("messages() reads every page of 1,200 messages, lazily", async () => {
    const project = fresh();
    for (let i = 0; i < 1200; i++) await client.append(project, `message ${i}`);
    const pages: number[] = [];
    for await (const page of client.pages(project, { pageSize: 500 })) pages.push(page.messages.length);
    assert.deepEqual(pages, [500, 500, 200]);

    const calls: number[] = [];
    const real = client.stub.GetWorkingSession.bind(client.stub);
    (client.stub as any).GetWorkingSession = (request: any, ...rest: any[]) => {
      calls.push(request.afterMessageId);
      return (real as any)(request, ...rest);
    };
    try {
      const iterator = client.messages(project, { pageSize: 500 });
      assert.equal((await iterator.next()).value?.content, "message 0");
      assert.equal(calls.length, 1, "only the first page is read before it is needed");
      const rest = await collect(iterator);
      assert.deepEqual(rest.map((m) => m.content), Array.from({ length: 1199 }, (_, i) => `message ${i + 1}`));
      assert.equal(calls.length, 3);
      calls.length = 0;
      assert.equal((await collect(client.messages(project))).length, 1200);
      assert.ok(calls.length >= 2, "the daemon's default page size pages too");
    } finally {
      delete (client.stub as any).GetWorkingSession;
    }
  });
});

describe("saved sessions", () => {
  test("save, then read the saved session by name", async () => {
    const project = fresh();
    for (let i = 0; i < 7; i++) await client.append(project, `m${i}`);
    const info = await client.save(project, "fix login");
    assert.deepEqual([info.name, info.messageCount], ["fix login", 7]);
    await client.append(project, "after the save");
    const saved = await collect(client.messages(project, { session: "fix login", pageSize: 3 }));
    assert.deepEqual(saved.map((m) => m.content), ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);
  });

  test("a taken name needs overwrite", async () => {
    const project = fresh();
    await client.append(project, "one");
    await client.save(project, "draft");
    await client.append(project, "two");
    await assert.rejects(client.save(project, "draft"), (error: unknown) => error instanceof AlreadyExists && /draft/.test(error.message));
    assert.equal((await client.save(project, "draft", { overwrite: true })).messageCount, 2);
  });

  test("load replaces messages, files or both", async () => {
    const project = fresh();
    await client.append(project, "saved message");
    await new Promise((ok, fail) =>
      client.stub.AddContextFiles({ project, files: [{ path: "src/login.rs" }] }, (e, r) => (e ? fail(e) : ok(r))),
    );
    await client.save(project, "base");
    await client.append(project, "later");
    await new Promise((ok, fail) => client.stub.SetContextFiles({ project, files: [] }, (e, r) => (e ? fail(e) : ok(r))));

    await client.load(project, "base", { messages: true, files: false });
    assert.deepEqual((await collect(client.messages(project))).map((m) => m.content), ["saved message"]);
    assert.deepEqual(await client.files(project), []);
    await client.load(project, "base", { messages: false, files: true });
    assert.deepEqual((await client.files(project)).map((f) => f.path), ["src/login.rs"]);
    await client.append(project, "again");
    await client.load(project, "base");
    assert.deepEqual((await collect(client.messages(project))).map((m) => m.content), ["saved message"]);

    await assert.rejects(client.load(project, "base", { messages: false, files: false }), InvalidArgument);
    await assert.rejects(client.load(project, "no such session"), (error: unknown) => error instanceof NotFound && /no such session/.test(error.message));
  });

  test("sessions() lists newest first; rename and delete", async () => {
    const project = fresh();
    assert.deepEqual(await client.sessions(project), []);
    await client.append(project, "x");
    await client.save(project, "older");
    await new Promise((ok) => setTimeout(ok, 10));
    await client.save(project, "newer");
    assert.deepEqual((await client.sessions(project)).map((s) => s.name), ["newer", "older"]);
    await client.rename(project, "older", "renamed");
    assert.ok(await client.delete(project, "newer"));
    assert.deepEqual((await client.sessions(project)).map((s) => s.name), ["renamed"]);
  });

  test("errors are named after the status and carry the daemon's sentence", async () => {
    const project = fresh();
    await assert.rejects(collect(client.messages(project, { session: "nope" })), (error: unknown) => {
      assert.ok(error instanceof NotFound);
      assert.equal(error.name, "NotFound");
      assert.equal(error.code, 5);
      assert.match(error.message, /nope/);
      return true;
    });
  });

  test("the generated stub is there for everything else", async () => {
    const project = fresh();
    await client.append(project, "x");
    assert.ok((await client.projects()).some((p) => p.project === project));
    assert.equal((await client.openProject(project)).messageCount, 1);
  });
});

describe("watch", () => {
  test("sees an append made by the Rust CLI, and ends when the client closes", async () => {
    const project = fresh();
    const watcher = await Client.connect({ socket: daemon.socket });
    const events = watcher.watch(project);
    const snapshot = (await events.next()).value as Event;
    assert.equal(snapshot.kind, "EVENT_KIND_SNAPSHOT");
    const next = events.next();
    await promisify(execFile)(CHRONICLE_CLI, ["-C", project, "add", "written by the CLI"], {
      env: { ...cleanEnv(), CHRONICLE_SOCKET: daemon.socket },
    });
    const appended = (await next).value as Event;
    assert.equal(appended.kind, "EVENT_KIND_MESSAGE_APPENDED");
    assert.equal(appended.message?.content, "written by the CLI");
    assert.equal(appended.revision, snapshot.revision + 1);

    const ended = events.next();
    watcher.close();
    assert.deepEqual(await ended, { done: true, value: undefined });
    assert.deepEqual(await collect(watcher.watch(project)), [], "a closed client's watch ends at once");
  });

  test("of every project sees saves", async () => {
    const project = fresh();
    const watcher = await Client.connect({ socket: daemon.socket });
    const events = watcher.watch();
    assert.equal(((await events.next()).value as Event).kind, "EVENT_KIND_SNAPSHOT");
    await client.append(project, "x");
    await client.save(project, "seen");
    const kinds: string[] = [];
    while (!kinds.includes("EVENT_KIND_SESSION_SAVED")) {
      const event = (await events.next()).value as Event;
      if (event.project === project) kinds.push(event.kind);
    }
    assert.equal(kinds[0], "EVENT_KIND_MESSAGE_APPENDED");
    await events.return(undefined);
    watcher.close();
  });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

test("examples/append.ts appends through the socket the CLI would use", async () => {
  const project = fresh();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [`${__dirname}/../examples/append.js`, "-C", project, "--role", "assistant", "--model", "m1", "from the example"],
    { env: { ...cleanEnv(), CHRONICLE_SOCKET: daemon.socket } },
  );
  assert.match(stdout, /appended message 1; the working session is now at revision 1/);
  const [message] = await collect(client.messages(project));
  assert.deepEqual([message.role, message.content, message.model], ["ROLE_ASSISTANT", "from the example", "m1"]);
});
