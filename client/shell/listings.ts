/**
 * Numbered listings: what `ls` and `lls` showed, so that a later `get 3` or
 * `put 2` means exactly the file the user saw as number 3 or 2, with the
 * size and modification time it had then.
 *
 * @module
 */

import { join } from "node:path";
import { FtsError } from "../../protocol/errors.ts";
import type { Entry } from "../../protocol/messages.ts";
import { displayName, formatSize, formatTime } from "../term/format.ts";
import { isTempName } from "../engine/local_files.ts";

/** One numbered line of a listing. */
export interface ListedFile {
  /** The remote name from the top folder, or the absolute local path. */
  readonly path: string;
  /** The name shown in the listing (one component). */
  readonly name: string;
  readonly type: "file" | "dir";
  readonly size: number;
  /** Modification time, ms since the epoch. */
  readonly mtime: number;
  /** True for a remote file the server marks as age-encrypted. */
  readonly encrypted?: boolean;
  /** Permission bits (0o777), when known. */
  readonly mode?: number;
}

/**
 * Most lines of one listing whose numbers the shell keeps for later
 * commands: a listing streams, so the numbers of a folder of 100,000
 * entries are printed, but only the first lines' files are remembered
 * (about 2 MiB), and a later number beyond them is refused.
 */
export const MAX_NUMBERED = 10_000;

/** A listing as the user saw it. */
export class NumberedListing {
  /** "remote" for `ls`, "local" for `lls`. */
  readonly side: "remote" | "local";
  /** The files of the first lines, at most {@linkcode MAX_NUMBERED}. */
  readonly entries: readonly ListedFile[];
  /** Lines numbered in all (more than `entries` when some were not kept). */
  readonly count: number;

  constructor(
    side: "remote" | "local",
    entries: readonly ListedFile[],
    count: number = entries.length,
  ) {
    this.side = side;
    this.entries = entries;
    this.count = Math.max(count, entries.length);
  }

  /**
   * The entry shown as `number`.
   *
   * @throws {FtsError} `not_found` when there is no such number, or when
   * its line was past the numbers kept.
   */
  pick(number: number, action: string): ListedFile {
    const entry = this.entries[number - 1];
    const which = this.side === "remote" ? "ls" : "lls";
    if (!entry && number >= 1 && number <= this.count) {
      throw new FtsError(
        "not_found",
        `Cannot ${action} number ${number}: the last "${which}" listing had ${this.count} lines and numbers are kept for the first ${this.entries.length} only (name the file instead)`,
      );
    }
    if (!entry || number < 1) {
      const range = this.count === 0
        ? "it was empty"
        : `it has numbers 1 to ${this.count}`;
      throw new FtsError(
        "not_found",
        `Cannot ${action} number ${number}: not in the last "${which}" listing (${range})`,
      );
    }
    return entry;
  }
}

/** The entry `e` of remote folder `folder` as a listing line. */
export function remoteListed(folder: string, e: Entry): ListedFile {
  return {
    path: folder === "" ? e.name : `${folder}/${e.name}`,
    name: e.name,
    type: e.type,
    size: e.size,
    mtime: e.mtime,
    ...(e.encrypted ? { encrypted: true } : {}),
    ...(e.mode === undefined ? {} : { mode: e.mode }),
  };
}

/** Numbers a remote listing of folder `folder` ("" for the top). */
export function remoteListing(
  folder: string,
  entries: readonly Entry[],
): NumberedListing {
  return new NumberedListing(
    "remote",
    entries.map((e) => remoteListed(folder, e)),
  );
}

/**
 * Lists local folder `dir`: files and folders sorted by name, following
 * symbolic links, leaving out fts's temporary files and broken links.
 */
export async function readLocalListing(dir: string): Promise<NumberedListing> {
  const entries: ListedFile[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (isTempName(entry.name)) continue;
    const path = join(dir, entry.name);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch {
      continue; // a broken link or a file that just went away
    }
    if (!info.isFile && !info.isDirectory) continue;
    entries.push({
      path,
      name: entry.name,
      type: info.isDirectory ? "dir" : "file",
      size: info.isDirectory ? 0 : info.size,
      mtime: info.mtime?.getTime() ?? 0,
      ...(info.mode === null ? {} : { mode: info.mode & 0o777 }),
    });
  }
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return new NumberedListing("local", entries);
}

/** Options of {@linkcode renderListing}. */
export interface RenderOptions {
  /**
   * Shown after the name of an encrypted file. Default `"[encrypted]"`;
   * {@linkcode encryptedMark} picks a lock on UTF-8 terminals.
   */
  encryptedMark?: string;
  /**
   * The long format of `ls -l`: permission bits, the exact size in bytes
   * and the time to the second, and a footer with the totals
   * ({@linkcode totalLine}). Default false.
   */
  long?: boolean;
  /** The number of the first line (`ls -R` numbers on). Default 1. */
  first?: number;
}

/** Sizes and counts of listed entries, as `du` would sum them. */
export interface Totals {
  readonly bytes: number;
  readonly files: number;
  readonly folders: number;
}

/** The totals of `entries`, added to `start` (default: none). */
export function totalsOf(
  entries: readonly ListedFile[],
  start: Totals = { bytes: 0, files: 0, folders: 0 },
): Totals {
  let { bytes, files, folders } = start;
  for (const e of entries) {
    if (e.type === "dir") folders++;
    else {
      files++;
      bytes += e.size;
    }
  }
  return { bytes, files, folders };
}

/**
 * `total 4.77 MiB (5000000 bytes) in 2 files and 1 folder` (`label`
 * replaces "total").
 */
export function totalLine(totals: Totals, label = "total"): string {
  const count = (n: number, noun: string) =>
    `${n} ${noun}${n === 1 ? "" : "s"}`;
  return `${label} ${formatSize(totals.bytes)} (${totals.bytes} bytes) in ${
    count(totals.files, "file")
  } and ${count(totals.folders, "folder")}`;
}

/**
 * The mark for encrypted files: a lock when the locale (`LC_ALL`,
 * `LC_CTYPE`, `LANG`) says UTF-8, else the ASCII `[encrypted]`.
 */
export function encryptedMark(
  env: (name: string) => string | undefined,
): string {
  const locale = env("LC_ALL") || env("LC_CTYPE") || env("LANG") || "";
  return /utf-?8/i.test(locale) ? "🔒" : "[encrypted]";
}

/**
 * The listing as a table: number, size in binary units, modification time
 * and name (folders end with "/"; names are escaped for the terminal;
 * encrypted files are followed by a mark).
 */
export function renderListing(
  listing: NumberedListing,
  options: RenderOptions = {},
): string {
  let text = "";
  const printer = new ListingPrinter((t) => text += t, options);
  printer.page(listing.entries);
  printer.end();
  return text;
}

/**
 * Prints a listing page by page as it arrives, numbering its lines, in the
 * table of {@linkcode renderListing}: a listing of one page looks the same
 * either way. The columns take the widths of the first page and widen
 * when a later page needs it. Keeps the files of the first
 * {@linkcode MAX_NUMBERED} lines (see {@linkcode numbered}) and the totals
 * of all, so its memory does not grow with the folder.
 */
export class ListingPrinter {
  readonly #write: (text: string) => void;
  readonly #mark: string;
  readonly #long: boolean;
  readonly #keep: ListedFile[];
  readonly #keepAtMost: number;
  #next: number;
  #numberWidth = 1;
  #sizeWidth = 4;
  #totals: Totals = { bytes: 0, files: 0, folders: 0 };
  #printedAny = false;

  /**
   * `options.first` numbers on from an earlier listing; `keep` holds the
   * files of earlier listings (ls -R), to which this one's are added.
   */
  constructor(
    write: (text: string) => void,
    options: RenderOptions & { keep?: ListedFile[] } = {},
  ) {
    this.#write = write;
    this.#mark = `  ${options.encryptedMark ?? "[encrypted]"}`;
    this.#long = options.long ?? false;
    this.#next = options.first ?? 1;
    this.#keep = options.keep ?? [];
    this.#keepAtMost = MAX_NUMBERED;
  }

  /** Lines printed so far. */
  get lines(): number {
    return this.#next - 1;
  }

  /** Sizes and counts of what was printed. */
  get totals(): Totals {
    return this.#totals;
  }

  /** The numbers kept, for later commands (`get 3`). */
  numbered(side: "remote" | "local"): NumberedListing {
    return new NumberedListing(side, this.#keep, this.lines);
  }

  /** Prints `entries` (the table's header first, with the first lines). */
  page(entries: readonly ListedFile[]): void {
    if (entries.length === 0) return;
    const long = this.#long;
    const first = this.#next;
    const sizes = entries.map((e) =>
      e.type === "dir" ? "-" : long ? String(e.size) : formatSize(e.size)
    );
    this.#numberWidth = Math.max(
      this.#numberWidth,
      String(first + entries.length - 1).length,
    );
    this.#sizeWidth = Math.max(this.#sizeWidth, ...sizes.map((s) => s.length));
    const timeWidth = long ? 19 : 16;
    const time = (ms: number) => long ? formatTime(ms, true) : formatTime(ms);
    const lines: string[] = [];
    if (!this.#printedAny) {
      lines.push(
        `${"#".padStart(this.#numberWidth)}  ${long ? "mode        " : ""}${
          "size".padStart(this.#sizeWidth)
        }  ${"modified".padEnd(timeWidth)}  name`,
      );
    }
    entries.forEach((e, i) => {
      const name = displayName(e.name) + (e.type === "dir" ? "/" : "") +
        (e.encrypted ? this.#mark : "");
      lines.push(
        `${String(i + first).padStart(this.#numberWidth)}  ${
          long ? `${modeString(e).padEnd(10)}  ` : ""
        }${sizes[i]!.padStart(this.#sizeWidth)}  ${
          time(e.mtime).padEnd(timeWidth)
        }  ${name}`,
      );
      if (this.#keep.length < this.#keepAtMost) this.#keep.push(e);
    });
    this.#printedAny = true;
    this.#next += entries.length;
    this.#totals = totalsOf(entries, this.#totals);
    this.#write(lines.join("\n") + "\n");
  }

  /** Ends the listing: "(empty folder)" when nothing was printed, the totals with `long`. */
  end(): void {
    if (!this.#printedAny) {
      this.#write("(empty folder)\n");
      return;
    }
    if (this.#long) this.#write(totalLine(this.#totals) + "\n");
  }
}

/** `drwxr-xr-x` for a folder with mode 0o755; `?` when the mode is unknown. */
function modeString(entry: Pick<ListedFile, "type" | "mode">): string {
  if (entry.mode === undefined) return "?";
  const bits = "rwxrwxrwx";
  let text = entry.type === "dir" ? "d" : "-";
  for (let i = 0; i < 9; i++) {
    text += entry.mode & (0o400 >> i) ? bits[i] : "-";
  }
  return text;
}
