/**
 * The PUT handler: receives a file's DATA frames into a storage upload,
 * hashing while it writes (see upload_pipeline.ts), and commits it only
 * when the length and the checksum match: XXH3-128 when the feature
 * "xxh128" was negotiated, else SHA-256. Only a SHA-256 is kept with the
 * stored file (see FileReader.sha256).
 *
 * With the feature "resume" and PUT `resume`, the upload continues a
 * partial the storage kept (PROTOCOL.md §13.2): PUT_READY gives its length
 * and the hashes of its blocks, read from the disk; the client rewrites the
 * blocks that differ, then sends the rest; the checksum checked at the end
 * covers the whole file. A resumable upload that is cancelled, cut off or
 * shut down keeps what arrived.
 *
 * @module
 */

import {
  createStreamHash,
  type HashAlgorithm,
  hashName,
  type StreamHash,
} from "../../common/stream_hash.ts";
import { BlockHasher, encodeSums } from "../../common/chunk_sums.ts";
import { formatSize } from "../../common/sizes.ts";
import { FtsError } from "../../protocol/errors.ts";
import {
  checksumOf,
  checksumParts,
  type MessageOf,
} from "../../protocol/messages.ts";
import { quoteName } from "../../protocol/names.ts";
import type { Upload } from "../storage/storage.ts";
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
  const resumable = put.resume === true && ctx.resume === true &&
    put.mtime !== undefined;
  await using upload = await ctx.storage.beginUpload(put.name, put.size, {
    owner: ctx.account?.() ?? null,
    ...(resumable && put.mtime !== undefined
      ? { resume: { mtime: put.mtime } }
      : {}),
  });
  try {
    signal.throwIfAborted();
    return await receive(ctx, put, inbox, signal, upload);
  } catch (error) {
    // Cancelled, cut off or shut down: what arrived is kept for a resume.
    // Refused data and storage failures discard it (the disposal aborts).
    if (upload.resume !== undefined && signal.aborted) await upload.keep?.();
    throw error;
  }
}

/** Where a resumed upload's DATA may go (see PROTOCOL.md §13.2). */
interface Rewrites {
  /** The kept length: DATA below it rewrites a whole block. */
  readonly kept: number;
  readonly block: number;
  /** Next offset of the block being rewritten, or -1 between blocks. */
  at: number;
  /** End of the block being rewritten. */
  end: number;
  /** No rewrite may start below this (blocks come in increasing order). */
  floor: number;
  /** Some block was rewritten: the kept bytes must be hashed again. */
  changed: boolean;
  /** Bytes rewritten. */
  bytes: number;
}

async function receive(
  ctx: HandlerContext,
  put: MessageOf<"put">,
  inbox: UploadInbox,
  signal: AbortSignal,
  upload: Upload,
): Promise<OpResult> {
  const point = upload.resume;
  const kept = point?.offset ?? 0;
  const algorithm: HashAlgorithm = ctx.xxh128 ? "xxh128" : "sha256";
  let prefix: StreamHash | undefined;
  let sums: string | undefined;
  if (point !== undefined && kept > 0) {
    const blocks = new BlockHasher(point.block);
    prefix = await hashKept(ctx, put, upload, kept, signal, algorithm, blocks);
    sums = encodeSums(blocks.finish());
    ctx.log?.(
      `resumed ${quoteName(put.name)} at ${formatSize(kept)} of ${
        formatSize(put.size)
      }`,
    );
  }
  // Not awaited before the data is taken: the read loop waits for this
  // upload to take each chunk, and waiting for the write here too would
  // cost it a write per file. The PUT_READYs of the uploads that begin in
  // one turn go out in one write; this one is awaited before the commit.
  const ready = ctx.conn.send({
    type: "put_ready",
    id: put.id,
    offset: kept,
    ...(point !== undefined && sums !== undefined
      ? { block: point.block, sums }
      : {}),
  });
  ready.catch(() => {}); // Its failure is awaited below, or moot.
  const rewrites: Rewrites = {
    kept,
    block: point?.block ?? 1,
    at: -1,
    end: -1,
    floor: 0,
    changed: false,
    bytes: 0,
  };
  let pipeline: UploadPipeline | null = null;
  const startPipeline = async (): Promise<UploadPipeline> => {
    const hash = rewrites.changed
      ? await hashKept(ctx, put, upload, kept, signal, algorithm)
      : prefix;
    return new UploadPipeline(upload, {
      size: put.size,
      chunkSize: ctx.chunkSize,
      algorithm,
      ...(hash === undefined ? {} : { hash }),
    });
  };
  try {
    if (kept === 0) pipeline = await startPipeline();
    let received = kept;
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
      if (pipeline === null && message.offset < kept) {
        await rewrite(put, upload, rewrites, message.offset, chunk);
        continue;
      }
      if (message.offset !== received || rewrites.at >= 0) {
        throw refuse(
          put,
          `data at offset ${message.offset}, expected ${
            rewrites.at >= 0 ? rewrites.at : received
          }`,
        );
      }
      if (received + chunk.byteLength > put.size) {
        throw refuse(put, `more data than the declared ${put.size} bytes`);
      }
      pipeline ??= await startPipeline();
      await pipeline.push(chunk);
      received += chunk.byteLength;
    }
    inbox.close();
    if (received !== put.size || rewrites.at >= 0) {
      throw refuse(
        put,
        `received ${received} of the declared ${put.size} bytes`,
      );
    }
    const expected = checksumParts(end);
    if (expected.algorithm !== algorithm) {
      throw refuse(
        put,
        `PUT_END carries ${expected.algorithm}, but ${algorithm} was agreed`,
      );
    }
    pipeline ??= await startPipeline();
    const hex = await pipeline.finish();
    if (hex !== expected.hex) {
      throw new FtsError(
        "checksum_mismatch",
        `Cannot upload ${quoteName(put.name)}: the data does not match its ${
          hashName(algorithm)
        }`,
      );
    }
    await ready;
    signal.throwIfAborted();
    const name = await upload.commit({
      overwrite: put.overwrite,
      ...(algorithm === "sha256" ? { sha256: hex } : {}),
      ...(put.mtime === undefined ? {} : { mtime: put.mtime }),
      ...(ctx.modes && put.mode !== undefined ? { mode: put.mode } : {}),
    });
    await ctx.conn.send({
      type: "put_done",
      id: put.id,
      name,
      size: received,
      ...checksumOf(algorithm, hex),
    });
    // The log line counts what this try moved, not what was kept.
    return { bytes: received - kept + rewrites.bytes, finalName: name };
  } finally {
    pipeline?.[Symbol.dispose]();
  }
}

/**
 * Writes a chunk of a block rewrite over the kept bytes: a rewrite starts
 * on a block boundary above the previous one and runs to the block's end.
 */
async function rewrite(
  put: MessageOf<"put">,
  upload: Upload,
  r: Rewrites,
  offset: number,
  chunk: Uint8Array,
): Promise<void> {
  if (r.at < 0) {
    if (offset % r.block !== 0 || offset < r.floor) {
      throw refuse(put, `data at offset ${offset} is not a block to rewrite`);
    }
    r.at = offset;
    r.end = Math.min(offset + r.block, r.kept);
  }
  if (offset !== r.at || offset + chunk.byteLength > r.end) {
    throw refuse(put, `data at offset ${offset}, expected ${r.at}`);
  }
  await upload.rewrite!(offset, chunk);
  r.changed = true;
  r.bytes += chunk.byteLength;
  r.at += chunk.byteLength;
  if (r.at === r.end) {
    r.floor = r.end;
    r.at = -1;
  }
}

/**
 * The hash in `algorithm` of the first `kept` bytes of `upload`, read from
 * the disk, feeding `blocks` too when given.
 *
 * @throws {FtsError} `io` when fewer bytes are there.
 */
async function hashKept(
  ctx: HandlerContext,
  put: MessageOf<"put">,
  upload: Upload,
  kept: number,
  signal: AbortSignal,
  algorithm: HashAlgorithm,
  blocks?: BlockHasher,
): Promise<StreamHash> {
  const hash = createStreamHash(algorithm);
  const buffer = new Uint8Array(Math.min(READ_SIZE, kept));
  for (let at = 0; at < kept;) {
    signal.throwIfAborted();
    const view = buffer.subarray(0, Math.min(buffer.byteLength, kept - at));
    const n = await upload.readAt!(at, view);
    if (n === null || n === 0) {
      throw new FtsError(
        "io",
        `Cannot upload ${
          quoteName(put.name)
        }: the kept part is shorter than recorded`,
      );
    }
    hash.update(view.subarray(0, n));
    blocks?.update(view.subarray(0, n));
    at += n;
    ctx.touch();
  }
  return hash;
}

/** Bytes read at a time when the kept part of an upload is hashed. */
const READ_SIZE = 1024 * 1024;

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
