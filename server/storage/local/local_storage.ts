/**
 * The local-disk {@linkcode Storage} backend.
 *
 * Layout of the root folder:
 * - the user's files and folders, served by name;
 * - `.fts/` (mode 0700), the server's state, never listed or served;
 * - `.fts/lock`, locked while a server uses the root: a second server on the
 *   same root is refused, so every partial file that no upload of this
 *   server owns is an orphan;
 * - `.fts/partial/<random>.part`, uploads in progress. A partial file becomes
 *   visible only when complete, verified and fsynced, by a rename (overwrite)
 *   or a link under the first free name. Partials left by a crash are never
 *   listed, and no resume can use them (uploads always start at offset 0):
 *   they are deleted when the storage opens, and again at the first upload
 *   after every {@linkcode LocalStorageOptions.sweepEveryMs};
 * - `.fts/resume/`, partial uploads kept for a later resume, each beside a
 *   sidecar (see local_partials.ts): uploads begun with `resume` keep their
 *   partial file there when {@linkcode Upload.keep} ends them, for
 *   {@linkcode LocalStorageOptions.partialTtlMs};
 * - `.fts/sums/`, the SHA-256 of stored files (see checksum_cache.ts), so
 *   downloads need not hash them;
 * - `.fts/trash/`, files an overwriting upload replaced, deleted after its
 *   reply went out (and on open, after a crash).
 *
 * Uploaded files keep the partial file's mode, 0600: only the server's user
 * can read them on the disk; clients reach them through the server. An
 * upload that asks for permission bits (`put -p`, feature "mode") gets
 * them masked by `storedMode()`: never setuid, setgid, sticky or writable
 * by group or others.
 *
 * Symbolic links are never followed, and every request is resolved from
 * held folder descriptors: see rooted_paths.ts.
 *
 * Free space: an upload declares its size, and {@linkcode
 * LocalStorage.beginUpload} refuses it with `no_space` unless it fits in the
 * disk's free space (`statfs`, which counts every partial file already on
 * the disk as used) less what the uploads in flight have declared but not
 * written yet. The reservation ends when the upload commits or aborts.
 *
 * @module
 */

import * as fs from "node:fs";
import { FtsError } from "../../../protocol/errors.ts";
import { MAX_MODE } from "../../../protocol/messages.ts";
import { quoteName, validateName } from "../../../protocol/names.ts";
import { AgeSniffer } from "./age_sniff.ts";
import {
  ChecksumCache,
  type FileStamp,
  sameStamp,
  stampOf,
} from "./checksum_cache.ts";
import { type Clock, systemClock } from "../../../common/clock.ts";
import { CommitGroups, type Durability } from "./commit_group.ts";
import { fsError } from "./fs_errors.ts";
import { walkFiles } from "./file_walk.ts";
import { LocalPartials } from "./local_partials.ts";
import { LocalUpload } from "./local_upload.ts";
import { removeQuietly } from "../../../common/remove_quietly.ts";
import {
  type Folder,
  lstatOrNull,
  makeOwnPrivate,
  mtimeMs,
  readHeadAt,
  RootedPaths,
  STATE_DIR,
} from "./rooted_paths.ts";
import {
  type Entry,
  type FileReader,
  type KeptPartial,
  LIST_PAGE_SIZE,
  readOffset,
  type ReadOptions,
  type RenameOptions,
  type Storage,
  type StorageFeatures,
  type StoredFile,
  type Upload,
  type UploadOptions,
} from "../storage.ts";

/** Options of {@linkcode LocalStorage.open}. */
export interface LocalStorageOptions {
  /** Clock for partial sweeps and checksums. Default: the system clock. */
  clock?: Clock;
  /**
   * Partial files no upload owns are deleted on open and at the first
   * upload after every `sweepEveryMs`. Default: one hour.
   */
  sweepEveryMs?: number;
  /** Create the root folder (and its parents) when missing. Default: true. */
  create?: boolean;
  /**
   * Bytes free on the root's disk for this server. Default: `statfs`'s
   * blocks available to unprivileged users times the block size.
   */
  freeSpace?: (root: Folder) => number;
  /**
   * The file and folder syncs of commits. Default: fdatasync and folder
   * fsync (see commit_group.ts); tests record the calls through it.
   */
  durability?: Durability;
  /**
   * How long a partial upload kept for a resume stays when untouched, in
   * ms. Default: 24 hours.
   */
  partialTtlMs?: number;
  /**
   * Bytes a resumable upload writes between two checkpoints (a sync, then
   * its sidecar says how many bytes are durable). Default 16 MiB.
   */
  checkpointBytes?: number;
}

/** Default {@linkcode LocalStorageOptions.partialTtlMs}: 24 hours. */
export const DEFAULT_PARTIAL_TTL_MS = 24 * 60 * 60 * 1000;

const HOUR_MS = 60 * 60 * 1000;
/**
 * How long a resumable upload waits for another upload of the same account
 * and name to end (a client resuming after a cut, before its lost session
 * has kept what arrived) before it goes on as an ordinary upload.
 */
const RESUME_WAIT_MS = 5_000;
const PART_SUFFIX = ".part";
/**
 * Files of at most this many bytes are read with synchronous calls: from
 * the page cache that takes a few microseconds, far less than an async
 * call's hand-off to an I/O thread (about 80 µs here); a file not in the
 * cache holds the event loop for one disk read. Larger files are read
 * asynchronously, so the event loop never waits for the disk.
 */
const SYNC_READ_MAX = 64 * 1024;

/** What an upload in flight holds of the free space. */
interface Reservation {
  /** Declared size. */
  readonly size: number;
  /** Bytes on the disk already (counted by `statfs`). */
  readonly written: number;
  /** Discards the upload (absent while its partial file is being made). */
  abort?(): Promise<void>;
}

/** Files in a folder on the local disk. Create with {@linkcode LocalStorage.open}. */
export class LocalStorage implements Storage {
  readonly features: StorageFeatures = {
    atomicFolderRename: true,
    realFolders: true,
  };
  readonly #paths: RootedPaths;
  readonly #state: StateFolders;
  /** SHA-256 of stored files, so downloads need not hash them. */
  readonly #sums: ChecksumCache;
  /** Marks age files `encrypted` in listings. */
  readonly #sniffer = new AgeSniffer();
  readonly #clock: Clock;
  readonly #sweepEveryMs: number;
  readonly #freeSpace: (root: Folder) => number;
  /** Uploads in flight, by partial file name. */
  readonly #uploads = new Map<string, Reservation>();
  /** Syncs and names committed uploads, in groups. */
  readonly #commits: CommitGroups;
  /** Partial uploads kept for a resume. */
  readonly #partials: LocalPartials;
  #lastSweep: number;
  #closed = false;

  private constructor(
    paths: RootedPaths,
    state: StateFolders,
    sums: ChecksumCache,
    options: LocalStorageOptions,
  ) {
    this.#paths = paths;
    this.#state = state;
    this.#sums = sums;
    this.#clock = options.clock ?? systemClock;
    this.#sweepEveryMs = options.sweepEveryMs ?? HOUR_MS;
    this.#freeSpace = options.freeSpace ?? statfsFree;
    this.#commits = new CommitGroups(options.durability);
    this.#lastSweep = this.#clock.now();
    this.#partials = new LocalPartials(state.resume, {
      clock: this.#clock,
      ttlMs: options.partialTtlMs ?? DEFAULT_PARTIAL_TTL_MS,
      checkpointBytes: options.checkpointBytes ?? 16 * 1024 * 1024,
    });
    this.#partials.expire();
  }

  /**
   * Opens (and by default creates) the root folder, prepares `.fts/`, locks
   * it and deletes the partial files a previous run left.
   *
   * @throws {FtsError} when the root is not a usable folder, `.fts` is not
   * a real folder, or another server uses the root (`busy`).
   */
  static async open(
    root: string,
    options: LocalStorageOptions = {},
  ): Promise<LocalStorage> {
    let paths: RootedPaths;
    try {
      if (options.create ?? true) await Deno.mkdir(root, { recursive: true });
      paths = RootedPaths.open(await Deno.realPath(root));
    } catch (error) {
      throw openError(root, error);
    }
    let state: StateFolders | undefined;
    try {
      state = openStateFolders(paths.folder);
      if (!state.lock.tryLockSync(true)) {
        throw new FtsError(
          "busy",
          `Cannot open the data folder ${
            quoteName(root)
          }: another fts server is using it`,
        );
      }
      const sums = await ChecksumCache.open(state.sums.path, {
        ...(options.clock ? { clock: options.clock } : {}),
      });
      const storage = new LocalStorage(paths, state, sums, options);
      storage.#sweepPartials();
      storage.#emptyTrash();
      return storage;
    } catch (error) {
      if (state) closeStateFolders(state);
      paths[Symbol.dispose]();
      throw openError(root, error);
    }
  }

  /**
   * Bytes an upload may still declare: the disk's free space less what the
   * uploads in flight have declared but not written yet.
   *
   * @throws {FtsError} `io` when the free space cannot be read.
   */
  #available(): number {
    let free: number;
    try {
      free = this.#freeSpace(this.#paths.folder);
    } catch (error) {
      throw new FtsError(
        "io",
        "Cannot read the free space of the server's disk",
        { cause: error },
      );
    }
    for (const upload of this.#uploads.values()) {
      free -= Math.max(0, upload.size - upload.written);
    }
    return Math.max(0, free);
  }

  /**
   * Reads the folder's names at the first pull (the disk gives them
   * unsorted, so all of them are read and sorted: a few bytes each, the
   * sort a fraction of the read), then
   * makes each page's entries (name check, lstat, age sniffing) only as it
   * is pulled. The folder stays open, by descriptor, until the listing ends.
   */
  async *list(path: string): AsyncGenerator<Entry[], void, undefined> {
    using at = this.#paths.openFolder(path, "list");
    const names = await listNames(at.folder, at.name);
    for (let i = 0; i < names.length; i += LIST_PAGE_SIZE) {
      const page = this.#entries(at.folder, names.slice(i, i + LIST_PAGE_SIZE));
      if (page.length > 0) yield page;
    }
  }

  /**
   * The entries of `names` in `folder` that can still be served, each
   * file marked when it starts like an age file.
   */
  #entries(folder: Folder, names: readonly string[]): Entry[] {
    const entries: Entry[] = [];
    for (const n of names) {
      if (!isCanonicalComponent(n)) continue;
      let info: Deno.FileInfo | null;
      try {
        info = lstatOrNull(folder.at(n));
      } catch {
        continue; // Not readable: left out like a special file.
      }
      const entry = info && toEntry(n, info);
      if (!info || !entry) continue;
      const age = entry.type === "file" &&
        this.#sniffer.isAgeFile(
          info,
          (length) => readHeadAt(folder.at(n), length),
        );
      entries.push(age ? { ...entry, encrypted: true } : entry);
    }
    return entries;
  }

  stat(name: string): Promise<Entry> {
    return settle(() => {
      using at = this.#paths.inspect(name, "stat");
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
          `Cannot stat ${
            quoteName(at.name)
          }: it is not a regular file or folder`,
        );
      }
      return entry;
    });
  }

  async openRead(
    name: string,
    options: ReadOptions = {},
  ): Promise<FileReader> {
    const offset = readOffset(options);
    // Taken before the file is looked at: see ChecksumCache.record().
    const observedAt = this.#sums.now();
    const { name: nfc, file, info } = this.#paths.openFile(name, "read");
    try {
      if (offset > info.size) {
        throw new FtsError(
          "bad_request",
          `Cannot read ${
            quoteName(nfc)
          } from offset ${offset}: the file has ${info.size} bytes`,
        );
      }
      if (offset > 0) {
        try {
          await file.seek(offset, Deno.SeekMode.Start);
        } catch (error) {
          throw fsError(error, "read", nfc);
        }
      }
      const stamp = stampOf(info);
      const sha256 = stamp ? this.#sums.lookupSync(stamp) : null;
      return new LocalReader(nfc, file, info, {
        sums: this.#sums,
        stamp,
        observedAt,
        sha256,
        whole: offset === 0,
      });
    } catch (error) {
      file.close();
      throw error;
    }
  }

  beginUpload(
    name: string,
    size: number,
    options: UploadOptions = {},
  ): Promise<Upload> {
    if (options.resume === undefined) {
      return settle(() => this.#beginUpload(name, size, options));
    }
    return this.#partials.whenFree(
      name.normalize("NFC"),
      options.owner ?? null,
      RESUME_WAIT_MS,
    ).then(() => this.#beginUpload(name, size, options));
  }

  partials(): Iterable<KeptPartial> {
    return this.#partials.list();
  }

  expirePartials(): KeptPartial[] {
    return this.#partials.expire();
  }

  /** {@linkcode beginUpload}, synchronous: its calls are small and few. */
  #beginUpload(name: string, size: number, options: UploadOptions): Upload {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`Upload size ${size} is not a valid size`);
    }
    const nfc = (() => {
      using found = this.#paths.locate(name, "upload");
      // Usually nothing is there: existsSync says so without the costly
      // exception a failed lstat throws. A dangling link passes here and
      // is dealt with at the commit, which never follows it.
      if (!fs.existsSync(found.folder.at(found.base))) return found.name;
      using at = this.#paths.inspect(name, "upload");
      if (at.info?.isDirectory) {
        throw new FtsError(
          "is_directory",
          `Cannot upload ${quoteName(at.name)}: a folder has that name`,
        );
      }
      return at.name;
    })();
    this.#sweepIfDue();
    // Checked and reserved with no await in between, so two uploads can
    // never both count the same free bytes.
    const available = this.#available();
    if (size > available) {
      throw new FtsError(
        "no_space",
        `Cannot upload ${
          quoteName(nfc)
        }: ${size} bytes do not fit in the ${available} bytes free on the server`,
      );
    }
    // A resumable upload has one slot per account and name; a second one
    // still there after RESUME_WAIT_MS is an ordinary upload.
    const slot = options.resume === undefined ? null : this.#partials.take(
      nfc,
      options.owner ?? null,
      size,
      options.resume.mtime,
    );
    const part = slot ? slot.part.base : `${crypto.randomUUID()}${PART_SUFFIX}`;
    const reservation = { size, written: 0 };
    this.#uploads.set(part, reservation);
    try {
      const upload = LocalUpload.create(
        this.#paths,
        nfc,
        size,
        slot ? slot.part : { folder: this.#state.partial, base: part },
        {
          sums: this.#sums,
          commits: this.#commits,
          trash: this.#state.trash,
          onEnd: () => {
            this.#uploads.delete(part);
            slot?.release();
          },
          ...(slot ? { keep: slot.hooks } : {}),
        },
      );
      this.#uploads.set(part, upload);
      return upload;
    } catch (error) {
      this.#uploads.delete(part);
      slot?.release();
      throw error;
    }
  }

  files(): Iterable<StoredFile> {
    return walkFiles(this.#paths.folder);
  }

  async remove(name: string): Promise<number> {
    using at = this.#paths.inspect(name, "delete");
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
      // Through the held parent: a link swapped in is removed itself, a
      // folder swapped for a link fails (rmdir of a non-folder).
      if (at.info.isDirectory) fs.rmdirSync(at.path);
      else fs.unlinkSync(at.path);
    } catch (error) {
      throw fsError(error, "delete", at.name);
    }
    if (!at.info.isFile) return 0;
    await this.#sums.forget(at.info);
    return at.info.size;
  }

  async rename(
    from: string,
    to: string,
    options: RenameOptions,
  ): Promise<number> {
    using src = this.#paths.inspect(from, "rename");
    using dst = this.#paths.inspect(to, "rename");
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
        Deno.renameSync(src.path, dst.path);
      } else {
        // link() fails if the target exists: a no-replace rename that
        // cannot race with another writer.
        Deno.linkSync(src.path, dst.path);
        try {
          fs.unlinkSync(src.path);
        } catch (error) {
          removeQuietly(dst.path);
          throw error;
        }
      }
    } catch (error) {
      throw fsError(error, action, dst.name);
    }
    if (dst.info?.isFile) await this.#sums.forget(dst.info);
    const before = stampOf(src.info);
    if (before) await this.#sums.carry(before, dst.path);
    return dst.info?.isFile ? dst.info.size : 0;
  }

  mkdir(name: string): Promise<void> {
    return settle(() => {
      using at = this.#paths.inspect(name, "create folder");
      if (at.info !== null) {
        throw new FtsError(
          "exists",
          `Cannot create folder ${quoteName(at.name)}: it already exists`,
        );
      }
      try {
        Deno.mkdirSync(at.path);
      } catch (error) {
        throw fsError(error, "create folder", at.name);
      }
    });
  }

  /**
   * Aborts the uploads still in flight, then releases the root, the state
   * folders and the lock: nothing touches the disk after this resolves.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      [...this.#uploads.values()].map((upload) => upload.abort?.()),
    );
    // Commits under way finish (their folders are still open) or fail.
    await this.#commits.idle();
    closeStateFolders(this.#state);
    this.#paths[Symbol.dispose]();
  }

  #sweepIfDue(): void {
    const now = this.#clock.now();
    if (now - this.#lastSweep < this.#sweepEveryMs) return;
    this.#lastSweep = now;
    try {
      this.#sweepPartials();
    } catch {
      // The upload itself does not depend on it; the next sweep retries.
    }
  }

  /** Deletes every partial file that no upload in flight owns. */
  #sweepPartials(): void {
    const { partial } = this.#state;
    try {
      for (const e of Deno.readDirSync(partial.path)) {
        if (!e.name.endsWith(PART_SUFFIX) || this.#uploads.has(e.name)) {
          continue;
        }
        removeQuietly(partial.at(e.name));
      }
    } catch (error) {
      throw fsError(error, "clean up", `${STATE_DIR}/partial`);
    }
  }

  /** Deletes files that overwrites replaced but a crash left in the trash. */
  #emptyTrash(): void {
    const { trash } = this.#state;
    try {
      for (const e of Deno.readDirSync(trash.path)) {
        if (e.isFile) removeQuietly(trash.at(e.name));
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
  /** Opened at offset 0, so a caller can hash the whole file through it. */
  readonly whole: boolean;
}

/** A {@linkcode FileReader} over an open local file. */
class LocalReader implements FileReader {
  readonly size: number;
  readonly mtime: number;
  readonly mode: number | undefined;
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
    this.mode = modeOf(info).mode;
    this.sha256 = sums.sha256 ?? undefined;
    this.#sums = sums;
  }

  async rememberSha256(sha256: string): Promise<void> {
    const { sums, stamp, observedAt, whole } = this.#sums;
    if (this.sha256 !== undefined || stamp === null || this.#closed) return;
    if (!whole) return;
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
      if (this.size <= SYNC_READ_MAX) return this.#file.readSync(buf);
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

/** The open folders and the lock file under `.fts`. */
interface StateFolders {
  readonly partial: Folder;
  readonly resume: Folder;
  readonly sums: Folder;
  readonly trash: Folder;
  readonly lock: Deno.FsFile;
}

/**
 * Opens `.fts` and its sub-folders under `root` (creating them private),
 * and the lock file; never through a link.
 */
function openStateFolders(root: Folder): StateFolders {
  using state = openPrivateFolder(root, STATE_DIR);
  const opened: Folder[] = [];
  try {
    for (const name of ["partial", "sums", "trash", "resume"]) {
      opened.push(openPrivateFolder(state, name));
    }
    // `.fts` is private and held open: nobody else can put a link here.
    const lock = Deno.openSync(state.at("lock"), {
      read: true,
      write: true,
      create: true,
      mode: 0o600,
    });
    return {
      partial: opened[0]!,
      sums: opened[1]!,
      trash: opened[2]!,
      resume: opened[3]!,
      lock,
    };
  } catch (error) {
    for (const folder of opened) folder[Symbol.dispose]();
    throw error;
  }
}

function closeStateFolders(state: StateFolders): void {
  state.partial[Symbol.dispose]();
  state.sums[Symbol.dispose]();
  state.trash[Symbol.dispose]();
  state.resume[Symbol.dispose]();
  state.lock.close();
}

/** Opens (creating it if needed) the private folder `name` in `parent`. */
function openPrivateFolder(parent: Folder, name: string): Folder {
  try {
    Deno.mkdirSync(parent.at(name), { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  let folder: Folder;
  try {
    folder = parent.openFolder(name);
  } catch (error) {
    throw new FtsError(
      "permission_denied",
      `The server's state folder ${quoteName(name)} is not a real folder`,
      { cause: error },
    );
  }
  try {
    makeOwnPrivate(folder, name);
    return folder;
  } catch (error) {
    folder[Symbol.dispose]();
    throw error;
  }
}

/** Free bytes for unprivileged users on the disk of `root`. */
function statfsFree(root: Folder): number {
  const s = fs.statfsSync(root.path);
  return s.bavail * s.bsize;
}

/** `fn()` as a promise: a throw becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

function openError(root: string, error: unknown): FtsError {
  if (error instanceof FtsError) return error;
  return new FtsError(
    "io",
    `Cannot open the data folder ${quoteName(root)}: ${
      (error as Error).message
    }`,
    { cause: error },
  );
}

/**
 * The names in `folder` (called `name`) that may be listed, sorted: regular
 * files and folders, never the state folder. Their validity is checked
 * page by page, as they are listed. Read with the asynchronous reader,
 * which hands the entries over in batches as the folder is read: the
 * synchronous one builds every entry of the folder at once (about 75 MiB
 * more at the peak for 100,000 names, against 30 here, mostly the names
 * themselves, which the sort needs).
 */
async function listNames(folder: Folder, name: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(folder.path)) {
      if (e.isSymlink || !(e.isFile || e.isDirectory)) continue;
      if (name === "" && e.name === STATE_DIR) continue;
      names.push(e.name);
    }
  } catch (error) {
    throw fsError(error, "list", name);
  }
  // The default order is by UTF-16 code units, as `a < b` compares.
  return names.sort();
}

/** True for a base name that is itself a valid, NFC protocol name. */
function isCanonicalComponent(name: string): boolean {
  try {
    return validateName(name) === name && !name.includes("/");
  } catch {
    return false;
  }
}

/** The permission bits of `info`, when the platform has them. */
function modeOf(info: Deno.FileInfo): { mode?: number } {
  return info.mode === null ? {} : { mode: info.mode & MAX_MODE };
}

function toEntry(name: string, info: Deno.FileInfo): Entry | null {
  if (info.isSymlink) return null;
  if (info.isDirectory) {
    return {
      name,
      type: "dir",
      size: 0,
      mtime: mtimeMs(info),
      ...modeOf(info),
    };
  }
  if (info.isFile) {
    return {
      name,
      type: "file",
      size: info.size,
      mtime: mtimeMs(info),
      ...modeOf(info),
    };
  }
  return null;
}
