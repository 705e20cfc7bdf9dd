/**
 * Every regular file under a held root folder, with its size: what quota
 * accounting counts as stored. Walked synchronously, one folder descriptor
 * at a time opened without following links (see rooted_paths.ts), so a
 * folder swapped for a link while it runs is skipped, never left through.
 *
 * @module
 */

import type { StoredFile } from "../storage.ts";
import { fsError } from "./fs_errors.ts";
import { type Folder, lstatOrNull, STATE_DIR } from "./rooted_paths.ts";

/**
 * Yields each regular file below `root` (never `.fts` at the top, never
 * through a symbolic link) with its size, its name relative to `root`.
 * Entries that vanish or cannot be opened meanwhile are skipped.
 *
 * @throws {FtsError} `io` when the root itself cannot be read.
 */
export function* walkFiles(root: Folder): Generator<StoredFile> {
  let names: string[];
  try {
    names = [...Deno.readDirSync(root.path)].map((e) => e.name);
  } catch (error) {
    throw fsError(error, "scan", "");
  }
  yield* walkNames(root, "", names.filter((n) => n !== STATE_DIR));
}

function* walkNames(
  folder: Folder,
  prefix: string,
  names: readonly string[],
): Generator<StoredFile> {
  for (const base of names) {
    const name = prefix === "" ? base : `${prefix}/${base}`;
    let info: Deno.FileInfo | null;
    try {
      info = lstatOrNull(folder.at(base));
    } catch {
      continue;
    }
    if (info?.isFile) {
      yield { name, size: info.size };
    } else if (info?.isDirectory) {
      let sub: Folder;
      let inner: string[];
      try {
        sub = folder.openFolder(base);
      } catch {
        continue; // Swapped for a link, or gone: not ours to count.
      }
      try {
        try {
          inner = [...Deno.readDirSync(sub.path)].map((e) => e.name);
        } catch {
          continue;
        }
        yield* walkNames(sub, name, inner);
      } finally {
        sub[Symbol.dispose]();
      }
    }
  }
}
