/**
 * The client's one translation point from wire errors, local file-system
 * errors and protocol violations to the {@linkcode FtsError}s users see, in
 * the form `Cannot get "x.txt": no such file on the server`.
 *
 * Inside the engine, failures are {@linkcode ReasonError}s that carry only
 * the reason; the operation that failed adds the action and the name once.
 *
 * @module
 */

import {
  type ErrorCode,
  FtsError,
  NameError,
  ProtocolError,
} from "../protocol/errors.ts";
import { quoteName } from "../protocol/names.ts";

/** A failure that knows its reason but not yet the operation it broke. */
export class ReasonError extends FtsError {
  constructor(code: ErrorCode, reason: string, options?: ErrorOptions) {
    super(code, reason, options);
    this.name = "ReasonError";
  }
}

const REMOTE_REASONS: Partial<Record<ErrorCode, string>> = {
  not_found: "no such file on the server",
  exists: "it already exists on the server",
  stale: "it changed or vanished since it was listed",
  is_directory: "it is a folder on the server",
  not_directory: "a parent on the server is not a folder",
  cancelled: "cancelled",
  shutting_down: "the server is shutting down",
  timeout: "the server timed out",
  checksum_mismatch:
    "the server received bytes that do not match their SHA-256",
  auth_required: "the server requires a login",
  busy: "the server is busy",
};

/**
 * Turns an ERROR message from the server into a {@linkcode ReasonError}.
 * Well-known codes get a fixed reason; for the others the server's text is
 * used, stripped of control characters and of a leading `Cannot … :`.
 */
export function remoteError(
  error: { code: ErrorCode; message: string },
): ReasonError {
  const known = REMOTE_REASONS[error.code];
  return new ReasonError(
    error.code,
    known ?? serverText(error.message, error.code),
  );
}

/** The error for a connection that ended while `what` was still pending. */
export function connectionLost(cause?: unknown): ReasonError {
  return new ReasonError("io", "the connection to the server was lost", {
    cause,
  });
}

/**
 * Wraps any failure of operation `action` on `name` into the user-facing
 * {@linkcode FtsError}. Errors that are already complete pass unchanged;
 * errors that are not fts or file-system errors (bugs) are returned as they
 * are so the caller rethrows them.
 */
export function operationError(
  action: string,
  name: string,
  error: unknown,
): unknown {
  const prefix = `Cannot ${action} ${quoteName(name)}: `;
  if (error instanceof ReasonError) {
    return new FtsError(error.code, prefix + error.message, { cause: error });
  }
  if (error instanceof NameError) {
    return new FtsError("invalid_name", prefix + lowerFirst(error.message), {
      cause: error,
    });
  }
  if (error instanceof ProtocolError) {
    return new FtsError(
      "protocol",
      `${prefix}the server broke the protocol (${lowerFirst(error.message)})`,
      { cause: error },
    );
  }
  if (error instanceof FtsError) return error;
  if (isAbort(error)) {
    return new FtsError("cancelled", prefix + "cancelled", { cause: error });
  }
  const local = localReason(error);
  if (local !== undefined) {
    return new FtsError(local.code, prefix + local.reason, { cause: error });
  }
  return error;
}

/** Tells whether `error` is an abort (an AbortSignal's default reason). */
function isAbort(error: unknown): boolean {
  return error instanceof DOMException &&
    (error.name === "AbortError" || error.name === "TimeoutError");
}

/**
 * Local file-system errors that Deno reports as a plain `Error` with an
 * errno `code` rather than a `Deno.errors` class (ENOSPC among them).
 */
const LOCAL_BY_ERRNO: Record<string, { code: ErrorCode; reason: string }> = {
  ENOSPC: { code: "no_space", reason: "no space left on the local disk" },
  EDQUOT: { code: "no_space", reason: "the local disk quota is exhausted" },
  EFBIG: {
    code: "too_large",
    reason: "the file is too large for the local disk",
  },
  EROFS: { code: "permission_denied", reason: "the local disk is read-only" },
  EIO: { code: "io", reason: "the local disk reported an I/O error" },
  ENAMETOOLONG: {
    code: "invalid_name",
    reason: "the name is too long for the local disk",
  },
  EMFILE: { code: "io", reason: "too many files are open" },
};

/**
 * The reason for a local file-system error, or undefined when `error` is
 * not one.
 */
export function localReason(
  error: unknown,
): { code: ErrorCode; reason: string } | undefined {
  const errno = error instanceof Error
    ? (error as { code?: unknown }).code
    : undefined;
  if (typeof errno === "string" && Object.hasOwn(LOCAL_BY_ERRNO, errno)) {
    return LOCAL_BY_ERRNO[errno];
  }
  if (error instanceof Deno.errors.NotFound) {
    return { code: "not_found", reason: "no such local file or folder" };
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return {
      code: "permission_denied",
      reason: "permission denied on the local side",
    };
  }
  if (error instanceof Deno.errors.AlreadyExists) {
    return { code: "exists", reason: "it already exists locally" };
  }
  if (error instanceof Deno.errors.IsADirectory) {
    return { code: "is_directory", reason: "it is a local folder" };
  }
  if (error instanceof Deno.errors.NotADirectory) {
    return { code: "not_directory", reason: "a local parent is not a folder" };
  }
  if (
    error instanceof Error &&
    (Object.values(Deno.errors).some((c) => error instanceof c) ||
      (typeof errno === "string" && /^E[A-Z0-9]+$/.test(errno)))
  ) {
    return {
      code: "io",
      reason: lowerFirst(error.message.split("\n")[0] ?? ""),
    };
  }
  return undefined;
}

/**
 * Why a local file the user named (a batch file, a `--ca` file, the
 * known_hosts file) cannot be read or written, in a few words: `no such
 * file`, `permission denied`, `it is a folder`…; undefined when `error` is
 * not a file-system error.
 *
 * @example
 * ```ts
 * fileReason(new Deno.errors.NotFound("…")); // "no such file"
 * ```
 */
export function fileReason(error: unknown): string | undefined {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) {
    return "permission denied";
  }
  if (error instanceof Deno.errors.IsADirectory) return "it is a folder";
  if (error instanceof Deno.errors.NotADirectory) {
    return "a parent is not a folder";
  }
  return localReason(error)?.reason;
}

function serverText(message: string, code: ErrorCode): string {
  let text = message.trim();
  const cannot = /^Cannot [a-z ]+ "(?:[^"\\]|\\.)*": /.exec(text);
  if (cannot) text = text.slice(cannot[0].length);
  text = quoteName(text, 200).slice(1, -1);
  return text === "" ? `the server refused (${code})` : lowerFirst(text);
}

function lowerFirst(text: string): string {
  // Keep acronyms ("SHA-256 …", "DATA …") as they are.
  if (/^[A-Z](?![A-Z0-9])/.test(text)) {
    return text[0]!.toLowerCase() + text.slice(1);
  }
  return text;
}
