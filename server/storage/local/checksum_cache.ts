/**
 * Remembers the SHA-256 of stored files, so a download need not hash what
 * it sends: the server verified every upload's SHA-256 before committing
 * it, and a file placed by other means is hashed on its first download.
 *
 * One small JSON file per file, `<root>/.fts/sums/<dev>-<ino>`, keyed by
 * device and inode (renames and hard links keep them) and valid only while
 * the file still has the size, modification time, change time and birth
 * time it had when the entry was written. The change time moves on every
 * write and every `utime`, so an in-place change that keeps size and
 * modification time is caught too, as precisely as the runtime reports
 * ctime (Deno 2.9.6 on Linux: whole seconds).
 *
 * Racy entries (as in git's index): a write that lands within the file
 * system's timestamp granularity of the moment an entry's state was
 * observed could leave every timestamp as it was. So an entry is written
 * only when the file's modification time was at least {@linkcode RACY_MS}
 * older than that moment, and one whose timestamps are in the future is
 * never written.
 *
 * Why a wrong entry can never let bad data pass: the hash goes to the
 * client in GET_END, and the client compares it with the hash of the bytes
 * it actually received. A stale or corrupted entry therefore makes the
 * download fail with `checksum_mismatch`, loudly, and never makes corrupted
 * bytes look right. With an entry, GET_END proves more than without one: it
 * checks the stored bytes against what was uploaded, so a disk that changed
 * them is noticed too.
 *
 * Failures of the cache itself (a full disk, a damaged entry) are never
 * errors of the request: a lookup that fails is a miss, a write that fails
 * is skipped.
 *
 * @module
 */

import { join } from "node:path";
import { type Clock, systemClock } from "../../../common/clock.ts";

/**
 * Modification times closer than this to the moment a file was observed
 * are "racy": the file could still change without changing its timestamps
 * (2 s is FAT's granularity; ext4, XFS, btrfs and APFS are finer).
 */
const RACY_MS = 3000;

/** Files smaller than this are not cached: hashing them costs less. */
const MIN_CACHED_SIZE = 1024 * 1024;

/** The largest entry file read back; real entries are about 250 bytes. */
const MAX_ENTRY_BYTES = 4096;

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** What identifies one state of a file on the local disk. */
export interface FileStamp {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  /** Modification time, ms since the epoch. */
  readonly mtime: number;
  /** Change time (inode change), ms since the epoch. */
  readonly ctime: number;
  /** Birth time, ms since the epoch, or null where the system has none. */
  readonly birthtime: number | null;
}

/**
 * The stamp of a regular file, or null when the platform does not report
 * device, inode, modification or change time (then nothing is cached).
 */
export function stampOf(info: Deno.FileInfo): FileStamp | null {
  if (!info.isFile || info.dev === null || info.ino === null) return null;
  const mtime = info.mtime?.getTime();
  const ctime = info.ctime?.getTime();
  if (mtime === undefined || ctime === undefined) return null;
  return {
    dev: info.dev,
    ino: info.ino,
    size: info.size,
    mtime,
    ctime,
    birthtime: info.birthtime?.getTime() ?? null,
  };
}

/** True when `a` and `b` describe the same state of the same file. */
export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size &&
    a.mtime === b.mtime && a.ctime === b.ctime && a.birthtime === b.birthtime;
}

/** Options of {@linkcode ChecksumCache.open}. */
export interface ChecksumCacheOptions {
  /**
   * The clock that observation times are taken from; it must be the one
   * file timestamps are made with. Default: the system clock.
   */
  clock?: Clock;
  /** Files smaller than this are not cached. Default 1 MiB. */
  minSize?: number;
}

/** See the module comment. Create with {@linkcode ChecksumCache.open}. */
export class ChecksumCache {
  readonly #dir: string;
  readonly #clock: Clock;
  readonly #minSize: number;

  private constructor(dir: string, clock: Clock, minSize: number) {
    this.#dir = dir;
    this.#clock = clock;
    this.#minSize = minSize;
  }

  /**
   * Uses folder `dir` (which must exist and be private to the server) and
   * removes entry files a crash left half written.
   */
  static async open(
    dir: string,
    options: ChecksumCacheOptions = {},
  ): Promise<ChecksumCache> {
    const cache = new ChecksumCache(
      dir,
      options.clock ?? systemClock,
      options.minSize ?? MIN_CACHED_SIZE,
    );
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".tmp")) {
        await Deno.remove(join(dir, e.name)).catch(() => {});
      }
    }
    return cache;
  }

  /** Whether files of `size` bytes are cached at all. */
  accepts(size: number): boolean {
    return size >= this.#minSize;
  }

  /** The current time on the cache's clock (to pass to {@linkcode record}). */
  now(): number {
    return this.#clock.now();
  }

  /**
   * The SHA-256 (hex) recorded for exactly this state of the file, or null.
   * Never throws. The entry (about 250 bytes) is read with synchronous
   * calls: from the page cache they take microseconds, where each
   * asynchronous call costs about 80.
   */
  lookup(stamp: FileStamp): Promise<string | null> {
    return Promise.resolve(this.lookupSync(stamp));
  }

  /** {@linkcode lookup}, synchronous. */
  lookupSync(stamp: FileStamp): string | null {
    if (!this.accepts(stamp.size)) return null;
    let bytes: Uint8Array;
    try {
      using file = Deno.openSync(this.#path(stamp), { read: true });
      bytes = new Uint8Array(MAX_ENTRY_BYTES + 1);
      let filled = 0;
      for (;;) {
        const n = file.readSync(bytes.subarray(filled));
        if (n === null) break;
        filled += n;
        if (filled > MAX_ENTRY_BYTES) return null;
      }
      bytes = bytes.subarray(0, filled);
    } catch {
      return null;
    }
    const entry = parseEntry(bytes);
    if (entry === null || !sameStamp(entry.stamp, stamp)) return null;
    return entry.sha256;
  }

  /**
   * Records that the file in state `stamp`, observed at `observedAt` (this
   * cache's clock), has SHA-256 `sha256`. Skipped for small files and racy
   * stamps (see the module comment). Never throws.
   */
  async record(
    stamp: FileStamp,
    sha256: string,
    observedAt: number,
  ): Promise<void> {
    if (stamp.size < this.#minSize || !SHA256_HEX.test(sha256)) return;
    if (observedAt - stamp.mtime < RACY_MS) return;
    if (stamp.ctime > observedAt || (stamp.birthtime ?? 0) > observedAt) {
      return;
    }
    const path = this.#path(stamp);
    const temp = `${path}.${crypto.randomUUID()}.tmp`;
    const text = JSON.stringify({ v: 1, ...stamp, sha256 });
    try {
      await Deno.writeTextFile(temp, text, { createNew: true, mode: 0o600 });
      await Deno.rename(temp, path);
    } catch {
      await Deno.remove(temp).catch(() => {});
    }
  }

  /**
   * Records `sha256` for the file now at `path`, provided it is still the
   * file `expected` describes in everything but its change time, which a
   * rename or link moves (an in-place write would move the modification
   * time too). Never throws.
   */
  async recordAt(
    path: string,
    expected: FileStamp,
    sha256: string,
  ): Promise<void> {
    if (expected.size < this.#minSize) return;
    const observedAt = this.now();
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch {
      return;
    }
    const now = stampOf(info);
    if (
      now === null || now.dev !== expected.dev || now.ino !== expected.ino ||
      now.size !== expected.size || now.mtime !== expected.mtime ||
      now.birthtime !== expected.birthtime
    ) {
      return;
    }
    await this.record(now, sha256, observedAt);
  }

  /**
   * Keeps the entry of a file that was just renamed or linked to `path`
   * (`before` is its state before): such a file keeps device and inode,
   * but its change time moves. Never throws.
   */
  async carry(before: FileStamp, path: string): Promise<void> {
    const sha256 = await this.lookup(before);
    if (sha256 !== null) await this.recordAt(path, before, sha256);
  }

  /**
   * Drops the entry of the file `info` describes, in whatever state: for a
   * file that was deleted or replaced. Never throws.
   */
  async forget(info: Deno.FileInfo): Promise<void> {
    const stamp = stampOf(info);
    if (stamp === null || stamp.size < this.#minSize) return;
    await Deno.remove(this.#path(stamp)).catch(() => {});
  }

  #path(stamp: FileStamp): string {
    return join(this.#dir, `${stamp.dev}-${stamp.ino}`);
  }
}

interface Entry {
  readonly stamp: FileStamp;
  readonly sha256: string;
}

/** Parses an entry file; anything unexpected is null (a miss). */
function parseEntry(bytes: Uint8Array): Entry | null {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const e = value as Record<string, unknown>;
  const numbers = [e.dev, e.ino, e.size, e.mtime, e.ctime];
  if (e.v !== 1 || !numbers.every(Number.isSafeInteger)) return null;
  if (e.birthtime !== null && !Number.isSafeInteger(e.birthtime)) return null;
  if (typeof e.sha256 !== "string" || !SHA256_HEX.test(e.sha256)) return null;
  return {
    stamp: {
      dev: e.dev as number,
      ino: e.ino as number,
      size: e.size as number,
      mtime: e.mtime as number,
      ctime: e.ctime as number,
      birthtime: e.birthtime as number | null,
    },
    sha256: e.sha256,
  };
}
