/**
 * The GET handler: streams a file as DATA frames and ends with its checksum:
 * XXH3-128 when the feature "xxh128" was negotiated, else SHA-256.
 *
 * With SHA-256, when the storage knows the file's SHA-256 (kept from the
 * upload, which was verified against it, or from an earlier download),
 * nothing is hashed:
 * GET_END carries that value, and the client's own check of the bytes it
 * receives then verifies the stored file against what was uploaded.
 * Otherwise the file is hashed as it is read, and the result is offered to
 * the storage for next time.
 *
 * Two buffers alternate: while one frame is being written to the socket the
 * next chunk is read from the file straight behind its DATA prefix, so a
 * chunk is never copied (unless it is compressed).
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import {
  checksumOf,
  DATA_PREFIX,
  encodeMessage,
  type Expect,
  type MessageOf,
  writeDataPrefix,
} from "../../protocol/messages.ts";
import { quoteName } from "../../protocol/names.ts";
import type { HandlerContext, OpResult } from "./handler_context.ts";
import type { FileReader } from "../storage/storage.ts";
import { ChunkCompressor } from "../../common/compression.ts";
import {
  createStreamHash,
  type HashAlgorithm,
  hashBytes,
  type StreamHash,
} from "../../common/stream_hash.ts";

/**
 * Files of at most this many bytes give their download slot back once
 * read, while their reply waits to be written, so that the replies of
 * many small files go out together: the requests in flight
 * (request_runner.ts) hold at most 64 × 8 KiB of such replies.
 */
export const SMALL_REPLY = 8 * 1024;

/**
 * Runs one download to its end: GET_READY, DATA frames from `get.offset`
 * (to `offset + length` for a range), GET_END with the checksum of the
 * whole file.
 *
 * @throws {FtsError} `stale` (the file does not match `expect`),
 * `bad_request` (offset or range beyond the end), `io` (the file shrank while being
 * read), the storage's errors, or `signal.reason`.
 */
export async function sendFile(
  ctx: HandlerContext,
  get: MessageOf<"get">,
  signal: AbortSignal,
): Promise<OpResult> {
  using slot = await ctx.downloads.acquire(signal);
  const opened = await openAt(ctx, get);
  using reader = opened.reader;
  const { size } = reader;
  checkExpect("download", get.name, get.expect, reader);
  const end = rangeEnd(ctx, get, size);
  signal.throwIfAborted();
  const ready: MessageOf<"get_ready"> = {
    type: "get_ready",
    id: get.id,
    name: get.name,
    size,
    mtime: reader.mtime,
    ...(ctx.modes && reader.mode !== undefined ? { mode: reader.mode } : {}),
  };
  if (get.offset === 0 && end === size && size <= ctx.chunkSize) {
    return await sendWhole(ctx, ready, reader, slot);
  }
  await ctx.conn.send(ready);
  const chunkSize = Math.max(1, Math.min(ctx.chunkSize, size));
  const buffers = [new Uint8Array(DATA_PREFIX + chunkSize)];
  if (size > chunkSize) buffers.push(new Uint8Array(DATA_PREFIX + chunkSize));
  const algorithm = algorithmOf(ctx);
  const known = knownHash(reader, algorithm);
  const hash = known === undefined ? createStreamHash(algorithm) : null;
  let position = opened.from;
  // Opened at 0 when the hash is unknown: it covers the part before
  // `offset` too.
  position = await hashOnly(
    reader,
    buffers[0]!,
    position,
    get.offset,
    hash,
    get.name,
  );
  let writing: Promise<void> | null = null;
  const compressor = ctx.zstd ? new ChunkCompressor(ctx.conn) : null;
  for (let turn = 0; position < end; turn++) {
    signal.throwIfAborted();
    const buf = buffers[turn % buffers.length]!;
    const n = Math.min(chunkSize, end - position);
    const chunk = buf.subarray(DATA_PREFIX, DATA_PREFIX + n);
    await readFull(reader, chunk, get.name);
    hash?.update(chunk);
    const packed = compressor?.compress(chunk) ?? null;
    if (packed) buf.set(packed, DATA_PREFIX);
    const length = packed?.byteLength ?? n;
    writeDataPrefix(buf, get.id, position, length, { zstd: packed !== null });
    if (writing) await writing;
    signal.throwIfAborted();
    writing = ctx.conn.writeAll(buf.subarray(0, DATA_PREFIX + length));
    // A loop left early (the client went away) no longer awaits it: its
    // failure must not go unhandled, which would end the server.
    writing.catch(() => {});
    position += n;
    ctx.touch();
  }
  if (writing) await writing;
  // A range that stops short of the end: the hash still covers the rest.
  if (hash && position < size) {
    signal.throwIfAborted();
    await hashOnly(reader, buffers[0]!, position, size, hash, get.name);
  }
  signal.throwIfAborted();
  const hex = known ?? hash!.digest();
  await ctx.conn.send({
    type: "get_end",
    id: get.id,
    ...checksumOf(algorithm, hex),
  });
  if (known === undefined && algorithm === "sha256") {
    await reader.rememberSha256?.(hex);
  }
  return { bytes: end - get.offset };
}

/**
 * Where the DATA of `get` stops: `offset + length` for a range (feature
 * "resume"), else the end of the file. Without the feature `length` is
 * ignored, as a server that does not know it would.
 *
 * @throws {FtsError} `bad_request` for a range that passes the end.
 */
function rangeEnd(
  ctx: HandlerContext,
  get: MessageOf<"get">,
  size: number,
): number {
  if (!ctx.resume || get.length === undefined) return size;
  const end = get.offset + get.length;
  if (end > size) {
    throw new FtsError(
      "bad_request",
      `Cannot download ${
        quoteName(get.name)
      } bytes ${get.offset} to ${end}: the file has ${size} bytes`,
    );
  }
  return end;
}

/**
 * Reads from `position` up to `to` through `buf` (behind its DATA prefix)
 * into `hash` only; returns `to`.
 */
async function hashOnly(
  reader: FileReader,
  buf: Uint8Array,
  position: number,
  to: number,
  hash: StreamHash | null,
  name: string,
): Promise<number> {
  const room = buf.byteLength - DATA_PREFIX;
  while (position < to) {
    const want = Math.min(room, to - position);
    const view = buf.subarray(DATA_PREFIX, DATA_PREFIX + want);
    await readFull(reader, view, name);
    hash?.update(view);
    position += want;
  }
  return to;
}

/**
 * Opens the file of `get` where sending starts: at `get.offset` when the
 * storage knows the whole file's checksum (GET_END passes it on), else at 0,
 * because the hash covers the bytes before the offset too.
 *
 * @throws {FtsError} `bad_request` (offset beyond the end), the storage's
 * errors.
 */
async function openAt(
  ctx: HandlerContext,
  get: MessageOf<"get">,
): Promise<{ reader: FileReader; from: number }> {
  const reader = await ctx.storage.openRead(get.name, { offset: get.offset });
  if (get.offset === 0 || knownHash(reader, algorithmOf(ctx)) !== undefined) {
    return { reader, from: get.offset };
  }
  reader.close();
  const whole = await ctx.storage.openRead(get.name);
  if (get.offset > whole.size) {
    whole.close();
    throw new FtsError(
      "bad_request",
      `Cannot download ${
        quoteName(get.name)
      } from offset ${get.offset}: the file has ${whole.size} bytes`,
    );
  }
  return { reader: whole, from: 0 };
}

/**
 * Sends a file that fits in one chunk as GET_READY, DATA and GET_END in a
 * single write. Over TLS the server cannot turn Nagle's algorithm off, and
 * three small writes would each wait for the client's delayed ACK.
 */
async function sendWhole(
  ctx: HandlerContext,
  ready: MessageOf<"get_ready">,
  reader: FileReader,
  slot: Disposable,
): Promise<OpResult> {
  const head = encodeMessage(ready);
  // One buffer for the three frames, the file read straight into its
  // place: GET_END's length does not depend on the hash's value, and is
  // at most that of a SHA-256 (64 hex digits; an XXH3-128 has 32).
  const dataAt = head.byteLength;
  const endLength = encodeMessage({
    type: "get_end",
    id: ready.id,
    sha256: "0".repeat(64),
  }).byteLength;
  const frames = new Uint8Array(
    dataAt + (ready.size === 0 ? 0 : DATA_PREFIX + ready.size) + endLength,
  );
  frames.set(head);
  const chunk = frames.subarray(
    dataAt + DATA_PREFIX,
    dataAt + DATA_PREFIX + ready.size,
  );
  await readFull(reader, chunk, ready.name);
  const algorithm = algorithmOf(ctx);
  const known = knownHash(reader, algorithm);
  const hex = known ?? hashBytes(algorithm, chunk);
  const packed = ctx.zstd ? wholeCompressor(ctx).compress(chunk) : null;
  if (packed) frames.set(packed, dataAt + DATA_PREFIX);
  const length = packed?.byteLength ?? ready.size;
  // An empty file has no DATA frame, as in the streaming path.
  let endAt = dataAt;
  if (ready.size > 0) {
    writeDataPrefix(frames.subarray(dataAt), ready.id, 0, length, {
      zstd: packed !== null,
    });
    endAt += DATA_PREFIX + length;
  }
  const end = encodeMessage({
    type: "get_end",
    id: ready.id,
    ...checksumOf(algorithm, hex),
  });
  let reply = frames.subarray(0, endAt + end.byteLength);
  if (reply.byteLength < endAt + end.byteLength) {
    // A hash of another length (never from this server's storage).
    reply = new Uint8Array(endAt + end.byteLength);
    reply.set(frames.subarray(0, endAt));
  }
  reply.set(end, endAt);
  // A small reply waits for the socket without its slot, so that the
  // replies of many small files go out together in one write.
  if (ready.size <= SMALL_REPLY) slot[Symbol.dispose]();
  await ctx.conn.writeAll(reply);
  ctx.touch();
  if (known === undefined && algorithm === "sha256") {
    await reader.rememberSha256?.(hex);
  }
  return { bytes: ready.size };
}

/** The hash that verifies this connection's downloads. */
function algorithmOf(ctx: HandlerContext): HashAlgorithm {
  return ctx.xxh128 ? "xxh128" : "sha256";
}

/** The file's checksum in `algorithm` when the storage keeps it. */
function knownHash(
  reader: FileReader,
  algorithm: HashAlgorithm,
): string | undefined {
  return algorithm === "sha256" ? reader.sha256 : undefined;
}

/**
 * The compressor of a connection's files of one chunk: one for all of
 * them, so that its pause after data that did not shrink spans files, and
 * a folder of small random files is not compressed in vain file by file.
 */
function wholeCompressor(ctx: HandlerContext): ChunkCompressor {
  let compressor = wholeCompressors.get(ctx.conn);
  if (compressor === undefined) {
    compressor = new ChunkCompressor(ctx.conn);
    wholeCompressors.set(ctx.conn, compressor);
  }
  return compressor;
}

const wholeCompressors = new WeakMap<object, ChunkCompressor>();

/**
 * Refuses with `stale` when the file no longer has the size and
 * modification time the client saw in a listing.
 */
export function checkExpect(
  action: string,
  name: string,
  expect: Expect | undefined,
  actual: { size: number; mtime: number },
): void {
  if (expect === undefined) return;
  if (expect.size !== actual.size || expect.mtime !== actual.mtime) {
    throw new FtsError(
      "stale",
      `Cannot ${action} ${quoteName(name)}: it changed since it was listed`,
    );
  }
}

async function readFull(
  reader: FileReader,
  target: Uint8Array,
  name: string,
): Promise<void> {
  let filled = 0;
  while (filled < target.byteLength) {
    const n = await reader.read(target.subarray(filled));
    if (n === null) {
      throw new FtsError(
        "io",
        `Cannot download ${quoteName(name)}: the file shrank while being read`,
      );
    }
    filled += n;
  }
}
