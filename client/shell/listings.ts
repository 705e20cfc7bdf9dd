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

/** A listing as the user saw it. */
export class NumberedListing {
  /** "remote" for `ls`, "local" for `lls`. */
  readonly side: "remote" | "local";
  readonly entries: readonly ListedFile[];

  constructor(side: "remote" | "local", entries: readonly ListedFile[]) {
    this.side = side;
    this.entries = entries;
  }

  /**
   * The entry shown as `number`.
   *
   * @throws {FtsError} `not_found` when there is no such number.
   */
  pick(number: number, action: string): ListedFile {
    const entry = this.entries[number - 1];
    if (!entry || number < 1) {
      const which = this.side === "remote" ? "ls" : "lls";
      const range = this.entries.length === 0
        ? "it was empty"
        : `it has numbers 1 to ${this.entries.length}`;
      throw new FtsError(
        "not_found",
        `Cannot ${action} number ${number}: not in the last "${which}" listing (${range})`,
      );
    }
    return entry;
  }
}

/** Numbers a remote listing of folder `folder` ("" for the top). */
export function remoteListing(
  folder: string,
  entries: readonly Entry[],
): NumberedListing {
  return new NumberedListing(
    "remote",
    entries.map((e) => ({
      path: folder === "" ? e.name : `${folder}/${e.name}`,
      name: e.name,
      type: e.type,
      size: e.size,
      mtime: e.mtime,
      ...(e.encrypted ? { encrypted: true } : {}),
      ...(e.mode === undefined ? {} : { mode: e.mode }),
    })),
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

/** The totals of `entries`. */
export function totalsOf(entries: readonly ListedFile[]): Totals {
  let bytes = 0;
  let files = 0;
  let folders = 0;
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
  const mark = `  ${options.encryptedMark ?? "[encrypted]"}`;
  if (listing.entries.length === 0) return "(empty folder)\n";
  const long = options.long ?? false;
  const first = options.first ?? 1;
  const width = String(first + listing.entries.length - 1).length;
  const sizes = listing.entries.map((e) =>
    e.type === "dir" ? "-" : long ? String(e.size) : formatSize(e.size)
  );
  const sizeWidth = Math.max(4, ...sizes.map((s) => s.length));
  const timeWidth = long ? 19 : 16;
  const time = (ms: number) => long ? formatTime(ms, true) : formatTime(ms);
  const lines = [
    `${"#".padStart(width)}  ${long ? "mode        " : ""}${
      "size".padStart(sizeWidth)
    }  ${"modified".padEnd(timeWidth)}  name`,
  ];
  listing.entries.forEach((e, i) => {
    const name = displayName(e.name) + (e.type === "dir" ? "/" : "") +
      (e.encrypted ? mark : "");
    lines.push(
      `${String(i + first).padStart(width)}  ${
        long ? `${modeString(e).padEnd(10)}  ` : ""
      }${sizes[i]!.padStart(sizeWidth)}  ${
        time(e.mtime).padEnd(timeWidth)
      }  ${name}`,
    );
  });
  if (long) lines.push(totalLine(totalsOf(listing.entries)));
  return lines.join("\n") + "\n";
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
