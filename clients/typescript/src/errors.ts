// Errors: one class per gRPC status the daemon uses, each carrying the
// daemon's own sentence (which names the thing and the fix).
import { status as Status, type ServiceError } from "@grpc/grpc-js";

/** Base of every error this package throws. */
export class ChronicleError extends Error {
  /** The gRPC status code, when a call was made. */
  readonly code: Status | undefined;
  constructor(message: string, code?: Status) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}
/** INVALID_ARGUMENT: bad name, relative project path, oversize content... */
export class InvalidArgument extends ChronicleError {}
/** NOT_FOUND: no such saved session, message or trash entry. */
export class NotFound extends ChronicleError {}
/** ALREADY_EXISTS: saving as new under a name that is taken. */
export class AlreadyExists extends ChronicleError {}
/** FAILED_PRECONDITION: `expectedRevision` was given and the session moved on. */
export class Conflict extends ChronicleError {}
/** RESOURCE_EXHAUSTED: a configured limit, or the disk, is full. */
export class ResourceExhausted extends ChronicleError {}
/** PERMISSION_DENIED, or a socket that belongs to another user (refused before a byte is sent). */
export class PermissionDenied extends ChronicleError {}
/** UNAVAILABLE: no daemon listens on the socket, or it is shutting down. */
export class Unavailable extends ChronicleError {}
/** INTERNAL: a storage failure in the daemon; nothing was changed. */
export class Internal extends ChronicleError {}

const BY_CODE: Partial<Record<Status, new (message: string, code?: Status) => ChronicleError>> = {
  [Status.INVALID_ARGUMENT]: InvalidArgument,
  [Status.NOT_FOUND]: NotFound,
  [Status.ALREADY_EXISTS]: AlreadyExists,
  [Status.FAILED_PRECONDITION]: Conflict,
  [Status.RESOURCE_EXHAUSTED]: ResourceExhausted,
  [Status.PERMISSION_DENIED]: PermissionDenied,
  [Status.UNAVAILABLE]: Unavailable,
  [Status.INTERNAL]: Internal,
};

/** The error for a failed call. */
export function fromServiceError(error: ServiceError, socket: string): ChronicleError {
  let message = error.details || error.message;
  if (error.code === Status.UNAVAILABLE && !message.includes("shutting down")) {
    message = `the Chronicle daemon on ${socket} did not answer (${message}) — start one with \`chronicle daemon start\``;
  }
  const Class = BY_CODE[error.code as Status] ?? ChronicleError;
  return new Class(message, error.code);
}
