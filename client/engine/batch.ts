/**
 * Batches: many files over one connection without a round trip per file.
 * Uploads are queued to the session's sender (upload_sender.ts), which
 * keeps many in flight within its windows; downloads keep up to `window`
 * GETs in flight.
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
  sendResumable,
  type UploadSource,
} from "./upload.ts";
import type { SealOptions } from "../vault/age_header.ts";
import { CommitGroup } from "./commit_group.ts";
import { LocalFolders } from "./local_files.ts";

/** Requests in flight at once in a batch, by default. */
export const DEFAULT_WINDOW = 32;
/**
 * Files of an upload batch open and queued at once, by default: more than
 * the uploads in flight, so that small files behind a large one are at
 * hand when their turn comes.
 */
export const UPLOAD_QUEUE = 256;

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
  /**
   * Downloads: requests in flight at once (default
   * {@linkcode DEFAULT_WINDOW}). Uploads: files open and queued at once
   * (default {@linkcode UPLOAD_QUEUE}); the session's sender bounds those
   * in flight.
   */
  window?: number;
  /** Uploads: encrypt each file in the age format (see `PutOptions`). */
  encrypt?: SealOptions;
  /** Downloads: decrypt age files (see `GetOptions`). */
  decrypt?: DecryptSource;
  /** Downloads: drop `.age` from the names of decrypted files. */
  stripAgeSuffix?: boolean;
  /** Keep permission bits both ways (see `PutOptions.keepMode`). */
  keepMode?: boolean;
  /**
   * Uploads: continue a file the server kept part of from an earlier cut
   * try (see `PutOptions.resume`). Downloads: continue a file from the
   * partial an earlier cut try left (see `GetOptions.resume`). Default
   * true; false starts over.
   */
  resume?: boolean;
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
  const sizes = items.map((item) => {
    try {
      return Deno.statSync(item.localPath).size;
    } catch {
      return 0; // reported when the file is opened
    }
  });
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
  /** See {@linkcode ManyOptions.resume}. Default true. */
  resume?: boolean | undefined;
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
 * queued to the session's sender while up to `window` earlier ones are
 * queued or in flight, so a producer (a tree walk) can keep going while
 * files travel. One file's failure settles only that file.
 */
export async function putEach<I extends PutManyItem>(
  core: SessionCore,
  items: Iterable<I> | AsyncIterable<I>,
  options: EachOptions<I>,
): Promise<void> {
  const fail = (item: I, error: unknown) =>
    options.settle(item, { ok: false, error: options.failure(item, error) });
  const window = new Semaphore(Math.max(1, options.window ?? UPLOAD_QUEUE));
  const inFlight = new Set<Promise<void>>();
  const compressor = compressorFor(core);
  const send = {
    overwrite: options.overwrite ?? false,
    signal: options.signal,
    compressor,
    encrypt: options.encrypt,
    keepMode: options.keepMode,
    onBytes: options.onBytes,
    resume: options.resume ?? true,
  };
  try {
    for await (const item of items) {
      const permit = await window.acquire();
      try {
        options.signal?.throwIfAborted();
        const name = validateName(item.remoteName);
        let opened: UploadSource | null = openUploadSource(
          item.localPath,
          item.expectLocal,
        );
        options.onOpen?.(item, opened.size);
        // Opened again only when a resumed upload must start over.
        const open = () => {
          const source = opened ??
            openUploadSource(item.localPath, item.expectLocal);
          opened = null;
          return source;
        };
        const settled: Promise<void> = sendResumable(core, open, name, send)
          .then(
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
  /** Resume interrupted downloads (see `ReceiveOptions.resume`). */
  resume?: boolean | undefined;
  /** Refuse local targets that are devices or FIFOs (see `ReceiveOptions`). */
  regularOnly?: boolean | undefined;
  failure: (item: I, error: unknown) => unknown;
  /** Called once per item, when it has succeeded or failed. */
  settle: (item: I, result: BatchResult<GetResult>) => void;
  /** Called with each file's size once the server announced it. */
  onSize?: ((item: I, size: number) => void) | undefined;
  /** Called with the content bytes received. */
  onBytes?: ((n: number) => void) | undefined;
  /** The local folders, when the caller resolves them too (a tree's walk). */
  folders?: LocalFolders | undefined;
}

/**
 * Files larger than a chunk a batch has in flight at once, at most: each
 * holds two chunks of buffers while it is received (its background
 * writer's), so their memory stays at 16 MiB at the default 1 MiB chunk.
 * A smaller file is written as each chunk arrives and holds none.
 */
export const LARGE_GETS_IN_FLIGHT = 8;

/**
 * Downloads the files `items` yields, as they come, with up to `window`
 * GETs in flight, of which at most {@linkcode LARGE_GETS_IN_FLIGHT} files
 * larger than a chunk (or of unknown size); one file's failure settles only
 * that file. Verified files are committed in groups (see
 * `commit_group.ts`): a GET's slot is free again once its file is
 * verified, and each file is settled once it is named and durable.
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
  const folders = options.folders ??
    new LocalFolders(options.localDir, core.reclaimed);
  const commit = new CommitGroup(core.disk);
  const large = new Semaphore(LARGE_GETS_IN_FLIGHT);
  const settling = new Set<Promise<void>>();
  let receiving = 0;
  const worker = async () => {
    for (;;) {
      await commit.admit();
      const step = await pull();
      if (step.done) return;
      const item = step.value;
      const buffered = item.size === undefined || item.size > core.chunkSize;
      using _buffers = buffered ? await large.acquire() : undefined;
      receiving++;
      let verified!: () => void;
      const handedOver = new Promise<void>((resolve) => verified = resolve);
      const settled: Promise<void> = (async () => {
        let result: BatchResult<GetResult>;
        try {
          options.signal?.throwIfAborted();
          const value = await download(
            core,
            item.remoteName,
            options.localDir,
            {
              overwrite: options.overwrite ?? false,
              expect: item.expect,
              localName: item.localName,
              signal: options.signal,
              decrypt: options.decrypt,
              stripAgeSuffix: options.stripAgeSuffix,
              keepMode: options.keepMode,
              resume: options.resume,
              regularOnly: options.regularOnly,
              folders,
              commit,
              onVerified: verified,
              onSize: (size) => options.onSize?.(item, size),
              onBytes: options.onBytes,
            },
          );
          result = { ok: true, value };
        } catch (error) {
          result = { ok: false, error: options.failure(item, error) };
        }
        options.settle(item, result);
      })().finally(() => settling.delete(settled));
      settling.add(settled);
      await Promise.race([handedOver, settled]);
      // Nothing else on its way to the group: commit what it holds.
      if (--receiving === 0) commit.flush();
    }
  };
  const window = Math.max(1, options.window ?? DEFAULT_WINDOW);
  // Every worker ends before a failure of the source is thrown.
  const ends = await Promise.allSettled(Array.from({ length: window }, worker));
  commit.flush();
  while (settling.size > 0) await Promise.all(settling);
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
