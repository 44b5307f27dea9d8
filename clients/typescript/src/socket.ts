// Where the daemon's socket is, and whether it is safe to talk to.
//
// The rule is the CLI's: $CHRONICLE_SOCKET, else
// $XDG_RUNTIME_DIR/chronicle/chronicle.sock, else on macOS
// $TMPDIR/chronicle-$UID/chronicle.sock, else /tmp/chronicle-$UID/chronicle.sock.
//
// Before a byte is sent, checkSocket() makes sure the daemon is the user's
// own, as far as Node can tell: the socket's directory belongs to this uid
// and nobody else may write to it, and the socket file belongs to this
// uid. Node has no portable way to read the peer's credentials
// (SO_PEERCRED), so unlike the Rust and Python clients this one does not
// check the listening process itself; the directory check is what keeps
// another user from planting a socket there (only its owner can create or
// replace entries in a 0700 directory).
import { lstatSync, statSync } from "node:fs";
import { connect } from "node:net";
import { dirname, isAbsolute, join, resolve } from "node:path";

import { PermissionDenied, Unavailable } from "./errors";

export const SOCKET_ENV = "CHRONICLE_SOCKET";

function uid(): number {
  if (typeof process.getuid !== "function") {
    throw new Unavailable("Chronicle runs on Unix only (no process.getuid here)");
  }
  return process.getuid();
}

/** The socket every Chronicle program uses unless told otherwise. */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string {
  const explicit = env[SOCKET_ENV];
  if (explicit) return explicit;
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && isAbsolute(runtime)) return join(runtime, "chronicle", "chronicle.sock");
  if (platform === "darwin" && env.TMPDIR && isAbsolute(env.TMPDIR)) {
    return join(env.TMPDIR, `chronicle-${uid()}`, "chronicle.sock");
  }
  return `/tmp/chronicle-${uid()}/chronicle.sock`;
}

function notRunning(path: string, why = ""): Unavailable {
  return new Unavailable(
    `no Chronicle daemon is listening on ${path}${why} — start one with \`chronicle daemon start\``,
  );
}

function refuse(path: string, what: string, owner: number): PermissionDenied {
  return new PermissionDenied(
    `refusing the Chronicle socket ${path}: ${what} belongs to uid ${owner}, not to you (uid ${uid()}), ` +
      "so another user's program could read what you send",
  );
}

/**
 * Throws PermissionDenied when the socket at `path` is not this user's,
 * Unavailable when nothing listens there. Sends nothing: the liveness
 * probe connects and closes.
 */
export async function checkSocket(path: string): Promise<void> {
  const me = uid();
  const directory = dirname(resolve(path));
  let dir;
  try {
    dir = statSync(directory);
  } catch {
    throw notRunning(path, ` (its directory ${directory} does not exist)`);
  }
  if (dir.uid !== me) throw refuse(path, `its directory ${directory}`, dir.uid);
  if ((dir.mode & 0o022) !== 0) {
    const mode = (dir.mode & 0o7777).toString(8).padStart(4, "0");
    throw new PermissionDenied(
      `refusing the Chronicle socket ${path}: its directory ${directory} is writable by other users (mode ${mode}); make it 0700`,
    );
  }
  let file;
  try {
    file = lstatSync(path);
  } catch {
    throw notRunning(path);
  }
  if (!file.isSocket()) throw new Unavailable(`${path} is not a socket — is ${SOCKET_ENV} right?`);
  if (file.uid !== me) throw refuse(path, "the socket", file.uid);
  await new Promise<void>((ok, fail) => {
    const probe = connect(path);
    probe.setTimeout(5000, () => {
      probe.destroy();
      fail(new Unavailable(`the Chronicle daemon on ${path} did not accept a connection within 5 s`));
    });
    probe.once("connect", () => {
      probe.destroy();
      ok();
    });
    probe.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED" || error.code === "ENOENT") fail(notRunning(path));
      else if (error.code === "EACCES") fail(new PermissionDenied(`permission denied on ${path}: the daemon there belongs to another user`));
      else fail(new Unavailable(`could not connect to the Chronicle daemon on ${path}: ${error.message}`));
    });
  });
}
