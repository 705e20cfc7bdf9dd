/**
 * Deleting a remote folder with everything in it (`rm -r`): each folder is
 * listed, its files deleted (several requests in flight), its subfolders
 * emptied the same way, then the folder itself removed. A file that cannot
 * be deleted is reported and keeps its folders in place; the rest goes on.
 *
 * @module
 */

import { validateName } from "../../protocol/names.ts";
import { DEFAULT_WINDOW } from "./batch.ts";
import { ReasonError } from "../errors.ts";
import type { TreeHost } from "./tree_put.ts";
import type { ListPage } from "./session.ts";
import { MAX_KEPT } from "./tree_tally.ts";

/** How a folder deletion went. */
export interface RemoveSummary {
  /** Files deleted. */
  readonly files: number;
  /** Folders deleted, the top one included. */
  readonly folders: number;
  /** Files and folders that could not be deleted. */
  readonly failed: number;
  /** The first {@linkcode MAX_KEPT} failures, as FtsErrors. */
  readonly failures: readonly unknown[];
}

/**
 * Deletes remote folder `root` and everything in it.
 *
 * @throws {FtsError} when `root` cannot be listed (missing, a file…);
 * later failures are in the summary.
 */
export async function removeTree(
  host: Pick<TreeHost, "listPages" | "remove" | "failure">,
  root: string,
  options: { signal?: AbortSignal } = {},
): Promise<RemoveSummary> {
  const signal = options.signal;
  const listOptions = signal ? { signal } : {};
  let files = 0;
  let folders = 0;
  let failed = 0;
  const failures: unknown[] = [];
  const fail = (error: unknown) => {
    failed++;
    if (failures.length < MAX_KEPT) failures.push(error);
  };
  // The top's first page is read first, so a folder that cannot be
  // listed fails as a whole.
  const topPages = host.listPages(validateName(root), listOptions)[
    Symbol.asyncIterator
  ]();
  const topFirst = await topPages.next();
  const removeFiles = async (names: string[]) => {
    for (let at = 0; at < names.length; at += DEFAULT_WINDOW) {
      signal?.throwIfAborted();
      await Promise.all(
        names.slice(at, at + DEFAULT_WINDOW).map(async (name) => {
          try {
            await host.remove(name);
            files++;
          } catch (error) {
            fail(error);
          }
        }),
      );
    }
  };
  // Post-order, one listing open at a time: a folder's files go page by
  // page, the names of its subfolders are kept and cleared after it.
  const clear = async (
    folder: string,
    given?: { pages: AsyncIterator<ListPage>; first: IteratorResult<ListPage> },
  ) => {
    signal?.throwIfAborted();
    const below: string[] = [];
    let refusedCount = 0;
    const pages = given?.pages ??
      host.listPages(folder, listOptions)[Symbol.asyncIterator]();
    try {
      for (
        let step = given?.first ?? await pages.next();
        !step.done;
        step = await pages.next()
      ) {
        const page = step.value;
        refusedCount += page.refusedCount;
        await removeFiles(
          page.entries.filter((e) => e.type === "file" && !e.name.includes("/"))
            .map((e) => `${folder}/${e.name}`),
        );
        for (const entry of page.entries) {
          if (entry.type !== "dir" || entry.name.includes("/")) continue;
          try {
            below.push(validateName(`${folder}/${entry.name}`));
          } catch (error) {
            fail(host.failure("delete", `${folder}/${entry.name}`, error));
          }
        }
      }
    } catch (error) {
      if (signal?.aborted) throw error;
      return fail(error);
    } finally {
      await pages.return?.();
    }
    if (refusedCount > 0) {
      fail(host.failure(
        "delete",
        folder,
        new ReasonError(
          "invalid_name",
          `the server listed ${refusedCount} unsafe name(s) in it`,
        ),
      ));
    }
    for (const child of below) await clear(child);
    try {
      await host.remove(folder);
      folders++;
    } catch (error) {
      fail(error);
    }
  };
  try {
    await clear(validateName(root), { pages: topPages, first: topFirst });
  } catch (error) {
    // Ended as a whole (cancelled, the connection lost): one error for it.
    throw host.failure("delete", root, error);
  }
  return { files, folders, failed, failures };
}
