/**
 * An {@linkcode Upload} of the local backend: data goes to a private file in
 * `<root>/.fts/partial/`, which becomes visible only by an atomic rename or
 * link once it is complete and fsynced.
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
import {
  type ChecksumCache,
  type FileStamp,
  stampOf,
} from "./checksum_cache.ts";
import { removeQuietly } from "../../../common/remove_quietly.ts";
import type { CommitGroups, Placement } from "./commit_group.ts";
import { fsError } from "./fs_errors.ts";
import type { Folder, RootedPaths } from "./rooted_paths.ts";
import {
  type CommitOptions,
  MAX_COLLISIONS,
  type ResumePoint,
  storedMode,
  type Upload,
} from "../storage.ts";
import {
  assertComplete,
  closedUploadError,
  refusedWrite,
  type UploadState,
} from "../upload_checks.ts";

/**
 * Uploads of at most this many bytes are written with synchronous calls: a
 * write of that size into the page cache takes a few tens of microseconds,
 * less than an async call's hand-off to an I/O thread (about 80 µs here).
 * Larger uploads are written asynchronously, so the event loop never waits
 * for the disk.
 */
export const SYNC_WRITE_MAX = 256 * 1024;

/** Options of {@linkcode LocalUpload.create}. */
export interface LocalUploadOptions {
  /** Where the commit syncs and names the file, grouped with others. */
  commits: CommitGroups;
  /** Where the verified SHA-256 of a committed file is kept, if anywhere. */
  sums?: ChecksumCache;
  /**
   * The open private folder on the same file system for files an overwrite
   * replaced: they are moved there by a hard link and deleted only when the
   * upload is disposed, after its reply went out, because deleting a large
   * file takes time (0.2 s per GiB here). Without it they are deleted by
   * the rename itself.
   */
  trash?: Folder;
  /**
   * Called once, when the partial file is gone: renamed or linked into
   * place and removed, or removed by an abort.
   */
  onEnd?: () => void;
  /** Makes the upload resumable (see {@linkcode KeepHooks}). */
  keep?: KeepHooks;
}

/**
 * What a resumable upload tells its storage: the partial file is kept
 * beside a sidecar (see local_partials.ts) that says how many of its bytes
 * are durable.
 */
export interface KeepHooks {
  /** Where the upload continues: bytes of the partial file kept before. */
  readonly resume: ResumePoint;
  /** Bytes written between two checkpoints (a sync and a sidecar). */
  readonly checkpointBytes: number;
  /** The first `length` bytes are synced: records it in the sidecar. */
  record(length: number): void;
  /** The upload was kept with `length` durable bytes: it may be resumed. */
  kept(length: number): void;
  /** The partial is stored or discarded: its sidecar goes. */
  forget(): void;
}

/** See the module comment. Create with {@linkcode LocalUpload.create}. */
export class LocalUpload implements Upload {
  readonly #paths: RootedPaths;
  readonly #name: string;
  readonly #size: number;
  readonly #part: PartFile;
  readonly #file: Deno.FsFile;
  readonly #sums: ChecksumCache | undefined;
  readonly #trashDir: Folder | undefined;
  readonly #onEnd: (() => void) | undefined;
  readonly #commits: CommitGroups;
  /** The replaced file's last link, deleted on disposal. */
  #trash: string | null = null;
  /** Bytes on disk. */
  #written = 0;
  /** Size of the file a commit replaced, once it did. */
  #replaced: number | undefined;
  /** Bytes on disk or queued. */
  #queued = 0;
  /** The first write error; every later write fails with it. */
  #failure: { error: unknown } | null = null;
  #state: UploadState = "open";
  #busy: Promise<unknown> = Promise.resolve();
  #fileClosed = false;
  #endedOnce = false;
  readonly #keep: KeepHooks | undefined;
  /** Bytes the last checkpoint made durable. */
  #checkpointed = 0;
  /** The checkpoint under way; settles, never rejects. */
  #checkpoint: Promise<void> | null = null;
  /** Handles for reading kept bytes and rewriting them, opened when asked. */
  #reader: Deno.FsFile | null = null;
  #patcher: Deno.FsFile | null = null;

  private constructor(
    paths: RootedPaths,
    name: string,
    size: number,
    part: PartFile,
    file: Deno.FsFile,
    options: LocalUploadOptions,
  ) {
    this.#paths = paths;
    this.#name = name;
    this.#size = size;
    this.#part = part;
    this.#file = file;
    this.#sums = options.sums;
    this.#trashDir = options.trash;
    this.#onEnd = options.onEnd;
    this.#commits = options.commits;
    this.#keep = options.keep;
    const kept = options.keep?.resume.offset ?? 0;
    this.#written = kept;
    this.#queued = kept;
    this.#checkpointed = kept;
  }

  /**
   * Creates the partial file `part` (which must not exist yet). On failure `onEnd` is
   * not called: the caller still owns what it set up.
   */
  static create(
    paths: RootedPaths,
    name: string,
    size: number,
    part: PartFile,
    options: LocalUploadOptions,
  ): LocalUpload {
    let file: Deno.FsFile;
    const kept = options.keep?.resume.offset;
    try {
      // Creating a file is a metadata call: synchronous is cheaper.
      file = Deno.openSync(part.folder.at(part.base), {
        write: true,
        ...(kept === undefined ? { createNew: true } : { create: true }),
        mode: 0o600,
      });
    } catch (error) {
      throw fsError(error, "upload", name);
    }
    if (kept !== undefined) {
      try {
        // A resumable upload continues after the kept bytes; anything
        // beyond them was never recorded as durable.
        file.truncateSync(kept);
        file.seekSync(kept, Deno.SeekMode.Start);
      } catch (error) {
        file.close();
        throw fsError(error, "upload", name);
      }
    }
    return new LocalUpload(paths, name, size, part, file, options);
  }

  /** The declared size. */
  get size(): number {
    return this.#size;
  }

  /** The partial file's path (through its held folder, while open). */
  #partPath(): string {
    return this.#part.folder.at(this.#part.base);
  }

  get written(): number {
    return this.#written;
  }

  get replaced(): number | undefined {
    return this.#replaced;
  }

  get resume(): ResumePoint | undefined {
    return this.#keep?.resume;
  }

  async readAt(position: number, buf: Uint8Array): Promise<number | null> {
    await this.#busy;
    try {
      this.#reader ??= Deno.openSync(this.#partPath(), { read: true });
      this.#reader.seekSync(position, Deno.SeekMode.Start);
      return await this.#reader.read(buf);
    } catch (error) {
      throw fsError(error, "upload", this.#name);
    }
  }

  rewrite(position: number, chunk: Uint8Array): Promise<void> {
    const kept = this.#keep?.resume.offset ?? 0;
    if (
      !Number.isSafeInteger(position) || position < 0 ||
      position + chunk.byteLength > kept
    ) {
      return Promise.reject(
        new RangeError(`A rewrite at ${position} is outside the kept bytes`),
      );
    }
    if (this.#state !== "open") {
      return Promise.reject(closedUploadError(this.#name, this.#state));
    }
    const run = this.#busy.then(async () => {
      if (this.#failure) throw this.#failure.error;
      try {
        this.#patcher ??= Deno.openSync(this.#partPath(), { write: true });
        this.#patcher.seekSync(position, Deno.SeekMode.Start);
        let offset = 0;
        while (offset < chunk.byteLength) {
          offset += await this.#patcher.write(chunk.subarray(offset));
        }
      } catch (error) {
        this.#failure = { error: fsError(error, "upload", this.#name) };
        throw this.#failure.error;
      }
    });
    this.#busy = run.catch(() => {});
    return run;
  }

  /**
   * Starts a checkpoint when enough was written since the last: syncs the
   * data written so far, then records its length. Runs beside the writes
   * that follow; one at a time.
   */
  #checkpointIfDue(): void {
    const keep = this.#keep;
    if (keep === undefined || this.#checkpoint !== null) return;
    if (this.#written - this.#checkpointed < keep.checkpointBytes) return;
    const length = this.#written;
    this.#checkpoint = this.#file.syncData().then(() => {
      if (this.#state !== "open") return;
      keep.record(length);
      this.#checkpointed = length;
    }).catch(() => {
      // The next checkpoint, or the keep at the end, tries again.
    }).finally(() => {
      this.#checkpoint = null;
    });
  }

  async keep(): Promise<void> {
    const keep = this.#keep;
    if (keep === undefined || this.#state !== "open") return this.abort();
    this.#state = "aborted";
    await this.#busy;
    await this.#checkpoint;
    let durable = false;
    if (!this.#failure) {
      try {
        await this.#file.syncData();
        keep.record(this.#written);
        durable = true;
      } catch {
        // Not durable: discarded below.
      }
    }
    this.#closeFile();
    if (durable) keep.kept(this.#written);
    else {
      keep.forget();
      removeQuietly(this.#partPath());
    }
    this.#ended();
  }

  write(chunk: Uint8Array): Promise<void> {
    const refused = refusedWrite(
      this.#name,
      this.#state,
      this.#queued,
      chunk.byteLength,
      this.#size,
    );
    if (refused) return Promise.reject(refused);
    this.#queued += chunk.byteLength;
    if (this.#size <= SYNC_WRITE_MAX) {
      // Nothing is queued before a synchronous write: #busy is settled.
      try {
        this.#writeAllSync(chunk);
        return Promise.resolve();
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const run = this.#busy.then(() => this.#writeAll(chunk));
    this.#busy = run.catch(() => {});
    return run;
  }

  async #writeAll(chunk: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure.error;
    try {
      let offset = 0;
      while (offset < chunk.byteLength) {
        offset += await this.#file.write(chunk.subarray(offset));
      }
      this.#written += chunk.byteLength;
    } catch (error) {
      this.#failure = { error: fsError(error, "upload", this.#name) };
      throw this.#failure.error;
    }
    this.#checkpointIfDue();
  }

  #writeAllSync(chunk: Uint8Array): void {
    if (this.#failure) throw this.#failure.error;
    try {
      let offset = 0;
      while (offset < chunk.byteLength) {
        offset += this.#file.writeSync(chunk.subarray(offset));
      }
      this.#written += chunk.byteLength;
    } catch (error) {
      this.#failure = { error: fsError(error, "upload", this.#name) };
      throw this.#failure.error;
    }
  }

  async commit(options: CommitOptions): Promise<string> {
    if (this.#state !== "open") {
      throw closedUploadError(this.#name, this.#state);
    }
    this.#state = "committing";
    await this.#busy;
    await this.#checkpoint;
    try {
      if (this.#failure) throw this.#failure.error;
      assertComplete(this.#name, this.#written, this.#size);
      let stamp: FileStamp | null = null;
      try {
        if (options.mtime !== undefined) {
          const when = new Date(options.mtime);
          this.#file.utimeSync(when, when);
        }
        if (options.mode !== undefined) {
          Deno.chmodSync(this.#partPath(), storedMode(options.mode));
        }
        // The sums keep large files only; a small one needs no stat.
        if (options.sha256 !== undefined && this.#sums?.accepts(this.#size)) {
          stamp = stampOf(this.#file.statSync());
        }
      } catch (error) {
        throw fsError(error, "upload", this.#name);
      }
      let replaced: Deno.FileInfo | null = null;
      using final = await this.#commits.commit(this.#file, () => {
        this.#closeFile();
        if (!options.overwrite) {
          this.#replaced = 0;
          return this.#linkFree();
        }
        const placed = this.#replace();
        replaced = placed.replaced;
        this.#replaced = replaced?.size ?? 0;
        return placed;
      }).catch((error) => {
        throw error instanceof FtsError
          ? error
          : fsError(error, "upload", this.#name);
      });
      this.#state = "committed";
      this.#keep?.forget();
      this.#ended();
      if (replaced !== null) await this.#sums?.forget(replaced);
      if (stamp && options.sha256 !== undefined) {
        await this.#sums?.recordAt(final.path, stamp, options.sha256);
      }
      return final.name;
    } catch (error) {
      this.#state = "open";
      await this.abort();
      throw error;
    }
  }

  /**
   * Atomically replaces whatever file has the name; the result holds the
   * folder open until disposed.
   */
  #replace(): Placed & { readonly replaced: Deno.FileInfo | null } {
    const target = this.#paths.inspect(this.#name, "upload");
    try {
      if (target.info?.isDirectory) {
        throw new FtsError(
          "is_directory",
          `Cannot upload ${quoteName(target.name)}: a folder has that name`,
        );
      }
      if (target.info?.isFile && this.#trashDir !== undefined) {
        const trash = this.#trashDir.at(`${crypto.randomUUID()}.old`);
        try {
          Deno.linkSync(target.path, trash);
          this.#trash = trash;
        } catch {
          // Replaced already, or not linkable: the rename deletes it instead.
        }
      }
      try {
        Deno.renameSync(this.#partPath(), target.path);
      } catch (error) {
        throw fsError(error, "upload", target.name);
      }
      return {
        name: target.name,
        path: target.path,
        folder: target.folder,
        replaced: target.info?.isFile ? target.info : null,
        [Symbol.dispose]: () => target[Symbol.dispose](),
      };
    } catch (error) {
      target[Symbol.dispose]();
      throw error;
    }
  }

  /**
   * Links the partial file under the first free name of `name`, `(1) name`…
   * `link` fails when the name exists, so two uploads can never take the
   * same name, whatever the timing.
   */
  #linkFree(): Placed {
    const first = this.#paths.locate(this.#name, "upload");
    const { folder } = first;
    try {
      for (let n = 0; n <= MAX_COLLISIONS; n++) {
        const candidate = n === 0 ? first.name : collisionName(first.name, n);
        if (!isValidName(candidate)) break;
        const path = folder.at(splitName(candidate).base);
        try {
          Deno.linkSync(this.#partPath(), path);
        } catch (error) {
          if (error instanceof Deno.errors.AlreadyExists) continue;
          throw fsError(error, "upload", candidate);
        }
        removeQuietly(this.#partPath());
        return {
          name: candidate,
          path,
          folder,
          [Symbol.dispose]: () => folder[Symbol.dispose](),
        };
      }
    } catch (error) {
      folder[Symbol.dispose]();
      throw error;
    }
    folder[Symbol.dispose]();
    throw new FtsError(
      "exists",
      `Cannot upload ${quoteName(this.#name)}: no free name for a copy`,
    );
  }

  async abort(): Promise<void> {
    if (this.#state === "committed" || this.#state === "aborted") return;
    if (this.#state === "committing") return;
    this.#state = "aborted";
    await this.#busy;
    await this.#checkpoint;
    this.#closeFile();
    this.#keep?.forget();
    try {
      removeQuietly(this.#partPath());
    } catch {
      // The storage is closed: its next open sweeps the partial file.
    }
    this.#ended();
    this.#emptyTrash();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.abort();
    this.#emptyTrash();
  }

  #emptyTrash(): void {
    const trash = this.#trash;
    this.#trash = null;
    if (trash !== null) removeQuietly(trash);
  }

  /** Tells the owner, once, that the partial file is gone. */
  #ended(): void {
    const onEnd = this.#onEnd;
    if (onEnd === undefined || this.#endedOnce) return;
    this.#endedOnce = true;
    onEnd();
  }

  #closeFile(): void {
    for (const extra of [this.#reader, this.#patcher]) {
      try {
        extra?.close();
      } catch {
        // Already closed: nothing left to release.
      }
    }
    this.#reader = null;
    this.#patcher = null;
    if (this.#fileClosed) return;
    this.#fileClosed = true;
    try {
      this.#file.close();
    } catch {
      // Already closed by a failed operation: nothing left to release.
    }
  }
}

/** A partial file: its name in the held partial folder. */
export interface PartFile {
  readonly folder: Folder;
  readonly base: string;
}

/** Where a committed upload ended up; disposal closes its folder. */
interface Placed extends Placement {
  readonly name: string;
  /** A path through the held folder. */
  readonly path: string;
}
