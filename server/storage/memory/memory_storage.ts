/**
 * A {@linkcode Storage} backend that keeps files in memory: the same name
 * rules, errors and commit semantics as the local backend (it passes the
 * same contract suite), no disk. For tests of what sits above the storage,
 * and a model of what any backend must do.
 *
 * A file is an immutable byte array; an upload makes a new one and puts it
 * in the tree in one synchronous step, so a reader sees the old or the new
 * file, never a mix, and a reader opened before keeps reading the old one
 * (as an open file on a disk does).
 *
 * With `realFolders: false` folders behave as in an object store, where a
 * folder is a name prefix: storing `a/b/c` makes `a` and `a/b` appear, and
 * removing it makes them vanish again unless mkdir() made them (see
 * memory_tree.ts).
 *
 * Free space: with {@linkcode MemoryStorageOptions.capacity}, an upload
 * declares its size and beginUpload() refuses it with `no_space` unless it
 * fits in the capacity less the stored bytes and what the uploads in flight
 * have declared; the reservation ends when the upload commits or aborts.
 *
 * @module
 */

import { FtsError } from "../../../protocol/errors.ts";
import {
  collisionName,
  isValidName,
  quoteName,
  splitName,
} from "../../../protocol/names.ts";
import { type Clock, systemClock } from "../../../common/clock.ts";
import {
  type CommitOptions,
  type Entry,
  type FileReader,
  LIST_PAGE_SIZE,
  MAX_COLLISIONS,
  readOffset,
  type ReadOptions,
  type RenameOptions,
  type Storage,
  type StorageFeatures,
  type StoredFile,
  storedMode,
  type Upload,
} from "../storage.ts";
import {
  checkPath,
  type DirNode,
  type FileNode,
  locate,
  type Located,
  locateMaking,
  newDir,
  openDir,
  pruneVirtual,
  toEntry,
} from "./memory_tree.ts";
import { MemoryUpload } from "./memory_upload.ts";

/** Options of {@linkcode MemoryStorage}. */
export interface MemoryStorageOptions {
  /** Bytes the storage may hold. Default: no limit but the process's memory. */
  capacity?: number;
  /** Gives modification times. Default: the system clock. */
  clock?: Clock;
  /**
   * Whether folders can be renamed (see StorageFeatures), so that what
   * sits above can be tested against a backend that cannot. Default true.
   */
  atomicFolderRename?: boolean;
  /**
   * Whether folders are real, as on a disk, or virtual, as in an object
   * store (see StorageFeatures). Default true.
   */
  realFolders?: boolean;
}

/** Mode of a file stored without one asked for, as on a local disk. */
const FILE_MODE = 0o600;

/** Files in memory. See the module comment. */
export class MemoryStorage implements Storage {
  readonly features: StorageFeatures;
  readonly #clock: Clock;
  readonly #capacity: number;
  readonly #root: DirNode;
  /** Declared sizes of the uploads in flight. */
  readonly #uploads = new Map<MemoryUpload, number>();
  /** SHA-256s offered by readers, for files stored without one. */
  readonly #remembered = new WeakMap<FileNode, string>();
  /** Bytes of the stored files. */
  #used = 0;
  #closed = false;

  constructor(options: MemoryStorageOptions = {}) {
    const capacity = options.capacity ?? Infinity;
    if (!(capacity >= 0)) {
      throw new RangeError(`Capacity ${capacity} is not a size`);
    }
    this.#capacity = capacity;
    this.#clock = options.clock ?? systemClock;
    this.#root = newDir(this.#clock.now());
    this.features = {
      atomicFolderRename: options.atomicFolderRename ?? true,
      realFolders: options.realFolders ?? true,
    };
  }

  /**
   * Pages are made as they are pulled, from the folder's names as they
   * were at the first pull; an entry removed since is left out.
   */
  async *list(path: string): AsyncGenerator<Entry[], void, undefined> {
    this.#check("list");
    const { dir } = openDir(this.#root, path, "list");
    const names = [...dir.children.keys()].sort((a, b) =>
      a < b ? -1 : a > b ? 1 : 0
    );
    for (let i = 0; i < names.length; i += LIST_PAGE_SIZE) {
      const page: Entry[] = [];
      for (const name of names.slice(i, i + LIST_PAGE_SIZE)) {
        const node = dir.children.get(name);
        if (node !== undefined) page.push(toEntry(name, node));
      }
      if (page.length > 0) yield page;
    }
  }

  stat(name: string): Promise<Entry> {
    return settle(() => {
      this.#check("stat");
      const at = locate(this.#root, name, "stat");
      if (at.node === undefined) throw missing("stat", at.name);
      return toEntry(at.name, at.node);
    });
  }

  openRead(name: string, options: ReadOptions = {}): Promise<FileReader> {
    return settle(() => {
      const offset = readOffset(options);
      this.#check("read");
      const at = locate(this.#root, name, "read");
      if (at.node === undefined) throw missing("read", at.name);
      if (at.node.type === "dir") {
        throw new FtsError(
          "is_directory",
          `Cannot read ${quoteName(at.name)}: it is a folder`,
        );
      }
      const file = at.node;
      if (offset > file.data.byteLength) {
        throw new FtsError(
          "bad_request",
          `Cannot read ${
            quoteName(at.name)
          } from offset ${offset}: the file has ${file.data.byteLength} bytes`,
        );
      }
      const sha256 = file.sha256 ?? this.#remembered.get(file);
      return new MemoryReader(file, offset, sha256, (sum) => {
        if (offset === 0) this.#remembered.set(file, sum);
      });
    });
  }

  beginUpload(name: string, size: number): Promise<Upload> {
    return settle(() => {
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new RangeError(`Upload size ${size} is not a valid size`);
      }
      this.#check("upload");
      // Virtual folders are made at commit: a missing one is no error.
      const at = this.features.realFolders
        ? locate(this.#root, name, "upload")
        : checkPath(this.#root, name, "upload");
      if (at.node?.type === "dir") {
        throw new FtsError(
          "is_directory",
          `Cannot upload ${quoteName(at.name)}: a folder has that name`,
        );
      }
      const available = this.#available();
      if (size > available) {
        throw new FtsError(
          "no_space",
          `Cannot upload ${
            quoteName(at.name)
          }: ${size} bytes do not fit in the ${available} bytes free on the server`,
        );
      }
      const upload: MemoryUpload = new MemoryUpload(at.name, size, {
        place: (target, data, commit) => this.#place(target, data, commit),
        ended: () => this.#uploads.delete(upload),
      });
      this.#uploads.set(upload, size);
      return upload;
    });
  }

  remove(name: string): Promise<number> {
    return settle(() => {
      this.#check("delete");
      const at = locate(this.#root, name, "delete");
      if (at.node === undefined) throw missing("delete", at.name);
      if (at.node.type === "dir" && at.node.children.size > 0) {
        throw new FtsError(
          "is_directory",
          `Cannot delete ${quoteName(at.name)}: the folder is not empty`,
        );
      }
      at.parent.children.delete(at.base);
      const freed = at.node.type === "file" ? at.node.data.byteLength : 0;
      this.#used -= freed;
      this.#touch(at.parent);
      if (!this.features.realFolders) pruneVirtual(this.#root, at.name);
      return freed;
    });
  }

  rename(from: string, to: string, options: RenameOptions): Promise<number> {
    return settle(() => {
      this.#check("rename");
      const src = locate(this.#root, from, "rename");
      const action = `rename ${quoteName(src.name)} to`;
      const target = this.features.realFolders
        ? locate(this.#root, to, action)
        : checkPath(this.#root, to, action);
      const node = src.node;
      if (node === undefined) throw missing("rename", src.name);
      if (node.type === "dir" && !this.features.atomicFolderRename) {
        throw new FtsError(
          "unsupported",
          `Cannot rename ${
            quoteName(src.name)
          }: the server's storage cannot rename folders`,
        );
      }
      const replaced = target.node;
      if (replaced !== undefined) {
        if (!options.overwrite || src.name === target.name) {
          throw new FtsError(
            "exists",
            `Cannot ${action} ${quoteName(target.name)}: it already exists`,
          );
        }
        if (replaced.type === "dir") {
          throw new FtsError(
            "is_directory",
            `Cannot ${action} ${
              quoteName(target.name)
            }: a folder has that name`,
          );
        }
        if (node.type === "dir") {
          throw new FtsError(
            "not_directory",
            `Cannot ${action} ${quoteName(target.name)}: a file has that name`,
          );
        }
      }
      if (node.type === "dir" && target.name.startsWith(`${src.name}/`)) {
        throw new FtsError(
          "bad_request",
          `Cannot ${action} ${
            quoteName(target.name)
          }: a folder cannot move into itself`,
        );
      }
      const dst = "parent" in target
        ? target
        : locateMaking(this.#root, to, action, this.#clock.now());
      dst.parent.children.set(dst.base, node);
      src.parent.children.delete(src.base);
      const freed = replaced?.type === "file" ? replaced.data.byteLength : 0;
      this.#used -= freed;
      this.#touch(src.parent);
      this.#touch(dst.parent);
      if (!this.features.realFolders) pruneVirtual(this.#root, src.name);
      return freed;
    });
  }

  mkdir(name: string): Promise<void> {
    return settle(() => {
      this.#check("create folder");
      const action = "create folder";
      const found = this.features.realFolders
        ? locate(this.#root, name, action)
        : checkPath(this.#root, name, action);
      if (found.node !== undefined) {
        throw new FtsError(
          "exists",
          `Cannot create folder ${quoteName(found.name)}: it already exists`,
        );
      }
      const at = "parent" in found
        ? found
        : locateMaking(this.#root, name, action, this.#clock.now());
      at.parent.children.set(at.base, newDir(this.#clock.now()));
      this.#touch(at.parent);
    });
  }

  *files(): Generator<StoredFile> {
    this.#check("scan");
    const folders: [string, DirNode][] = [["", this.#root]];
    for (let next = folders.pop(); next; next = folders.pop()) {
      const [prefix, dir] = next;
      for (const [base, node] of dir.children) {
        const name = prefix === "" ? base : `${prefix}/${base}`;
        if (node.type === "dir") folders.push([name, node]);
        else yield { name, size: node.data.byteLength };
      }
    }
  }

  /** Aborts the uploads in flight; later requests fail with `io`. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#uploads.keys()].map((up) => up.abort()));
  }

  /** Puts a committed upload's bytes in the tree; see UploadOwner.place. */
  #place(name: string, data: Uint8Array, options: CommitOptions): string {
    this.#check("upload");
    const file: FileNode = {
      type: "file",
      data,
      mtime: options.mtime ?? this.#clock.now(),
      mode: options.mode === undefined ? FILE_MODE : storedMode(options.mode),
      sha256: options.sha256,
    };
    const first = this.features.realFolders
      ? locate(this.#root, name, "upload")
      : locateMaking(this.#root, name, "upload", file.mtime);
    const old = first.node;
    const placed = options.overwrite
      ? replace(first, file)
      : linkFree(first, file);
    if (options.overwrite && old?.type === "file") {
      this.#used -= old.data.byteLength;
    }
    this.#used += data.byteLength;
    this.#touch(first.parent);
    return placed;
  }

  /** Bytes an upload may still declare. */
  #available(): number {
    let free = this.#capacity - this.#used;
    for (const size of this.#uploads.values()) free -= size;
    return Math.max(0, free);
  }

  #touch(dir: DirNode): void {
    dir.mtime = this.#clock.now();
  }

  #check(action: string): void {
    if (this.#closed) {
      throw new FtsError(
        "io",
        `Cannot ${action}: the server's storage is closed`,
      );
    }
  }
}

/** Stores `file` under `at`, replacing a file there. */
function replace(at: Located, file: FileNode): string {
  const old = at.parent.children.get(at.base);
  if (old?.type === "dir") {
    throw new FtsError(
      "is_directory",
      `Cannot upload ${quoteName(at.name)}: a folder has that name`,
    );
  }
  at.parent.children.set(at.base, file);
  return at.name;
}

/** Stores `file` under the first free name of `at`: `(1) name`… */
function linkFree(at: Located, file: FileNode): string {
  for (let n = 0; n <= MAX_COLLISIONS; n++) {
    const candidate = n === 0 ? at.name : collisionName(at.name, n);
    if (!isValidName(candidate)) break;
    const { base } = splitName(candidate);
    if (at.parent.children.has(base)) continue;
    at.parent.children.set(base, file);
    return candidate;
  }
  throw new FtsError(
    "exists",
    `Cannot upload ${quoteName(at.name)}: no free name for a copy`,
  );
}

/** A {@linkcode FileReader} over a stored file's bytes. */
class MemoryReader implements FileReader {
  readonly size: number;
  readonly mtime: number;
  readonly mode: number;
  readonly sha256: string | undefined;
  readonly #data: Uint8Array;
  readonly #remember: (sha256: string) => void;
  #position: number;
  #closed = false;

  constructor(
    file: FileNode,
    offset: number,
    sha256: string | undefined,
    remember: (sha256: string) => void,
  ) {
    this.size = file.data.byteLength;
    this.mtime = file.mtime;
    this.mode = file.mode;
    this.sha256 = sha256;
    this.#data = file.data;
    this.#position = offset;
    this.#remember = remember;
  }

  read(buf: Uint8Array): Promise<number | null> {
    if (this.#closed) {
      return Promise.reject(
        new FtsError("io", "Cannot read: the file is closed"),
      );
    }
    if (this.#position >= this.#data.byteLength) return Promise.resolve(null);
    const n = Math.min(buf.byteLength, this.#data.byteLength - this.#position);
    buf.set(this.#data.subarray(this.#position, this.#position + n));
    this.#position += n;
    return Promise.resolve(n);
  }

  rememberSha256(sha256: string): Promise<void> {
    if (this.sha256 === undefined && !this.#closed) this.#remember(sha256);
    return Promise.resolve();
  }

  close(): void {
    this.#closed = true;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function missing(action: string, name: string): FtsError {
  return new FtsError(
    "not_found",
    `Cannot ${action} ${quoteName(name)}: no such file or folder`,
  );
}

/** `fn()` as a promise: a throw becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}
