/**
 * SUMS (feature "sums"): asks the server what it holds under up to
 * MAX_SUMS names, and the SHA-256 of each file of the size given.
 *
 * @module
 */

import { ProtocolError } from "../../protocol/errors.ts";
import {
  MAX_SUMS,
  type SumAnswer,
  type SumQuery,
} from "../../protocol/messages.ts";
import { remoteError } from "../errors.ts";
import type { SessionCore } from "./session_core.ts";

/**
 * The server's answers for `files`, in their order.
 *
 * @throws {RangeError} for 0 or more than MAX_SUMS files.
 * @throws {FtsError} the server's refusal (`permission_denied`,
 * `unsupported`…), the connection's failure, or `signal.reason`.
 * @throws {ProtocolError} when the answer does not match the question (the
 * connection is closed then).
 */
export async function askSums(
  core: SessionCore,
  files: readonly SumQuery[],
  signal?: AbortSignal,
): Promise<SumAnswer[]> {
  if (files.length === 0 || files.length > MAX_SUMS) {
    throw new RangeError(`SUMS takes 1 to ${MAX_SUMS} files`);
  }
  const request = core.requests.open();
  let ended = false;
  try {
    await core.conn.send({ type: "sums", id: request.id, files: [...files] });
    const reply = await request.next(signal);
    ended = true;
    if (reply.type === "error") throw remoteError(reply);
    if (
      reply.type !== "sums_result" || reply.files.length !== files.length
    ) {
      core.conn.close();
      throw new ProtocolError(
        `Unexpected ${reply.type.toUpperCase()} reply to SUMS`,
      );
    }
    return reply.files;
  } finally {
    if (ended) request.finish();
    else if (
      !request.drain((m) => m.type === "sums_result" || m.type === "error") &&
      !core.conn.closed
    ) {
      core.conn.send({ type: "cancel", id: request.id }).catch(() => {});
    }
  }
}
