/**
 * Walks a local folder tree lazily, depth first, in name order: each
 * folder is read only when the walk reaches it, and memory holds the names
 * of the folders on the current path, never the whole tree. Symbolic links
 * are never followed (reported as skipped), nor are devices, FIFOs and
 * sockets. fts's own temporary files (a download's part file, a resumable
 * partial and its sidecar) are left out. Every name is checked with the
 * shared validator, so what the walk yields can be sent to a server as it
 * is.
 *
 * The calls are synchronous: reading a folder and an lstat per entry are
 * tiny metadata operations, far cheaper synchronously than as async ops.
 *
 * @module
 */

import { join } from "node:path";
import { validateName } from "../../protocol/names.ts";
import { isTempName } from "./local_files.ts";

/** One thing the walk met, relative to the tree's top. */
export type LocalTreeEvent =
  | {
    readonly kind: "dir";
    /** Path from the top, `/`-separated, NFC (valid as a name). */
    readonly rel: string;
    /** The local path. */
    readonly path: string;
    readonly mtime: number;
  }
  | {
    readonly kind: "file";
    readonly rel: string;
    readonly path: string;
    readonly size: number;
    readonly mtime: number;
    /** Permission bits (0o777), where the platform has them. */
    readonly mode: number | undefined;
  }
  | {
    /** Not followed or not sent: a symbolic link or a special file. */
    readonly kind: "skip";
    readonly rel: string;
    readonly path: string;
    readonly reason: "symlink" | "special";
  }
  | {
    /** A name the validator refuses, or a folder that cannot be read. */
    readonly kind: "error";
    /** The path from the top as found (may not be a valid name). */
    readonly rel: string;
    readonly path: string;
    readonly error: unknown;
  };

/** Options of {@linkcode walkLocalTree}. */
export interface WalkOptions {
  /**
   * Leaves out an entry (and, for a folder, everything in it) when it
   * returns true. `rel` is the entry's path from the top.
   */
  exclude?: (rel: string, isDir: boolean) => boolean;
}

/**
 * Walks the tree under folder `root` (not yielded itself): a folder is
 * yielded before its contents, entries in code-point order of their names.
 *
 * @throws a Deno file-system error when `root` cannot be read.
 */
export function* walkLocalTree(
  root: string,
  options: WalkOptions = {},
): Generator<LocalTreeEvent, void, void> {
  const stack: { path: string; rel: string; names: string[] }[] = [
    { path: root, rel: "", names: readNames(root) },
  ];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const name = top.names.pop();
    if (name === undefined) {
      stack.pop();
      continue;
    }
    const path = join(top.path, name);
    const raw = top.rel === "" ? name : `${top.rel}/${name}`;
    let rel: string;
    try {
      rel = top.rel === "" ? validateName(name) : validateName(raw);
      if (name.includes("/")) throw new TypeError("a slash in a file name");
    } catch (error) {
      yield { kind: "error", rel: raw, path, error };
      continue;
    }
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // gone meanwhile
      yield { kind: "error", rel, path, error };
      continue;
    }
    if (options.exclude?.(rel, info.isDirectory)) continue;
    const mtime = info.mtime?.getTime() ?? 0;
    if (info.isSymlink) {
      yield { kind: "skip", rel, path, reason: "symlink" };
    } else if (info.isDirectory) {
      let names: string[];
      try {
        names = readNames(path);
      } catch (error) {
        yield { kind: "error", rel, path, error };
        continue;
      }
      yield { kind: "dir", rel, path, mtime };
      stack.push({ path, rel, names });
    } else if (info.isFile) {
      if (isTempName(name)) continue;
      yield {
        kind: "file",
        rel,
        path,
        size: info.size,
        mtime,
        mode: info.mode === null ? undefined : info.mode & 0o777,
      };
    } else {
      yield { kind: "skip", rel, path, reason: "special" };
    }
  }
}

/** Entries the gradual count walks between two turns of the event loop. */
const COUNT_SLICE = 1000;

/**
 * Counts the files and bytes the walk of `root` would yield, holding no
 * more than the walk does, a slice at a time, letting the event loop run
 * between slices (so a transfer can go on meanwhile):
 * `onCount` gets the files and bytes of each slice. Stops early, quietly,
 * when `signal` aborts; a tree that cannot be read counts as empty (the
 * walk that sends it reports why).
 */
export async function countLocalTreeGradually(
  root: string,
  options: WalkOptions & { signal?: AbortSignal | undefined },
  onCount: (files: number, bytes: number) => void,
): Promise<void> {
  let files = 0;
  let bytes = 0;
  let seen = 0;
  try {
    for (const event of walkLocalTree(root, options)) {
      if (event.kind === "file") {
        files++;
        bytes += event.size;
      }
      if (++seen % COUNT_SLICE !== 0) continue;
      onCount(files, bytes);
      files = bytes = 0;
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (options.signal?.aborted) return;
    }
  } catch {
    return;
  }
  onCount(files, bytes);
}

/** The names in folder `path`, sorted so that `pop()` takes the first. */
function readNames(path: string): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(path)) names.push(entry.name);
  return names.sort((a, b) => a < b ? 1 : a > b ? -1 : 0);
}
