// @chronicle/client: the Node client of Chronicle, the daemon that keeps
// AI-chat sessions safe.
export { Client, CHANNEL_OPTIONS, MAX_MESSAGE_BYTES, Mutations, PROTO_ROOT, loadProto } from "./client";
export type { AppendOptions, ConnectOptions, ReadOptions, RoleName } from "./client";
export {
  AlreadyExists,
  ChronicleError,
  Conflict,
  Internal,
  InvalidArgument,
  NotFound,
  PermissionDenied,
  ResourceExhausted,
  Unavailable,
} from "./errors";
export { SOCKET_ENV, checkSocket, defaultSocketPath } from "./socket";
export { EventKind } from "./gen/chronicle/v1/EventKind";
export { Role } from "./gen/chronicle/v1/Role";
export type { SessionsClient } from "./gen/chronicle/v1/Sessions";
export type { ContextFile__Output as ContextFile } from "./gen/chronicle/v1/ContextFile";
export type { DaemonStatus__Output as DaemonStatus } from "./gen/chronicle/v1/DaemonStatus";
export type { Event__Output as Event } from "./gen/chronicle/v1/Event";
export type { Message, Message__Output } from "./gen/chronicle/v1/Message";
export type { MutationAck__Output as MutationAck } from "./gen/chronicle/v1/MutationAck";
export type { ProjectState__Output as ProjectState } from "./gen/chronicle/v1/ProjectState";
export type { SessionContent__Output as SessionContent } from "./gen/chronicle/v1/SessionContent";
export type { SessionInfo__Output as SessionInfo } from "./gen/chronicle/v1/SessionInfo";
