/**
 * Where downloads land on the local side, and how they become visible:
 * every path is built from a validated name under the local folder, parent
 * folders are created only inside it (a symlink that leads out is refused),
 * data goes to a hidden temporary file that is renamed into place only once
 * complete, verified and synced (see `commit_group.ts`). The metadata calls
 * here are synchronous: each takes microseconds, where an asynchronous
 * file-system call costs tens (a hop to a worker thread and back).
 *
 * @module
 */

import { join, relative, resolve, sep } from "node:path";
import { hex } from "@scure/base";
import { collisionName, quoteName, splitName } from "../../protocol/names.ts";
import { ReasonError } from "../errors.ts";

/** Where a streamed download writes: standard output, a FIFO, a device. */
export interface ByteSink {
  /** Writes some of `p`; resolves with the count written. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * What an existing local target that is not a regular file or a folder
 * takes: `"stream"` for a character device or a FIFO (written into as
 * they are, never replaced); null for anything else (absent, a regular
 * file, a folder, a broken link).
 *
 * @throws {ReasonError} for a socket or a block device, which are refused.
 */
export function specialTarget(path: string, base: string): "stream" | null {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
    if (info.isSymlink) info = Deno.statSync(path);
  } catch {
    return null;
  }
  if (info.isFile || info.isDirectory) return null;
  if (info.isCharDevice || info.isFifo) return "stream";
  const kind = info.isSocket
    ? "a socket"
    : info.isBlockDevice
    ? "a block device"
    : "not a regular file";
  throw new ReasonError(
    "bad_request",
    `the local ${quoteName(base)} is ${kind}`,
  );
}

/**
 * Opens `path`, which {@linkcode specialTarget} found to be a stream, for
 * writing (never creating or truncating), and checks that what was opened
 * is still a character device or a FIFO: a regular file swapped in
 * meanwhile is never written into in place. Opening a FIFO waits for a
 * reader.
 *
 * @throws {ReasonError} when `path` is no longer a device or FIFO.
 */
export async function openStreamTarget(
  path: string,
  base: string,
): Promise<Deno.FsFile> {
  const file = await Deno.open(path, { write: true });
  try {
    const info = await file.stat();
    if (info.isCharDevice || info.isFifo) return file;
  } catch (error) {
    file.close();
    throw error;
  }
  file.close();
  throw new ReasonError(
    "bad_request",
    `the local ${quoteName(base)} changed while it was opened`,
  );
}

/** Prefix and suffix of the temporary files downloads are written to. */
const TEMP_PREFIX = ".fts-";
const TEMP_SUFFIX = ".part";
/** Suffixes of a resumable partial's sidecar and of its next version. */
const SIDECAR_SUFFIXES = [".sums", ".sums.tmp"];

/**
 * Tells whether a local file name is one of fts's temporary files: a
 * download's part file, or a resumable partial's sidecar.
 */
export function isTempName(base: string): boolean {
  return base.startsWith(TEMP_PREFIX) &&
    (base.endsWith(TEMP_SUFFIX) ||
      SIDECAR_SUFFIXES.some((suffix) => base.endsWith(suffix)));
}

/** Where a validated name lands under a local folder. */
export interface LocalTarget {
  /** Real path of the folder the file goes in (created if needed). */
  readonly dir: string;
  /** The file's base name. */
  readonly base: string;
}

/** A {@linkcode LocalTarget} with what the folder's scan knew of the name. */
export interface ResolvedTarget extends LocalTarget {
  /**
   * False when the name was absent from its folder when the folder was
   * first resolved (made by this batch, or scanned without it): then no
   * device or FIFO needs looking for there. True when it may exist.
   */
  readonly mayExist: boolean;
}

/** Most `(n) name` variants tried before giving up. */
const MAX_COLLISIONS = 10_000;

/** Names kept from a scanned folder at most; larger folders keep none. */
const MAX_SCANNED_NAMES = 1024;

/** Folders a {@linkcode LocalFolders} remembers before it starts afresh. */
const MAX_KNOWN_FOLDERS = 4096;

/** A resolved local folder. */
interface KnownFolder {
  readonly dir: string;
  /** The names it held when first resolved; null when not kept. */
  readonly names: ReadonlySet<string> | null;
}

const NO_NAMES: ReadonlySet<string> = new Set();

/**
 * The local folders of one batch of downloads under `localDir`, each
 * resolved once with synchronous calls (a handful of microseconds, where
 * an asynchronous file-system call costs tens): missing folders are made
 * inside `localDir`, links that lead out of it refused, and left-over part
 * files of killed clients removed the first time a session writes into a
 * folder that existed before (`reclaimed` holds the folders done; the
 * names that read found are kept as a hint).
 *
 * What it remembers is a hint, never a check that guards data: a name
 * absent when its folder was scanned only spares the look for a device or
 * FIFO there; the naming of a file never replaces one anyway.
 */
export class LocalFolders {
  readonly #localDir: string;
  readonly #reclaimed: Set<string>;
  #root: string | null = null;
  readonly #known = new Map<string, KnownFolder>();

  constructor(localDir: string, reclaimed: Set<string>) {
    this.#localDir = localDir;
    this.#reclaimed = reclaimed;
  }

  /**
   * Resolves validated folder name `name` ("" for the top) under the
   * local folder, making the missing folders; returns its real path.
   *
   * @throws {ReasonError} when a component is a file, or a symlink that
   * leads outside the local folder; a Deno file-system error when the
   * local folder is missing.
   */
  folder(name: string): string {
    return this.#folder(name).dir;
  }

  /**
   * Where validated file name `name` lands (its folder resolved as by
   * {@linkcode folder}).
   */
  target(name: string): ResolvedTarget {
    const { parent, base } = splitName(name);
    const folder = this.#folder(parent);
    return {
      dir: folder.dir,
      base,
      mayExist: folder.names === null || folder.names.has(base),
    };
  }

  #folder(name: string): KnownFolder {
    const known = this.#known.get(name);
    if (known) return known;
    const root = this.#root ??= Deno.realPathSync(this.#localDir);
    let found: KnownFolder;
    if (name === "") {
      found = this.#scanned(root);
    } else {
      const { parent, base } = splitName(name);
      const entered = enterFolderSync(root, this.#folder(parent).dir, base);
      if (entered.made) this.#reclaimed.add(entered.dir);
      found = entered.made
        ? { dir: entered.dir, names: NO_NAMES }
        : this.#scanned(entered.dir);
    }
    if (this.#known.size >= MAX_KNOWN_FOLDERS) this.#known.clear();
    this.#known.set(name, found);
    return found;
  }

  /**
   * An existing folder, read once per session: its left-over part files
   * are removed and its names kept (if few).
   */
  #scanned(dir: string): KnownFolder {
    if (this.#reclaimed.has(dir)) return { dir, names: null };
    this.#reclaimed.add(dir);
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return { dir, names: null };
    }
    reclaimEntries(dir, entries);
    if (entries.length > MAX_SCANNED_NAMES) return { dir, names: null };
    return { dir, names: new Set(entries.map((entry) => entry.name)) };
  }
}

/**
 * Enters (or makes) folder `part` of real folder `dir` under `root`.
 * Making is tried first: a new tree's folders do not exist yet.
 */
function enterFolderSync(
  root: string,
  dir: string,
  part: string,
): { dir: string; made: boolean } {
  const next = join(dir, part);
  try {
    Deno.mkdirSync(next);
    return { dir: next, made: true };
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  let info = Deno.lstatSync(next);
  if (info.isSymlink) {
    const real = Deno.realPathSync(next);
    if (!isInside(root, real)) {
      throw new ReasonError(
        "permission_denied",
        `the local folder ${quoteName(part)} is a link that leads outside ${
          quoteName(root)
        }`,
      );
    }
    info = Deno.statSync(real);
    if (info.isDirectory) return { dir: real, made: false };
  }
  if (!info.isDirectory) {
    throw new ReasonError(
      "not_directory",
      `the local ${quoteName(part)} is not a folder`,
    );
  }
  return { dir: next, made: false };
}

/** Tells whether real path `path` is `root` or inside it. */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" ||
    (!rel.startsWith("..") && !rel.startsWith(sep) &&
      resolve(root, rel) === path);
}

/** An open temporary file. */
export interface TempFile {
  readonly path: string;
  readonly file: Deno.FsFile;
}

/**
 * Creates a new hidden temporary file in `dir`, holding an exclusive
 * advisory lock on it for as long as it stays open: the lock tells
 * {@linkcode reclaimPartFiles} in any fts process that the file is in use.
 * Synchronous: the open, lock and two stats take microseconds.
 */
export function createTempFile(dir: string): TempFile {
  for (let attempt = 0;; attempt++) {
    const random = crypto.getRandomValues(new Uint8Array(8));
    const path = join(dir, `${TEMP_PREFIX}${hex.encode(random)}${TEMP_SUFFIX}`);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { write: true, createNew: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists) || attempt > 5) {
        throw error;
      }
      continue;
    }
    // Between the creation and the lock another process may have taken the
    // file for a left-over one: then it holds the lock or has removed it.
    if (file.tryLockSync(true) && namesFile(path, file)) return { path, file };
    file.close();
    if (attempt > 5) {
      throw new ReasonError("io", "cannot create a local temporary file");
    }
  }
}

/** The exact names {@linkcode createTempFile} gives. */
const PART_FILE = /^\.fts-[0-9a-f]{16}\.part$/;

/**
 * Removes the temporary files that fts clients killed mid-download left in
 * `dir` (not in its subfolders): regular files named exactly like those of
 * {@linkcode createTempFile} whose lock nobody holds, so never a download
 * still running in any process, and never any other file. Returns the
 * names removed. Files that cannot be opened or removed are left alone.
 */
export function reclaimPartFiles(dir: string): string[] {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return []; // a folder we may not read has nothing of ours
  }
  return reclaimEntries(dir, entries);
}

/** {@linkcode reclaimPartFiles} on `entries`, read from `dir`. */
function reclaimEntries(dir: string, entries: Deno.DirEntry[]): string[] {
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile || !PART_FILE.test(entry.name)) continue;
    const path = join(dir, entry.name);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true });
    } catch {
      continue;
    }
    try {
      if (!file.tryLockSync(true) || !namesFile(path, file)) continue;
      Deno.removeSync(path); // while locked: its writer cannot be starting
      removed.push(entry.name);
    } catch {
      // gone meanwhile, or not ours to remove
    } finally {
      file.close();
    }
  }
  return removed;
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

/**
 * Makes complete temporary file `tempPath` visible as `target`. With
 * `overwrite` it atomically replaces an existing file; otherwise it takes
 * the first free name of `name`, `(1) name`, `(2) name`… and never touches
 * an existing file. Returns the final path. Synchronous: a rename or a
 * link and an unlink take microseconds.
 */
export function commitFile(
  tempPath: string,
  target: LocalTarget,
  options: { overwrite: boolean },
): string {
  if (options.overwrite) {
    const path = join(target.dir, target.base);
    const existing = lstatOrNull(path);
    if (existing?.isDirectory) {
      throw new ReasonError("is_directory", "a local folder has that name");
    }
    if (existing && !existing.isFile && !existing.isSymlink) {
      // A device, FIFO or socket that appeared since the download began.
      throw new ReasonError(
        "bad_request",
        `the local ${quoteName(target.base)} is not a regular file`,
      );
    }
    Deno.renameSync(tempPath, path);
    return path;
  }
  for (let n = 0; n <= MAX_COLLISIONS; n++) {
    const path = join(
      target.dir,
      n === 0 ? target.base : collisionName(target.base, n),
    );
    const outcome = placeNoClobber(tempPath, path);
    if (outcome === "linked") Deno.removeSync(tempPath);
    if (outcome !== "exists") return path;
  }
  throw new ReasonError(
    "exists",
    `more than ${MAX_COLLISIONS} local copies exist`,
  );
}

/**
 * Gives `from` the name `to` unless `to` exists. A hard link makes the check
 * and the naming one atomic step; on a file system without hard links it
 * falls back to check-then-rename.
 */
function placeNoClobber(
  from: string,
  to: string,
): "linked" | "renamed" | "exists" {
  try {
    Deno.linkSync(from, to);
    return "linked";
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return "exists";
    if (lstatOrNull(to)) return "exists";
    Deno.renameSync(from, to);
    return "renamed";
  }
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Reads until `target` is full or the file ends; returns the count read.
 *
 * Synchronous on purpose: a 1 MiB file operation done synchronously skips
 * the async op's hand-off to a worker thread and back, and CPU is what
 * limits a transfer on a small machine (measured here under load: writing
 * 1 GiB in 1 MiB chunks took 0.30 s with `writeSync` against 0.7 to 2.6 s
 * with `write`; reads were equal). The event loop is blocked for well under
 * a millisecond per chunk.
 */
export function readFull(file: Deno.FsFile, target: Uint8Array): number {
  let total = 0;
  while (total < target.byteLength) {
    const n = file.readSync(target.subarray(total));
    if (n === null) break;
    total += n;
  }
  return total;
}

/** Writes all of `bytes`, synchronously for the reasons given at {@linkcode readFull}. */
export function writeFull(file: Deno.FsFile, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.byteLength) {
    offset += file.writeSync(bytes.subarray(offset));
  }
}

/**
 * Writes a large download to its file in the background, two chunks deep:
 * while the disk takes one chunk, the next is received and hashed. Memory
 * stays at two chunks whatever the file size.
 */
export class BackgroundWriter {
  readonly #file: ByteSink;
  readonly #chunkSize: number;
  readonly #slots: Uint8Array[] = [];
  readonly #busy: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  #tail: Promise<void> = Promise.resolve();
  #next = 0;
  #error: { cause: unknown } | null = null;

  constructor(file: ByteSink, chunkSize: number) {
    this.#file = file;
    this.#chunkSize = chunkSize;
  }

  /**
   * Copies `bytes` (at most the chunk size) and queues the write; waits
   * only while both buffers are still being written.
   *
   * @throws the error of an earlier write.
   */
  async write(bytes: Uint8Array): Promise<void> {
    this.#check();
    const i = this.#next;
    this.#next ^= 1;
    await this.#busy[i];
    this.#check();
    const slot = this.#slots[i] ??= new Uint8Array(this.#chunkSize);
    slot.set(bytes);
    const view = slot.subarray(0, bytes.byteLength);
    const file = this.#file;
    this.#tail = this.#tail.then(async () => {
      if (this.#error) return;
      try {
        let offset = 0;
        while (offset < view.byteLength) {
          offset += await file.write(view.subarray(offset));
        }
      } catch (cause) {
        this.#error ??= { cause };
      }
    });
    this.#busy[i] = this.#tail;
  }

  /** Waits for every queued write. @throws the first write error. */
  async flush(): Promise<void> {
    await this.#tail;
    this.#check();
  }

  #check(): void {
    if (this.#error) throw this.#error.cause;
  }
}
