/**
 * Downloads: GET, then GET_READY, DATA frames and GET_END from the server,
 * written to a hidden temporary file in the target folder while the SHA-256
 * is computed; only when length and hash match is the file fsynced and
 * renamed into place, with its folder fsynced after (see `commit_group.ts`,
 * which does that for many files at once). Whatever fails, the temporary file is removed and an
 * existing file of the same name is untouched; the temporary files of
 * clients killed mid-download are removed the first time a session
 * downloads into their folder.
 *
 * With `decrypt`, a file whose first bytes are the age version line is
 * decrypted on the way (the bytes decide, not the name or the listing): the
 * SHA-256 is checked on the ciphertext received, the age AEAD on the
 * plaintext written, and nothing becomes visible unless both hold.
 *
 * @module
 */

import {
  createStreamHash,
  hashName,
  type StreamHash,
} from "../../common/stream_hash.ts";
import {
  type ErrorCode,
  FtsError,
  ProtocolError,
} from "../../protocol/errors.ts";
import {
  type Checksum,
  checksumOf,
  checksumParts,
  type Expect,
  type Message,
  MIN_RESUME_BLOCK as MIN_BLOCK,
} from "../../protocol/messages.ts";
import {
  DownloadPartial,
  freshPlan,
  type ResumePlan,
} from "./download_partial.ts";
import { isValidName, quoteName, validateName } from "../../protocol/names.ts";
import { decompressChunk } from "../../common/compression.ts";
import type { Progress, SessionCore } from "./session_core.ts";
import { ReasonError, remoteError } from "../errors.ts";
import { join } from "node:path";
import {
  BackgroundWriter,
  type ByteSink,
  createTempFile,
  LocalFolders,
  type LocalTarget,
  openStreamTarget,
  specialTarget,
  writeFull,
} from "./local_files.ts";
import { CommitGroup } from "./commit_group.ts";
import { removeQuietly } from "../../common/remove_quietly.ts";
import type { PendingRequest } from "./request_table.ts";
import { AGE_MAGIC, startsLikeAge } from "../../common/age_magic.ts";
import type { AgeDecryptor, DecryptorOptions } from "../vault/decryptor.ts";
import { VaultError } from "../vault/vault_error.ts";

/** Options of {@linkcode ClientSession.get}. */
export interface GetOptions {
  /** Replace an existing local file atomically instead of keeping both. Default false. */
  overwrite?: boolean;
  /** Make the server refuse with `stale` unless the file has this size and mtime. */
  expect?: Expect;
  /** Called after each chunk with the bytes received so far. */
  onProgress?: (progress: Progress) => void;
  /** Aborts the download; nothing is left behind. */
  signal?: AbortSignal;
  /**
   * The local name, relative to the local folder (validated like a remote
   * name). Default: the remote name, so `a/b.txt` lands in subfolder `a`.
   */
  localName?: string;
  /**
   * Decrypt age files: called once, only when the data starts with the age
   * version line, for the identities and passphrase to open it with.
   * Default: every file is saved exactly as received (`get --raw`).
   */
  decrypt?: DecryptSource;
  /**
   * When the file is decrypted and its local name ends in `.age`, save it
   * without that suffix (as `age -d` users expect). Default false.
   */
  stripAgeSuffix?: boolean;
  /**
   * Give the local file the permission bits the server sent (`get -p`),
   * without setuid/setgid/sticky. Needs the feature "mode" (else the
   * file gets the usual permissions). Default false.
   */
  keepMode?: boolean;
  /**
   * Write the bytes to this stream (e.g. standard output) instead of a
   * file; the result's `path` is then "-". The bytes are written as they
   * arrive, so a failed check is reported after they were written.
   */
  sink?: ByteSink;
  /**
   * Continue an interrupted download of the same name into the same
   * folder, and keep this one's partial if it is interrupted (feature
   * "resume"). False: start over, removing any partial. Default true.
   */
  resume?: boolean;
}

/** How to open an age file, asked for once one arrives. */
export type DecryptSource = () => Promise<DecryptorOptions>;

/**
 * What was saved, with the checksum of the bytes received (the ciphertext
 * when decrypted) that both sides agreed on: `sha256`, or `xxh128` when that
 * feature was negotiated.
 */
export type GetResult = {
  /** The local path written; `(1) name`… when the name was taken. */
  readonly path: string;
  /** Bytes saved locally (the plaintext's when decrypted). */
  readonly size: number;
  /** True when an age file was received and saved decrypted; else absent. */
  readonly decrypted?: boolean;
  /**
   * Bytes of an earlier, interrupted download that were verified and kept
   * (the download resumed there); absent when it started at 0.
   */
  readonly resumedAt?: number;
} & Readonly<Checksum>;

/** How one download is received. */
export interface ReceiveOptions {
  overwrite: boolean;
  expect?: Expect | undefined;
  signal?: AbortSignal | undefined;
  localName?: string | undefined;
  /** Called with the total size once the server announced it. */
  onSize?: ((size: number) => void) | undefined;
  /** Called with the count of bytes received after each chunk. */
  onBytes?: ((n: number) => void) | undefined;
  decrypt?: DecryptSource | undefined;
  stripAgeSuffix?: boolean | undefined;
  keepMode?: boolean | undefined;
  sink?: ByteSink | undefined;
  /**
   * Refuse a local target that is a device or a FIFO (or a link to one)
   * instead of writing into it: a folder copy makes regular files only.
   */
  regularOnly?: boolean | undefined;
  /**
   * The batch's local folders, resolved once for all its files. Default:
   * resolved for this download alone.
   */
  folders?: LocalFolders | undefined;
  /**
   * The batch's commit group, which this file joins once verified (the
   * batch flushes it). Default: a group of this file alone, committed at
   * once.
   */
  commit?: CommitGroup | undefined;
  /** Called once the file is verified and handed to its commit group. */
  onVerified?: (() => void) | undefined;
  /**
   * Continue an interrupted download of the same name into the same
   * folder from its partial file, and keep this one's partial if it is
   * interrupted (feature "resume"). False: start over, removing any
   * partial. Default true.
   */
  resume?: boolean | undefined;
}

/**
 * Downloads remote `remoteName` into `localDir`.
 *
 * @throws {NameError} for an invalid remote or local name,
 * {@linkcode ReasonError} for refusals and failed checks,
 * {@linkcode ProtocolError} when the server breaks the protocol.
 */
export async function download(
  core: SessionCore,
  remoteName: string,
  localDir: string,
  options: ReceiveOptions,
): Promise<GetResult> {
  const name = validateName(remoteName);
  options.signal?.throwIfAborted();
  if (options.sink) {
    return await receiveInto(core, name, options.sink, "-", options);
  }
  const localName = validateName(options.localName ?? name);
  const folders = options.folders ??
    new LocalFolders(localDir, core.reclaimed);
  const target = folders.target(localName);
  if (target.mayExist) {
    const targetPath = join(target.dir, target.base);
    if (specialTarget(targetPath, target.base) === "stream") {
      if (options.regularOnly) {
        throw new ReasonError(
          "bad_request",
          `the local ${quoteName(target.base)} is a device or a FIFO`,
        );
      }
      // A device or a FIFO is written into, never replaced by a file.
      const device = await openStreamTarget(targetPath, target.base);
      try {
        return await receiveInto(core, name, device, targetPath, options);
      } finally {
        device.close();
      }
    }
  }
  if (options.resume === false) {
    DownloadPartial.discardAt(target.dir, target.base);
  } else if (
    core.resume && (options.expect === undefined ||
      options.expect.size > MIN_BLOCK)
  ) {
    const partial = DownloadPartial.open(
      target.dir,
      target.base,
      core.disk.volatile(target.dir),
    );
    if (partial) {
      return await downloadResumable(core, name, target, partial, options);
    }
  }
  const temp = createTempFile(target.dir);
  let owned = true;
  try {
    const request = core.requests.open();
    const receiver = new Receiver(core, request, temp.file, options, false);
    await sendGet(core, request, name, options);
    const result = await receiver.wait(options.signal);
    // Times and bits before the sync, so that they are durable with the data.
    const plainBase = applyReceived(temp, result, options, target.base);
    // The group closes the part file only once it has its name: open, it
    // stays locked, and another session's reclaimPartFiles() takes an
    // unlocked one for a left-over.
    const group = options.commit ?? new CommitGroup(core.disk);
    owned = false;
    const committed = group.add({
      file: temp.file,
      tempPath: temp.path,
      target: { dir: target.dir, base: plainBase },
      overwrite: options.overwrite,
      size: result.written,
    });
    if (options.commit === undefined) group.flush();
    options.onVerified?.();
    return {
      path: await committed,
      size: result.written,
      ...result.checksum,
      ...(result.decrypted ? { decrypted: true } : {}),
    };
  } catch (error) {
    if (owned) {
      temp.file.close();
      removeQuietly(temp.path);
    }
    throw error;
  }
}

/**
 * Downloads `name` into its partial file, resuming what an interrupted
 * download left there when it still matches the remote file; starts over
 * once when the remote file turns out to have changed. An interrupted
 * download keeps the partial (with a sidecar for what was synced), a
 * failed one removes it.
 */
async function downloadResumable(
  core: SessionCore,
  name: string,
  target: LocalTarget,
  partial: DownloadPartial,
  options: ReceiveOptions,
): Promise<GetResult> {
  let owned = true;
  try {
    let plan = partial.plan(name, options.expect, core.algorithm);
    if (plan.source === null) await partial.reset();
    for (let attempt = 0;; attempt++) {
      let result: Received;
      try {
        result = await fetchIntoPartial(core, name, partial, plan, {
          ...options,
          expect: plan.source
            ? { size: plan.source.size, mtime: plan.source.mtime }
            : options.expect,
        });
      } catch (error) {
        if (plan.source === null || attempt > 0 || !sourceChanged(error)) {
          throw error;
        }
        // Changed since the partial was written: never mix two versions.
        await partial.reset();
        plan = freshPlan(core.algorithm);
        continue;
      }
      await partial.settle(); // the group syncs and closes the file
      const plainBase = applyReceived(partial, result, options, target.base);
      // What this run wrote follows what was kept.
      const size = plan.from + result.written;
      const group = options.commit ?? new CommitGroup(core.disk);
      owned = false;
      const committed = group.add({
        file: partial.file,
        tempPath: partial.path,
        target: { dir: target.dir, base: plainBase },
        overwrite: options.overwrite,
        size,
      });
      if (options.commit === undefined) group.flush();
      options.onVerified?.();
      let path: string;
      try {
        path = await committed;
      } finally {
        partial.committed();
      }
      return {
        path,
        size,
        ...result.checksum,
        ...(result.decrypted ? { decrypted: true } : {}),
        ...(plan.from > 0 ? { resumedAt: plan.from } : {}),
      };
    }
  } catch (error) {
    if (owned) {
      if (partial.resumable && keepsPartial(error)) await partial.keep();
      else await partial.discard();
    }
    throw error;
  }
}

/**
 * Fills `partial` as `plan` says: the damaged blocks again (ranges), then
 * the rest from the verified end, checking the whole file's SHA-256 and
 * that every GET_END of the run carries the same one.
 */
async function fetchIntoPartial(
  core: SessionCore,
  name: string,
  partial: DownloadPartial,
  plan: ResumePlan,
  options: ReceiveOptions,
): Promise<Received> {
  const whole = plan.whole;
  let known = plan.checksum;
  const agree = (checksum: Checksum) => {
    const { algorithm, hex } = checksumParts(checksum);
    const value = `${algorithm}:${hex}`;
    // A value learnt in another algorithm (another server) says nothing.
    if (
      known !== undefined && known.startsWith(`${algorithm}:`) &&
      known !== value
    ) {
      throw new ReasonError(
        "checksum_mismatch",
        "the file changed on the server while it was being downloaded",
      );
    }
    known = value;
    partial.checksum = value;
  };
  const quiet: ReceiveOptions = {
    overwrite: options.overwrite,
    expect: options.expect,
    signal: options.signal,
  };
  for (const index of plan.damaged) {
    const offset = index * plan.block;
    const length = Math.min(plan.block, plan.from - offset);
    const repair = partial.repairer(index);
    const got = await receiveSpan(core, name, repair, quiet, {
      offset,
      length,
      hash: null,
    });
    repair.done();
    agree(got.checksum);
  }
  if (plan.damaged.length > 0) {
    partial.hashRange(plan.damaged[0]! * plan.block, plan.from, whole);
  }
  const onSize = options.onSize;
  const got = await receiveSpan(core, name, partial.appender(), {
    ...options,
    onSize: (size) => {
      onSize?.(size);
      if (plan.from > 0) options.onBytes?.(plan.from);
    },
  }, {
    offset: plan.from,
    hash: whole,
    onReady: plan.source === null
      ? (ready) => partial.begin({ remote: name, ...ready })
      : undefined,
    onDecrypting: () => {
      partial.resumable = false;
    },
  });
  agree(got.checksum);
  return got;
}

/** Runs one GET of `span` into `sink`. */
async function receiveSpan(
  core: SessionCore,
  name: string,
  sink: ByteSink,
  options: ReceiveOptions,
  span: Span,
): Promise<Received> {
  const request = core.requests.open();
  const receiver = new Receiver(core, request, sink, options, true, span);
  await sendGet(core, request, name, options, span);
  return await receiver.wait(options.signal);
}

/** Whether a failure says the remote file is not the partial's any more. */
function sourceChanged(error: unknown): boolean {
  return error instanceof FtsError &&
    (error.code === "stale" || error.code === "checksum_mismatch");
}

/**
 * Whether a failure leaves a partial worth keeping: an interruption (the
 * connection, the server going away, a cancel), not a refusal or a failed
 * check, after which the same bytes could not be used.
 */
function keepsPartial(error: unknown): boolean {
  if (!(error instanceof FtsError)) return true;
  return !DROPS_PARTIAL.has(error.code);
}

const DROPS_PARTIAL: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "stale",
  "checksum_mismatch",
  "not_found",
  "is_directory",
  "not_directory",
  "permission_denied",
  "invalid_name",
  "bad_request",
  "exists",
]);

/**
 * Sends the GET of `name` (from `span`'s offset, a range when it has a
 * length) under `request`. A GET aborted before it was written is
 * withdrawn: the request ends here, and the server hears of it neither by
 * the GET nor by a CANCEL.
 */
async function sendGet(
  core: SessionCore,
  request: PendingRequest,
  name: string,
  options: ReceiveOptions,
  span: Span = WHOLE,
): Promise<void> {
  try {
    await core.conn.send({
      type: "get",
      id: request.id,
      name,
      offset: span.offset,
      ...(options.expect ? { expect: options.expect } : {}),
      ...(span.length !== undefined ? { length: span.length } : {}),
    }, options.signal);
  } catch (error) {
    request.finish();
    throw error;
  }
}

/**
 * Downloads `name` into stream `sink` as the bytes arrive (checked like a
 * file, but nothing can be taken back); `path` names it in the result.
 */
async function receiveInto(
  core: SessionCore,
  name: string,
  sink: ByteSink,
  path: string,
  options: ReceiveOptions,
): Promise<GetResult> {
  const request = core.requests.open();
  const receiver = new Receiver(core, request, sink, options, true);
  await sendGet(core, request, name, options);
  const result = await receiver.wait(options.signal);
  return {
    path,
    size: result.written,
    ...result.checksum,
    ...(result.decrypted ? { decrypted: true } : {}),
  };
}

/**
 * Gives a received file the server's modification time (and its mode when
 * asked); returns the base name it is stored under, without `.age` when it
 * was decrypted and the caller asked so.
 */
function applyReceived(
  local: { readonly file: Deno.FsFile; readonly path: string },
  result: Received,
  options: ReceiveOptions,
  base: string,
): string {
  const mtime = new Date(result.mtime);
  local.file.utimeSync(mtime, mtime);
  if (options.keepMode && result.mode !== undefined) {
    Deno.chmodSync(local.path, result.mode);
  }
  return result.decrypted && options.stripAgeSuffix
    ? withoutAgeSuffix(base)
    : base;
}

/**
 * `base` without its `.age` suffix, or unchanged when that would leave an
 * invalid name (`.age`, `..age`).
 */
export function withoutAgeSuffix(base: string): string {
  if (!base.endsWith(".age")) return base;
  const plain = base.slice(0, -".age".length);
  return isValidName(plain) ? plain : base;
}

/**
 * What one GET receives: from `offset` (0 for the whole file), `length`
 * bytes when a range (feature "resume"), else up to the end.
 */
interface Span {
  readonly offset: number;
  readonly length?: number | undefined;
  /**
   * The whole file's hash (the agreed algorithm) fed with the bytes before `offset`, checked
   * against GET_END; null: not checked here (the caller compares GET_END's
   * value). Absent: a new hash, from byte 0.
   */
  readonly hash?: StreamHash | null | undefined;
  /** Called when the data turns out to be an age file being decrypted. */
  readonly onDecrypting?: (() => void) | undefined;
  /** Called with what GET_READY announced, before any DATA. */
  readonly onReady?:
    | ((ready: { size: number; mtime: number }) => void)
    | undefined;
}

const WHOLE: Span = { offset: 0 };

/** What the server announced and proved about a finished download. */
interface Received {
  readonly size: number;
  readonly mtime: number;
  /** Permission bits, when the server sent them. */
  readonly mode: number | undefined;
  readonly checksum: Checksum;
  /** Bytes written to the file. */
  readonly written: number;
  readonly decrypted: boolean;
}

/**
 * The sink of one GET's replies, called by the session's reader loop: it
 * checks every frame against what was announced and writes the data.
 */
class Receiver {
  readonly #core: SessionCore;
  readonly #request: PendingRequest;
  /** The file written synchronously, or the sink when streaming. */
  readonly #file: Deno.FsFile | ByteSink;
  /** True for a stream sink: every write is asynchronous. */
  readonly #stream: boolean;
  readonly #options: ReceiveOptions;
  /** The whole file's hash so far; null: the caller checks it. */
  readonly #hash: StreamHash | null;
  readonly #span: Span;
  #state: "ready" | "data" | "ended" | "draining" = "ready";
  #size = 0;
  /** Where the DATA stops: the file's size, or the range's end. */
  #stop = 0;
  #mtime = 0;
  #mode: number | undefined;
  #received = 0;
  #written = 0;
  #writer: BackgroundWriter | null = null;
  /** Whether the data is still being sniffed for the age version line. */
  #sniffing: boolean;
  /** The first bytes, while fewer than the age version line arrived. */
  #head: Uint8Array | null = null;
  #decryptor: AgeDecryptor | null = null;
  #settle!: { resolve(r: Received): void; reject(e: unknown): void };
  readonly #result: Promise<Received>;

  constructor(
    core: SessionCore,
    request: PendingRequest,
    file: Deno.FsFile | ByteSink,
    options: ReceiveOptions,
    stream: boolean,
    span: Span = WHOLE,
  ) {
    this.#core = core;
    this.#request = request;
    this.#file = file;
    this.#stream = stream;
    this.#options = options;
    this.#span = span;
    this.#hash = span.hash === undefined
      ? createStreamHash(core.algorithm)
      : span.hash;
    this.#received = span.offset;
    this.#sniffing = options.decrypt !== undefined && span.offset === 0;
    this.#result = new Promise((resolve, reject) =>
      this.#settle = { resolve, reject }
    );
    this.#result.catch(() => {}); // observed through wait()
    request.setSink((message) => this.#deliver(message));
    request.onFailure((error) => this.#fail(error));
  }

  /** Waits for the verified end of the download; aborts with `signal`. */
  async wait(signal: AbortSignal | undefined): Promise<Received> {
    const onAbort = () => this.#abandon(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) onAbort();
      return await this.#result;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      // The caller closes the file next: no write may still be running.
      await this.#writer?.flush().catch(() => {});
    }
  }

  #deliver(message: Message): void | Promise<void> {
    if (this.#state === "draining") {
      if (message.type === "get_end" || message.type === "error") {
        this.#request.finish();
      }
      return;
    }
    if (message.type === "error") {
      this.#state = "ended";
      this.#request.finish();
      this.#settle.reject(remoteError(message));
      return;
    }
    if (this.#state === "ready") {
      if (message.type !== "get_ready") throw unexpected(message);
      this.#size = message.size;
      this.#stop = this.#span.length === undefined
        ? message.size
        : this.#span.offset + this.#span.length;
      if (this.#stop > message.size) {
        throw new ProtocolError(
          `GET_READY announced ${message.size} bytes, fewer than the range asked`,
        );
      }
      this.#mtime = message.mtime;
      this.#mode = message.mode;
      this.#span.onReady?.({ size: message.size, mtime: message.mtime });
      this.#state = "data";
      if (this.#stream || message.size > this.#core.chunkSize) {
        this.#writer = new BackgroundWriter(this.#file, this.#core.chunkSize);
      }
      this.#options.onSize?.(message.size);
      return;
    }
    if (message.type === "data") return this.#data(message);
    if (message.type === "get_end") return this.#end(message);
    throw unexpected(message);
  }

  #data(message: Extract<Message, { type: "data" }>): void | Promise<void> {
    if (message.offset !== this.#received) {
      throw new ProtocolError(
        `DATA at offset ${message.offset} where ${this.#received} was expected`,
      );
    }
    let bytes = message.bytes;
    if (bytes.byteLength > this.#core.chunkSize) {
      throw new ProtocolError(
        `A DATA chunk of ${bytes.byteLength} bytes exceeds the chunk size ${this.#core.chunkSize}`,
      );
    }
    if (message.zstd) {
      if (!this.#core.zstd) {
        throw new ProtocolError("Compressed DATA without zstd negotiated");
      }
      bytes = decompressChunk(bytes, this.#core.chunkSize);
    }
    if (this.#received + bytes.byteLength > this.#stop) {
      throw new ProtocolError(
        `The server sent more than the announced ${this.#stop} bytes`,
      );
    }
    this.#hash?.update(bytes);
    this.#received += bytes.byteLength;
    if (this.#sniffing) return this.#sniff(bytes);
    if (this.#decryptor) return this.#decrypt(this.#decryptor, bytes);
    if (this.#writer) return this.#queue(this.#writer, bytes);
    try {
      writeFull(this.#file as Deno.FsFile, bytes);
    } catch (error) {
      this.#abandon(error);
      return;
    }
    this.#written += bytes.byteLength;
    this.#options.onBytes?.(bytes.byteLength);
  }

  async #queue(writer: BackgroundWriter, bytes: Uint8Array): Promise<void> {
    try {
      await writer.write(bytes);
    } catch (error) {
      this.#abandon(error);
      return;
    }
    this.#written += bytes.byteLength;
    this.#options.onBytes?.(bytes.byteLength);
  }

  /**
   * Looks at the first bytes: an age file gets a decryptor (asking the
   * caller how to open it), anything else is written as received.
   */
  async #sniff(bytes: Uint8Array): Promise<void> {
    const wire = bytes.byteLength;
    let data = bytes;
    if (this.#head) {
      data = new Uint8Array(this.#head.byteLength + wire);
      data.set(this.#head);
      data.set(bytes, this.#head.byteLength);
    }
    if (data.byteLength < AGE_MAGIC.length && this.#received < this.#stop) {
      this.#head = data === bytes ? bytes.slice() : data; // views are reused
      this.#options.onBytes?.(wire);
      return;
    }
    this.#head = null;
    this.#sniffing = false;
    if (!startsLikeAge(data)) {
      await this.#writeAll(data, wire);
      return;
    }
    try {
      // The age library loads only when an age file is decrypted.
      const { AgeDecryptor } = await import("../vault/decryptor.ts");
      this.#span.onDecrypting?.();
      this.#decryptor = new AgeDecryptor(await this.#options.decrypt!());
    } catch (error) {
      this.#abandon(decryptionError(error));
      return;
    }
    if (this.#state !== "data") return; // abandoned while asking
    await this.#decrypt(this.#decryptor, data, wire);
  }

  async #decrypt(
    decryptor: AgeDecryptor,
    cipher: Uint8Array,
    wire = cipher.byteLength,
  ): Promise<void> {
    let plain: Uint8Array;
    try {
      plain = await decryptor.push(cipher);
    } catch (error) {
      this.#abandon(decryptionError(error));
      return;
    }
    if (this.#state !== "data") return; // abandoned while opening
    await this.#writeAll(plain, wire);
  }

  /**
   * Writes `bytes` of any length (in pieces of at most a chunk, for the
   * background writer's buffers), then reports `wire` bytes received.
   */
  async #writeAll(bytes: Uint8Array, wire: number): Promise<void> {
    try {
      await this.#write(bytes);
    } catch (error) {
      this.#abandon(error);
      return;
    }
    this.#options.onBytes?.(wire);
  }

  /** Writes `bytes` of any length; throws what the write throws. */
  async #write(bytes: Uint8Array): Promise<void> {
    if (this.#writer) {
      const chunk = this.#core.chunkSize;
      for (let at = 0; at < bytes.byteLength; at += chunk) {
        await this.#writer.write(bytes.subarray(at, at + chunk));
      }
    } else {
      writeFull(this.#file as Deno.FsFile, bytes);
    }
    this.#written += bytes.byteLength;
  }

  async #end(checksum: Checksum): Promise<void> {
    this.#state = "ended";
    this.#request.finish();
    if (this.#received !== this.#stop) {
      this.#settle.reject(
        new ReasonError(
          "io",
          `the server ended the download after ${this.#received} of ${this.#stop} bytes`,
        ),
      );
      return;
    }
    const sum = checksumParts(checksum);
    if (sum.algorithm !== this.#core.algorithm) {
      this.#settle.reject(
        new ProtocolError(
          `GET_END carries ${sum.algorithm}, but ${this.#core.algorithm} was agreed`,
        ),
      );
      return;
    }
    if (this.#hash !== null && this.#hash.digest() !== sum.hex) {
      this.#settle.reject(
        new ReasonError(
          "checksum_mismatch",
          `the received bytes do not match the server's ${
            hashName(sum.algorithm)
          }`,
        ),
      );
      return;
    }
    try {
      if (this.#head) {
        // Shorter than the age version line: not an age file.
        await this.#write(this.#head);
        this.#head = null;
      }
      if (this.#decryptor) {
        let last: Uint8Array;
        try {
          last = this.#decryptor.finish();
        } catch (error) {
          throw decryptionError(error);
        }
        await this.#write(last);
      }
      await this.#writer?.flush();
    } catch (error) {
      this.#settle.reject(error);
      return;
    }
    this.#settle.resolve({
      size: this.#size,
      mtime: this.#mtime,
      mode: this.#mode,
      checksum: checksumOf(sum.algorithm, sum.hex),
      written: this.#written,
      decrypted: this.#decryptor !== null,
    });
  }

  /** Stops writing, asks the server to cancel, and drains the rest. */
  #abandon(error: unknown): void {
    if (this.#state === "ended" || this.#state === "draining") return;
    this.#state = "draining";
    this.#settle.reject(error);
    if (this.#request.open && !this.#core.conn.closed) {
      this.#core.conn.send({ type: "cancel", id: this.#request.id }).catch(
        () => {},
      );
    }
  }

  #fail(error: unknown): void {
    this.#state = "ended";
    this.#settle.reject(error);
  }
}

/**
 * A decryption failure as the reason of the download's failure, e.g.
 * `decryption failed: wrong passphrase`; other errors pass unchanged.
 */
function decryptionError(error: unknown): unknown {
  if (!(error instanceof VaultError)) return error;
  return new ReasonError(error.code, `decryption failed: ${error.detail}`, {
    cause: error,
  });
}

function unexpected(message: Message): ProtocolError {
  return new ProtocolError(
    `Unexpected ${message.type.toUpperCase()} reply to GET`,
  );
}
