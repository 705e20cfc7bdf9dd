/**
 * Uploads: PUT, the file as DATA frames read straight into reusable send
 * buffers, PUT_END with the SHA-256 computed while streaming, then the
 * server's PUT_DONE. With `encrypt`, the file is sealed in the age format on
 * the way (sealed_upload.ts) and the server only ever sees ciphertext.
 *
 * A large file waits for PUT_READY before its data flows (a refusal costs
 * no bandwidth) and streams with two buffers, so the next chunk is read
 * and hashed while the previous one is on the wire. A small file goes out
 * as one write of PUT + DATA + PUT_END without waiting, which is what lets
 * a batch of small files travel without a round trip each.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { ProtocolError } from "../../protocol/errors.ts";
import {
  DATA_PREFIX,
  encodeMessage,
  type Expect,
  MAX_MODE,
  type Message,
  writeDataPrefix,
} from "../../protocol/messages.ts";
import { validateName } from "../../protocol/names.ts";
import { ChunkCompressor } from "../../common/compression.ts";
import type { Progress, SessionCore } from "./session_core.ts";
import { ReasonError, remoteError } from "../errors.ts";
import { readFull } from "./local_files.ts";
import type { PendingRequest } from "./request_table.ts";
import type { SealedFile } from "./sealed_upload.ts";
import type { SealOptions } from "../vault/age_header.ts";

/** Files up to this size are sent in one write without waiting for PUT_READY. */
export const SMALL_FILE = 256 * 1024;

/** Options of {@linkcode ClientSession.put}. */
export interface PutOptions {
  /** Replace an existing remote file atomically instead of keeping both. Default false. */
  overwrite?: boolean;
  /** Called after each chunk with the bytes sent so far. */
  onProgress?: (progress: Progress) => void;
  /** Aborts the upload; the server discards what it received. */
  signal?: AbortSignal;
  /**
   * Refuse unless the local file still has this size and modification time
   * (used when the user names a file by its number in a local listing).
   */
  expectLocal?: Expect;
  /**
   * Encrypt the file end to end, in the age format, to these recipients or
   * this passphrase, before any of it leaves. Default: sent as it is.
   */
  encrypt?: SealOptions;
  /**
   * Ask the server to keep the local file's permission bits (`put -p`);
   * it stores them without setuid/setgid/sticky and group or other write
   * permission. Needs the feature "mode" (else ignored). Default false: the
   * server's default (private to its user).
   */
  keepMode?: boolean;
}

/** What the server stored. */
export interface PutResult {
  /** The final remote name; `(1) name`… when the name was taken. */
  readonly name: string;
  /** Bytes stored: the age file's size when encrypted. */
  readonly size: number;
  /** SHA-256 of the bytes stored (the ciphertext when encrypted), in hex. */
  readonly sha256: string;
  /** True when the server holds an age-encrypted copy; absent otherwise. */
  readonly encrypted?: boolean;
}

/** An open local file about to be uploaded. */
export interface UploadSource extends Disposable {
  readonly file: Deno.FsFile;
  readonly size: number;
  readonly mtime: number | undefined;
  /** Permission bits (0o777), where the platform has them. */
  readonly mode: number | undefined;
}

/**
 * Opens `localPath` for upload, checking that it is a regular file and,
 * with `expectLocal`, that it is still the file the user saw listed.
 */
export async function openUploadSource(
  localPath: string,
  expectLocal?: Expect,
): Promise<UploadSource> {
  const file = await Deno.open(localPath, { read: true });
  try {
    const info = await file.stat();
    if (info.isDirectory) {
      throw new ReasonError("is_directory", "it is a local folder");
    }
    if (!info.isFile) {
      throw new ReasonError("bad_request", "it is not a regular local file");
    }
    const mtime = info.mtime?.getTime();
    if (
      expectLocal &&
      (info.size !== expectLocal.size || mtime !== expectLocal.mtime)
    ) {
      throw new ReasonError(
        "stale",
        "the local file changed since it was listed",
      );
    }
    return {
      file,
      size: info.size,
      mtime,
      mode: info.mode === null ? undefined : info.mode & MAX_MODE,
      [Symbol.dispose]() {
        file.close();
      },
    };
  } catch (error) {
    file.close();
    throw error;
  }
}

/** How one upload is sent. */
export interface SendOptions {
  overwrite: boolean;
  signal?: AbortSignal | undefined;
  /** Called with the count of content bytes after each chunk is sent. */
  onBytes?: ((n: number) => void) | undefined;
  /** Compresses chunks when zstd was negotiated (never encrypted ones). */
  compressor?: ChunkCompressor | undefined;
  /** Encrypt in the age format (see {@linkcode PutOptions.encrypt}). */
  encrypt?: SealOptions | undefined;
  /** Send the source's permission bits (see {@linkcode PutOptions.keepMode}). */
  keepMode?: boolean | undefined;
}

/**
 * Sends one upload from `source` as remote `name` (already validated).
 * Resolves once every frame is handed to the connection, with `done`, the
 * server's answer. `done` must be awaited.
 */
export async function sendUpload(
  core: SessionCore,
  source: UploadSource,
  name: string,
  options: SendOptions,
): Promise<{ done: Promise<PutResult> }> {
  // Sealed before the request opens: a passphrase costs a moment of scrypt.
  const sealed = options.encrypt
    ? await sealedFile(source, options.encrypt)
    : null;
  const size = sealed ? sealed.size : source.size;
  const request = core.requests.open();
  const put: Message = {
    type: "put",
    id: request.id,
    name,
    size,
    overwrite: options.overwrite,
    ...(source.mtime === undefined ? {} : { mtime: source.mtime }),
    ...(options.keepMode && core.modes && source.mode !== undefined
      ? { mode: source.mode }
      : {}),
  };
  let sha256: string;
  try {
    options.signal?.throwIfAborted();
    if (size <= Math.min(SMALL_FILE, core.chunkSize)) {
      sha256 = await sendSmall(core, put, options.signal, (chunk) => {
        if (sealed) sealed.sealInto(chunk);
        else if (readFull(source.file, chunk) < size) throw shrank();
      });
      options.onBytes?.(source.size);
    } else {
      const release = await core.streamLock.lock();
      try {
        sha256 = await sendLarge(core, request, source, put, sealed, options);
      } finally {
        release();
      }
    }
  } catch (error) {
    abandon(core, request);
    throw error;
  }
  return {
    done: awaitDone(core, request, {
      size,
      sha256,
      encrypted: sealed !== null,
      signal: options.signal,
    }),
  };
}

/**
 * Writes PUT, one DATA frame whose `put.size` bytes `fill` writes, and
 * PUT_END in one go, without waiting for PUT_READY. Returns the SHA-256.
 */
async function sendSmall(
  core: SessionCore,
  put: Extract<Message, { type: "put" }>,
  signal: AbortSignal | undefined,
  fill: (chunk: Uint8Array) => void,
): Promise<string> {
  const head = encodeMessage(put);
  const size = put.size;
  const end = encodeMessage({
    type: "put_end",
    id: put.id,
    sha256: "0".repeat(64),
  });
  const frames = new Uint8Array(
    head.byteLength + (size > 0 ? DATA_PREFIX + size : 0) + end.byteLength,
  );
  frames.set(head);
  let at = head.byteLength;
  const hash = createHash("sha256");
  if (size > 0) {
    const chunk = frames.subarray(at + DATA_PREFIX, at + DATA_PREFIX + size);
    fill(chunk);
    hash.update(chunk);
    writeDataPrefix(frames.subarray(at), put.id, 0, size);
    at += DATA_PREFIX + size;
  }
  const sha256 = hash.digest("hex");
  frames.set(encodeMessage({ type: "put_end", id: put.id, sha256 }), at);
  signal?.throwIfAborted();
  await core.conn.writeAll(frames);
  return sha256;
}

async function sendLarge(
  core: SessionCore,
  request: PendingRequest,
  source: UploadSource,
  put: Message,
  sealed: SealedFile | null,
  options: SendOptions,
): Promise<string> {
  await core.conn.send(put);
  const ready = await request.next(options.signal);
  if (ready.type === "error") {
    request.finish();
    throw remoteError(ready);
  }
  if (ready.type !== "put_ready") {
    throw new ProtocolError(
      `Expected PUT_READY, got ${ready.type.toUpperCase()}`,
    );
  }
  if (ready.offset !== 0) {
    throw new ProtocolError(
      `The server asked to resume at ${ready.offset} unasked`,
    );
  }
  let sha256: string;
  if (sealed) {
    sha256 = await sealed.stream(core, request, options);
  } else {
    const hash = createHash("sha256");
    await streamChunks(core, request, source, hash, options);
    sha256 = hash.digest("hex");
  }
  if (request.failed) await throwRefusal(request);
  await core.conn.send({ type: "put_end", id: request.id, sha256 });
  return sha256;
}

/**
 * Streams the file as DATA frames with two buffers: while one is being
 * written to the connection, the next chunk is read into the other.
 */
async function streamChunks(
  core: SessionCore,
  request: PendingRequest,
  source: UploadSource,
  hash: Hash,
  options: SendOptions,
): Promise<void> {
  const slots = [core.buffers.take(), core.buffers.take()] as const;
  let writing: Promise<void> = Promise.resolve();
  let offset = 0;
  let slot = 0;
  try {
    while (offset < source.size) {
      if (request.failed) return;
      options.signal?.throwIfAborted();
      const buf = slots[slot]!;
      const want = Math.min(core.chunkSize, source.size - offset);
      const chunk = buf.subarray(DATA_PREFIX, DATA_PREFIX + want);
      if (readFull(source.file, chunk) < want) throw shrank();
      hash.update(chunk);
      let length = want;
      const packed = options.compressor?.compress(chunk);
      if (packed) {
        buf.set(packed, DATA_PREFIX);
        length = packed.byteLength;
      }
      writeDataPrefix(buf, request.id, offset, length, {
        zstd: packed != null,
      });
      await writing;
      writing = core.conn.writeAll(buf.subarray(0, DATA_PREFIX + length));
      offset += want;
      options.onBytes?.(want);
      slot ^= 1;
    }
    await writing;
  } finally {
    // Never hand back a buffer the connection may still be reading.
    await writing.catch(() => {});
    core.buffers.give(slots[0]);
    core.buffers.give(slots[1]);
  }
}

async function throwRefusal(request: PendingRequest): Promise<never> {
  for (;;) {
    const message = await request.next();
    if (message.type === "error") {
      request.finish();
      throw remoteError(message);
    }
  }
}

/** What the server must confirm of an upload. */
interface Sent {
  readonly size: number;
  readonly sha256: string;
  readonly encrypted: boolean;
  readonly signal: AbortSignal | undefined;
}

async function awaitDone(
  core: SessionCore,
  request: PendingRequest,
  sent: Sent,
): Promise<PutResult> {
  const { size, sha256, encrypted, signal } = sent;
  let ended = false;
  try {
    for (;;) {
      const message = await request.next(signal);
      if (message.type === "put_ready") continue;
      ended = true;
      if (message.type === "error") throw remoteError(message);
      if (message.type !== "put_done") {
        ended = false;
        throw new ProtocolError(
          `Unexpected ${message.type.toUpperCase()} reply to PUT`,
        );
      }
      let name: string;
      try {
        name = validateName(message.name);
      } catch (cause) {
        throw new ProtocolError(
          "The server confirmed the upload under an invalid name",
          {
            cause,
          },
        );
      }
      if (message.size !== size || message.sha256 !== sha256) {
        throw new ReasonError(
          "checksum_mismatch",
          "the server reports a different size or SHA-256 than was sent",
        );
      }
      return { name, size, sha256, ...(encrypted ? { encrypted } : {}) };
    }
  } finally {
    if (ended) request.finish();
    else abandon(core, request);
  }
}

/** Gives up on a request: asks the server to cancel it and drains its replies. */
function abandon(core: SessionCore, request: PendingRequest): void {
  if (!request.open) return;
  const over = request.drain((m) =>
    m.type === "put_done" || m.type === "error"
  );
  if (!over && !core.conn.closed) {
    core.conn.send({ type: "cancel", id: request.id }).catch(() => {});
  }
}

function shrank(): ReasonError {
  return new ReasonError("io", "the local file shrank while it was being sent");
}

/** A compressor when zstd was negotiated, else undefined. */
export function compressorFor(core: SessionCore): ChunkCompressor | undefined {
  return core.zstd ? new ChunkCompressor(core.conn) : undefined;
}

/**
 * `source` encrypted for `seal`; the age code loads only here, so that
 * plain uploads never load it.
 */
async function sealedFile(
  source: UploadSource,
  seal: SealOptions,
): Promise<SealedFile> {
  const [{ SealedFile }, { AgeEncryptor }, { sealHeader }] = await Promise.all(
    [
      import("./sealed_upload.ts"),
      import("../vault/encryptor.ts"),
      import("../vault/age_header.ts"),
    ],
  );
  return new SealedFile(source, new AgeEncryptor(await sealHeader(seal)));
}
