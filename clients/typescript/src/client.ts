// The typed client: one method per thing a frontend does, the generated
// stub (`client.stub`) for everything else.
import { credentials, loadPackageDefinition, status as Status } from "@grpc/grpc-js";
import type { CallOptions, ClientDuplexStream, ClientReadableStream, ClientUnaryCall, ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { isAbsolute, join, resolve } from "node:path";

import { ChronicleError, Unavailable, fromServiceError } from "./errors";
import { checkSocket, defaultSocketPath } from "./socket";
import type { ProtoGrpcType } from "./gen/chronicle";
import type { SessionsClient } from "./gen/chronicle/v1/Sessions";
import type { ContextFile__Output } from "./gen/chronicle/v1/ContextFile";
import type { DaemonStatus__Output } from "./gen/chronicle/v1/DaemonStatus";
import type { Event__Output } from "./gen/chronicle/v1/Event";
import type { Message, Message__Output } from "./gen/chronicle/v1/Message";
import type { MutateRequest } from "./gen/chronicle/v1/MutateRequest";
import type { MutationAck__Output } from "./gen/chronicle/v1/MutationAck";
import type { ProjectState__Output } from "./gen/chronicle/v1/ProjectState";
import type { Role } from "./gen/chronicle/v1/Role";
import type { SessionContent__Output } from "./gen/chronicle/v1/SessionContent";
import type { SessionInfo__Output } from "./gen/chronicle/v1/SessionInfo";

/** Where the build put the project's .proto (scripts/gen.mjs). */
export const PROTO_ROOT = join(__dirname, "..", "..", "proto");

/** Must match the flags scripts/gen.mjs gives proto-loader-gen-types. */
const LOADER_OPTIONS = { longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_ROOT] };

/** Largest message accepted: a page may carry an 8 MiB message and more. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Channel options every Chronicle client needs. grpc-js already sends
 * `localhost` as :authority on a Unix socket (the daemon's HTTP/2 layer
 * rejects a socket path there); it is set anyway, so no future default
 * can break it.
 */
export const CHANNEL_OPTIONS = {
  "grpc.default_authority": "localhost",
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
} as const;

let proto: ProtoGrpcType | undefined;

/** The generated service definitions, loaded once. */
export function loadProto(): ProtoGrpcType {
  proto ??= loadPackageDefinition(loadSync("chronicle/v1/chronicle.proto", LOADER_OPTIONS)) as unknown as ProtoGrpcType;
  return proto;
}

export type RoleName = "user" | "assistant" | "tool" | "system" | "command_output" | "log";

const ROLES: Record<RoleName, Role> = {
  user: "ROLE_USER",
  assistant: "ROLE_ASSISTANT",
  tool: "ROLE_TOOL",
  system: "ROLE_SYSTEM",
  command_output: "ROLE_COMMAND_OUTPUT",
  log: "ROLE_LOG",
};

export interface ConnectOptions {
  /** The socket; default: the CLI's rule (`$CHRONICLE_SOCKET`, ...). */
  socket?: string;
  /** Deadline of every unary call, in milliseconds; default none. */
  timeoutMs?: number;
}

export interface AppendOptions {
  role?: RoleName | Role;
  model?: string;
  /** Fail with Conflict unless the working session is at this revision. */
  expectedRevision?: number;
}

export interface ReadOptions {
  /** A saved session's name; default the working session. */
  session?: string;
  /** Messages per page; 0 or absent = the daemon's default. */
  pageSize?: number;
}

/** A connection to the user's Chronicle daemon. Create with `Client.connect()`. */
export class Client {
  /** The generated stub, for every RPC this class has no method for. */
  readonly stub: SessionsClient;
  readonly socketPath: string;
  private readonly timeoutMs: number | undefined;
  private readonly calls = new Set<ClientReadableStream<unknown>>();
  private closedFlag = false;

  private constructor(socketPath: string, timeoutMs: number | undefined) {
    this.socketPath = socketPath;
    this.timeoutMs = timeoutMs;
    const Sessions = loadProto().chronicle.v1.Sessions;
    this.stub = new Sessions(`unix:${socketPath}`, credentials.createInsecure(), { ...CHANNEL_OPTIONS });
  }

  /**
   * Connects to the daemon, after checking the socket belongs to this user
   * (see checkSocket). Throws Unavailable when no daemon answers.
   */
  static async connect(options: ConnectOptions = {}): Promise<Client> {
    const socketPath = resolve(options.socket ?? defaultSocketPath());
    await checkSocket(socketPath);
    return new Client(socketPath, options.timeoutMs);
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Closes the connection; running watch() loops end. */
  close(): void {
    this.closedFlag = true;
    for (const call of this.calls) call.cancel();
    this.calls.clear();
    this.stub.close();
  }

  private options(): CallOptions {
    return this.timeoutMs === undefined ? {} : { deadline: Date.now() + this.timeoutMs };
  }

  private unary<T>(start: (options: CallOptions, done: (error: ServiceError | null, value?: T) => void) => ClientUnaryCall): Promise<T> {
    return new Promise<T>((ok, fail) => {
      start(this.options(), (error, value) => {
        if (error) fail(fromServiceError(error, this.socketPath));
        else ok(value as T);
      });
    });
  }

  // ---- the daemon and projects ----

  status(): Promise<DaemonStatus__Output> {
    return this.unary((o, cb) => this.stub.GetStatus({}, o, cb));
  }

  /** Registers the project; `startEmpty` moves a non-empty working session to the trash. */
  openProject(project: string, startEmpty = false): Promise<ProjectState__Output> {
    const start = startEmpty ? "START_MODE_EMPTY" : "START_MODE_LAST";
    return this.unary((o, cb) => this.stub.OpenProject({ project: root(project), start }, o, cb));
  }

  async projects(): Promise<ProjectState__Output[]> {
    return (await this.unary<{ projects: ProjectState__Output[] }>((o, cb) => this.stub.ListProjects({}, o, cb))).projects;
  }

  // ---- the working session ----

  /** Appends a message to the project's working session; durable when the promise resolves. */
  append(project: string, text: string, options: AppendOptions = {}): Promise<MutationAck__Output> {
    return this.appendMessage(project, textMessage(text, options), options.expectedRevision);
  }

  /** Appends a full message (usage, tool call, metadata...). */
  appendMessage(project: string, message: Message, expectedRevision?: number): Promise<MutationAck__Output> {
    const request = appendRequest(project, message, expectedRevision);
    return this.unary((o, cb) => this.stub.AppendMessage(request, o, cb));
  }

  /** Every message, oldest first, read page by page as you iterate. */
  async *messages(project: string, options: ReadOptions = {}): AsyncGenerator<Message__Output, void, undefined> {
    for await (const page of this.pages(project, options)) yield* page.messages;
  }

  /** The pages behind messages(), each with revision, files and totalMessages. */
  async *pages(project: string, options: ReadOptions = {}): AsyncGenerator<SessionContent__Output, void, undefined> {
    const path = root(project);
    const limit = options.pageSize ?? 0;
    let after = 0;
    for (;;) {
      const page: SessionContent__Output =
        options.session === undefined
          ? await this.unary((o, cb) => this.stub.GetWorkingSession({ project: path, afterMessageId: after, limit }, o, cb))
          : await this.unary((o, cb) =>
              this.stub.GetSession({ project: path, name: options.session, afterMessageId: after, limit }, o, cb),
            );
      yield page;
      if (!page.more || page.messages.length === 0) return;
      after = page.messages[page.messages.length - 1].id;
    }
  }

  /** The context files of the working session (or of `session`). */
  async files(project: string, session?: string): Promise<ContextFile__Output[]> {
    for await (const page of this.pages(project, { session, pageSize: 1 })) return page.files;
    return [];
  }

  // ---- saved sessions ----

  /** Saves the working session as `name`; a taken name throws AlreadyExists unless `overwrite`. */
  save(project: string, name: string, options: { overwrite?: boolean } = {}): Promise<SessionInfo__Output> {
    const mode = options.overwrite ? "SAVE_MODE_OVERWRITE" : "SAVE_MODE_CREATE_NEW";
    return this.unary((o, cb) => this.stub.SaveSession({ project: root(project), name, mode }, o, cb));
  }

  /** Replaces the working session's messages and/or files (both by default) with the saved session's. */
  load(
    project: string,
    name: string,
    options: { messages?: boolean; files?: boolean; expectedRevision?: number } = {},
  ): Promise<MutationAck__Output> {
    const request = {
      project: root(project),
      name,
      messages: options.messages ?? true,
      files: options.files ?? true,
      ...(options.expectedRevision === undefined ? {} : { expectedRevision: options.expectedRevision }),
    };
    return this.unary((o, cb) => this.stub.LoadSession(request, o, cb));
  }

  /** Saved sessions, most recently updated first. */
  async sessions(project: string): Promise<SessionInfo__Output[]> {
    return (await this.unary<{ sessions: SessionInfo__Output[] }>((o, cb) => this.stub.ListSessions({ project: root(project) }, o, cb)))
      .sessions;
  }

  rename(project: string, name: string, newName: string): Promise<SessionInfo__Output> {
    return this.unary((o, cb) => this.stub.RenameSession({ project: root(project), name, newName }, o, cb));
  }

  /** Moves a saved session to the trash; resolves to the trash id. */
  async delete(project: string, name: string): Promise<string> {
    return (await this.unary<{ trashId: string }>((o, cb) => this.stub.DeleteSession({ project: root(project), name }, o, cb))).trashId;
  }

  /**
   * Opens a Mutate stream: working-session mutations one after another,
   * each durable when its promise resolves, for less than a call each —
   * for a frontend that writes often. See Mutations.
   */
  mutations(): Mutations {
    if (this.closedFlag) throw new ChronicleError("the client is closed — connect a new Client");
    const call = this.stub.Mutate();
    this.calls.add(call);
    return new Mutations(call, this.socketPath, () => this.calls.delete(call));
  }

  // ---- live updates ----

  /**
   * Every change to the project (every project when omitted): a SNAPSHOT
   * event with the current revision first, then one event per committed
   * mutation. RESYNC means events were dropped: re-read. Ends when the
   * client is closed, or when the loop breaks.
   */
  async *watch(project?: string): AsyncGenerator<Event__Output, void, undefined> {
    if (this.closedFlag) return;
    const call = this.stub.Watch({ project: project === undefined ? "" : root(project) });
    this.calls.add(call);
    try {
      for await (const event of call) yield event as Event__Output;
    } catch (error) {
      const service = error as ServiceError;
      if (this.closedFlag && service.code === Status.CANCELLED) return;
      throw fromServiceError(service, this.socketPath);
    } finally {
      this.calls.delete(call);
      call.cancel();
    }
  }
}

/**
 * One Mutate stream (Client.mutations()). Each method sends one mutation
 * and resolves to its MutationAck once it is durable, exactly as the call
 * of the same name would. The first mutation the daemon refuses ends the
 * stream: it and every later one reject with that error, while every
 * mutation acknowledged before it stands; open another stream to go on.
 */
export class Mutations {
  private readonly waiting: Array<{ ok: (ack: MutationAck__Output) => void; fail: (error: ChronicleError) => void }> = [];
  private ended: ChronicleError | undefined;
  private readonly finished: Promise<ChronicleError | undefined>;

  constructor(
    private readonly call: ClientDuplexStream<MutateRequest, MutationAck__Output>,
    private readonly socketPath: string,
    private readonly forget: () => void,
  ) {
    call.on("data", (ack: MutationAck__Output) => this.waiting.shift()?.ok(ack));
    this.finished = new Promise((done) => {
      call.on("error", (error: ServiceError) => done(this.end(fromServiceError(error, this.socketPath))));
      call.on("end", () => {
        done(undefined);
        this.end(new Unavailable("the daemon ended the mutation stream without answering — open a new one and send the mutation again"));
      });
    });
  }

  /** As Client.append. */
  append(project: string, text: string, options: AppendOptions = {}): Promise<MutationAck__Output> {
    return this.appendMessage(project, textMessage(text, options), options.expectedRevision);
  }

  /** As Client.appendMessage. */
  appendMessage(project: string, message: Message, expectedRevision?: number): Promise<MutationAck__Output> {
    return this.send({ appendMessage: appendRequest(project, message, expectedRevision) });
  }

  /** Appends delta to message messageId (streamed assistant output). */
  appendTo(project: string, messageId: number, delta: string, expectedRevision?: number): Promise<MutationAck__Output> {
    const appendToMessage = { project: root(project), messageId, delta, ...(expectedRevision === undefined ? {} : { expectedRevision }) };
    return this.send({ appendToMessage });
  }

  /** Sends any working-session mutation (one field of MutateRequest set) and resolves once it is durable. */
  send(request: MutateRequest): Promise<MutationAck__Output> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((ok, fail) => {
      this.waiting.push({ ok, fail });
      this.call.write(request);
    });
  }

  /** Ends the stream once every mutation sent is answered. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.call.end();
    const error = await this.finished;
    if (error) throw error;
  }

  private end(error: ChronicleError): ChronicleError {
    this.ended ??= error;
    for (const waiter of this.waiting.splice(0)) waiter.fail(this.ended);
    this.forget();
    return this.ended;
  }
}

function textMessage(text: string, options: AppendOptions): Message {
  const role = options.role ?? "user";
  return { role: role in ROLES ? ROLES[role as RoleName] : (role as Role), content: text, model: options.model ?? "" };
}

function appendRequest(project: string, message: Message, expectedRevision?: number) {
  return { project: root(project), message, ...(expectedRevision === undefined ? {} : { expectedRevision }) };
}

function root(project: string): string {
  if (!project) throw new ChronicleError("the project must be a path, not an empty string");
  return isAbsolute(project) ? project : resolve(project);
}
