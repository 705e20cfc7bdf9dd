/**
 * Where downloads land on the local side, and how they become visible:
 * every path is built from a validated name under the local folder, parent
 * folders are created only inside it (a symlink that leads out is refused),
 * data goes to a hidden temporary file that is renamed into place only once
 * complete and verified.
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

/** Tells whether a local file name is one of fts's temporary files. */
export function isTempName(base: string): boolean {
  return base.startsWith(TEMP_PREFIX) && base.endsWith(TEMP_SUFFIX);
}

/** Where a validated name lands under a local folder. */
export interface LocalTarget {
  /** Real path of the folder the file goes in (created if needed). */
  readonly dir: string;
  /** The file's base name. */
  readonly base: string;
}

/** Most `(n) name` variants tried before giving up. */
const MAX_COLLISIONS = 10_000;

/**
 * Resolves validated `name` under `localDir`, creating missing parent
 * folders inside it.
 *
 * @throws {ReasonError} when a parent is a file or a symlink that leads
 * outside `localDir`; a Deno file-system error when `localDir` is missing.
 */
export async function resolveLocalTarget(
  localDir: string,
  name: string,
): Promise<LocalTarget> {
  const { parent, base } = splitName(name);
  return { dir: await resolveLocalFolder(localDir, parent), base };
}

/**
 * Resolves validated folder name `name` ("" for `localDir` itself) under
 * `localDir`, creating the missing folders inside it; returns its real path.
 *
 * @throws {ReasonError} when a component is a file, or a symlink that leads
 * outside `localDir`; a Deno file-system error when `localDir` is missing.
 */
export async function resolveLocalFolder(
  localDir: string,
  name: string,
): Promise<string> {
  const root = await Deno.realPath(localDir);
  let dir = root;
  if (name !== "") {
    for (const part of name.split("/")) {
      dir = await enterFolder(root, dir, part);
    }
  }
  return dir;
}

async function enterFolder(
  root: string,
  dir: string,
  part: string,
): Promise<string> {
  const next = join(dir, part);
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(next);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    try {
      await Deno.mkdir(next);
      return next;
    } catch (raced) {
      if (!(raced instanceof Deno.errors.AlreadyExists)) throw raced;
      info = await Deno.lstat(next);
    }
  }
  if (info.isSymlink) {
    const real = await Deno.realPath(next);
    if (!isInside(root, real)) {
      throw new ReasonError(
        "permission_denied",
        `the local folder ${quoteName(part)} is a link that leads outside ${
          quoteName(root)
        }`,
      );
    }
    info = await Deno.stat(real);
    if (info.isDirectory) return real;
  }
  if (!info.isDirectory) {
    throw new ReasonError(
      "not_directory",
      `the local ${quoteName(part)} is not a folder`,
    );
  }
  return next;
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
 */
export async function createTempFile(dir: string): Promise<TempFile> {
  for (let attempt = 0;; attempt++) {
    const random = crypto.getRandomValues(new Uint8Array(8));
    const path = join(dir, `${TEMP_PREFIX}${hex.encode(random)}${TEMP_SUFFIX}`);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { write: true, createNew: true });
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
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch {
    return removed; // a folder we may not read has nothing of ours
  }
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
 * an existing file. Returns the final path.
 */
export async function commitFile(
  tempPath: string,
  target: LocalTarget,
  options: { overwrite: boolean },
): Promise<string> {
  if (options.overwrite) {
    const path = join(target.dir, target.base);
    const existing = await lstatOrNull(path);
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
    await Deno.rename(tempPath, path);
    return path;
  }
  for (let n = 0; n <= MAX_COLLISIONS; n++) {
    const path = join(
      target.dir,
      n === 0 ? target.base : collisionName(target.base, n),
    );
    const outcome = await placeNoClobber(tempPath, path);
    if (outcome === "linked") await Deno.remove(tempPath);
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
async function placeNoClobber(
  from: string,
  to: string,
): Promise<"linked" | "renamed" | "exists"> {
  try {
    await Deno.link(from, to);
    return "linked";
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return "exists";
    if (await lstatOrNull(to)) return "exists";
    await Deno.rename(from, to);
    return "renamed";
  }
}

async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
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
