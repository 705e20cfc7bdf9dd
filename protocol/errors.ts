/**
 * Error types shared by both sides. Pure: no I/O.
 *
 * Every error that crosses a layer boundary is an {@linkcode FtsError} with a
 * {@linkcode ErrorCode}; the same codes travel on the wire in ERROR frames.
 *
 * @module
 */

/** Error codes, identical in memory and on the wire (PROTOCOL.md, "Error codes"). */
export const ERROR_CODES = [
  "bad_request",
  "protocol",
  "unsupported",
  "auth_required",
  "auth_failed",
  "permission_denied",
  "not_found",
  "exists",
  "invalid_name",
  "is_directory",
  "not_directory",
  "stale",
  "quota_exceeded",
  "no_space",
  "too_large",
  "checksum_mismatch",
  "busy",
  "timeout",
  "cancelled",
  "shutting_down",
  "io",
  "internal",
] as const;

/** One of {@linkcode ERROR_CODES}. */
export type ErrorCode = typeof ERROR_CODES[number];

/** Tells whether `value` is a known {@linkcode ErrorCode}. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" &&
    (ERROR_CODES as readonly string[]).includes(value);
}

/**
 * Base class of every fts error.
 *
 * @example
 * ```ts
 * throw new FtsError("not_found", 'Cannot get "a.txt": no such file');
 * ```
 */
export class FtsError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FtsError";
    this.code = code;
  }
}

/** The peer sent bytes that break the protocol; the connection must close. */
export class ProtocolError extends FtsError {
  constructor(message: string, options?: ErrorOptions) {
    super("protocol", message, options);
    this.name = "ProtocolError";
  }
}

/** A file name failed validation (see names.ts). */
export class NameError extends FtsError {
  constructor(message: string, options?: ErrorOptions) {
    super("invalid_name", message, options);
    this.name = "NameError";
  }
}
