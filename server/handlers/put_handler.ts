/**
 * The PUT handler: receives a file's DATA frames into a storage upload,
 * hashing while it writes (see upload_pipeline.ts), and commits it only
 * when the length and the SHA-256 match.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import type { MessageOf } from "../../protocol/messages.ts";
import { quoteName } from "../../protocol/names.ts";
import type { HandlerContext, OpResult } from "./handler_context.ts";
import type { UploadInbox } from "./upload_inbox.ts";
import { UploadPipeline } from "./upload_pipeline.ts";

/**
 * Runs one upload to its end. DATA chunks go through an
 * {@linkcode UploadPipeline}, which hashes and writes them while the next
 * frames are read. Any failure aborts the storage upload, so nothing
 * partial becomes visible and an existing file is untouched.
 *
 * @throws {FtsError} `bad_request` (offsets, sizes, flags),
 * `checksum_mismatch`, the storage's errors, or `signal.reason`.
 */
export async function receiveFile(
  ctx: HandlerContext,
  put: MessageOf<"put">,
  inbox: UploadInbox,
  signal: AbortSignal,
): Promise<OpResult> {
  await using upload = await ctx.storage.beginUpload(put.name, put.size, {
    owner: ctx.account?.() ?? null,
  });
  signal.throwIfAborted();
  using pipeline = new UploadPipeline(upload, {
    size: put.size,
    chunkSize: ctx.chunkSize,
  });
  await ctx.conn.send({ type: "put_ready", id: put.id, offset: 0 });
  let received = 0;
  let end: MessageOf<"put_end">;
  for (;;) {
    const message = await inbox.take(signal);
    if (message.type === "put_end") {
      end = message;
      break;
    }
    // Compressed chunks arrive decompressed (server/session/dispatch.ts).
    const chunk = message.bytes;
    if (chunk.byteLength > ctx.chunkSize) {
      throw refuse(
        put,
        `a chunk of ${chunk.byteLength} bytes exceeds ${ctx.chunkSize}`,
      );
    }
    if (message.offset !== received) {
      throw refuse(
        put,
        `data at offset ${message.offset}, expected ${received}`,
      );
    }
    if (received + chunk.byteLength > put.size) {
      throw refuse(put, `more data than the declared ${put.size} bytes`);
    }
    await pipeline.push(chunk);
    received += chunk.byteLength;
  }
  inbox.close();
  if (received !== put.size) {
    throw refuse(put, `received ${received} of the declared ${put.size} bytes`);
  }
  const sha256 = await pipeline.finish();
  if (sha256 !== end.sha256) {
    throw new FtsError(
      "checksum_mismatch",
      `Cannot upload ${
        quoteName(put.name)
      }: the data does not match its SHA-256`,
    );
  }
  signal.throwIfAborted();
  const name = await upload.commit({
    overwrite: put.overwrite,
    sha256,
    ...(put.mtime === undefined ? {} : { mtime: put.mtime }),
    ...(ctx.modes && put.mode !== undefined ? { mode: put.mode } : {}),
  });
  await ctx.conn.send({
    type: "put_done",
    id: put.id,
    name,
    sha256,
    size: received,
  });
  return { bytes: received, finalName: name };
}

function refuse(
  put: MessageOf<"put">,
  reason: string,
  cause?: unknown,
): FtsError {
  return new FtsError(
    "bad_request",
    `Cannot upload ${quoteName(put.name)}: ${reason}`,
    cause === undefined ? undefined : { cause },
  );
}
