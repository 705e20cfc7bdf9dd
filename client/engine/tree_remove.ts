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
  host: Pick<TreeHost, "list" | "remove" | "failure">,
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
  const top = await host.list(validateName(root), listOptions);
  // Post-order, one folder's listing at a time on the path from the top.
  const clear = async (folder: string, given?: typeof top) => {
    signal?.throwIfAborted();
    let listing = given;
    try {
      listing ??= await host.list(folder, listOptions);
    } catch (error) {
      return fail(error);
    }
    if (listing.refusedCount > 0) {
      fail(host.failure(
        "delete",
        folder,
        new ReasonError(
          "invalid_name",
          `the server listed ${listing.refusedCount} unsafe name(s) in it`,
        ),
      ));
    }
    const names = listing.entries.filter((e) =>
      e.type === "file" && !e.name.includes("/")
    ).map((e) => `${folder}/${e.name}`);
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
    for (const entry of listing.entries) {
      if (entry.type !== "dir" || entry.name.includes("/")) continue;
      let child: string;
      try {
        child = validateName(`${folder}/${entry.name}`);
      } catch (error) {
        fail(host.failure("delete", `${folder}/${entry.name}`, error));
        continue;
      }
      await clear(child);
    }
    try {
      await host.remove(folder);
      folders++;
    } catch (error) {
      fail(error);
    }
  };
  try {
    await clear(validateName(root), top);
  } catch (error) {
    // Ended as a whole (cancelled, the connection lost): one error for it.
    throw host.failure("delete", root, error);
  }
  return { files, folders, failed, failures };
}
