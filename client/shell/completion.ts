/**
 * Tab completion for the shell: command names for the first word, remote
 * or local names for the arguments, by what each command takes.
 * {@linkcode complete} is pure apart from the {@linkcode CompletionSource}
 * it is given, so it is tested without a terminal or a server; the shell's
 * source ({@linkcode shellCompletionSource}) lists remote folders through
 * the engine and local ones from the disk.
 *
 * @module
 */

import { join, resolve } from "node:path";
import { type Command, commandName, commandNames } from "./command_parse.ts";
import { remoteFolder, type ShellState } from "./command_context.ts";
import { isTempName } from "../engine/local_files.ts";
import type { Completion } from "../term/line_input.ts";

/** One name in a folder. */
export interface CompletionEntry {
  readonly name: string;
  readonly dir: boolean;
}

/** Lists the folders names are completed from. */
export interface CompletionSource {
  /** Entries of remote folder `typed` as the user typed it ("" for the current one). */
  remote(typed: string): Promise<readonly CompletionEntry[]>;
  /** Entries of local folder `typed` as the user typed it ("" for the current one). */
  local(typed: string): Promise<readonly CompletionEntry[]>;
}

type Side = "remote" | "local" | null;

/** Which side the argument number `index` (options left out) of a command names. */
function sideOf(name: Command["name"], index: number): Side {
  switch (name) {
    case "ls":
    case "cd":
    case "rm":
    case "mv":
    case "mkdir":
    case "rmdir":
    case "mget":
      return "remote";
    case "lls":
    case "lcd":
    case "lrm":
    case "lmkdir":
    case "mput":
      return "local";
    case "get":
      return index === 0 ? "remote" : "local";
    case "put":
      return index === 0 ? "local" : "remote";
    default:
      return null;
  }
}

/** The words before the cursor, the last one possibly unfinished. */
function wordsBefore(text: string): { words: string[]; start: number } {
  const words: string[] = [];
  let word = "";
  let start = 0;
  let inWord = false;
  let quote: string | null = null;
  const chars = Array.from(text);
  let at = 0;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (!inWord && ch !== " " && ch !== "\t") {
      inWord = true;
      start = at;
    }
    at += ch.length;
    if (quote) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === " " || ch === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === "\\" && i + 1 < chars.length) {
      word += chars[++i]!;
      at += chars[i]!.length;
    } else {
      word += ch;
    }
  }
  words.push(inWord ? word : "");
  return { words, start: inWord ? start : text.length };
}

/** A name as it must be typed: spaces, quotes and backslashes escaped. */
function escapeWord(text: string): string {
  return text.replace(/[\s"'\\]/g, (ch) => `\\${ch}`);
}

function commonPrefix(names: readonly string[]): string {
  let prefix = names[0] ?? "";
  for (const name of names) {
    while (!name.startsWith(prefix)) prefix = prefix.slice(0, -1);
  }
  return prefix;
}

/**
 * Completes the word that ends `before` (the line up to the cursor).
 * Resolves to null when nothing matches or the word takes no name.
 *
 * @example
 * ```ts
 * await complete("ge", source); // { start: 0, text: "get ", candidates: ["get"] }
 * ```
 */
export async function complete(
  before: string,
  source: CompletionSource,
): Promise<Completion | null> {
  const { words, start } = wordsBefore(before);
  const typed = words.at(-1)!;
  if (words.length === 1) {
    const matches = commandNames().filter((n) => n.startsWith(typed));
    return finish(start, "", matches.map((name) => ({ name, dir: false })));
  }
  const name = commandName(words[0]!);
  if (!name) return null;
  // Options are left out, and so is the GLOB after "--exclude".
  const args = words.slice(1, -1).filter((w, i, all) =>
    !w.startsWith("-") && all[i - 1] !== "--exclude"
  );
  if (typed.startsWith("-")) return null;
  const side = sideOf(name, args.length);
  if (side === null) return null;
  const slash = typed.lastIndexOf("/");
  const folder = typed.slice(0, slash + 1);
  const leaf = typed.slice(slash + 1);
  let entries: readonly CompletionEntry[];
  try {
    entries = await source[side](folder);
  } catch {
    return null; // no such folder, or not reachable: nothing to offer
  }
  return finish(
    start,
    folder,
    entries.filter((e) => e.name.startsWith(leaf)),
  );
}

function finish(
  start: number,
  folder: string,
  matches: readonly CompletionEntry[],
): Completion | null {
  if (matches.length === 0) return null;
  const sorted = [...matches].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
  const candidates = sorted.map((e) => e.name + (e.dir ? "/" : ""));
  if (sorted.length === 1) {
    const only = sorted[0]!;
    return {
      start,
      text: escapeWord(folder + only.name) + (only.dir ? "/" : " "),
      candidates,
    };
  }
  return {
    start,
    text: escapeWord(folder + commonPrefix(sorted.map((e) => e.name))),
    candidates,
  };
}

/**
 * The shell's names: remote folders listed through the session (relative
 * to the remote folder), local ones read from the disk (relative to the
 * local folder), leaving out fts's temporary files.
 */
export function shellCompletionSource(state: ShellState): CompletionSource {
  return {
    async remote(typed) {
      const folder = remoteFolder(state, typed === "" ? "." : typed);
      const { entries } = await state.session.list(folder);
      return entries.map((e) => ({ name: e.name, dir: e.type === "dir" }));
    },
    async local(typed) {
      const dir = resolve(state.localDir, typed === "" ? "." : typed);
      const entries: CompletionEntry[] = [];
      for await (const e of Deno.readDir(dir)) {
        if (isTempName(e.name)) continue;
        let isDir = e.isDirectory;
        if (e.isSymlink) {
          try {
            isDir = Deno.statSync(join(dir, e.name)).isDirectory;
          } catch {
            continue; // a broken link
          }
        }
        entries.push({ name: e.name, dir: isDir });
      }
      return entries;
    },
  };
}
