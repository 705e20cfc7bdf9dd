/**
 * Batches: many files over one connection without a round trip per file.
 * Uploads are sent back to back by one sender while up to `window` replies
 * are outstanding; downloads keep up to `window` GETs in flight.
 *
 * @module
 */

import type { Expect } from "../../protocol/messages.ts";
import { validateName } from "../../protocol/names.ts";
import type { Progress, SessionCore } from "./session_core.ts";
import { type DecryptSource, download, type GetResult } from "./download.ts";
import {
  compressorFor,
  openUploadSource,
  type PutResult,
  sendUpload,
} from "./upload.ts";
import type { SealOptions } from "../vault/age_header.ts";

/** Requests in flight at once in a batch, by default. */
export const DEFAULT_WINDOW = 32;

/** One file of {@linkcode ClientSession.putMany}. */
export interface PutManyItem {
  readonly localPath: string;
  readonly remoteName: string;
  /** Refuse unless the local file still has this size and mtime. */
  readonly expectLocal?: Expect;
}

/** One file of {@linkcode ClientSession.getMany}. */
export interface GetManyItem {
  readonly remoteName: string;
  /** Local name under the folder; default: the remote name. */
  readonly localName?: string;
  /** Refuse with `stale` unless the file has this size and mtime. */
  readonly expect?: Expect;
  /** The size, if known from a listing (for the progress total). */
  readonly size?: number;
}

/** Options of a batch. */
export interface ManyOptions {
  /** Replace existing files atomically instead of keeping both. Default false. */
  overwrite?: boolean;
  /** Stops the batch: files not finished yet fail with "cancelled". */
  signal?: AbortSignal;
  /** Progress of the whole batch. */
  onProgress?: (progress: Progress) => void;
  /** Called as each file finishes, with its index in the input. */
  onItem?: (index: number, result: BatchResult<PutResult | GetResult>) => void;
  /** Requests in flight at once. Default {@linkcode DEFAULT_WINDOW}. */
  window?: number;
  /** Uploads: encrypt each file in the age format (see `PutOptions`). */
  encrypt?: SealOptions;
  /** Downloads: decrypt age files (see `GetOptions`). */
  decrypt?: DecryptSource;
  /** Downloads: drop `.age` from the names of decrypted files. */
  stripAgeSuffix?: boolean;
  /** Keep permission bits both ways (see `PutOptions.keepMode`). */
  keepMode?: boolean;
}

/** How one file of a batch fared. */
export type BatchResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

/** Internal: the batch options plus the session's error translation. */
interface BatchOptions<I> extends ManyOptions {
  failure: (item: I, error: unknown) => unknown;
}

/** Uploads `items`; see {@linkcode ClientSession.putMany}. */
export async function putMany(
  core: SessionCore,
  items: readonly PutManyItem[],
  options: BatchOptions<PutManyItem>,
): Promise<BatchResult<PutResult>[]> {
  const results: BatchResult<PutResult>[] = new Array(items.length);
  const progress = new BatchProgress(options.onProgress);
  const settle = (i: number, result: BatchResult<PutResult>) => {
    results[i] = result;
    options.onItem?.(i, result);
  };
  const fail = (i: number, error: unknown) =>
    settle(i, { ok: false, error: options.failure(items[i]!, error) });
  // Sizes first, so the progress total is known from the start.
  const sizes = await Promise.all(items.map(async (item) => {
    try {
      return (await Deno.stat(item.localPath)).size;
    } catch {
      return 0; // reported when the file is opened
    }
  }));
  progress.grow(sizes.reduce((a, b) => a + b, 0));
  const window = Math.max(1, options.window ?? DEFAULT_WINDOW);
  const inFlight = new Set<Promise<void>>();
  const compressor = compressorFor(core);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    while (inFlight.size >= window) await Promise.race(inFlight);
    try {
      options.signal?.throwIfAborted();
      const name = validateName(item.remoteName);
      using source = await openUploadSource(item.localPath, item.expectLocal);
      progress.grow(source.size - sizes[i]!);
      const { done } = await sendUpload(core, source, name, {
        overwrite: options.overwrite ?? false,
        signal: options.signal,
        compressor,
        encrypt: options.encrypt,
        keepMode: options.keepMode,
        onBytes: (n) => progress.add(n),
      });
      const settled: Promise<void> = done.then(
        (value) => settle(i, { ok: true, value }),
        (error) => fail(i, error),
      ).finally(() => inFlight.delete(settled));
      inFlight.add(settled);
    } catch (error) {
      fail(i, error);
    }
  }
  await Promise.all(inFlight);
  return results;
}

/** Downloads `items` into `localDir`; see {@linkcode ClientSession.getMany}. */
export async function getMany(
  core: SessionCore,
  items: readonly GetManyItem[],
  localDir: string,
  options: BatchOptions<GetManyItem>,
): Promise<BatchResult<GetResult>[]> {
  const results: BatchResult<GetResult>[] = new Array(items.length);
  const progress = new BatchProgress(options.onProgress);
  const known = items.every((item) => item.size !== undefined);
  if (known) progress.grow(items.reduce((a, item) => a + (item.size ?? 0), 0));
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const item = items[i]!;
      let result: BatchResult<GetResult>;
      try {
        options.signal?.throwIfAborted();
        const value = await download(core, item.remoteName, localDir, {
          overwrite: options.overwrite ?? false,
          expect: item.expect,
          localName: item.localName,
          signal: options.signal,
          decrypt: options.decrypt,
          stripAgeSuffix: options.stripAgeSuffix,
          keepMode: options.keepMode,
          onSize: (size) => {
            if (!known) progress.grow(size);
          },
          onBytes: (n) => progress.add(n),
        });
        result = { ok: true, value };
      } catch (error) {
        result = { ok: false, error: options.failure(item, error) };
      }
      results[i] = result;
      options.onItem?.(i, result);
    }
  };
  const window = Math.max(
    1,
    Math.min(options.window ?? DEFAULT_WINDOW, items.length),
  );
  await Promise.all(Array.from({ length: window }, worker));
  return results;
}

/** Sums the progress of the files of a batch. */
class BatchProgress {
  readonly #report: ((progress: Progress) => void) | undefined;
  #bytes = 0;
  #total = 0;

  constructor(report: ((progress: Progress) => void) | undefined) {
    this.#report = report;
  }

  grow(n: number): void {
    this.#total += n;
    this.#report?.({ bytes: this.#bytes, total: this.#total });
  }

  add(n: number): void {
    this.#bytes += n;
    this.#report?.({ bytes: this.#bytes, total: this.#total });
  }
}
