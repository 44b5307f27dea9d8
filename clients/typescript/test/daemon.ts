// A real daemon per test file, in a private temporary directory. The
// binaries come from $CHRONICLED and $CHRONICLE_CLI, else from the
// repository's target/debug (what .ci/run builds).
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const REPO = resolve(__dirname, "..", "..", "..", "..");
export const CHRONICLED = process.env.CHRONICLED || join(REPO, "target", "debug", "chronicled");
export const CHRONICLE_CLI = process.env.CHRONICLE_CLI || join(REPO, "target", "debug", "chronicle");

export function inCI(): boolean {
  return (process.env.CI ?? "").toLowerCase() === "true";
}

/** The environment without CHRONICLE_* variables. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CHRONICLE_")));
}

export function canConnect(path: string): Promise<boolean> {
  return new Promise((ok) => {
    const probe = connect(path);
    probe.once("connect", () => {
      probe.destroy();
      ok(true);
    });
    probe.once("error", () => ok(false));
  });
}

export class Daemon {
  readonly root: string;
  readonly socket: string;
  private readonly log: string;
  private readonly process: ChildProcess;

  private constructor(root: string) {
    this.root = root;
    const run = join(root, "s");
    mkdirSync(run, { mode: 0o700 });
    this.socket = join(run, "chronicle.sock");
    this.log = join(root, "chronicled.log");
    this.process = spawn(CHRONICLED, ["--socket", this.socket, "--data-dir", join(root, "data")], {
      stdio: ["ignore", "ignore", openSync(this.log, "w")],
      env: cleanEnv(),
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  static async start(): Promise<Daemon> {
    accessSync(CHRONICLED, constants.X_OK);
    const daemon = new Daemon(mkdtempSync(join(tmpdir(), "chronicle-ts-")));
    const deadline = Date.now() + 30_000;
    while (!(await canConnect(daemon.socket))) {
      if (daemon.process.exitCode !== null) throw new Error(`chronicled exited: ${daemon.logText()}`);
      if (Date.now() > deadline) throw new Error(`chronicled did not start: ${daemon.logText()}`);
      await sleep(20);
    }
    return daemon;
  }

  logText(): string {
    try {
      return readFileSync(this.log, "utf8");
    } catch {
      return "";
    }
  }

  /** A fresh project root: every test gets its own working session. */
  project(name: string): string {
    const path = join(this.root, "projects", name);
    mkdirSync(path, { recursive: true });
    return path;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null) {
      const exited = new Promise((ok) => this.process.once("exit", ok));
      this.process.kill("SIGTERM");
      await exited;
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
