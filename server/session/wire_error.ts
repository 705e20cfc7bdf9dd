/**
 * The one place where errors become ERROR frames on the server.
 *
 * @module
 */

import { type ErrorCode, FtsError } from "../../protocol/errors.ts";
import type { MessageOf } from "../../protocol/messages.ts";

/** An ERROR reply and whether the error was unexpected (a bug to log). */
export interface WireError {
  readonly reply: MessageOf<"error">;
  readonly unexpected: boolean;
}

/** The message sent for errors the server did not expect. */
export const INTERNAL_MESSAGE = "Internal server error; see the server's log";

/**
 * Translates `error` into the ERROR reply for request `id`. An FtsError
 * keeps its code and message; anything else becomes `internal` with a
 * generic message (details never reach the client) and `unexpected: true`.
 *
 * @example
 * ```ts
 * toWireError(new FtsError("not_found", 'Cannot read "a": no such file'), 3).reply;
 * // { type: "error", id: 3, code: "not_found", message: 'Cannot read "a": no such file' }
 * ```
 */
export function toWireError(error: unknown, id: number): WireError {
  if (error instanceof FtsError) {
    return {
      reply: errorReply(id, error.code, error.message),
      unexpected: false,
    };
  }
  return {
    reply: errorReply(id, "internal", INTERNAL_MESSAGE),
    unexpected: true,
  };
}

function errorReply(
  id: number,
  code: ErrorCode,
  message: string,
): MessageOf<"error"> {
  return { type: "error", id, code, message };
}
