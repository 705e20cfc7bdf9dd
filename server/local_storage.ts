/**
 * The local-disk {@linkcode Storage} backend.
 *
 * Layout of the root folder:
 * - the user's files and folders, served by name;
 * - `.fts/` (mode 0700), the server's state, never listed or served;
 * - `.fts/partial/<random>.part`, uploads in progress. A partial file becomes
 *   visible only when complete, verified and fsynced, by a rename (overwrite)
 *   or a link under the first free name. Partials left by a crash are never
 *   listed; those older than {@linkcode LocalStorageOptions.stalePartialMs}
 *   (a day by default) are deleted when the storage opens. Younger ones are
 *   kept because another server may still be writing them (resume, a later
 *   feature, will pick them up instead).
 * - `.fts/sums/`, the SHA-256 of stored files (see checksum_cache.ts), so
 *   downloads need not hash them;
 * - `.fts/trash/`, files an overwriting upload replaced, deleted after its
 *   reply went out (and on open, after a crash).
 *
 * Uploaded files keep the partial file's mode, 0600: only the server's user
 * can read them on the disk; clients reach them through the server.
 *
 * Symbolic links are never followed: see rooted_paths.ts.
 *
 * @module
 */

import { join } from "node:path";
import { FtsError } from "../protocol/errors.ts";
import { quoteName, validateName } from "../protocol/names.ts";
import { AgeSniffer } from "./age_sniff.ts";
import {
  ChecksumCache,
  type FileStamp,
  sameStamp,
  stampOf,
} from "./checksum_cache.ts";
import { type Clock, systemClock } from "./clock.ts";
import { fsError } from "./fs_errors.ts";
import { LocalUpload, removeQuietly } from "./local_upload.ts";
import { mtimeMs, RootedPaths } from "./rooted_paths.ts";
import {
  type Entry,
  type FileReader,
  type RenameOptions,
  STATE_DIR,
  type Storage,
  type Upload,
} from "./storage.ts";

/** Options of {@linkcode LocalStorage.open}. */
export interface LocalStorageOptions {
  /** Clock for the age of stale partial files. Default: the system clock. */
  clock?: Clock;
  /** Partial uploads older than this are deleted on open. Default: one day. */
  stalePartialMs?: number;
  /** Create the root folder (and its parents) when missing. Default: true. */
  create?: boolean;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const STAT_BATCH = 64;

/** Files in a folder on the local disk. Create with {@linkcode LocalStorage.open}. */
export class LocalStorage implements Storage {
  readonly #paths: RootedPaths;
  readonly #partialDir: string;
  /** SHA-256 of stored files, so downloads need not hash them. */
  readonly #sums: ChecksumCache;
  /** Marks age files `encrypted` in listings. */
  readonly #sniffer = new AgeSniffer();

  private constructor(root: string, sums: ChecksumCache) {
    this.#paths = new RootedPaths(root);
    this.#partialDir = join(root, STATE_DIR, "partial");
    this.#sums = sums;
  }

  /**
   * Opens (and by default creates) the root folder, prepares `.fts/` and
   * deletes stale partial uploads.
   *
   * @throws {FtsError} when the root is not a usable folder or `.fts` is not
   * a real folder.
   */
  static async open(
    root: string,
    options: LocalStorageOptions = {},
  ): Promise<LocalStorage> {
    let real: string;
    let sums: ChecksumCache;
    try {
      if (options.create ?? true) await Deno.mkdir(root, { recursive: true });
      real = await Deno.realPath(root);
      if (!(await Deno.stat(real)).isDirectory) {
        throw new Deno.errors.NotADirectory(`${root} is not a folder`);
      }
      await ensurePrivateDir(join(real, STATE_DIR));
      await ensurePrivateDir(join(real, STATE_DIR, "partial"));
      await ensurePrivateDir(join(real, STATE_DIR, "sums"));
      await ensurePrivateDir(join(real, STATE_DIR, "trash"));
      sums = await ChecksumCache.open(join(real, STATE_DIR, "sums"), {
        ...(options.clock ? { clock: options.clock } : {}),
      });
    } catch (error) {
      if (error instanceof FtsError) throw error;
      throw new FtsError(
        "io",
        `Cannot open the data folder ${quoteName(root)}: ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
    const storage = new LocalStorage(real, sums);
    await storage.#sweepPartials(
      (options.clock ?? systemClock).now(),
      options.stalePartialMs ?? DAY_MS,
    );
    await storage.#emptyTrash();
    return storage;
  }

  /** The absolute, link-free root folder. */
  get root(): string {
    return this.#paths.root;
  }

  async list(path: string): Promise<Entry[]> {
    const at = await this.#paths.inspect(path, "list", true);
    if (at.info === null) {
      throw new FtsError(
        "not_found",
        `Cannot list ${quoteName(at.name)}: no such folder`,
      );
    }
    if (!at.info.isDirectory) {
      throw new FtsError(
        "not_directory",
        `Cannot list ${quoteName(at.name)}: it is not a folder`,
      );
    }
    const names: string[] = [];
    try {
      for await (const e of Deno.readDir(at.path)) {
        if (e.isSymlink || !(e.isFile || e.isDirectory)) continue;
        if (at.name === "" && e.name === STATE_DIR) continue;
        if (!isCanonicalComponent(e.name)) continue;
        names.push(e.name);
      }
    } catch (error) {
      throw fsError(error, "list", at.name);
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const entries: Entry[] = [];
    for (let i = 0; i < names.length; i += STAT_BATCH) {
      const batch = await Promise.all(
        names.slice(i, i + STAT_BATCH).map((n) =>
          entryOf(join(at.path, n), n, this.#sniffer)
        ),
      );
      for (const e of batch) if (e) entries.push(e);
    }
    return entries;
  }

  async stat(name: string): Promise<Entry> {
    const at = await this.#paths.inspect(name, "stat");
    if (at.info === null) {
      throw new FtsError(
        "not_found",
        `Cannot stat ${quoteName(at.name)}: no such file or folder`,
      );
    }
    const entry = toEntry(at.name, at.info);
    if (!entry) {
      throw new FtsError(
        "permission_denied",
        `Cannot stat ${quoteName(at.name)}: it is not a regular file or folder`,
      );
    }
    return entry;
  }

  async openRead(name: string): Promise<FileReader> {
    // Taken before the file is looked at: see ChecksumCache.record().
    const observedAt = this.#sums.now();
    const { name: nfc, file, info } = await this.#paths.openFile(name, "read");
    const stamp = stampOf(info);
    const sha256 = stamp ? await this.#sums.lookup(stamp) : null;
    return new LocalReader(nfc, file, info, {
      sums: this.#sums,
      stamp,
      observedAt,
      sha256,
    });
  }

  async beginUpload(name: string, size: number): Promise<Upload> {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`Upload size ${size} is not a valid size`);
    }
    const at = await this.#paths.inspect(name, "upload");
    if (at.info?.isDirectory) {
      throw new FtsError(
        "is_directory",
        `Cannot upload ${quoteName(at.name)}: a folder has that name`,
      );
    }
    const part = join(this.#partialDir, `${crypto.randomUUID()}.part`);
    return await LocalUpload.create(this.#paths, at.name, size, part, {
      sums: this.#sums,
      trashDir: join(this.root, STATE_DIR, "trash"),
    });
  }

  async remove(name: string): Promise<void> {
    const at = await this.#paths.inspect(name, "delete");
    if (at.info === null) {
      throw new FtsError(
        "not_found",
        `Cannot delete ${quoteName(at.name)}: no such file or folder`,
      );
    }
    if (!at.info.isFile && !at.info.isDirectory) {
      throw new FtsError(
        "permission_denied",
        `Cannot delete ${
          quoteName(at.name)
        }: it is not a regular file or folder`,
      );
    }
    try {
      await Deno.remove(at.path);
    } catch (error) {
      throw fsError(error, "delete", at.name);
    }
    if (at.info.isFile) await this.#sums.forget(at.info);
  }

  async rename(
    from: string,
    to: string,
    options: RenameOptions,
  ): Promise<void> {
    const src = await this.#paths.inspect(from, "rename");
    const dst = await this.#paths.inspect(to, "rename");
    const action = `rename ${quoteName(src.name)} to`;
    if (src.info === null) {
      throw new FtsError(
        "not_found",
        `Cannot rename ${quoteName(src.name)}: no such file or folder`,
      );
    }
    if (!src.info.isFile && !src.info.isDirectory) {
      throw new FtsError(
        "permission_denied",
        `Cannot rename ${
          quoteName(src.name)
        }: it is not a regular file or folder`,
      );
    }
    if (dst.info !== null) {
      if (!options.overwrite || src.name === dst.name) {
        throw new FtsError(
          "exists",
          `Cannot ${action} ${quoteName(dst.name)}: it already exists`,
        );
      }
      if (dst.info.isDirectory) {
        throw new FtsError(
          "is_directory",
          `Cannot ${action} ${quoteName(dst.name)}: a folder has that name`,
        );
      }
    }
    try {
      if (options.overwrite || src.info.isDirectory) {
        // Folders cannot be hard-linked; the lstat above is the no-replace
        // check, and rename() refuses a non-empty folder as target anyway.
        await Deno.rename(src.path, dst.path);
      } else {
        // link() fails if the target exists: a no-replace rename that
        // cannot race with another writer.
        await Deno.link(src.path, dst.path);
        try {
          await Deno.remove(src.path);
        } catch (error) {
          await removeQuietly(dst.path);
          throw error;
        }
      }
    } catch (error) {
      throw fsError(error, action, dst.name);
    }
    if (dst.info?.isFile) await this.#sums.forget(dst.info);
    const before = stampOf(src.info);
    if (before) await this.#sums.carry(before, dst.path);
  }

  async mkdir(name: string): Promise<void> {
    const at = await this.#paths.inspect(name, "create folder");
    if (at.info !== null) {
      throw new FtsError(
        "exists",
        `Cannot create folder ${quoteName(at.name)}: it already exists`,
      );
    }
    try {
      await Deno.mkdir(at.path);
    } catch (error) {
      throw fsError(error, "create folder", at.name);
    }
  }

  /** Nothing to release: every handle belongs to a reader or an upload. */
  async [Symbol.asyncDispose](): Promise<void> {}

  async #sweepPartials(now: number, maxAgeMs: number): Promise<void> {
    try {
      for await (const e of Deno.readDir(this.#partialDir)) {
        if (!e.isFile || !e.name.endsWith(".part")) continue;
        const path = join(this.#partialDir, e.name);
        const info = await Deno.lstat(path);
        if (now - mtimeMs(info) > maxAgeMs) await removeQuietly(path);
      }
    } catch (error) {
      throw fsError(error, "clean up", `${STATE_DIR}/partial`);
    }
  }

  /** Deletes files that overwrites replaced but a crash left in the trash. */
  async #emptyTrash(): Promise<void> {
    const trash = join(this.root, STATE_DIR, "trash");
    try {
      for await (const e of Deno.readDir(trash)) {
        if (e.isFile) await removeQuietly(join(trash, e.name));
      }
    } catch (error) {
      throw fsError(error, "clean up", `${STATE_DIR}/trash`);
    }
  }
}

/** What a {@linkcode LocalReader} knows of its file's checksum. */
interface ReaderSums {
  readonly sums: ChecksumCache;
  /** The open file's state, or null where the platform cannot tell. */
  readonly stamp: FileStamp | null;
  /** When that state was observed (taken before the stat). */
  readonly observedAt: number;
  /** The cached SHA-256 for exactly that state, or null. */
  readonly sha256: string | null;
}

/** A {@linkcode FileReader} over an open local file. */
class LocalReader implements FileReader {
  readonly size: number;
  readonly mtime: number;
  readonly sha256: string | undefined;
  readonly #name: string;
  readonly #file: Deno.FsFile;
  readonly #sums: ReaderSums;
  #closed = false;

  constructor(
    name: string,
    file: Deno.FsFile,
    info: Deno.FileInfo,
    sums: ReaderSums,
  ) {
    this.#name = name;
    this.#file = file;
    this.size = info.size;
    this.mtime = mtimeMs(info);
    this.sha256 = sums.sha256 ?? undefined;
    this.#sums = sums;
  }

  async rememberSha256(sha256: string): Promise<void> {
    const { sums, stamp, observedAt } = this.#sums;
    if (this.sha256 !== undefined || stamp === null || this.#closed) return;
    if (!sums.accepts(stamp.size)) return;
    let now: FileStamp | null;
    try {
      now = stampOf(await this.#file.stat());
    } catch {
      return;
    }
    // Changed while it was read: the hash may mix two versions.
    if (now === null || !sameStamp(now, stamp)) return;
    await sums.record(stamp, sha256, observedAt);
  }

  async read(buf: Uint8Array): Promise<number | null> {
    try {
      return await this.#file.read(buf);
    } catch (error) {
      throw fsError(error, "read", this.#name);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#file.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Creates `path` as a private folder, refusing a link or a file there. */
async function ensurePrivateDir(path: string): Promise<void> {
  try {
    await Deno.mkdir(path, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const info = await Deno.lstat(path);
  if (info.isSymlink || !info.isDirectory) {
    throw new FtsError(
      "permission_denied",
      `The server's state folder ${path} is not a real folder`,
    );
  }
  if (Deno.build.os !== "windows") await Deno.chmod(path, 0o700);
}

/** True for a base name that is itself a valid, NFC protocol name. */
function isCanonicalComponent(name: string): boolean {
  try {
    return validateName(name) === name && !name.includes("/");
  } catch {
    return false;
  }
}

async function entryOf(
  path: string,
  name: string,
  sniffer: AgeSniffer,
): Promise<Entry | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return null; // Removed since the folder was read.
  }
  const entry = toEntry(name, info);
  if (entry?.type !== "file" || !await sniffer.isAgeFile(path, info)) {
    return entry;
  }
  return { ...entry, encrypted: true };
}

function toEntry(name: string, info: Deno.FileInfo): Entry | null {
  if (info.isSymlink) return null;
  if (info.isDirectory) {
    return { name, type: "dir", size: 0, mtime: mtimeMs(info) };
  }
  if (info.isFile) {
    return { name, type: "file", size: info.size, mtime: mtimeMs(info) };
  }
  return null;
}
