/**
 * An {@linkcode Upload} of the local backend: data goes to a private file in
 * `<root>/.fts/partial/`, which becomes visible only by an atomic rename or
 * link once it is complete and fsynced.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { FtsError } from "../protocol/errors.ts";
import {
  collisionName,
  isValidName,
  quoteName,
  splitName,
} from "../protocol/names.ts";
import { fsError } from "./fs_errors.ts";
import type { RootedPaths } from "./rooted_paths.ts";
import type { CommitOptions, Upload } from "./storage.ts";

/** Highest `(n) name` tried before an upload gives up with `exists`. */
export const MAX_COLLISIONS = 9999;

type State = "open" | "committing" | "committed" | "aborted";

/** See the module comment. Create with {@linkcode LocalUpload.create}. */
export class LocalUpload implements Upload {
  readonly #paths: RootedPaths;
  readonly #name: string;
  readonly #size: number;
  readonly #partPath: string;
  readonly #file: Deno.FsFile;
  #written = 0;
  #state: State = "open";
  #busy: Promise<unknown> = Promise.resolve();
  #fileClosed = false;

  private constructor(
    paths: RootedPaths,
    name: string,
    size: number,
    partPath: string,
    file: Deno.FsFile,
  ) {
    this.#paths = paths;
    this.#name = name;
    this.#size = size;
    this.#partPath = partPath;
    this.#file = file;
  }

  /** Creates the partial file `partPath` (which must not exist yet). */
  static async create(
    paths: RootedPaths,
    name: string,
    size: number,
    partPath: string,
  ): Promise<LocalUpload> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(partPath, {
        write: true,
        createNew: true,
        mode: 0o600,
      });
    } catch (error) {
      throw fsError(error, "upload", name);
    }
    return new LocalUpload(paths, name, size, partPath, file);
  }

  get written(): number {
    return this.#written;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.#state !== "open") {
      return Promise.reject(this.#closedError());
    }
    if (this.#written + chunk.byteLength > this.#size) {
      return Promise.reject(
        new FtsError(
          "bad_request",
          `Cannot upload ${
            quoteName(this.#name)
          }: more data than the declared ${this.#size} bytes`,
        ),
      );
    }
    const run = this.#busy.then(() => this.#writeAll(chunk));
    this.#busy = run.catch(() => {});
    return run;
  }

  async #writeAll(chunk: Uint8Array): Promise<void> {
    try {
      let offset = 0;
      while (offset < chunk.byteLength) {
        offset += await this.#file.write(chunk.subarray(offset));
      }
      this.#written += chunk.byteLength;
    } catch (error) {
      throw fsError(error, "upload", this.#name);
    }
  }

  async commit(options: CommitOptions): Promise<string> {
    if (this.#state !== "open") throw this.#closedError();
    this.#state = "committing";
    await this.#busy;
    try {
      if (this.#written !== this.#size) {
        throw new FtsError(
          "bad_request",
          `Cannot upload ${
            quoteName(this.#name)
          }: received ${this.#written} of ${this.#size} bytes`,
        );
      }
      try {
        if (options.mtime !== undefined) {
          const when = new Date(options.mtime);
          await this.#file.utime(when, when);
        }
        await this.#file.syncData();
      } catch (error) {
        throw fsError(error, "upload", this.#name);
      }
      this.#closeFile();
      const final = options.overwrite
        ? await this.#replace()
        : await this.#linkFree();
      this.#state = "committed";
      return final;
    } catch (error) {
      this.#state = "open";
      await this.abort();
      throw error;
    }
  }

  /** Atomically replaces whatever file has the name. */
  async #replace(): Promise<string> {
    const target = await this.#paths.inspect(this.#name, "upload");
    if (target.info?.isDirectory) {
      throw new FtsError(
        "is_directory",
        `Cannot upload ${quoteName(target.name)}: a folder has that name`,
      );
    }
    try {
      await Deno.rename(this.#partPath, target.path);
    } catch (error) {
      throw fsError(error, "upload", target.name);
    }
    await syncFolder(dirname(target.path));
    return target.name;
  }

  /**
   * Links the partial file under the first free name of `name`, `(1) name`…
   * `link` fails when the name exists, so two uploads can never take the
   * same name, whatever the timing.
   */
  async #linkFree(): Promise<string> {
    const first = await this.#paths.inspect(this.#name, "upload");
    const folder = dirname(first.path);
    for (let n = 0; n <= MAX_COLLISIONS; n++) {
      const candidate = n === 0 ? first.name : collisionName(first.name, n);
      if (!isValidName(candidate)) break;
      try {
        await Deno.link(
          this.#partPath,
          join(folder, splitName(candidate).base),
        );
      } catch (error) {
        if (error instanceof Deno.errors.AlreadyExists) continue;
        throw fsError(error, "upload", candidate);
      }
      await removeQuietly(this.#partPath);
      await syncFolder(folder);
      return candidate;
    }
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
    this.#closeFile();
    await removeQuietly(this.#partPath);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.abort();
  }

  #closeFile(): void {
    if (this.#fileClosed) return;
    this.#fileClosed = true;
    try {
      this.#file.close();
    } catch {
      // Already closed by a failed operation: nothing left to release.
    }
  }

  #closedError(): FtsError {
    return new FtsError(
      this.#state === "aborted" ? "cancelled" : "bad_request",
      `Cannot upload ${quoteName(this.#name)}: the upload is ${
        this.#state === "aborted" ? "cancelled" : "already finishing"
      }`,
    );
  }
}

/** Removes a file, ignoring "not found" and reporting nothing else. */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // Missing already, or not removable: the stale-partial sweep retries.
  }
}

/** fsyncs a folder so a rename or link in it survives a crash (best effort). */
async function syncFolder(path: string): Promise<void> {
  try {
    using dir = await Deno.open(path, { read: true });
    await dir.sync();
  } catch {
    // Some file systems refuse to fsync folders; the data itself is synced.
  }
}
