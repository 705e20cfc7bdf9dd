/**
 * The upload sender: one loop per session puts every upload's frames on the
 * connection, many files at once, without waiting for PUT_READY or PUT_DONE
 * between them.
 *
 * - Files of at most one chunk are packed back to back into one send
 *   buffer, PUT + DATA + PUT_END each, so a buffer carries hundreds of
 *   small files in one write.
 * - Larger files stream one at a time, a chunk per turn, and take turns
 *   with the small files: a large file never holds the small ones behind
 *   it until it ends, and they share the bandwidth while both have work.
 * - Two windows bound what is in flight: {@linkcode MAX_UPLOADS} uploads
 *   (PUT sent, final reply not back yet; the server refuses more with
 *   `busy`), and {@linkcode UNCONFIRMED_BYTES} of DATA sent ahead of the
 *   PUT_READY of its upload (what a refusal can waste: the server ignores
 *   the data of a refused PUT, PROTOCOL.md §5.4).
 * - Memory is two send buffers of about one chunk, whatever the number and
 *   size of the files; the next buffer is filled while the previous one is
 *   on the wire.
 * - Each upload ends on its own: a refusal, a local read error or an abort
 *   fails that file only, and the others go on.
 *
 * - A resumable upload (feature "resume", a file of more than one chunk,
 *   not sealed) sends PUT with `resume` and waits for PUT_READY: when the
 *   server kept part of it, the sender compares block hashes
 *   (resume_plan.ts), sends the blocks that differ again, then the rest.
 *
 * The replies are taken in the session's reader loop (a sink per request),
 * so an upload costs one promise, its result.
 *
 * @module
 */

import {
  createStreamHash,
  type HashAlgorithm,
  hashName,
  type StreamHash,
} from "../../common/stream_hash.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import {
  checksumOf,
  checksumParts,
  DATA_PREFIX,
  encodeMessage,
  type Message,
  writeDataPrefix,
} from "../../protocol/messages.ts";
import { validateName } from "../../protocol/names.ts";
import type { ChunkCompressor } from "../../common/compression.ts";
import { nextTurn } from "../../common/next_turn.ts";
import { ReasonError, remoteError } from "../errors.ts";
import { readFull } from "./local_files.ts";
import { planResume } from "./resume_plan.ts";
import type { BlockRange } from "./resume_plan.ts";
import type { PendingRequest, RequestTable } from "./request_table.ts";
import type { SealedFile } from "./sealed_upload.ts";
import type { PutResult, UploadSource } from "./upload.ts";

/** Uploads in flight at once on one connection, at most. */
export const MAX_UPLOADS = 128;
/** Uploads in flight for a server whose WELCOME names no `uploads`. */
export const UNANNOUNCED_UPLOADS = 32;

/** Uploads to keep in flight for a server that announced `uploads` (or not). */
export function uploadWindow(announced: number | undefined): number {
  return Math.min(MAX_UPLOADS, announced ?? UNANNOUNCED_UPLOADS);
}
/** DATA bytes sent ahead of their upload's PUT_READY, all uploads together. */
export const UNCONFIRMED_BYTES = 8 * 1024 * 1024;
/** Files up to this size are sent raw: zstd costs more than it saves on them. */
export const RAW_UP_TO = 256 * 1024;
/**
 * Room in a send buffer beyond one DATA frame, for the PUT and PUT_END
 * frames beside it (a PUT with the longest name is under 3 KiB) and, with
 * tiny chunks, for an age chunk cut into several frames.
 */
const SLACK = 320 * 1024;
/** Bytes of a PUT_END frame. */
const END_BYTES = encodeMessage({
  type: "put_end",
  id: 1,
  sha256: "0".repeat(64),
}).byteLength;

/** What a sender writes to: a session's frame connection. */
export interface SenderConn {
  readonly closed: boolean;
  writeAll(bytes: Uint8Array): Promise<void>;
  send(message: Message): Promise<void>;
  close(): void;
}

/** Options of {@linkcode UploadSender}. */
export interface SenderOptions {
  /** Default {@linkcode MAX_UPLOADS}. */
  maxUploads?: number;
  /** Default {@linkcode UNCONFIRMED_BYTES}. */
  maxUnconfirmed?: number;
  /** The hash that verifies each upload. Default "sha256". */
  algorithm?: HashAlgorithm;
  /**
   * Called each time the sender has work but waits for the server (a window
   * is full or a reply is due); for tests and diagnostics.
   */
  onWait?: () => void;
}

/** One upload to send, as {@linkcode UploadSender.send} takes it. */
export interface UploadJob {
  /** The open local file; the sender closes it. */
  readonly source: UploadSource;
  /** The remote name, already validated. */
  readonly name: string;
  readonly overwrite: boolean;
  /** Permission bits to ask for, when they travel. */
  readonly mode?: number | undefined;
  /** The file sealed in the age format on the way, or null. */
  readonly sealed: SealedFile | null;
  readonly compressor?: ChunkCompressor | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Called with the count of content bytes as they are handed over. */
  readonly onBytes?: ((n: number) => void) | undefined;
  /**
   * Ask to continue a partial the server kept, and to have this one kept
   * if it is cut (feature "resume"; files of more than one chunk, not
   * sealed). Default false.
   */
  readonly resume?: boolean | undefined;
}

/**
 * A resumed upload the server refused with `checksum_mismatch`: the file
 * is not what was sent before the cut (it changed with the same size and
 * modification time). The server dropped its partial, so the same upload
 * sent again starts from 0.
 */
export class ResumeMismatch extends ReasonError {
  constructor(options?: ErrorOptions) {
    super(
      "checksum_mismatch",
      "the file changed since its upload was interrupted",
      options,
    );
    this.name = "ResumeMismatch";
  }
}

/** An upload on its way. */
class Upload {
  readonly job: UploadJob;
  readonly request: PendingRequest;
  /** The PUT frame. */
  readonly head: Uint8Array;
  /** Declared size: the age file's when sealed. */
  readonly size: number;
  /** More than one DATA frame: streams in the large lane. */
  readonly large: boolean;
  /** PUT has `resume`: no DATA before PUT_READY. */
  readonly resumable: boolean;
  readonly algorithm: HashAlgorithm;
  /** Replaced by the kept part's hash when the upload is resumed. */
  hash: StreamHash;
  /** PUT_READY resumed it and its plan is being made. */
  planning = false;
  /** Blocks below the kept length to send again, first. */
  rewrites: BlockRange[] = [];
  /** Bytes the server kept, when it resumed the upload. */
  resumedAt = 0;
  /** Sealed and resumed: ciphertext below this is hashed, not sent. */
  skipBelow = 0;
  /**
   * Sealed under a new key while the server kept a partial: ciphertext
   * below this is sent as whole-block rewrites.
   */
  rewriteBelow = 0;
  /** The block size of the server's kept partial. */
  block = 1;
  readonly done: Promise<PutResult>;
  resolve!: (result: PutResult) => void;
  reject!: (error: unknown) => void;
  /** Bytes of the file (declared units) handed over as DATA. */
  offset = 0;
  /** Counted in the session's in-flight uploads. */
  admitted = false;
  putSent = false;
  /** Nothing more will be sent for it (PUT_END sent, or it stopped). */
  stopped = false;
  /** PUT_READY came. */
  ready = false;
  /** DATA bytes sent before PUT_READY, counted in the byte window. */
  unconfirmed = 0;
  /** The caller has its result. */
  ended = false;
  /** The server's final reply came (or the connection ended). */
  replied = false;
  /** The checksum sent in PUT_END (hex of `algorithm`); "" before. */
  checksum = "";
  scratch: Uint8Array | null = null;

  constructor(
    job: UploadJob,
    request: PendingRequest,
    chunkSize: number,
    algorithm: HashAlgorithm,
  ) {
    this.algorithm = algorithm;
    this.hash = createStreamHash(algorithm);
    this.job = job;
    this.request = request;
    this.size = job.sealed ? job.sealed.size : job.source.size;
    this.large = this.size > chunkSize;
    this.resumable = job.resume === true && this.large &&
      job.source.mtime !== undefined;
    this.head = encodeMessage({
      type: "put",
      id: request.id,
      name: job.name,
      size: this.size,
      overwrite: job.overwrite,
      ...(job.source.mtime === undefined ? {} : { mtime: job.source.mtime }),
      ...(job.mode === undefined ? {} : { mode: job.mode }),
      ...(this.resumable ? { resume: true } : {}),
    });
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** See the module comment; one per session. */
export class UploadSender {
  readonly #conn: SenderConn;
  readonly #requests: RequestTable;
  readonly #chunkSize: number;
  readonly #maxUploads: number;
  readonly #maxUnconfirmed: number;
  readonly #onWait: (() => void) | undefined;
  readonly #algorithm: HashAlgorithm;
  /** Sent to, not admitted yet (the in-flight window is full). */
  #waiting: Upload[] = [];
  /** Admitted files of one chunk at most, in order. */
  #small: Upload[] = [];
  /** Admitted larger files; the first one streams. */
  #large: Upload[] = [];
  #inFlight = 0;
  /** Uploads queued whose sending is not over yet. */
  #unsent = 0;
  #unconfirmed = 0;
  /** The uploads of each abort signal, so a signal has one listener. */
  readonly #bySignal = new Map<AbortSignal, Set<Upload>>();
  #largeTurn = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  readonly #buffers: (Uint8Array | null)[] = [null, null];
  /** Settles (never rejects) when the buffer of the same index is free. */
  readonly #written: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  #slot = 0;

  constructor(
    conn: SenderConn,
    requests: RequestTable,
    chunkSize: number,
    options: SenderOptions = {},
  ) {
    this.#conn = conn;
    this.#requests = requests;
    this.#chunkSize = chunkSize;
    this.#maxUploads = Math.max(1, options.maxUploads ?? MAX_UPLOADS);
    this.#maxUnconfirmed = options.maxUnconfirmed ?? UNCONFIRMED_BYTES;
    this.#onWait = options.onWait;
    this.#algorithm = options.algorithm ?? "sha256";
  }

  /** Uploads sent and not answered yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** DATA bytes sent ahead of their PUT_READY. */
  get unconfirmedBytes(): number {
    return this.#unconfirmed;
  }

  /**
   * Queues one upload and returns its result: the server's PUT_DONE,
   * checked against what was sent. Takes `job.source` over (closed once
   * read, or on failure). Never waits itself: the caller bounds how many
   * it queues.
   */
  send(job: UploadJob): Promise<PutResult> {
    let request: PendingRequest;
    try {
      job.signal?.throwIfAborted();
      request = this.#requests.open();
    } catch (error) {
      job.source[Symbol.dispose]();
      return Promise.reject(error);
    }
    const upload = new Upload(job, request, this.#chunkSize, this.#algorithm);
    request.setSink((message) => this.#reply(upload, message));
    request.onFailure((error) => {
      upload.replied = true;
      this.#release(upload);
      this.#end(upload, error);
    });
    if (job.signal) this.#watch(job.signal, upload);
    this.#unsent++;
    this.#waiting.push(upload);
    this.#admit();
    this.#kick();
    return upload.done;
  }

  /** Aborts `upload` when `signal` aborts: one listener per signal. */
  #watch(signal: AbortSignal, upload: Upload): void {
    let uploads = this.#bySignal.get(signal);
    if (!uploads) {
      const watched = new Set<Upload>();
      uploads = watched;
      this.#bySignal.set(signal, watched);
      signal.addEventListener("abort", () => {
        this.#bySignal.delete(signal);
        for (const u of watched) this.#abort(u, signal.reason);
      }, { once: true });
    }
    uploads.add(upload);
  }

  #unwatch(upload: Upload): void {
    const signal = upload.job.signal;
    const uploads = signal && this.#bySignal.get(signal);
    if (!uploads) return;
    uploads.delete(upload);
    // The listener stays until the signal aborts or is collected with it.
  }

  #kick(): void {
    if (this.#loop === null) this.#loop = this.#run();
    else this.#poke();
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Moves waiting uploads into the lanes while the count window allows. */
  #admit(): void {
    if (this.#waiting.length === 0) return;
    const left: Upload[] = [];
    for (const upload of this.#waiting) {
      if (upload.ended) continue;
      if (this.#inFlight >= this.#maxUploads) {
        left.push(upload);
        continue;
      }
      upload.admitted = true;
      this.#inFlight++;
      (upload.large ? this.#large : this.#small).push(upload);
    }
    this.#waiting = left;
  }

  /**
   * The send loop; ends when nothing is left to send. Before a buffer that
   * the last one did not fill, it lets the event loop turn once, so that the
   * files queued meanwhile (by a producer, or by the replies read in one go)
   * share one write instead of one write each.
   */
  async #run(): Promise<void> {
    let backlog = false;
    for (;;) {
      const slot = this.#slot;
      await this.#written[slot];
      if (!backlog) await nextTurn();
      const buffer = this.#buffers[slot] ??= new Uint8Array(
        DATA_PREFIX + Math.max(this.#chunkSize, 64 * 1024) + SLACK,
      );
      this.#admit();
      const used = this.#fill(buffer);
      backlog = used >= this.#chunkSize;
      if (used > 0) {
        this.#written[slot] = this.#write(buffer.subarray(0, used));
        this.#slot = slot ^ 1;
        continue;
      }
      if (!this.#hasWork()) {
        this.#loop = null;
        return;
      }
      const woken = new Promise<void>((resolve) => this.#wake = resolve);
      this.#onWait?.();
      await woken;
    }
  }

  /**
   * Hands `bytes` to the connection, after every earlier write. The one
   * place uploads' bytes leave; the result never rejects (a failed write
   * closes the connection, which fails every request in flight).
   */
  #write(bytes: Uint8Array): Promise<void> {
    return this.#conn.writeAll(bytes).catch(() => this.#conn.close());
  }

  #hasWork(): boolean {
    if (this.#unsent > 0) return true;
    this.#small.length = 0;
    this.#large.length = 0;
    this.#waiting.length = 0;
    return false;
  }

  /**
   * Fills `buffer` with the next frames: a chunk of the large file in turn
   * or as many small files as fit, taking turns. Returns the bytes used.
   */
  #fill(buffer: Uint8Array): number {
    const largeFirst = this.#largeTurn;
    let used = largeFirst ? this.#fillLarge(buffer) : this.#fillSmall(buffer);
    if (used > 0) {
      this.#largeTurn = !largeFirst;
      return used;
    }
    used = largeFirst ? this.#fillSmall(buffer) : this.#fillLarge(buffer);
    if (used > 0) this.#largeTurn = largeFirst;
    return used;
  }

  /** Whether `bytes` more unconfirmed DATA fit in the byte window. */
  #fits(bytes: number): boolean {
    return this.#unconfirmed === 0 ||
      this.#unconfirmed + bytes <= this.#maxUnconfirmed;
  }

  #fillSmall(buffer: Uint8Array): number {
    let at = 0;
    while (this.#small.length > 0) {
      const upload = this.#small[0]!;
      if (upload.ended) {
        this.#small.shift();
        continue;
      }
      const data = upload.size > 0 ? DATA_PREFIX + upload.size : 0;
      const need = upload.head.byteLength + data + END_BYTES;
      if (at + need > buffer.byteLength) break;
      if (!this.#fits(upload.size)) break;
      this.#small.shift();
      at = this.#putSmall(upload, buffer, at);
    }
    return at;
  }

  /** Writes one small upload's PUT, DATA and PUT_END at `at`. */
  #putSmall(upload: Upload, buffer: Uint8Array, at: number): number {
    const { job, size } = upload;
    let end = at + upload.head.byteLength;
    try {
      if (size > 0) {
        const chunk = buffer.subarray(
          end + DATA_PREFIX,
          end + DATA_PREFIX + size,
        );
        if (job.sealed) job.sealed.sealInto(chunk);
        else if (readFull(job.source.file, chunk) < size) throw shrank();
        end += this.#dataFrame(upload, buffer, end, chunk, size > RAW_UP_TO);
      }
    } catch (error) {
      // Nothing of it left: the PUT was not sent.
      this.#stop(upload);
      upload.replied = true;
      upload.request.finish();
      this.#release(upload);
      this.#end(upload, error);
      return at;
    }
    buffer.set(upload.head, at);
    upload.putSent = true;
    end += this.#putEnd(upload, buffer, end);
    job.onBytes?.(job.source.size);
    return end;
  }

  /**
   * Hashes `chunk` (in place after a DATA prefix at `at`), compresses it
   * when `pack` and it pays, and writes the prefix. Returns the frame's
   * bytes.
   */
  #dataFrame(
    upload: Upload,
    buffer: Uint8Array,
    at: number,
    chunk: Uint8Array,
    pack: boolean,
  ): number {
    upload.hash.update(chunk);
    let length = chunk.byteLength;
    const packed = pack ? upload.job.compressor?.compress(chunk) : null;
    if (packed) {
      buffer.set(packed, at + DATA_PREFIX);
      length = packed.byteLength;
    }
    writeDataPrefix(
      buffer.subarray(at),
      upload.request.id,
      upload.offset,
      length,
      {
        zstd: packed != null,
      },
    );
    upload.offset += chunk.byteLength;
    if (!upload.ready) {
      upload.unconfirmed += chunk.byteLength;
      this.#unconfirmed += chunk.byteLength;
    }
    return DATA_PREFIX + length;
  }

  /** Writes PUT_END at `at` and closes the file; returns its bytes. */
  #putEnd(upload: Upload, buffer: Uint8Array, at: number): number {
    upload.checksum = upload.hash.digest();
    const end = encodeMessage({
      type: "put_end",
      id: upload.request.id,
      ...checksumOf(this.#algorithm, upload.checksum),
    });
    buffer.set(end, at);
    this.#stop(upload);
    return end.byteLength;
  }

  /** Writes the PUT and the next chunk of the large file in turn. */
  #fillLarge(buffer: Uint8Array): number {
    let upload = this.#large[0];
    while (upload && (upload.ended || upload.stopped)) {
      this.#large.shift();
      upload = this.#large[0];
    }
    if (!upload) return 0;
    let at = 0;
    if (!upload.putSent) {
      buffer.set(upload.head, 0);
      at = upload.head.byteLength;
      upload.putSent = true;
    }
    const { job } = upload;
    // A resumable upload waits for PUT_READY and its plan.
    if (upload.resumable && (!upload.ready || upload.planning)) return at;
    const step = Math.min(this.#chunkSize, upload.size - upload.offset);
    if (!upload.ready && !this.#fits(step)) return at;
    const start = at;
    try {
      if (upload.rewrites.length > 0) {
        return this.#rewriteFrame(upload, buffer, at);
      } else if (job.sealed) {
        // What the server kept is sealed again and hashed, not sent: go on
        // until something is to be sent (the age stream is sequential).
        const skipping = upload.offset < upload.skipBelow;
        at = this.#sealedFrames(upload, buffer, at);
        while (skipping && at === start && upload.offset < upload.size) {
          at = this.#sealedFrames(upload, buffer, at);
        }
      } else if (step > 0) {
        const chunk = buffer.subarray(
          at + DATA_PREFIX,
          at + DATA_PREFIX + step,
        );
        if (readFull(job.source.file, chunk) < step) throw shrank();
        at += this.#dataFrame(upload, buffer, at, chunk, true);
        job.onBytes?.(step);
      }
    } catch (error) {
      // The PUT is out (maybe in this buffer): the server is told to drop it.
      at = start;
      const cancel = encodeMessage({ type: "cancel", id: upload.request.id });
      buffer.set(cancel, at);
      this.#stop(upload);
      this.#end(upload, error);
      return at + cancel.byteLength;
    }
    if (upload.offset === upload.size && !upload.stopped) {
      at += this.#putEnd(upload, buffer, at);
    }
    if (upload.stopped) this.#large.shift();
    return at;
  }

  /**
   * Writes the next DATA frame of a block sent again (resume) at `at`,
   * read from where it lies in the file; the whole file's hash already
   * holds those bytes. Returns the end of what it wrote.
   */
  #rewriteFrame(upload: Upload, buffer: Uint8Array, at: number): number {
    const range = upload.rewrites[0]!;
    const file = upload.job.source.file;
    const step = Math.min(this.#chunkSize, range.end - range.at);
    const chunk = buffer.subarray(at + DATA_PREFIX, at + DATA_PREFIX + step);
    file.seekSync(range.at, Deno.SeekMode.Start);
    if (readFull(file, chunk) < step) throw shrank();
    writeDataPrefix(buffer.subarray(at), upload.request.id, range.at, step);
    range.at += step;
    if (range.at === range.end) upload.rewrites.shift();
    if (upload.rewrites.length === 0) {
      file.seekSync(upload.offset, Deno.SeekMode.Start);
    }
    return at + DATA_PREFIX + step;
  }

  /**
   * Makes the plan of a resumed upload (resume_plan.ts), then lets it
   * send: the differing blocks, then the rest from the kept length.
   */
  async #resume(
    upload: Upload,
    ready: Extract<Message, { type: "put_ready" }>,
  ): Promise<void> {
    try {
      if (ready.block === undefined || ready.sums === undefined) {
        throw new ProtocolError("PUT_READY resumed without block hashes");
      }
      const { source } = upload.job;
      const plan = await planResume(
        source.file,
        source.size,
        {
          offset: ready.offset,
          block: ready.block,
          sums: ready.sums,
        },
        upload.job.signal,
        upload.algorithm,
      );
      if (upload.ended) return;
      source.file.seekSync(
        plan.rewrites[0]?.at ?? plan.offset,
        Deno.SeekMode.Start,
      );
      upload.hash = plan.hash;
      upload.rewrites = plan.rewrites;
      upload.offset = plan.offset;
      upload.resumedAt = plan.offset;
      upload.planning = false;
      upload.job.onBytes?.(plan.offset);
      this.#poke();
    } catch (error) {
      if (!upload.ended) this.#fault(upload, error);
    }
  }

  /**
   * Seals the next piece of a sealed large file into DATA frames at `at`:
   * in place when the ciphertext fits one chunk, else cut into several.
   */
  #sealedFrames(upload: Upload, buffer: Uint8Array, at: number): number {
    const sealed = upload.job.sealed!;
    const chunkSize = this.#chunkSize;
    if (sealed.fitsChunk(chunkSize)) {
      const out = buffer.subarray(at + DATA_PREFIX);
      const { length, plain, finished } = sealed.sealNext(out, chunkSize);
      if (length > 0) {
        at = this.#sealedPiece(upload, buffer, at, out.subarray(0, length));
      }
      return this.#sealedStep(upload, at, plain, finished);
    }
    // Chunks smaller than an age chunk: sealed aside, then cut.
    const out = upload.scratch ??= new Uint8Array(
      sealed.stepCapacity(chunkSize),
    );
    const { length, plain, finished } = sealed.sealNext(out, chunkSize);
    for (let done = 0; done < length; done += chunkSize) {
      const piece = out.subarray(done, Math.min(length, done + chunkSize));
      const chunk = buffer.subarray(
        at + DATA_PREFIX,
        at + DATA_PREFIX + piece.byteLength,
      );
      chunk.set(piece);
      at = this.#sealedPiece(upload, buffer, at, chunk);
    }
    return this.#sealedStep(upload, at, plain, finished);
  }

  /**
   * A sealed upload the server resumed: with the kept age material (the
   * same ciphertext as before the cut) what the server kept is hashed, not
   * sent; under a new key it is all sent again, as block rewrites.
   */
  #resumeSealed(
    upload: Upload,
    ready: Extract<Message, { type: "put_ready" }>,
  ): void {
    if (ready.offset > upload.size || ready.block === undefined) {
      return this.#fault(
        upload,
        new ProtocolError(`The server kept ${ready.offset} bytes unasked`),
      );
    }
    upload.ready = true;
    upload.block = ready.block;
    if (upload.job.sealed?.reused) {
      upload.skipBelow = ready.offset;
      upload.resumedAt = ready.offset;
    } else {
      upload.rewriteBelow = ready.offset;
    }
    this.#poke();
  }

  /**
   * Writes the DATA frames of sealed ciphertext `chunk` (in place after a
   * DATA prefix at `at`), skipping what the server kept or cutting what it
   * rewrites at block boundaries. Returns the end of what it wrote.
   */
  #sealedPiece(
    upload: Upload,
    buffer: Uint8Array,
    at: number,
    chunk: Uint8Array,
  ): number {
    const limit = Math.max(upload.skipBelow, upload.rewriteBelow);
    if (upload.offset >= limit) {
      return at + this.#dataFrame(upload, buffer, at, chunk, false);
    }
    // Frames are rebuilt in place: work from a copy.
    let rest = chunk.slice();
    while (rest.byteLength > 0) {
      const start = upload.offset;
      if (start < upload.skipBelow) {
        const n = Math.min(rest.byteLength, upload.skipBelow - start);
        upload.hash.update(rest.subarray(0, n));
        upload.offset += n;
        rest = rest.subarray(n);
        continue;
      }
      let n = rest.byteLength;
      if (start < upload.rewriteBelow) {
        const blockEnd = (Math.floor(start / upload.block) + 1) * upload.block;
        n = Math.min(n, blockEnd - start, upload.rewriteBelow - start);
      }
      const view = buffer.subarray(at + DATA_PREFIX, at + DATA_PREFIX + n);
      view.set(rest.subarray(0, n));
      at += this.#dataFrame(upload, buffer, at, view, false);
      rest = rest.subarray(n);
    }
    return at;
  }

  /** Reports a sealed step's plaintext and checks the end of the age file. */
  #sealedStep(
    upload: Upload,
    at: number,
    plain: number,
    finished: boolean,
  ): number {
    if (plain > 0) upload.job.onBytes?.(plain);
    if (finished && upload.offset !== upload.size) {
      throw new Error(
        `Sealed ${upload.offset} bytes where ${upload.size} were due`,
      );
    }
    return at;
  }

  /** Stops sending for `upload` and closes its file. */
  #stop(upload: Upload): void {
    if (upload.stopped) return;
    upload.stopped = true;
    this.#unsent--;
    upload.job.source[Symbol.dispose]();
  }

  /** Takes one reply of `upload`, inside the reader loop. */
  #reply(upload: Upload, message: Message): void {
    if (upload.replied) return;
    switch (message.type) {
      case "put_ready":
        if (upload.ended || upload.ready) return;
        if (message.offset !== 0 && upload.resumable && upload.job.sealed) {
          return this.#resumeSealed(upload, message);
        }
        if (message.offset !== 0 && upload.resumable) {
          upload.ready = true;
          upload.planning = true;
          void this.#resume(upload, message);
          return;
        }
        if (message.offset !== 0) {
          return this.#fault(
            upload,
            new ProtocolError(
              `The server asked to resume at ${message.offset} unasked`,
            ),
          );
        }
        upload.ready = true;
        this.#unconfirmed -= upload.unconfirmed;
        upload.unconfirmed = 0;
        this.#poke();
        return;
      case "error":
        this.#final(upload);
        this.#end(
          upload,
          upload.resumedAt > 0 && message.code === "checksum_mismatch"
            ? new ResumeMismatch({ cause: remoteError(message) })
            : remoteError(message),
        );
        return;
      case "put_done":
        this.#final(upload);
        if (upload.ended) return;
        if (!upload.stopped || upload.checksum === "") {
          this.#stop(upload);
          this.#end(
            upload,
            new ProtocolError("PUT_DONE came before the upload was sent"),
          );
          return;
        }
        this.#end(upload, checkDone(upload, message));
        return;
      default:
        if (upload.ended) return;
        this.#fault(
          upload,
          new ProtocolError(
            `Unexpected ${message.type.toUpperCase()} reply to PUT`,
          ),
        );
    }
  }

  /** The final reply of `upload` came: its id and window places are free. */
  #final(upload: Upload): void {
    upload.replied = true;
    upload.request.finish();
    this.#release(upload);
  }

  /**
   * Fails `upload` alone on a reply it should not have had: stops sending
   * it, asks the server to cancel it, and keeps its id until the server's
   * final reply.
   */
  #fault(upload: Upload, error: unknown): void {
    this.#cancel(upload);
    this.#end(upload, error);
  }

  #abort(upload: Upload, reason: unknown): void {
    if (upload.ended) return;
    if (!upload.putSent) {
      upload.replied = true;
      upload.request.finish();
      this.#release(upload);
    } else {
      this.#cancel(upload);
    }
    this.#stop(upload);
    this.#end(upload, reason);
  }

  /** Stops `upload` and sends CANCEL, after every frame already handed over. */
  #cancel(upload: Upload): void {
    this.#stop(upload);
    if (upload.putSent && !upload.replied && !this.#conn.closed) {
      this.#conn.send({ type: "cancel", id: upload.request.id }).catch(
        () => {},
      );
    }
  }

  /**
   * Gives back `upload`'s places in both windows (once). The sender is
   * woken for a freed place only once a quarter of the places are free, so
   * the files admitted then share one write instead of one write each.
   */
  #release(upload: Upload): void {
    if (upload.admitted) {
      upload.admitted = false;
      this.#inFlight--;
    }
    const confirmed = upload.unconfirmed > 0;
    this.#unconfirmed -= upload.unconfirmed;
    upload.unconfirmed = 0;
    if (confirmed || this.#inFlight <= this.#maxUploads * 3 / 4) this.#poke();
  }

  /** Settles `upload`'s result (once) with a result or an error. */
  #end(upload: Upload, outcome: PutResult | unknown): void {
    if (upload.ended) return;
    upload.ended = true;
    this.#stop(upload);
    this.#unwatch(upload);
    if (outcome instanceof Outcome) upload.resolve(outcome.result);
    else upload.reject(outcome);
  }
}

/** A successful result, told apart from an error by its class. */
class Outcome {
  constructor(readonly result: PutResult) {}
}

/** Checks PUT_DONE against what was sent. */
function checkDone(
  upload: Upload,
  done: Extract<Message, { type: "put_done" }>,
): Outcome | Error {
  let name = upload.job.name; // validated before it was sent
  try {
    if (done.name !== name) name = validateName(done.name);
  } catch (cause) {
    return new ProtocolError(
      "The server confirmed the upload under an invalid name",
      { cause },
    );
  }
  const sum = checksumParts(done);
  if (
    done.size !== upload.size || sum.algorithm !== upload.algorithm ||
    sum.hex !== upload.checksum
  ) {
    return new ReasonError(
      "checksum_mismatch",
      `the server reports a different size or ${
        hashName(upload.algorithm)
      } than was sent`,
    );
  }
  return new Outcome({
    name,
    size: upload.size,
    ...checksumOf(upload.algorithm, upload.checksum),
    ...(upload.job.sealed ? { encrypted: true } : {}),
    ...(upload.resumedAt > 0 ? { resumedAt: upload.resumedAt } : {}),
  });
}

function shrank(): ReasonError {
  return new ReasonError("io", "the local file shrank while it was being sent");
}
