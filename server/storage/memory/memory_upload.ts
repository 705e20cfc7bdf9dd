/**
 * An {@linkcode Upload} of the memory backend: chunks are copied as they
 * come and joined into one file node at commit, which puts it in the tree
 * in one synchronous step, so no reader ever sees part of it.
 *
 * @module
 */

import type { CommitOptions, Upload } from "../storage.ts";
import {
  assertComplete,
  closedUploadError,
  refusedWrite,
  type UploadState,
} from "../upload_checks.ts";

/** What the storage does for its uploads. */
export interface UploadOwner {
  /**
   * Puts `data` in the tree under `name` (or a free copy name) and returns
   * the final name. Synchronous: nothing can happen in between.
   *
   * @throws {FtsError} as {@linkcode Upload.commit} does.
   */
  place(name: string, data: Uint8Array, options: CommitOptions): string;
  /** Called once, when the upload commits or is aborted. */
  ended(): void;
}

/** See the module comment. */
export class MemoryUpload implements Upload {
  readonly #name: string;
  readonly #size: number;
  readonly #owner: UploadOwner;
  readonly #chunks: Uint8Array[] = [];
  #written = 0;
  #state: UploadState = "open";

  constructor(name: string, size: number, owner: UploadOwner) {
    this.#name = name;
    this.#size = size;
    this.#owner = owner;
  }

  get written(): number {
    return this.#written;
  }

  write(chunk: Uint8Array): Promise<void> {
    const refused = refusedWrite(
      this.#name,
      this.#state,
      this.#written,
      chunk.byteLength,
      this.#size,
    );
    if (refused) return Promise.reject(refused);
    // A copy: the caller may reuse `chunk` once this resolves.
    this.#chunks.push(chunk.slice());
    this.#written += chunk.byteLength;
    return Promise.resolve();
  }

  commit(options: CommitOptions): Promise<string> {
    if (this.#state !== "open") {
      return Promise.reject(closedUploadError(this.#name, this.#state));
    }
    this.#state = "committing";
    try {
      assertComplete(this.#name, this.#written, this.#size);
      const data = new Uint8Array(this.#size);
      let at = 0;
      for (const chunk of this.#chunks.splice(0)) {
        data.set(chunk, at);
        at += chunk.byteLength;
      }
      const name = this.#owner.place(this.#name, data, options);
      this.#state = "committed";
      this.#owner.ended();
      return Promise.resolve(name);
    } catch (error) {
      this.#state = "open";
      this.#end();
      return Promise.reject(error);
    }
  }

  abort(): Promise<void> {
    if (this.#state === "open") this.#end();
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.abort();
  }

  #end(): void {
    this.#state = "aborted";
    this.#chunks.length = 0;
    this.#owner.ended();
  }
}
