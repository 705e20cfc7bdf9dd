/**
 * Maps protocol names to files under the local backend's root so that no
 * request can reach outside it, even while a local user who can write
 * inside the root swaps folders for symbolic links.
 *
 * The root is opened once and its descriptor held. A name is resolved one
 * component at a time, each folder opened with `O_DIRECTORY | O_NOFOLLOW`
 * relative to its parent's descriptor (through `/proc/self/fd/N/name`,
 * Linux's way to reach a held descriptor by path). The last component is
 * then used through its parent's descriptor: lstat, rename, link, unlink
 * and mkdir never follow a link there, and files are opened with
 * `O_NOFOLLOW`. A swap can make a request fail, never escape: a swapped-in
 * link is refused, and a folder already opened stays the one it was.
 *
 * Deno grants paths under `/proc/self/fd` only to a process run with
 * `--allow-all`, so the server needs it.
 *
 * @module
 */

import * as fs from "node:fs";
import { FtsError } from "../../../protocol/errors.ts";
import { quoteName, validateName } from "../../../protocol/names.ts";
import { FolderCache } from "./folder_cache.ts";
import { fsError } from "./fs_errors.ts";

/**
 * First name component the local backend keeps for itself (`<root>/.fts`:
 * partial uploads, checksums, the lock, and by default the server's TLS key
 * and accounts); never listed or served.
 */
export const STATE_DIR = ".fts";

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/** A folder, never through a link. */
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
/** A file, never through a link, never waiting on a FIFO. */
const FILE_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

/**
 * An open folder. Paths built by {@linkcode Folder.at} go through its
 * descriptor, so they name entries of this very folder wherever it is.
 */
export class Folder implements Disposable {
  readonly #fd: number;
  /** The handle that closes the descriptor: this one, or its lender. */
  readonly #owner: Folder;
  /** For a lease: called once when it is disposed. */
  #release: (() => void) | null;
  #closed = false;

  /**
   * Wraps descriptor `fd`, closed when this handle is disposed; with
   * `owner`, a borrowed view that `owner` closes instead, calling
   * `release` (once) when the view is disposed.
   */
  constructor(fd: number, owner?: Folder, release?: () => void) {
    this.#fd = fd;
    this.#owner = owner ?? this;
    this.#release = release ?? null;
  }

  /** A path naming this folder itself. */
  get path(): string {
    return `/proc/self/fd/${this.#open()}`;
  }

  /**
   * A path naming the entry `base` (one component) of this folder.
   *
   * @throws {FtsError} `io` once the folder is closed (its number may
   * name another file by then).
   */
  at(base: string): string {
    return `/proc/self/fd/${this.#open()}/${base}`;
  }

  /** The same folder, under a handle whose disposal does not close it. */
  borrow(): Folder {
    return new Folder(this.#open(), this.#owner);
  }

  /**
   * The same folder, under a handle whose disposal calls `release` (once)
   * instead of closing it.
   */
  lease(release: () => void): Folder {
    return new Folder(this.#open(), this.#owner, release);
  }

  /** Opens the sub-folder `base`, never through a link. */
  openFolder(base: string): Folder {
    return new Folder(fs.openSync(this.at(base), DIR_FLAGS));
  }

  /** Closes the descriptor (unless borrowed). Idempotent. */
  [Symbol.dispose](): void {
    const release = this.#release;
    this.#release = null;
    release?.();
    if (this.#owner !== this || this.#closed) return;
    this.#closed = true;
    fs.closeSync(this.#fd);
  }

  #open(): number {
    if (this.#owner.#closed) {
      throw new FtsError("io", "The server's data folder is closed");
    }
    return this.#fd;
  }
}

/** A validated name and its open parent folder; dispose it to close the parent. */
export interface Located extends Disposable {
  /** The validated (NFC) name. */
  readonly name: string;
  /** The open parent folder. */
  readonly folder: Folder;
  /** The last component. */
  readonly base: string;
}

/**
 * A checked name: its NFC form, its parent folder (open) and what is there
 * now. Dispose it to close the parent.
 */
export interface Inspected extends Located {
  /** A path naming the entry through the parent's descriptor. */
  readonly path: string;
  /** The entry's lstat, or null if nothing is there. */
  readonly info: Deno.FileInfo | null;
}

/** A folder opened by name; dispose it to close the folder. */
export interface OpenedFolder extends Disposable {
  /** The validated (NFC) name; "" for the root. */
  readonly name: string;
  readonly folder: Folder;
}

/** Root-confined path resolution for the local backend. */
export class RootedPaths implements Disposable {
  readonly #root: string;
  readonly #folder: Folder;
  /** Folders opened by earlier walks, checked again before each use. */
  readonly #cache: FolderCache;

  private constructor(root: string, folder: Folder) {
    this.#root = root;
    this.#folder = folder;
    this.#cache = new FolderCache(root);
  }

  /**
   * Opens `root`, an absolute folder path without links (use
   * `Deno.realPath`), and holds it open until disposal.
   *
   * @throws {FtsError} `not_directory`, `permission_denied` (a link),
   * `io` (also when the system has no `/proc/self/fd`).
   */
  static open(root: string): RootedPaths {
    if (Deno.build.os !== "linux") {
      throw new FtsError(
        "io",
        `Cannot open the data folder ${
          quoteName(root)
        }: the server needs Linux's /proc/self/fd`,
      );
    }
    let folder: Folder;
    try {
      folder = new Folder(fs.openSync(root, DIR_FLAGS));
    } catch (error) {
      throw fsError(error, "open the data folder", root);
    }
    try {
      if (Deno.realPathSync(folder.path) !== root) {
        throw new Error(`${folder.path} does not name ${root}`);
      }
    } catch (error) {
      folder[Symbol.dispose]();
      throw new FtsError(
        "io",
        `Cannot open the data folder ${
          quoteName(root)
        }: the server needs Linux's /proc/self/fd (and Deno's --allow-all)`,
        { cause: error },
      );
    }
    return new RootedPaths(root, folder);
  }

  /** The root folder's path (for messages; requests use {@linkcode folder}). */
  get root(): string {
    return this.#root;
  }

  /** The root folder, open for as long as this object. */
  get folder(): Folder {
    return this.#folder;
  }

  /**
   * Validates `name`, refusing the state folder, and returns its NFC form.
   *
   * @throws {FtsError} `invalid_name` for an invalid or reserved name.
   */
  resolve(name: string, action: string): string {
    const nfc = validateName(name);
    const first = nfc.split("/", 1)[0];
    if (first === STATE_DIR) {
      throw new FtsError(
        "invalid_name",
        `Cannot ${action} ${quoteName(nfc)}: the name ${
          quoteName(STATE_DIR)
        } is reserved for the server`,
      );
    }
    return nfc;
  }

  /**
   * Opens the parent folder of `name` without looking at its last
   * component: for callers whose next call (link, open with `O_NOFOLLOW`,
   * `O_EXCL`) never follows a link there anyway.
   *
   * @throws {FtsError} `invalid_name`, `not_found` (a parent is missing),
   * `not_directory`, `permission_denied` (a symbolic link), `io`.
   */
  locate(name: string, action: string): Located {
    const nfc = this.resolve(name, action);
    const parts = nfc.split("/");
    const base = parts.pop()!;
    const folder = this.#walk(nfc, parts, action);
    return {
      name: nfc,
      folder,
      base,
      [Symbol.dispose]: () => folder[Symbol.dispose](),
    };
  }

  /**
   * Opens the parent folder of `name` and lstats its last component, which
   * may be missing (info null) but never a symbolic link.
   *
   * @throws {FtsError} `invalid_name`, `not_found` (a parent is missing),
   * `not_directory`, `permission_denied` (a symbolic link), `io`.
   */
  inspect(name: string, action: string): Inspected {
    const nfc = this.resolve(name, action);
    const parts = nfc.split("/");
    const base = parts.pop()!;
    const folder = this.#walk(nfc, parts, action);
    const path = folder.at(base);
    let info: Deno.FileInfo | null;
    try {
      info = lstatOrNull(path);
    } catch (error) {
      folder[Symbol.dispose]();
      throw fsError(error, action, nfc);
    }
    if (info?.isSymlink) {
      folder[Symbol.dispose]();
      throw linkError(action, nfc, nfc);
    }
    return {
      name: nfc,
      folder,
      base,
      path,
      info,
      [Symbol.dispose]: () => folder[Symbol.dispose](),
    };
  }

  /**
   * Opens the folder `name` itself ("" is the root).
   *
   * @throws {FtsError} `invalid_name`, `not_found`, `not_directory`,
   * `permission_denied` (a symbolic link), `io`.
   */
  openFolder(name: string, action: string): OpenedFolder {
    const nfc = name === "" ? "" : this.resolve(name, action);
    const folder = nfc === ""
      ? this.#folder.borrow()
      : this.#walk(nfc, nfc.split("/"), action);
    return {
      name: nfc,
      folder,
      [Symbol.dispose]: () => folder[Symbol.dispose](),
    };
  }

  /**
   * Opens an existing regular file for reading, never through a link, and
   * refusing folders and special files.
   *
   * @throws {FtsError} `not_found`, `is_directory`, `permission_denied`,
   * `io`.
   */
  openFile(
    name: string,
    action: string,
  ): { name: string; file: Deno.FsFile; info: Deno.FileInfo } {
    using at = this.inspect(name, action);
    requireFile(at, action);
    let opened: ReturnType<typeof openFileAt>;
    try {
      opened = openFileAt(at.path);
    } catch (error) {
      throw fsError(error, action, at.name);
    }
    if (opened === null) {
      throw new FtsError(
        "permission_denied",
        `Cannot ${action} ${quoteName(at.name)}: it changed while being opened`,
      );
    }
    return { name: at.name, ...opened };
  }

  /** Closes the root and the folders kept open. */
  [Symbol.dispose](): void {
    this.#cache[Symbol.dispose]();
    this.#folder[Symbol.dispose]();
  }

  /**
   * Opens the folders `parts` in turn from the root, never through a link,
   * starting from the deepest one kept open that is still where it was
   * (see folder_cache.ts); keeps the folder it ends at.
   */
  #walk(name: string, parts: readonly string[], action: string): Folder {
    if (parts.length === 0) return this.#folder.borrow();
    const key = parts.join("/");
    const kept = this.#cache.get(key);
    if (kept !== null) return kept;
    const i = parts.length - 1;
    const parent = this.#walk(name, parts.slice(0, i), action);
    let next: Folder;
    try {
      next = parent.openFolder(parts[i]!);
    } catch (error) {
      const failed = componentError(error, parent, parts, i, name, action);
      parent[Symbol.dispose]();
      throw failed;
    }
    parent[Symbol.dispose]();
    return this.#cache.keep(key, next);
  }
}

/**
 * Opens the regular file at `path` (through a held folder) for reading, or
 * returns null when a link, a folder or a special file is there now.
 *
 * @throws what opening throws, other than for a link.
 */
export function openFileAt(
  path: string,
): { file: Deno.FsFile; info: Deno.FileInfo } | null {
  let fd: number;
  try {
    fd = fs.openSync(path, FILE_FLAGS);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ELOOP") return null;
    throw error;
  }
  try {
    const self = `/proc/self/fd/${fd}`;
    const info = Deno.statSync(self);
    if (!info.isFile) return null;
    // A second open of the same file, as a Deno file (no blocking: it is
    // a regular file, checked on the descriptor itself).
    return { file: Deno.openSync(self, { read: true }), info };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads up to `length` bytes from the start of the regular file at `path`
 * (through a held folder), with the stat of the file read; null when a
 * link, a folder or a special file is there now. Synchronous, on one
 * descriptor (open, stat, read, close): cheaper than {@linkcode openFileAt}
 * for a peek.
 *
 * @throws what opening or reading throws, other than for a link.
 */
export function readHeadAt(
  path: string,
  length: number,
): { head: Uint8Array; info: Deno.FileInfo } | null {
  let fd: number;
  try {
    fd = fs.openSync(path, FILE_FLAGS);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ELOOP") return null;
    throw error;
  }
  try {
    const info = Deno.statSync(`/proc/self/fd/${fd}`);
    if (!info.isFile) return null;
    const head = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const n = fs.readSync(fd, head, filled, length - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return { head: head.subarray(0, filled), info };
  } finally {
    fs.closeSync(fd);
  }
}

/** The file's info, or the right error when `inspected` is not a regular file. */
function requireFile(
  inspected: { readonly name: string; readonly info: Deno.FileInfo | null },
  action: string,
): Deno.FileInfo {
  const { info, name } = inspected;
  if (info === null) {
    throw new FtsError(
      "not_found",
      `Cannot ${action} ${quoteName(name)}: no such file`,
    );
  }
  if (info.isDirectory) {
    throw new FtsError(
      "is_directory",
      `Cannot ${action} ${quoteName(name)}: it is a folder`,
    );
  }
  if (!info.isFile) {
    throw new FtsError(
      "permission_denied",
      `Cannot ${action} ${quoteName(name)}: it is not a regular file`,
    );
  }
  return info;
}

/** Whole milliseconds of a file's modification time (0 when unknown). */
export function mtimeMs(info: Deno.FileInfo): number {
  return Math.floor(info.mtime?.getTime() ?? 0);
}

/** lstat that answers null for a missing entry. */
export function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/** The error for failing to open folder `parts[i]` inside `parent`. */
function componentError(
  error: unknown,
  parent: Folder,
  parts: readonly string[],
  i: number,
  name: string,
  action: string,
): FtsError {
  const code = (error as { code?: unknown }).code;
  const sofar = parts.slice(0, i + 1).join("/");
  if (code === "ENOENT") {
    return new FtsError(
      "not_found",
      `Cannot ${action} ${quoteName(name)}: no folder ${quoteName(sofar)}`,
      { cause: error },
    );
  }
  if (code === "ENOTDIR" || code === "ELOOP") {
    let info: Deno.FileInfo | null = null;
    try {
      info = lstatOrNull(parent.at(parts[i]!));
    } catch {
      // Only the wording depends on it.
    }
    // A folder now means a link that was swapped back since.
    if (info?.isSymlink || info?.isDirectory) {
      return linkError(action, name, sofar);
    }
    return new FtsError(
      "not_directory",
      `Cannot ${action} ${quoteName(name)}: ${
        quoteName(sofar)
      } is not a folder`,
      { cause: error },
    );
  }
  return fsError(error, action, name);
}

function linkError(action: string, name: string, link: string): FtsError {
  return new FtsError(
    "permission_denied",
    `Cannot ${action} ${quoteName(name)}: ${
      quoteName(link)
    } is a symbolic link`,
  );
}

/**
 * Opens the folder at `path` (its last component never through a link) if
 * it belongs to this process's user, and makes it private (0700): the
 * server's state folder, where a folder that someone else made could hand
 * the server their users or their key.
 *
 * @throws {FtsError} `permission_denied` for a folder of another user or
 * something that is not a folder; the file system's error otherwise.
 * @example
 * ```ts
 * using state = openOwnFolder("dados/.fts");
 * Deno.readTextFileSync(state.at("users.json"));
 * ```
 */
export function openOwnFolder(path: string): Folder {
  let folder: Folder;
  try {
    folder = new Folder(fs.openSync(path, DIR_FLAGS));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== "ELOOP" && code !== "ENOTDIR") throw error;
    throw new FtsError(
      "permission_denied",
      `The server's state folder ${quoteName(path, 200)} is not a real folder`,
      { cause: error },
    );
  }
  try {
    makeOwnPrivate(folder, path);
    return folder;
  } catch (error) {
    folder[Symbol.dispose]();
    throw error;
  }
}

/**
 * Refuses `folder` (shown as `shown`) unless this process's user owns it,
 * then makes it private (0700).
 *
 * @throws {FtsError} `permission_denied` for another user's folder.
 */
export function makeOwnPrivate(folder: Folder, shown: string): void {
  const uid = Deno.uid();
  if (uid !== null && fs.statSync(folder.path).uid !== uid) {
    throw new FtsError(
      "permission_denied",
      `The server's state folder ${
        quoteName(shown, 200)
      } belongs to another user`,
    );
  }
  fs.chmodSync(folder.path, 0o700);
}
