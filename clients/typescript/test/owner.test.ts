// A socket that is not the user's own is refused before a byte is sent.
// Node cannot read the listener's credentials portably (no SO_PEERCRED),
// so the client checks the directory (owner, not writable by others) and
// the socket file's owner. The fake daemons run as uid 65534 and count
// the bytes they receive; they need root to start, and these tests fail
// rather than skip when CI=true.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { once } from "node:events";
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";

import { Client, PermissionDenied } from "../src/index";
import { inCI } from "./daemon";

const NOBODY = 65534;

function requireRoot(t: TestContext, what: string): boolean {
  if (process.getuid!() === 0) return true;
  if (inCI()) assert.fail(`${what} needs root, and CI=true: this test must run, not skip`);
  t.skip(`${what} needs root`);
  return false;
}

/** A directory other users can traverse (mkdtemp makes 0700 ones). */
function sharedDir(): string {
  const dir = mkdtempSync("/tmp/chronicle-foreign-");
  chmodSync(dir, 0o711);
  return dir;
}

// Listens on argv[1]; prints "ready"; on a line on stdin prints how many
// connections it accepted and how many bytes it received, and exits.
const FAKE_DAEMON = `
const net = require("node:net");
let accepted = 0, received = 0;
const server = net.createServer((c) => { accepted++; c.on("data", (d) => { received += d.length; }); c.on("error", () => {}); });
server.listen(process.argv[1], () => console.log("ready"));
process.stdin.once("data", () => setTimeout(() => { console.log(JSON.stringify({ accepted, received })); process.exit(0); }, 100));
`;

async function startForeign(socket: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn(process.execPath, ["-e", FAKE_DAEMON, socket], { uid: NOBODY, gid: NOBODY });
  const [line] = await once(child.stdout, "data");
  assert.equal(String(line).trim(), "ready", "the fake daemon started");
  return child;
}

async function finish(child: ChildProcessWithoutNullStreams): Promise<{ accepted: number; received: number }> {
  child.stdin.write("done\n");
  const [line] = await once(child.stdout, "data");
  return JSON.parse(String(line));
}

test("a directory owned by another user is refused, naming the path and the owner", async (t) => {
  if (!requireRoot(t, "starting a fake daemon as uid 65534")) return;
  const shared = sharedDir();
  try {
    const run = join(shared, "run");
    mkdirSync(run, { mode: 0o700 });
    chownSync(run, NOBODY, NOBODY);
    const socket = join(run, "chronicle.sock");
    const fake = await startForeign(socket);
    let refused: unknown;
    try {
      await Client.connect({ socket });
    } catch (error) {
      refused = error;
    }
    const counts = await finish(fake);
    assert.ok(refused instanceof PermissionDenied, `refused: ${refused}`);
    assert.ok(refused.message.includes(socket) && refused.message.includes(`uid ${NOBODY}`), refused.message);
    assert.deepEqual(counts, { accepted: 0, received: 0 }, "not even a probe connection was made");
  } finally {
    rmSync(shared, { recursive: true, force: true });
  }
});

test("a socket file owned by another user is refused before connecting", async (t) => {
  if (!requireRoot(t, "chown to uid 65534")) return;
  const shared = sharedDir();
  let server: Server | undefined;
  try {
    const run = join(shared, "run");
    mkdirSync(run, { mode: 0o700 });
    const socket = join(run, "chronicle.sock");
    let accepted = 0;
    server = createServer(() => accepted++);
    await new Promise<void>((ok) => server!.listen(socket, ok));
    chownSync(socket, NOBODY, NOBODY);
    await assert.rejects(Client.connect({ socket }), (error: unknown) => {
      assert.ok(error instanceof PermissionDenied);
      assert.match(error.message, new RegExp(`the socket belongs to uid ${NOBODY}`));
      return true;
    });
    assert.equal(accepted, 0);
  } finally {
    server?.close();
    rmSync(shared, { recursive: true, force: true });
  }
});

test("a directory others can write to is refused", async () => {
  const dir = mkdtempSync("/tmp/chronicle-open-");
  try {
    for (const mode of [0o777, 0o720]) {
      chmodSync(dir, mode);
      await assert.rejects(Client.connect({ socket: join(dir, "chronicle.sock") }), (error: unknown) => {
        assert.ok(error instanceof PermissionDenied);
        assert.match(error.message, /writable by other users/);
        assert.ok(error.message.includes(dir));
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
