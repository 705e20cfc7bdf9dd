/**
 * Uploading a local folder tree: the tree is walked lazily, each folder is
 * made on the server (MKDIR) before anything goes into it, and the files
 * stream through the batch sender as the walk finds them, so small files
 * travel without a round trip each. Symbolic links are never followed and
 * special files never sent: both are counted as skipped. A file already on
 * the server with the same size and content is not sent again (see
 * skip_identical.ts); none is looked up in a folder this transfer made,
 * which holds nothing yet. One file's failure
 * fails that file only; a folder that cannot be made fails with everything
 * in it, and the rest goes on.
 *
 * @module
 */

import { basename } from "node:path";
import { FtsError } from "../../protocol/errors.ts";
import { quoteName, validateName } from "../../protocol/names.ts";
import type { SealOptions } from "../vault/age_header.ts";
import { putEach, type PutManyItem } from "./batch.ts";
import {
  countLocalTreeGradually,
  walkLocalTree,
  type WalkOptions,
} from "./local_tree.ts";
import { ReasonError } from "../errors.ts";
import type { SessionCore } from "./session_core.ts";
import { skipIdentical } from "./skip_identical.ts";
import type { Listing, ListPage } from "./session.ts";
import {
  type TreeProgress,
  type TreeSummary,
  TreeTally,
} from "./tree_tally.ts";

/** What a folder transfer needs from its session. */
export interface TreeHost {
  readonly core: SessionCore;
  mkdir(name: string): Promise<void>;
  remove(name: string): Promise<void>;
  isFolder(name: string, options?: { signal?: AbortSignal }): Promise<boolean>;
  list(name: string, options?: { signal?: AbortSignal }): Promise<Listing>;
  /** The session's paged listing (see `ClientSession.listPages`). */
  listPages(
    name: string,
    options?: { signal?: AbortSignal },
  ): AsyncIterable<ListPage>;
  /** The session's error translation: `Cannot ACTION "name": reason`. */
  failure(action: string, name: string, error: unknown): unknown;
}

/** Options of {@linkcode ClientSession.putTree} and `getTree`. */
export interface TreeOptions {
  /** Replace existing files atomically instead of keeping both. Default false. */
  overwrite?: boolean;
  /** Stops the transfer: files in flight are cancelled, the walk ends. */
  signal?: AbortSignal;
  /** Leaves out entries whose path from the top it matches (see tree_filter.ts). */
  exclude?: (rel: string) => boolean;
  /** Progress of the whole tree. */
  onProgress?: (progress: TreeProgress) => void;
  /** Files in flight at once. Default: the batch default. */
  window?: number;
  /** Keep permission bits (see `PutOptions.keepMode`). */
  keepMode?: boolean;
  /** Uploads: encrypt every file, stored as NAME.age (see `PutOptions`). */
  encrypt?: SealOptions;
  /**
   * Skip a file the destination already holds with the same size and
   * content (compared by SHA-256, with the feature "sums"). Default true;
   * never with `encrypt` (each encryption differs) nor with `decrypt`.
   */
  skipIdentical?: boolean;
  /**
   * Uploads: continue a file the server kept part of from an earlier cut
   * try (see `PutOptions.resume`). Downloads: continue a file from the
   * partial an earlier cut try left (see `GetOptions.resume`). Default
   * true; false starts over.
   */
  resume?: boolean;
}

/** A file of the tree on its way, with its path from the top. */
interface TreeItem extends PutManyItem {
  readonly rel: string;
  /** The local file's size, as the walk found it. */
  readonly size: number;
}

/**
 * Uploads local folder `localRoot` as remote folder `remoteRoot` ("" for
 * the top): `remoteRoot` is made if missing, and receives the tree's
 * contents (merged with what is there).
 *
 * @throws {FtsError} when `localRoot` cannot be read or `remoteRoot` cannot
 * be made; each file's and subfolder's failure is in the summary instead.
 */
export async function putTree(
  host: TreeHost,
  localRoot: string,
  remoteRoot: string,
  options: TreeOptions = {},
): Promise<TreeSummary> {
  const tally = new TreeTally(options.onProgress);
  const signal = options.signal;
  const exclude = options.exclude;
  const walk = exclude ? { exclude: (rel: string) => exclude(rel) } : {};
  let root: string;
  try {
    root = remoteRoot === "" ? "" : validateName(remoteRoot);
    const info = await Deno.stat(localRoot);
    if (!info.isDirectory) {
      throw new ReasonError("not_directory", "it is not a local folder");
    }
  } catch (error) {
    throw host.failure("put", basename(localRoot), error);
  }
  // The totals (names and sizes only) are counted while files already go;
  // they only feed the progress, so without a progress there is no count
  // (it would lstat every file a second time).
  if (!options.onProgress) {
    return await sendTree(host, localRoot, root, { ...options, walk, tally });
  }
  const stopCount = new AbortController();
  const counting = countLocalTreeGradually(
    localRoot,
    {
      ...walk,
      signal: signal
        ? AbortSignal.any([signal, stopCount.signal])
        : stopCount.signal,
    },
    (files, bytes) => tally.found(files, bytes),
  ).then(() => tally.counted());
  try {
    return await sendTree(host, localRoot, root, { ...options, walk, tally });
  } finally {
    stopCount.abort();
    await counting;
  }
}

/** The walk and the sending of {@linkcode putTree}. */
async function sendTree(
  host: TreeHost,
  localRoot: string,
  root: string,
  options: TreeOptions & { walk: WalkOptions; tally: TreeTally },
): Promise<TreeSummary> {
  const { walk, tally, signal } = options;
  // Folders this transfer made, by path from the top: empty until filled.
  const madeFolders = new Set<string>();
  if (root !== "" && await makeRemoteFolder(host, root, signal) === "made") {
    madeFolders.add("");
  }
  tally.folders++;
  const failedFolders = new Set<string>();
  const within = (rel: string) => {
    for (
      let at = rel.lastIndexOf("/");
      at > 0;
      at = rel.lastIndexOf("/", at - 1)
    ) {
      if (failedFolders.has(rel.slice(0, at))) return true;
    }
    return false;
  };
  const join = (rel: string) => root === "" ? rel : `${root}/${rel}`;
  const suffix = options.encrypt ? ".age" : "";
  async function* items(): AsyncGenerator<TreeItem> {
    for (const event of walkLocalTree(localRoot, walk)) {
      signal?.throwIfAborted();
      if (within(event.rel)) continue;
      switch (event.kind) {
        case "skip":
          tally.skip(event.rel, event.reason);
          continue;
        case "error":
          tally.fail(host.failure("put", event.rel, event.error), false);
          continue;
        case "dir":
          try {
            const made = await makeRemoteFolder(
              host,
              validateName(join(event.rel)),
              signal,
            );
            if (made === "made") madeFolders.add(event.rel);
            tally.folders++;
          } catch (error) {
            failedFolders.add(event.rel);
            tally.fail(
              host.failure("create folder", join(event.rel), error),
              false,
            );
          }
          continue;
        case "file":
          yield {
            rel: event.rel,
            localPath: event.path,
            remoteName: join(event.rel) + suffix,
            size: event.size,
          };
      }
    }
  }
  const compare = (options.skipIdentical ?? true) && !options.encrypt;
  const files = compare
    ? skipIdentical(host.core, items(), {
      signal,
      probe: (item) =>
        madeFolders.has(parentOf(item.rel)) ? null : {
          remote: item.remoteName,
          local: item.localPath,
          size: item.size,
        },
      identical: (_item, size) => tally.same(size),
    })
    : items();
  try {
    await putEach(host.core, files, {
      overwrite: options.overwrite ?? false,
      signal,
      window: options.window,
      encrypt: options.encrypt,
      keepMode: options.keepMode,
      resume: options.resume ?? true,
      failure: (item, error) => host.failure("put", item.remoteName, error),
      onBytes: (n) => tally.moved(n),
      settle: (item, result) => {
        if (!result.ok) return tally.fail(result.error, true);
        const stored = result.value.name;
        tally.sent(
          result.value.size,
          stored === item.remoteName ? null : {
            from: item.rel,
            to: stored.slice(stored.lastIndexOf("/") + 1),
          },
        );
      },
    });
  } catch (error) {
    // Ended as a whole (cancelled, the connection lost): one error for it.
    throw host.failure("put", basename(localRoot), error);
  }
  return tally.summary();
}

/** The folder part of path `rel` ("" at the top). */
function parentOf(rel: string): string {
  const at = rel.lastIndexOf("/");
  return at < 0 ? "" : rel.slice(0, at);
}

/**
 * Makes remote folder `name`, or checks that it is one already.
 *
 * @throws {FtsError} `Cannot create folder "name": reason`.
 */
export async function makeRemoteFolder(
  host: Pick<TreeHost, "mkdir" | "isFolder">,
  name: string,
  signal?: AbortSignal,
): Promise<"made" | "found"> {
  try {
    await host.mkdir(name);
    return "made";
  } catch (error) {
    if (!(error instanceof FtsError) || error.code !== "exists") throw error;
    if (await host.isFolder(name, signal ? { signal } : {})) return "found";
    throw new FtsError(
      "not_directory",
      `Cannot create folder ${
        quoteName(name)
      }: a file has that name on the server`,
      { cause: error },
    );
  }
}
