/**
 * Batches: many files over one connection without a round trip per file.
 * Uploads are sent back to back by one sender while up to `window` replies
 * are outstanding; downloads keep up to `window` GETs in flight.
 *
 * @module
 */

import { Semaphore } from "../../common/semaphore.ts";
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
  // Sizes first, so the progress total is known from the start.
  const sizes = await Promise.all(items.map(async (item) => {
    try {
      return (await Deno.stat(item.localPath)).size;
    } catch {
      return 0; // reported when the file is opened
    }
  }));
  progress.grow(sizes.reduce((a, b) => a + b, 0));
  const indexed = items.map((item, index) => ({ ...item, index }));
  await putEach(core, indexed, {
    ...options,
    onOpen: (item, size) => progress.grow(size - sizes[item.index]!),
    onBytes: (n) => progress.add(n),
    settle: (item, result) => {
      results[item.index] = result;
      options.onItem?.(item.index, result);
    },
  });
  return results;
}

/** Options of {@linkcode putEach}. */
export interface EachOptions<I> {
  overwrite?: boolean | undefined;
  signal?: AbortSignal | undefined;
  window?: number | undefined;
  encrypt?: SealOptions | undefined;
  keepMode?: boolean | undefined;
  /** Translates a file's failure (the session's error translation). */
  failure: (item: I, error: unknown) => unknown;
  /** Called once per item, when it has succeeded or failed. */
  settle: (item: I, result: BatchResult<PutResult>) => void;
  /** Called with the size of each file once it is open. */
  onOpen?: ((item: I, size: number) => void) | undefined;
  /** Called with the content bytes sent. */
  onBytes?: ((n: number) => void) | undefined;
}

/**
 * Uploads the files `items` yields, as they come: each file is opened and
 * sent while up to `window` earlier ones wait for their replies, so a
 * producer (a tree walk) can keep going while files travel. One file's
 * failure settles only that file.
 */
export async function putEach<I extends PutManyItem>(
  core: SessionCore,
  items: Iterable<I> | AsyncIterable<I>,
  options: EachOptions<I>,
): Promise<void> {
  const fail = (item: I, error: unknown) =>
    options.settle(item, { ok: false, error: options.failure(item, error) });
  const window = new Semaphore(Math.max(1, options.window ?? DEFAULT_WINDOW));
  const inFlight = new Set<Promise<void>>();
  const compressor = compressorFor(core);
  try {
    for await (const item of items) {
      const permit = await window.acquire();
      try {
        options.signal?.throwIfAborted();
        const name = validateName(item.remoteName);
        using source = await openUploadSource(item.localPath, item.expectLocal);
        options.onOpen?.(item, source.size);
        const { done } = await sendUpload(core, source, name, {
          overwrite: options.overwrite ?? false,
          signal: options.signal,
          compressor,
          encrypt: options.encrypt,
          keepMode: options.keepMode,
          onBytes: options.onBytes,
        });
        const settled: Promise<void> = done.then(
          (value) => options.settle(item, { ok: true, value }),
          (error) => fail(item, error),
        ).finally(() => {
          inFlight.delete(settled);
          permit[Symbol.dispose]();
        });
        inFlight.add(settled);
      } catch (error) {
        permit[Symbol.dispose]();
        fail(item, error);
      }
    }
  } finally {
    await Promise.all(inFlight);
  }
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
  await getEach(core, items.map((item, index) => ({ ...item, index })), {
    ...options,
    localDir,
    window: Math.min(options.window ?? DEFAULT_WINDOW, items.length),
    onSize: (_item, size) => {
      if (!known) progress.grow(size);
    },
    onBytes: (n) => progress.add(n),
    settle: (item, result) => {
      results[item.index] = result;
      options.onItem?.(item.index, result);
    },
  });
  return results;
}

/** Options of {@linkcode getEach}. */
export interface GetEachOptions<I> {
  /** The local folder names are relative to. */
  localDir: string;
  overwrite?: boolean | undefined;
  signal?: AbortSignal | undefined;
  window?: number | undefined;
  decrypt?: DecryptSource | undefined;
  stripAgeSuffix?: boolean | undefined;
  keepMode?: boolean | undefined;
  /** Refuse local targets that are devices or FIFOs (see `ReceiveOptions`). */
  regularOnly?: boolean | undefined;
  failure: (item: I, error: unknown) => unknown;
  /** Called once per item, when it has succeeded or failed. */
  settle: (item: I, result: BatchResult<GetResult>) => void;
  /** Called with each file's size once the server announced it. */
  onSize?: ((item: I, size: number) => void) | undefined;
  /** Called with the content bytes received. */
  onBytes?: ((n: number) => void) | undefined;
}

/**
 * Downloads the files `items` yields, as they come, with up to `window`
 * GETs in flight; one file's failure settles only that file.
 */
export async function getEach<I extends GetManyItem>(
  core: SessionCore,
  items: Iterable<I> | AsyncIterable<I>,
  options: GetEachOptions<I>,
): Promise<void> {
  const source = Symbol.asyncIterator in items
    ? items[Symbol.asyncIterator]()
    : items[Symbol.iterator]();
  // One pull at a time: the workers share the source.
  let pulling: Promise<unknown> = Promise.resolve();
  const pull = (): Promise<IteratorResult<I>> => {
    const next = pulling.then(() => source.next());
    pulling = next.catch(() => {});
    return next;
  };
  const worker = async () => {
    for (;;) {
      const step = await pull();
      if (step.done) return;
      const item = step.value;
      let result: BatchResult<GetResult>;
      try {
        options.signal?.throwIfAborted();
        const value = await download(core, item.remoteName, options.localDir, {
          overwrite: options.overwrite ?? false,
          expect: item.expect,
          localName: item.localName,
          signal: options.signal,
          decrypt: options.decrypt,
          stripAgeSuffix: options.stripAgeSuffix,
          keepMode: options.keepMode,
          regularOnly: options.regularOnly,
          onSize: (size) => options.onSize?.(item, size),
          onBytes: options.onBytes,
        });
        result = { ok: true, value };
      } catch (error) {
        result = { ok: false, error: options.failure(item, error) };
      }
      options.settle(item, result);
    }
  };
  const window = Math.max(1, options.window ?? DEFAULT_WINDOW);
  // Every worker ends before a failure of the source is thrown.
  const ends = await Promise.allSettled(Array.from({ length: window }, worker));
  for (const end of ends) if (end.status === "rejected") throw end.reason;
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
