/**
 * The small interface between the server's request handlers and the place
 * where files live. The local folder ({@linkcode LocalStorage} in
 * local/local_storage.ts) is one backend, memory (memory/memory_storage.ts)
 * another; an object store can be the next. Every backend passes the
 * contract suite in tests/server/storage/storage_contract.ts.
 *
 * The contract asks nothing an S3-compatible store cannot give: reads start
 * at any offset (a ranged GET), listings come in pages (a paginated LIST),
 * an upload is begun, written in order and then committed or aborted (a
 * multipart upload), and what a store cannot do atomically, renaming a
 * folder, is declared in {@linkcode StorageFeatures} for the handlers to
 * consult.
 *
 * Names are protocol names (see protocol/names.ts): relative, "/"-separated,
 * NFC. A backend validates every name it is given, may reserve names of
 * its own (the local backend keeps its state in `.fts`), and throws only
 * {@linkcode FtsError}s, with the codes listed on each method (plus
 * `invalid_name` for a bad or reserved name, `permission_denied` for a path
 * the backend will not touch, such as a symbolic link, and `io` for any
 * other failure of the medium).
 *
 * @module
 */

import type { Entry } from "../../protocol/messages.ts";

export type { Entry };

/** Highest `(n) name` a commit tries before it gives up with `exists`. */
export const MAX_COLLISIONS = 9999;

/** Most entries in one page of {@linkcode Storage.list}. */
export const LIST_PAGE_SIZE = 1000;

/** What a backend can and cannot do; handlers consult it. */
export interface StorageFeatures {
  /**
   * True: {@linkcode Storage.rename} moves a folder with everything in it in
   * one atomic step. False (an object store, where a folder is a prefix
   * shared by many objects): rename() refuses folders with `unsupported`,
   * and so does the RENAME handler, before asking.
   */
  readonly atomicFolderRename: boolean;
  /**
   * True: folders exist by themselves, as on a disk: mkdir() makes one
   * (its parent must exist), and a file can only be stored in a folder
   * that exists. False (an object store): a folder is a name prefix, there
   * as long as something lies under it or mkdir() made it (a marker): a file
   * or folder may be stored under missing folders, which appear with it and
   * vanish with the last thing under them. Either way a name is never both
   * a file and a folder, and an empty folder made by mkdir() is listed.
   */
  readonly realFolders: boolean;
}

/** Options of {@linkcode Storage.openRead}. */
export interface ReadOptions {
  /**
   * Where reading starts, 0 to the file's size. Default 0. A backend
   * starts there directly (a seek, a ranged request), never by reading
   * what comes before.
   */
  offset?: number;
}

/** An open file being read, chunk by chunk, from where it was opened. */
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
   * caller from bytes read through this reader, opened at offset 0, up to
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
 * removes every trace. The local backend writes a hidden partial file and
 * renames it into place; an object store would run a multipart upload and
 * complete it at commit.
 */
export interface Upload extends AsyncDisposable {
  /** Bytes written so far. */
  readonly written: number;
  /**
   * After a commit that replaced a file (`overwrite`): that file's size, as
   * it was when it was replaced; 0 when it replaced nothing. Undefined
   * before the commit, or when the backend does not tell.
   */
  readonly replaced?: number | undefined;
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
  /**
   * Present when the upload was begun with {@linkcode UploadOptions.resume}
   * on a backend that keeps partial uploads: where it continues a partial
   * kept before (`offset` 0 when none), and the block size of its hashes.
   */
  readonly resume?: ResumePoint | undefined;
  /**
   * With {@linkcode resume}: reads kept bytes at `position` (below
   * `resume.offset`, or rewritten since) into `buf`; resolves with the
   * count, or null at the end.
   *
   * @throws {FtsError} `io`.
   */
  readAt?(position: number, buf: Uint8Array): Promise<number | null>;
  /**
   * With {@linkcode resume}: writes `chunk` over kept bytes at `position`
   * (`position + chunk.byteLength` at most `resume.offset`), after every
   * write queued before. The caller may reuse `chunk` once it resolves.
   *
   * @throws {RangeError} for a range outside the kept bytes.
   * @throws {FtsError} `io`.
   */
  rewrite?(position: number, chunk: Uint8Array): Promise<void>;
  /**
   * With {@linkcode resume}: ends the upload without storing it, keeping
   * what was written (made durable first) for a later resume; a later
   * abort or disposal is then a no-op. Never throws: when the data cannot
   * be kept it is discarded.
   */
  keep?(): Promise<void>;
}

/** Where a resumable upload continues (see {@linkcode Upload.resume}). */
export interface ResumePoint {
  /**
   * Bytes kept from an earlier try: whole blocks, or the whole size;
   * writes continue here. Nothing is verified: compare block hashes.
   */
  readonly offset: number;
  /** The block size of the file's block hashes (common/chunk_sums.ts). */
  readonly block: number;
}

/** A partial upload a backend keeps for a later resume. */
export interface KeptPartial {
  /** The name it is to be stored under. */
  readonly name: string;
  /** The account that uploaded it, or null. */
  readonly owner: string | null;
  /** Its declared size. */
  readonly size: number;
}

/** Options of {@linkcode Storage.beginUpload}. */
export interface UploadOptions {
  /**
   * The account that uploads, or null for an anonymous client. Backends
   * may ignore it; quota accounting (quota.ts) charges the file to it.
   */
  owner?: string | null;
  /**
   * Make the upload resumable, on a backend that keeps partial uploads:
   * continue the partial kept for the same owner, name, size and `mtime`
   * (a partial of the owner and name with another size or mtime is
   * dropped), and allow {@linkcode Upload.keep}. Ignored by other backends.
   */
  resume?: { readonly mtime: number };
}

/** A stored file and its size, as {@linkcode Storage.files} gives them. */
export interface StoredFile {
  /** The full name (a protocol name when it is one; any name on the disk otherwise). */
  readonly name: string;
  readonly size: number;
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
 * for await (const page of storage.list("")) {
 *   for (const e of page) console.log(e.name, e.size);
 * }
 * ```
 */
export interface Storage extends AsyncDisposable {
  /** What this backend can do. */
  readonly features: StorageFeatures;
  /**
   * Lists a folder ("" for the top), sorted by name, in pages of 1 to {@linkcode LIST_PAGE_SIZE} entries; an empty folder
   * gives no page. Pages are produced as they are pulled, so a caller holds
   * one page at a time, never the whole folder. Entry names are base
   * names, each a valid protocol name; entries the backend cannot serve
   * (symbolic links, devices, invalid or reserved names) are left out. An
   * entry may carry `encrypted: true` when the backend knows the file is an
   * age file (see PROTOCOL.md, ENTRIES). The first pull fails for a folder
   * that cannot be listed; leaving the loop early releases the listing.
   *
   * @throws {FtsError} `not_found`, `not_directory`.
   * @example
   * ```ts
   * for await (const page of storage.list("docs")) console.log(page.length);
   * ```
   */
  list(path: string): AsyncIterable<Entry[]>;
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
   * Opens a file for reading from `options.offset` (default 0).
   *
   * @throws {RangeError} for an offset that is not a non-negative integer.
   * @throws {FtsError} `not_found`, `is_directory`, `bad_request` (the
   * offset is beyond the end of the file).
   * @example
   * ```ts
   * using reader = await storage.openRead("a.txt", { offset: 1 << 20 });
   * const n = await reader.read(new Uint8Array(1 << 20));
   * ```
   */
  openRead(name: string, options?: ReadOptions): Promise<FileReader>;
  /**
   * Starts receiving a file of `size` bytes to be stored as `name`.
   * Checks what can be checked before any data flows, the free space
   * included: the size is reserved until the upload ends.
   *
   * @throws {FtsError} `not_found` (no such folder, when folders are
   * real), `not_directory`, `is_directory` (a folder has that name),
   * `no_space`.
   * @example
   * ```ts
   * await using up = await storage.beginUpload("a.txt", 3);
   * ```
   */
  beginUpload(
    name: string,
    size: number,
    options?: UploadOptions,
  ): Promise<Upload>;
  /**
   * Every regular file stored, with its size, walked synchronously (so the
   * result is one consistent moment of a running server). Includes files a
   * client cannot be served (names that are not valid protocol names) but
   * never the backend's own state. Optional: without it, quota accounting
   * walks {@linkcode list}.
   *
   * @throws {FtsError} `io`.
   */
  files?(): Iterable<StoredFile>;
  /**
   * Removes a file or an empty folder. Resolves with the bytes freed: the
   * file's size, 0 for a folder (a backend may resolve with nothing, which
   * quota accounting reads as 0).
   *
   * @throws {FtsError} `not_found`, `is_directory` (the folder is not empty).
   * @example
   * ```ts
   * await storage.remove("old.txt");
   * ```
   */
  remove(name: string): Promise<number | void>;
  /**
   * Renames a file, or a folder when {@linkcode
   * StorageFeatures.atomicFolderRename} says so. Without `overwrite` an
   * existing `to` is refused; with it an existing file is replaced
   * atomically. Resolves with the size of the file it replaced, 0 when
   * none (a backend may resolve with nothing, read as 0).
   *
   * @throws {FtsError} `not_found`, `exists`, `is_directory` (`to` is a
   * folder), `bad_request` (a folder moved into itself), `unsupported` (a
   * folder, on a backend without atomic folder renames).
   * @example
   * ```ts
   * await storage.rename("a.txt", "docs/a.txt", { overwrite: false });
   * ```
   */
  rename(
    from: string,
    to: string,
    options: RenameOptions,
  ): Promise<number | void>;
  /**
   * Creates one folder; its parent must exist when folders are real.
   *
   * @throws {FtsError} `exists`, `not_found` (no parent), `not_directory`.
   * @example
   * ```ts
   * await storage.mkdir("docs");
   * ```
   */
  mkdir(name: string): Promise<void>;
  /**
   * The partial uploads kept for a later resume (see {@linkcode
   * UploadOptions.resume}), except those being resumed now. Optional: a
   * backend without it keeps none.
   */
  partials?(): Iterable<KeptPartial>;
  /**
   * Removes the kept partials whose time to live is over, and resolves
   * with them. Optional, like {@linkcode partials}.
   */
  expirePartials?(): KeptPartial[];
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

/**
 * The offset `options` asks {@linkcode Storage.openRead} to start at.
 *
 * @throws {RangeError} when it is not a non-negative safe integer.
 * @example
 * ```ts
 * readOffset({}); // 0
 * readOffset({ offset: 5 }); // 5
 * ```
 */
export function readOffset(options: ReadOptions): number {
  const offset = options.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`Read offset ${offset} is not a valid offset`);
  }
  return offset;
}
