/**
 * Downloading a remote folder tree: folders are listed breadth first, a
 * few at once (a walk that runs a bounded distance ahead of the downloads,
 * so no round trip per folder holds them back, the totals grow early and
 * memory stays flat), each is made locally, and its files
 * stream through the batch downloader. Every name the server sends is
 * checked with the shared validator and must be a single component, and
 * every local path is resolved under the copy's top folder, never through
 * a link that leads out of it: a hostile server cannot make the client
 * write anywhere else. A file already there with the same size and content
 * is not downloaded again (see skip_identical.ts). One file's failure
 * fails that file only. Once all is written, the folders get the server's
 * modification times, the top folder too (from its parent's listing).
 *
 * @module
 */

import { quoteName, validateName } from "../../protocol/names.ts";
import { type DecryptSource, withoutAgeSuffix } from "./download.ts";
import { getEach, type GetManyItem } from "./batch.ts";
import { ReasonError } from "../errors.ts";
import { LocalFolders } from "./local_files.ts";
import type { ListPage } from "./session.ts";
import type { TreeHost, TreeOptions } from "./tree_put.ts";
import { type TreeSummary, TreeTally } from "./tree_tally.ts";
import { skipIdentical, type SkipProbe } from "./skip_identical.ts";
import { join as localPath } from "node:path";
import { Wakeup } from "../../common/wakeup.ts";

/** Options of {@linkcode ClientSession.getTree}. */
export interface GetTreeOptions extends TreeOptions {
  /** Decrypt age files (see `GetOptions.decrypt`), dropping `.age`. */
  decrypt?: DecryptSource;
}

/** Files the walk finds ahead of the downloads, at most. */
const RUN_AHEAD = 4096;
/** Folder listings the walk has open at once: one read, the rest ahead. */
const LISTS_AHEAD = 4;

/** A file of the tree on its way, with its path from the top. */
interface TreeItem extends GetManyItem {
  readonly rel: string;
  /** The listing's size of the file. */
  readonly size: number;
  /** The listing says the file starts like an age file. */
  readonly encrypted: boolean;
}

/**
 * Downloads remote folder `remoteRoot` ("" for the top) as local folder
 * `localRoot`: `localRoot` is made if missing (its parent must exist) and
 * receives the tree's contents, merged with what is there.
 *
 * @throws {FtsError} when `remoteRoot` cannot be listed or `localRoot`
 * cannot be made; each file's and subfolder's failure is in the summary.
 */
export async function getTree(
  host: TreeHost,
  remoteRoot: string,
  localRoot: string,
  options: GetTreeOptions = {},
): Promise<TreeSummary> {
  const tally = new TreeTally(options.onProgress);
  const { signal, exclude } = options;
  const listOptions = signal ? { signal } : {};
  const shown = remoteRoot === "" ? "/" : remoteRoot;
  // The top's first page is read before anything is made locally, so a
  // folder that cannot be listed fails as a whole.
  const topPages = host.listPages(remoteRoot, listOptions)[
    Symbol.asyncIterator
  ]();
  const topFirst = await topPages.next();
  try {
    await makeLocalFolder(localRoot);
  } catch (error) {
    await topPages.return?.();
    throw host.failure("get", shown, error);
  }
  tally.folders++;
  // The top folder's own time is in its parent's listing, read meanwhile.
  const topTime = folderTime(host, remoteRoot, listOptions);
  const join = (rel: string) =>
    remoteRoot === "" ? rel : `${remoteRoot}/${rel}`;
  const local = new LocalFolders(localRoot, host.core.reclaimed);
  // The folders made or found, to get the server's times once filled.
  const times: { rel: string; mtime: number }[] = [];
  /** The files of folder `rel`, page by page; its subfolders into `folders`. */
  async function* folderFiles(
    rel: string,
    pages: AsyncIterator<ListPage>,
    first: IteratorResult<ListPage>,
    folders: { rel: string; mtime: number }[],
  ): AsyncGenerator<TreeItem> {
    const where = rel === "" ? shown : join(rel);
    for (let step = first; !step.done; step = await pages.next()) {
      const page = step.value;
      for (const name of page.refused) {
        tally.fail(unsafeName(host, where, name), false);
      }
      for (let n = page.refused.length; n < page.refusedCount; n++) {
        tally.fail(unsafeName(host, where, "…"), false);
      }
      const files: TreeItem[] = [];
      let bytes = 0;
      for (const entry of page.entries) {
        let child: string;
        try {
          if (entry.name.includes("/")) {
            throw new ReasonError(
              "invalid_name",
              "the server sent a name with a slash in a listing",
            );
          }
          child = validateName(
            rel === "" ? entry.name : `${rel}/${entry.name}`,
          );
        } catch (error) {
          const at = join(rel === "" ? entry.name : `${rel}/${entry.name}`);
          tally.fail(host.failure("get", at, error), false);
          continue;
        }
        if (exclude?.(child)) continue;
        if (entry.type === "dir") {
          folders.push({ rel: child, mtime: entry.mtime });
          continue;
        }
        bytes += entry.size;
        files.push({
          rel: child,
          remoteName: join(child),
          localName: child,
          size: entry.size,
          encrypted: entry.encrypted === true,
          ...(entry.mtime > 0
            ? { expect: { size: entry.size, mtime: entry.mtime } }
            : {}),
        });
      }
      tally.found(files.length, bytes);
      yield* files;
    }
  }
  /** A folder whose listing has been asked for, and its first page. */
  interface Opened {
    readonly rel: string;
    readonly mtime: number;
    readonly pages: AsyncIterator<ListPage>;
    readonly first: Promise<IteratorResult<ListPage>>;
  }
  const open = (rel: string, mtime: number): Opened => {
    const pages = host.listPages(join(rel), listOptions)[
      Symbol.asyncIterator
    ]();
    const first = pages.next();
    first.catch(() => {}); // observed when its turn comes, or dropped
    return { rel, mtime, pages, first };
  };
  // Breadth first, with the listings of the next folders asked for while
  // one is read (LISTS_AHEAD in all), so that no round trip per folder
  // holds the downloads back. Folders are read in the order they were
  // asked for: the one being read always started first, so it is never
  // left waiting behind the others for a place on the server. Memory
  // holds the names of the folders still to visit, and the pages of the
  // listings open.
  async function* walk(): AsyncGenerator<TreeItem> {
    const queue: { rel: string; mtime: number }[] = [];
    let next = 0;
    const opened: Opened[] = [{
      rel: "",
      mtime: 0,
      pages: topPages,
      first: Promise.resolve(topFirst),
    }];
    try {
      for (;;) {
        while (opened.length < LISTS_AHEAD && next < queue.length) {
          const { rel, mtime } = queue[next++]!;
          opened.push(open(rel, mtime));
        }
        if (next > 1024) {
          queue.splice(0, next);
          next = 0;
        }
        const folder = opened.shift();
        if (folder === undefined) break;
        signal?.throwIfAborted();
        const { rel, mtime, pages } = folder;
        const found: { rel: string; mtime: number }[] = [];
        let first: IteratorResult<ListPage>;
        try {
          first = await folder.first;
          if (rel !== "") {
            local.folder(rel);
            tally.folders++;
            if (mtime > 0) times.push({ rel, mtime });
          }
        } catch (error) {
          await pages.return?.();
          tally.fail(host.failure("get", join(rel), error), false);
          continue;
        }
        try {
          yield* folderFiles(rel, pages, first, found);
        } catch (error) {
          // A page that failed after the first: the folder's rest is lost.
          if (signal?.aborted) throw error;
          tally.fail(host.failure("get", join(rel), error), false);
        } finally {
          await pages.return?.();
        }
        queue.push(...found);
      }
    } finally {
      // Stopped early: the listings asked for ahead are cancelled.
      await Promise.all(opened.map(({ pages }) => pages.return?.()));
    }
    tally.counted();
  }
  const decrypt = options.decrypt;
  const walked = runAhead(walk(), RUN_AHEAD);
  const files = (options.skipIdentical ?? true)
    ? skipIdentical(host.core, walked, {
      signal,
      probe: (item) =>
        localProbe(localRoot, item, decrypt !== undefined, local),
      identical: (_item, size) => tally.same(size),
    })
    : walked;
  try {
    await getEach(host.core, files, {
      localDir: localRoot,
      overwrite: options.overwrite ?? false,
      signal,
      window: options.window,
      decrypt,
      stripAgeSuffix: decrypt !== undefined,
      resume: options.resume,
      keepMode: options.keepMode,
      regularOnly: true,
      folders: local,
      failure: (item, error) => host.failure("get", item.remoteName, error),
      onBytes: (n) => tally.moved(n),
      settle: (item, result) => {
        if (!result.ok) return tally.fail(result.error, true);
        const wanted = item.rel.slice(item.rel.lastIndexOf("/") + 1);
        const expected = result.value.decrypted
          ? withoutAgeSuffix(wanted)
          : wanted;
        const saved = result.value.path.slice(
          result.value.path.lastIndexOf("/") + 1,
        );
        tally.sent(
          result.value.size,
          saved === expected ? null : { from: item.rel, to: saved },
          result.value.resumedAt,
        );
      },
    });
  } catch (error) {
    await topTime;
    // Ended as a whole (cancelled, the connection lost): one error for it.
    throw host.failure("get", shown, error);
  }
  const top = await topTime;
  if (top > 0) times.unshift({ rel: "", mtime: top });
  // Last, as rsync -t and scp -rp do: writing into a folder changes its
  // time. Deepest first, though a folder's time is not its parent's; the
  // top folder last.
  for (const { rel, mtime } of times.reverse()) {
    try {
      const time = new Date(mtime);
      Deno.utimeSync(local.folder(rel), time, time);
    } catch (error) {
      tally.fail(
        host.failure("get", rel === "" ? shown : join(rel), error),
        false,
      );
    }
  }
  return tally.summary();
}

/**
 * What to compare for `item`: its local copy when a regular file of the
 * listed size is there, else nothing (at once, without a look, in a folder
 * this transfer made). When downloads decrypt, a file the
 * listing marks as encrypted is never compared (its local copy holds the
 * plaintext), nor is a local file that starts like an age file.
 */
function localProbe(
  localRoot: string,
  item: TreeItem,
  decrypting: boolean,
  folders: LocalFolders,
): SkipProbe | null {
  if (decrypting && item.encrypted) return null;
  try {
    if (!folders.target(item.rel).mayExist) return null;
  } catch {
    return null; // the download reports what is wrong with the folder
  }
  const local = localPath(localRoot, item.rel);
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(local);
  } catch {
    return null;
  }
  if (!info.isFile || info.size !== item.size) return null;
  return {
    remote: item.remoteName,
    local,
    size: item.size,
    notAge: decrypting,
  };
}

/**
 * The modification time of remote folder `path`, from its parent's
 * listing (read up to its name: the fts server lists names sorted); 0
 * when it is the top folder, or when the listing fails or lacks it.
 */
async function folderTime(
  host: TreeHost,
  path: string,
  options: { signal?: AbortSignal },
): Promise<number> {
  if (path === "") return 0;
  const cut = path.lastIndexOf("/");
  const parent = cut < 0 ? "" : path.slice(0, cut);
  const base = path.slice(cut + 1);
  try {
    for await (const page of host.listPages(parent, options)) {
      for (const entry of page.entries) {
        if (entry.name === base) return entry.type === "dir" ? entry.mtime : 0;
        if (entry.name > base) return 0;
      }
    }
  } catch {
    // Only the top folder's time is lost.
  }
  return 0;
}

/** Makes local folder `path` (its parent must exist), or finds it there. */
async function makeLocalFolder(path: string): Promise<void> {
  try {
    await Deno.mkdir(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    if (!(await Deno.stat(path)).isDirectory) {
      throw new ReasonError(
        "not_directory",
        "the local target is not a folder",
      );
    }
  }
}

/** The failure for a name the server sent that the validator refused. */
function unsafeName(host: TreeHost, folder: string, name: string): unknown {
  return host.failure(
    "get",
    `${folder}/${quoteName(name).slice(1, -1)}`,
    new ReasonError("invalid_name", "the server sent an unsafe name"),
  );
}

/**
 * Pulls `source` up to `limit` items ahead of the consumer, in the
 * background, so a slow walk and slow transfers overlap.
 */
async function* runAhead<T>(
  source: AsyncIterator<T>,
  limit: number,
): AsyncGenerator<T> {
  const buffer: T[] = [];
  let finished = false;
  let stopped = false;
  let failure: { error: unknown } | null = null;
  const toConsumer = new Wakeup();
  const toProducer = new Wakeup();
  const producer = (async () => {
    try {
      while (!stopped) {
        const step = await source.next();
        if (step.done) break;
        buffer.push(step.value);
        toConsumer.wake();
        while (buffer.length >= limit && !stopped) {
          await toProducer.wait();
        }
      }
    } catch (error) {
      failure = { error };
    } finally {
      finished = true;
      toConsumer.wake();
    }
  })();
  try {
    for (;;) {
      if (buffer.length > 0) {
        const item = buffer.shift()!;
        toProducer.wake();
        yield item;
        continue;
      }
      if (failure !== null) throw (failure as { error: unknown }).error;
      if (finished) return;
      await toConsumer.wait();
    }
  } finally {
    stopped = true;
    toProducer.wake();
    await producer;
    await source.return?.();
  }
}
