/**
 * The small interface between the server's request handlers and the place
 * where files live. The local folder ({@linkcode LocalStorage} in
 * local/local_storage.ts) is one backend; an object store can be another. Every
 * backend passes the contract suite in tests/server/storage/storage_contract.ts.
 *
 * Names are protocol names (see protocol/names.ts): relative, "/"-separated,
 * NFC. A backend validates every name it is given, refuses names whose first
 * component is {@linkcode STATE_DIR}, and throws only {@linkcode FtsError}s,
 * with the codes listed on each method (plus `invalid_name` for a bad name,
 * `permission_denied` for a path the backend will not touch, such as a
 * symbolic link, and `io` for any other failure of the medium).
 *
 * @module
 */

import type { Entry } from "../../protocol/messages.ts";

export type { Entry };

/** First name component reserved for server state; never listed or served. */
export const STATE_DIR = ".fts";

/** An open file being read from its start, chunk by chunk. */
export interface FileReader extends Disposable {
  /** Size in bytes when the file was opened. */
  readonly size: number;
  /** Modification time in ms since the epoch (whole milliseconds). */
  readonly mtime: number;
  /** Permission bits (0 to 0o777), when the backend has them. */
  readonly mode?: number | undefined;
  /**
   * Reads up to `buf.byteLength` bytes into `buf`; resolves with the count,
   * or null at the end of the file. A short read does not mean the end.
   *
   * @throws {FtsError} `io`.
   */
  read(buf: Uint8Array): Promise<number | null>;
  /**
   * The SHA-256 (hex) of the whole file as it was stored, when the backend
   * knows it (it keeps what uploads were verified against), else undefined.
   * A sender may pass it on instead of hashing what it reads: the receiver
   * hashes the bytes it gets, so a stale value fails loudly, never silently.
   */
  readonly sha256?: string | undefined;
  /**
   * Offers the backend the SHA-256 of the whole file, computed by the
   * caller from bytes read through this reader from offset 0 to
   * {@linkcode size}, so later reads can skip hashing. The backend keeps it
   * only if the file did not change meanwhile. Never throws.
   */
  rememberSha256?(sha256: string): Promise<void>;
  /** Releases the file. Idempotent. */
  close(): void;
}

/** Options of {@linkcode Upload.commit}. */
export interface CommitOptions {
  /** Replace an existing file of that name atomically instead of renaming the new one. */
  overwrite: boolean;
  /** Modification time to give the file, in ms since the epoch. */
  mtime?: number;
  /**
   * Permission bits asked for the file (0 to 0o777). A backend with modes
   * stores them masked by {@linkcode storedMode}; without this, files are
   * private to the server's user (0o600 on a local disk).
   */
  mode?: number;
  /**
   * The SHA-256 (hex) the data was verified against. A backend may keep it
   * as {@linkcode FileReader.sha256} for later reads.
   */
  sha256?: string;
}

/**
 * A file being received. Nothing is visible under any name until
 * {@linkcode commit} resolves; {@linkcode abort} (or disposal before commit)
 * removes every trace.
 */
export interface Upload extends AsyncDisposable {
  /** Bytes written so far. */
  readonly written: number;
  /**
   * Appends `chunk`. The caller may reuse `chunk`'s memory once the promise
   * resolves, so a backend must finish with it (or copy it) first. Calls
   * may overlap: chunks are appended in call order, so a caller can queue
   * the next chunk while the previous one is being written. After a failed
   * write, every later one fails too.
   *
   * @throws {FtsError} `no_space`, `io`.
   */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Makes the data durable and visible, then resolves with the final name:
   * the name asked for, or with `overwrite: false` when that exists,
   * `(1) name`, `(2) name`… (see collisionName). With `overwrite: true` an
   * existing file is replaced atomically: readers see the old or the new
   * file, never a mix.
   *
   * @throws {FtsError} `not_found` (the folder vanished), `is_directory`
   * (a folder has that name), `exists` (no free collision name), `no_space`,
   * `io`. After a failure the upload is aborted.
   * @example
   * ```ts
   * await using up = await storage.beginUpload("a.txt", 3);
   * await up.write(new TextEncoder().encode("abc"));
   * const name = await up.commit({ overwrite: false }); // "a.txt" or "(1) a.txt"
   * ```
   */
  commit(options: CommitOptions): Promise<string>;
  /** Discards the data. Idempotent; never throws; a no-op after commit. */
  abort(): Promise<void>;
}

/** Options of {@linkcode Storage.rename}. */
export interface RenameOptions {
  /** Replace an existing file at `to` atomically. */
  overwrite: boolean;
}

/**
 * Where the server keeps files.
 *
 * @example
 * ```ts
 * const storage: Storage = await LocalStorage.open("./dados");
 * for (const e of await storage.list("")) console.log(e.name, e.size);
 * ```
 */
export interface Storage extends AsyncDisposable {
  /**
   * Lists a folder ("" for the top), sorted by name. Entry names are base
   * names, each a valid protocol name; entries the backend cannot serve
   * (symbolic links, devices, invalid names, the state folder) are left out.
   *
   * @throws {FtsError} `not_found`, `not_directory`.
   * @example
   * ```ts
   * await storage.list("docs"); // [{ name: "a.pdf", type: "file", size: 3, mtime: 1700000000000 }]
   * ```
   */
  list(path: string): Promise<Entry[]>;
  /**
   * Describes one file or folder; `name` in the result is the full name.
   *
   * @throws {FtsError} `not_found`.
   * @example
   * ```ts
   * const { size, mtime } = await storage.stat("docs/a.pdf");
   * ```
   */
  stat(name: string): Promise<Entry>;
  /**
   * Opens a file for reading from its start.
   *
   * @throws {FtsError} `not_found`, `is_directory`.
   * @example
   * ```ts
   * using reader = await storage.openRead("a.txt");
   * const n = await reader.read(new Uint8Array(1 << 20));
   * ```
   */
  openRead(name: string): Promise<FileReader>;
  /**
   * Starts receiving a file of `size` bytes to be stored as `name`.
   * Checks what can be checked before any data flows.
   *
   * @throws {FtsError} `not_found` (no such folder), `not_directory`,
   * `is_directory` (a folder has that name), `no_space`.
   * @example
   * ```ts
   * await using up = await storage.beginUpload("a.txt", 3);
   * ```
   */
  beginUpload(name: string, size: number): Promise<Upload>;
  /**
   * Removes a file or an empty folder.
   *
   * @throws {FtsError} `not_found`, `is_directory` (the folder is not empty).
   * @example
   * ```ts
   * await storage.remove("old.txt");
   * ```
   */
  remove(name: string): Promise<void>;
  /**
   * Renames a file or folder. Without `overwrite` an existing `to` is
   * refused; with it an existing file is replaced atomically.
   *
   * @throws {FtsError} `not_found`, `exists`, `is_directory` (`to` is a
   * folder), `bad_request` (a folder moved into itself).
   * @example
   * ```ts
   * await storage.rename("a.txt", "docs/a.txt", { overwrite: false });
   * ```
   */
  rename(from: string, to: string, options: RenameOptions): Promise<void>;
  /**
   * Creates one folder; its parent must exist.
   *
   * @throws {FtsError} `exists`, `not_found` (no parent), `not_directory`.
   * @example
   * ```ts
   * await storage.mkdir("docs");
   * ```
   */
  mkdir(name: string): Promise<void>;
}

/**
 * The permission bits a file asked to have `mode` is stored with: never
 * setuid, setgid or sticky, never writable by group or others, always
 * readable and writable by the server's user.
 *
 * @example
 * ```ts
 * storedMode(0o4777); // 0o755
 * storedMode(0o400); // 0o600
 * ```
 */
export function storedMode(mode: number): number {
  return (mode & 0o755) | 0o600;
}
