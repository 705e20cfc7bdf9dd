/**
 * The partial file of a download that may be resumed (feature "resume"):
 * a hidden file in the destination folder, named after the local name
 * (`.fts-resume-<h>.part`), beside a sidecar (`.fts-resume-<h>.sums`) that
 * says which remote file it holds the start of (name, size, mtime) and the
 * block hashes of the bytes written and synced. The data is synced before
 * the sidecar that describes it is written, so a sidecar never claims bytes
 * a crash could lose; a partial without a sidecar is started over.
 *
 * While open, the partial holds an exclusive advisory lock: a second
 * download of the same name at the same time (another process) finds it
 * locked and downloads without resume. Neither name matches the temporary
 * files that sessions sweep (`reclaimPartFiles`), and both are hidden from
 * the client's listings (`isTempName`).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { hex } from "@scure/base";
import {
  blockSizeFor,
  decodeSidecar,
  DIGEST_BYTES,
  encodeSidecar,
  MAX_SIDECAR_TEXT,
  type Sidecar,
} from "../../common/chunk_sums.ts";
import { removeQuietly } from "../../common/remove_quietly.ts";
import {
  createStreamHash,
  type HashAlgorithm,
  type StreamHash,
} from "../../common/stream_hash.ts";
import { readFull, writeFull } from "./local_files.ts";

/** Prefix of a resumable partial's and its sidecar's names. */
const PREFIX = ".fts-resume-";

/**
 * Time between the starts of two checkpoints (a data sync, then the
 * sidecar) at least, after the first, which comes with the first whole
 * block. A checkpoint runs beside the writes that follow it (it covers
 * what was written when it began), so a killed client loses about this
 * much of the transfer, and the download does not wait for the disk.
 */
const CHECKPOINT_MS = 1000;

/** The remote file a partial holds the start of. */
export interface PartialSource {
  readonly remote: string;
  readonly size: number;
  readonly mtime: number;
}

/**
 * Where a download into a partial starts: from 0, or from `from` after
 * fetching `damaged` blocks again (indexes, in increasing order).
 */
export interface ResumePlan {
  /** The remote file the partial holds, or null to start over. */
  readonly source: PartialSource | null;
  /** Where the rest is fetched from (0 when starting over). */
  readonly from: number;
  readonly block: number;
  /** Blocks below `from` whose bytes differ from their hashes. */
  readonly damaged: readonly number[];
  /**
   * The whole file's checksum the server sent earlier, as
   * `algorithm:hex`, if any.
   */
  readonly checksum: string | undefined;
  /**
   * The whole file's hash (in the agreed algorithm) fed with the
   * partial's bytes up to the first damaged block (up to `from` when none
   * is).
   */
  readonly whole: StreamHash;
}

/** A download's partial file, open and locked. */
export class DownloadPartial {
  readonly path: string;
  readonly sidecarPath: string;
  readonly file: Deno.FsFile;
  /** False once the data is no longer the bytes received (decrypted). */
  resumable = true;
  #source: PartialSource | null = null;
  #block = 0;
  /** Hashes of the blocks below `#hasher`'s start, by index. */
  #sums: Uint8Array[] = [];
  /** Hashes the bytes appended from `#base` on. */
  #hasher: LocalBlockHasher | null = null;
  #base = 0;
  #checkpointed = 0;
  #lastCheckpoint = 0;
  /** The checkpoint running beside the writes, if any. */
  #pending: Promise<void> | null = null;
  /** Whether the data needs syncing (not on tmpfs or ramfs). */
  #durable = true;
  #checksum: string | undefined;

  private constructor(dir: string, key: string, file: Deno.FsFile) {
    this.path = join(dir, `${PREFIX}${key}.part`);
    this.sidecarPath = join(dir, `${PREFIX}${key}.sums`);
    this.file = file;
  }

  /**
   * Opens (or creates) the partial of local name `base` in real folder
   * `dir` and locks it. Returns null when it is in use by another download
   * or is not a regular file (then the download goes on without resume).
   * `volatile` tells whether `dir` keeps nothing across a power loss
   * (tmpfs, ramfs), where syncs are skipped.
   */
  static open(
    dir: string,
    base: string,
    volatile = false,
  ): DownloadPartial | null {
    const key = partialKey(base);
    const path = join(dir, `${PREFIX}${key}.part`);
    const info = lstatOrNull(path);
    if (info !== null && !info.isFile) return null;
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true, write: true, create: true });
    } catch {
      return null;
    }
    if (!file.tryLockSync(true) || !namesFile(path, file)) {
      file.close();
      return null;
    }
    const partial = new DownloadPartial(dir, key, file);
    partial.#durable = !volatile;
    return partial;
  }

  /**
   * Removes the partial and sidecar of local name `base` in `dir`, unless
   * another download holds them.
   */
  static discardAt(dir: string, base: string): void {
    const key = partialKey(base);
    const path = join(dir, `${PREFIX}${key}.part`);
    if (lstatOrNull(path) === null) {
      removeQuietly(join(dir, `${PREFIX}${key}.sums`));
      return;
    }
    const partial = DownloadPartial.open(dir, base);
    if (partial) partial.#remove();
  }

  /**
   * Decides where the download of `remote` starts: reads the sidecar and,
   * when it describes `remote` (with `expect`'s size and mtime, if given),
   * hashes the partial's blocks against it. Anything that does not fit
   * starts over. `algorithm` is the one agreed for the whole file's check.
   */
  plan(
    remote: string,
    expect: { size: number; mtime: number } | undefined,
    algorithm: HashAlgorithm,
  ): ResumePlan {
    const fresh = freshPlan(algorithm);
    const sidecar = this.#readSidecar();
    if (sidecar === null) return fresh;
    const f = sidecar.fields;
    const { size, mtime } = f;
    if (
      f.remote !== remote || f.blocks !== BLOCK_HASH ||
      typeof size !== "number" ||
      typeof mtime !== "number" || !Number.isSafeInteger(size) ||
      !Number.isSafeInteger(mtime) || sidecar.block !== blockSizeFor(size) ||
      sidecar.length > size ||
      (sidecar.length % sidecar.block !== 0 && sidecar.length !== size) ||
      (expect !== undefined &&
        (expect.size !== size || expect.mtime !== mtime))
    ) {
      return fresh;
    }
    const checksum = typeof f.checksum === "string" ? f.checksum : undefined;
    const length = sidecar.length;
    if (this.file.statSync().size < length) return fresh;
    const damaged = this.#verify(sidecar);
    const whole = createStreamHash(algorithm);
    const verifiedEnd = damaged.length > 0
      ? damaged[0]! * sidecar.block
      : sidecar.length;
    this.hashRange(0, verifiedEnd, whole);
    this.#source = { remote, size, mtime };
    this.#block = sidecar.block;
    this.#checksum = checksum;
    this.#sums = [];
    for (let i = 0; i * DIGEST_BYTES < sidecar.sums.byteLength; i++) {
      this.#sums.push(
        sidecar.sums.slice(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES),
      );
    }
    this.file.truncateSync(length);
    this.#startAppending(length);
    return {
      source: this.#source,
      from: length,
      block: sidecar.block,
      damaged,
      checksum,
      whole,
    };
  }

  /** Drops what the partial holds: the download starts over at byte 0. */
  async reset(): Promise<void> {
    await this.settle();
    removeQuietly(this.sidecarPath);
    this.file.truncateSync(0);
    this.#source = null;
    this.#sums = [];
    this.#hasher = null;
    this.#base = 0;
    this.#checkpointed = 0;
    this.#checksum = undefined;
  }

  /** Sets the remote file a download from 0 fills this partial with. */
  begin(source: PartialSource): void {
    this.#source = source;
    this.#block = blockSizeFor(source.size);
    this.#startAppending(0);
  }

  /** Remembers the whole file's checksum the server sent (`algorithm:hex`). */
  set checksum(value: string) {
    this.#checksum = value;
  }

  /**
   * A sink that writes block `index` again (fetched again after it failed
   * its hash) and then takes its new hash with `done()`.
   */
  repairer(index: number): {
    write(p: Uint8Array): Promise<number>;
    done(): void;
  } {
    const hash = createStreamHash(BLOCK_HASH);
    let at = index * this.#block;
    return {
      write: (p: Uint8Array) => {
        this.file.seekSync(at, Deno.SeekMode.Start);
        writeFull(this.file, p);
        hash.update(p);
        at += p.byteLength;
        return Promise.resolve(p.byteLength);
      },
      done: () => {
        this.#sums[index] = hex.decode(hash.digest());
      },
    };
  }

  /** Reads the partial from `from` to `to` into `hash`. */
  hashRange(from: number, to: number, hash: StreamHash): void {
    this.file.seekSync(from, Deno.SeekMode.Start);
    const buffer = new Uint8Array(Math.min(1 << 20, Math.max(1, to - from)));
    for (let at = from; at < to;) {
      const want = Math.min(buffer.byteLength, to - at);
      const n = readFull(this.file, buffer.subarray(0, want));
      if (n < want) throw new Deno.errors.UnexpectedEof("the partial shrank");
      hash.update(buffer.subarray(0, n));
      at += n;
    }
  }

  /**
   * A sink that appends to the partial from its appended end, hashing the
   * blocks and checkpointing about once a second. Its writes are
   * asynchronous: the disk works on a worker thread while the next chunk
   * arrives (the caller's `BackgroundWriter` keeps two in flight).
   */
  appender(): { write(p: Uint8Array): Promise<number> } {
    this.file.seekSync(this.#base + (this.#hasher?.length ?? 0), 0);
    return {
      write: async (p: Uint8Array) => {
        this.#hasher?.update(p);
        for (let at = 0; at < p.byteLength;) {
          at += await this.file.write(p.subarray(at));
        }
        const hashed = this.#hashedEnd();
        if (
          this.#pending === null && hashed > this.#checkpointed &&
          (this.#checkpointed === this.#base ||
            performance.now() - this.#lastCheckpoint >= CHECKPOINT_MS)
        ) {
          this.#lastCheckpoint = performance.now();
          const running = this.checkpoint().catch(() => {
            // The previous sidecar still holds; the next checkpoint retries.
          });
          this.#pending = running.finally(() => this.#pending = null);
        }
        return p.byteLength;
      },
    };
  }

  /**
   * Syncs the partial's data, then writes the sidecar for the whole blocks
   * written (all of the file once it is complete). Does nothing for a
   * partial that is not resumable or not begun.
   */
  async checkpoint(): Promise<void> {
    if (!this.resumable || this.#source === null || this.#hasher === null) {
      return;
    }
    const complete = this.#base + this.#hasher.length === this.#source.size;
    const sums = complete
      ? [...this.#sums, ...split(this.#hasherFinishCopy())]
      : [...this.#sums, ...split(this.#hasher.sums)];
    const length = complete ? this.#source.size : this.#hashedEnd();
    if (length === 0) return;
    if (this.#durable) await this.file.syncData();
    const fields: Record<string, string | number> = {
      remote: this.#source.remote,
      size: this.#source.size,
      mtime: this.#source.mtime,
      blocks: BLOCK_HASH,
      ...(this.#checksum !== undefined ? { checksum: this.#checksum } : {}),
    };
    const sidecar: Sidecar = {
      block: this.#block,
      length,
      sums: concat(sums),
      fields,
    };
    writeAtomically(this.sidecarPath, encodeSidecar(sidecar));
    this.#checkpointed = length;
  }

  /** Waits for the checkpoint running beside the writes, if any. */
  async settle(): Promise<void> {
    await this.#pending;
  }

  /**
   * Keeps the partial for a later run (saving what it can), and closes it;
   * one that never got a sidecar (not a whole block) is removed instead.
   */
  async keep(): Promise<void> {
    await this.settle();
    try {
      await this.checkpoint();
    } catch {
      // What the last sidecar says still holds.
    }
    if (this.#checkpointed === 0) this.#remove();
    else this.file.close();
  }

  /** Removes the partial and its sidecar, and closes it. */
  async discard(): Promise<void> {
    await this.settle();
    this.#remove();
  }

  /** Removes the partial and its sidecar, and closes it; nothing running. */
  #remove(): void {
    removeQuietly(this.sidecarPath);
    removeQuietly(this.path); // while locked: nobody else is writing it
    this.file.close();
  }

  /** Removes the sidecar once the partial was committed under its name. */
  committed(): void {
    removeQuietly(this.sidecarPath);
  }

  #startAppending(base: number): void {
    this.#base = base;
    this.#checkpointed = base;
    this.#hasher = new LocalBlockHasher(this.#block);
  }

  /** End of the whole blocks hashed so far. */
  #hashedEnd(): number {
    if (this.#hasher === null) return this.#base;
    return this.#base +
      Math.floor(this.#hasher.length / this.#block) * this.#block;
  }

  /** The appended blocks' hashes, the short last block included. */
  #hasherFinishCopy(): Uint8Array {
    // finish() ends it; the file is complete, so nothing follows.
    return this.#hasher!.finish();
  }

  /** Hashes the partial's blocks; returns the indexes that differ. */
  #verify(sidecar: Sidecar): number[] {
    const damaged: number[] = [];
    const buffer = new Uint8Array(Math.min(sidecar.block, 1 << 20));
    this.file.seekSync(0, Deno.SeekMode.Start);
    for (let index = 0; index * sidecar.block < sidecar.length; index++) {
      const start = index * sidecar.block;
      const end = Math.min(start + sidecar.block, sidecar.length);
      const block = createStreamHash(BLOCK_HASH);
      for (let at = start; at < end;) {
        const want = Math.min(buffer.byteLength, end - at);
        const n = readFull(this.file, buffer.subarray(0, want));
        const view = buffer.subarray(0, n);
        block.update(view);
        at += want;
        if (n < want) break;
      }
      const digest = hex.decode(block.digest());
      const at = index * DIGEST_BYTES;
      if (!equalBytes(digest, sidecar.sums.subarray(at, at + DIGEST_BYTES))) {
        damaged.push(index);
      }
    }
    return damaged;
  }

  #readSidecar(): Sidecar | null {
    const info = lstatOrNull(this.sidecarPath);
    if (info === null || !info.isFile || info.size > MAX_SIDECAR_TEXT) {
      return null;
    }
    try {
      return decodeSidecar(Deno.readTextFileSync(this.sidecarPath));
    } catch {
      return null;
    }
  }
}

/**
 * The hash of a partial's blocks. The sidecar stays on the client, so its
 * hashes need no common rule with a server: XXH3-128 (16 bytes, as the
 * sidecar format holds) costs a third of SHA-256's CPU on every byte a
 * download writes. It guards against damage on the local disk, not
 * against an attacker, who could rewrite the sidecar as well; the whole
 * file's checksum from the server decides what is kept.
 */
const BLOCK_HASH = "xxh128";

/**
 * Hashes bytes appended in any chunk sizes block by block, in
 * {@linkcode BLOCK_HASH}: `sums` holds the digests of the whole blocks so
 * far, `finish()` adds the short last one.
 */
class LocalBlockHasher {
  readonly #block: number;
  #hash: StreamHash = createStreamHash(BLOCK_HASH);
  #inBlock = 0;
  #length = 0;
  readonly #digests: Uint8Array[] = [];

  constructor(block: number) {
    this.#block = block;
  }

  /** Bytes hashed so far. */
  get length(): number {
    return this.#length;
  }

  update(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.byteLength;) {
      const take = Math.min(this.#block - this.#inBlock, bytes.byteLength - at);
      this.#hash.update(bytes.subarray(at, at + take));
      at += take;
      this.#inBlock += take;
      this.#length += take;
      if (this.#inBlock === this.#block) this.#close();
    }
  }

  /** The digests of the whole blocks so far, concatenated. */
  get sums(): Uint8Array {
    return concat(this.#digests);
  }

  /** The digests of every block, the short last one included. */
  finish(): Uint8Array {
    if (this.#inBlock > 0) this.#close();
    return this.sums;
  }

  #close(): void {
    this.#digests.push(hex.decode(this.#hash.digest()));
    this.#hash = createStreamHash(BLOCK_HASH);
    this.#inBlock = 0;
  }
}

/** A plan that starts over at byte 0, checked in `algorithm`. */
export function freshPlan(algorithm: HashAlgorithm): ResumePlan {
  return {
    source: null,
    from: 0,
    block: 0,
    damaged: [],
    checksum: undefined,
    whole: createStreamHash(algorithm),
  };
}

/** The part of a partial's name that stands for local name `base`. */
function partialKey(base: string): string {
  const digest = createHash("sha256").update(base).digest();
  return hex.encode(digest.subarray(0, 8));
}

/** Writes `text` to `path` through a new file renamed over it. */
function writeAtomically(path: string, text: string): void {
  const temp = `${path}.tmp`;
  removeQuietly(temp);
  const file = Deno.openSync(temp, { write: true, createNew: true });
  try {
    writeFull(file, new TextEncoder().encode(text));
  } finally {
    file.close();
  }
  Deno.renameSync(temp, path);
}

function split(sums: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < sums.byteLength; at += DIGEST_BYTES) {
    out.push(sums.subarray(at, at + DIGEST_BYTES));
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.length * DIGEST_BYTES);
  parts.forEach((part, i) => out.set(part, i * DIGEST_BYTES));
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch {
    return null;
  }
}

/** Tells whether `path` is still a regular file and the one `file` has open. */
function namesFile(path: string, file: Deno.FsFile): boolean {
  try {
    const named = Deno.lstatSync(path);
    const open = file.statSync();
    return named.isFile && named.ino === open.ino && named.dev === open.dev;
  } catch {
    return false;
  }
}
