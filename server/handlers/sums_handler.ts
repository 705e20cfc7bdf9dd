/**
 * The SUMS handler (feature "sums"): for each name a client asks about,
 * what the storage holds there, and the SHA-256 of a file whose size is the
 * one the client has. A client uses it to skip files that are already
 * there, identical, before it sends or fetches them.
 *
 * Every name goes through the shared validator, and every file is read
 * through the storage contract only. A file's SHA-256 comes from the
 * storage when it knows it (the local backend keeps it for files of 1 MiB
 * and more); otherwise the file is read and hashed, and the result offered
 * to the storage for next time. Only files of the size asked are hashed,
 * so a client that sends the sizes it has costs the server a read of the
 * files that may be identical, never of the others.
 *
 * A name that cannot be looked at is answered for itself (`refused` with
 * the code a request for it would get), so one bad name does not cost the
 * other 999 their answer.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { FtsError } from "../../protocol/errors.ts";
import type {
  MessageOf,
  SumAnswer,
  SumQuery,
} from "../../protocol/messages.ts";
import { validateName } from "../../protocol/names.ts";
import type { HandlerContext, OpResult } from "./handler_context.ts";

/** Largest read while hashing a file (the buffer is one per request). */
const READ_SIZE = 1024 * 1024;

/**
 * Answers one SUMS with one SUMS_RESULT, in the order of its files. Holds
 * one of the session's download slots while it reads, as a GET does.
 *
 * @throws `signal.reason` once aborted; errors of the connection.
 */
export async function answerSums(
  ctx: HandlerContext,
  sums: MessageOf<"sums">,
  signal: AbortSignal,
): Promise<OpResult> {
  if (!ctx.sums) {
    throw new FtsError(
      "unsupported",
      'Cannot compare files: the feature "sums" was not negotiated',
    );
  }
  using _slot = await ctx.downloads.acquire(signal);
  const buffer = { bytes: null as Uint8Array | null };
  const files: SumAnswer[] = [];
  let bytes = 0;
  for (const query of sums.files) {
    signal.throwIfAborted();
    const { answer, read } = await answerOne(ctx, query, buffer, signal);
    files.push(answer);
    bytes += read;
  }
  signal.throwIfAborted();
  await ctx.conn.send({ type: "sums_result", id: sums.id, files });
  return { bytes };
}

/** The answer for one name, and the bytes read to hash it. */
async function answerOne(
  ctx: HandlerContext,
  query: SumQuery,
  buffer: { bytes: Uint8Array | null },
  signal: AbortSignal,
): Promise<{ answer: SumAnswer; read: number }> {
  try {
    const name = validateName(query.name);
    using reader = await ctx.storage.openRead(name);
    if (reader.size !== query.size) {
      return { answer: { type: "file", size: reader.size }, read: 0 };
    }
    if (reader.sha256 !== undefined) {
      return {
        answer: { type: "file", size: reader.size, sha256: reader.sha256 },
        read: 0,
      };
    }
    buffer.bytes ??= new Uint8Array(READ_SIZE);
    const hash = createHash("sha256");
    let read = 0;
    // Up to the size it had when opened, as a GET sends it: no read more
    // to find the end.
    while (read < reader.size) {
      signal.throwIfAborted();
      const want = Math.min(buffer.bytes.byteLength, reader.size - read);
      const n = await reader.read(buffer.bytes.subarray(0, want));
      // Shrank while it was read: no hash, the client sends its file.
      if (n === null) return { answer: { type: "file", size: read }, read };
      hash.update(buffer.bytes.subarray(0, n));
      read += n;
      ctx.touch();
    }
    const sha256 = hash.digest("hex");
    await reader.rememberSha256?.(sha256);
    return { answer: { type: "file", size: read, sha256 }, read };
  } catch (error) {
    if (!(error instanceof FtsError) || signal.aborted) throw error;
    switch (error.code) {
      case "not_found":
      case "not_directory":
        return { answer: { type: "none" }, read: 0 };
      case "is_directory":
        return { answer: { type: "dir" }, read: 0 };
      default:
        return { answer: { type: "refused", code: error.code }, read: 0 };
    }
  }
}
