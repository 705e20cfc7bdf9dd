/**
 * Which account uploaded each stored file: `owners.jsonl` in the server's
 * state folder, one JSON array per line, appended as files change:
 *
 * ```text
 * ["+","alice","docs/a.pdf"]   alice stored docs/a.pdf (a new file or an overwrite)
 * ["-","docs/a.pdf"]           docs/a.pdf was removed, or replaced by an anonymous upload
 * [">","docs","papers"]        docs was renamed to papers (a file, or a folder with all below it)
 * ```
 *
 * Sizes are not kept: they are read from the disk when the server starts,
 * so files changed behind the server's back count as they are. Lines are
 * appended with one synchronous write each, not fsynced (a few µs, no
 * async call per file): a crash may lose the last lines, and the files
 * they name then belong to no account until they are uploaded again. The
 * file is rewritten, only with the files that still exist, when the server
 * starts. Files no line names (uploaded anonymously, or put on the disk by
 * other means) belong to no account.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../../common/private_files.ts";

/** Name of the journal inside the state folder. */
export const OWNERS_FILE = "owners.jsonl";

/** Largest journal read; a larger one is read as empty (every file unowned). */
const MAX_JOURNAL_BYTES = 256 * 1024 * 1024;

const encoder = new TextEncoder();

/**
 * The owner of each file, as the journal in `dir` says (an empty map when
 * there is none, or it cannot be read). Lines that do not parse (a torn
 * last line after a crash) are skipped.
 */
export function readOwners(dir: string): Map<string, string> {
  const owners = new Map<string, string>();
  let text: string;
  try {
    const path = join(dir, OWNERS_FILE);
    if (Deno.statSync(path).size > MAX_JOURNAL_BYTES) return owners;
    text = Deno.readTextFileSync(path);
  } catch {
    return owners;
  }
  for (const line of text.split("\n")) {
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (!Array.isArray(entry) || !entry.every((x) => typeof x === "string")) {
      continue;
    }
    const [op, a, b] = entry as string[];
    if (op === "+" && a !== undefined && b !== undefined) owners.set(b, a);
    else if (op === "-" && a !== undefined) owners.delete(a);
    else if (op === ">" && a !== undefined && b !== undefined) {
      moveOwners(owners, a, b);
    }
  }
  return owners;
}

/**
 * Moves the entries of `from`, and of every name below it (a folder), to
 * `to` in `owners`; returns how many moved. A file's own entry moves
 * without looking at the others.
 */
export function moveOwners<T>(
  owners: Map<string, T>,
  from: string,
  to: string,
): number {
  const own = owners.get(from);
  if (own !== undefined) {
    // A name with an entry is a file: nothing lies below it.
    owners.delete(from);
    owners.set(to, own);
    return 1;
  }
  const moved: [string, T][] = [];
  const below = `${from}/`;
  for (const [name, value] of owners) {
    if (name === from) moved.push([to, value]);
    else if (name.startsWith(below)) {
      moved.push([to + name.slice(from.length), value]);
    } else continue;
    owners.delete(name);
  }
  for (const [name, value] of moved) owners.set(name, value);
  return moved.length;
}

/** The journal open for appending. Create with {@linkcode OwnerJournal.open}. */
export class OwnerJournal implements Disposable {
  readonly #path: string;
  #file: Deno.FsFile | null;

  private constructor(path: string, file: Deno.FsFile) {
    this.#path = path;
    this.#file = file;
  }

  /**
   * Rewrites the journal in `dir` (atomically) to hold exactly `owners`,
   * then opens it for appending.
   *
   * @throws {Error} the file system's error.
   */
  static async open(
    dir: string,
    owners: ReadonlyMap<string, string>,
  ): Promise<OwnerJournal> {
    const path = join(dir, OWNERS_FILE);
    const lines = [...owners].map(([name, owner]) =>
      JSON.stringify(["+", owner, name]) + "\n"
    );
    await writeFileAtomic(path, lines.join(""));
    const file = Deno.openSync(path, { append: true, mode: 0o600 });
    return new OwnerJournal(path, file);
  }

  /** Where the journal is. */
  get path(): string {
    return this.#path;
  }

  /** `owner` stored `name`. */
  own(name: string, owner: string): void {
    this.#append(["+", owner, name]);
  }

  /** `name` no longer belongs to anyone. */
  drop(name: string): void {
    this.#append(["-", name]);
  }

  /** `from` (and everything below it) is now `to`. */
  move(from: string, to: string): void {
    this.#append([">", from, to]);
  }

  #append(entry: string[]): void {
    if (this.#file === null) return;
    const bytes = encoder.encode(JSON.stringify(entry) + "\n");
    try {
      let offset = 0;
      while (offset < bytes.byteLength) {
        offset += this.#file.writeSync(bytes.subarray(offset));
      }
    } catch {
      // A full or failing disk: the file keeps its owner in memory for this
      // run; after a restart it belongs to no account (see the module comment).
    }
  }

  [Symbol.dispose](): void {
    this.#file?.close();
    this.#file = null;
  }
}
