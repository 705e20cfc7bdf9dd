/**
 * The shell's command language: splitting a line into words (with "…" and
 * '…' quoting) and turning words into a typed {@linkcode Command}. Pure: no
 * I/O.
 *
 * A bare number (`get 3`) refers to the listing the user last saw; a quoted
 * one (`get "3"`) is always a name.
 *
 * @module
 */

import { UsageError } from "../../common/usage_error.ts";
import { displayName } from "../term/format.ts";

/** One word of a command line. */
export interface Word {
  readonly text: string;
  /** True when any part of the word was quoted or escaped. */
  readonly quoted: boolean;
}

/**
 * Splits a line into words. Double and single quotes group spaces; inside
 * double quotes and outside quotes a backslash escapes the next character.
 *
 * @throws {UsageError} for an unterminated quote or a trailing backslash.
 * @example
 * ```ts
 * splitWords(`put "my file.txt" 'a b'`).map((w) => w.text); // ["put", "my file.txt", "a b"]
 * ```
 */
export function splitWords(line: string): Word[] {
  const words: Word[] = [];
  let text = "";
  let quoted = false;
  let inWord = false;
  let quote: '"' | "'" | null = null;
  const chars = Array.from(line);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === "\\" && quote === '"' && i + 1 < chars.length) {
        text += chars[++i];
      } else text += ch;
      continue;
    }
    if (ch === " " || ch === "\t") {
      if (inWord) words.push({ text, quoted });
      text = "";
      quoted = false;
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === '"' || ch === "'") {
      quote = ch;
      quoted = true;
    } else if (ch === "\\") {
      if (i + 1 >= chars.length) {
        throw new UsageError("A line cannot end with a backslash");
      }
      text += chars[++i];
      quoted = true;
    } else {
      text += ch;
    }
  }
  if (quote) throw new UsageError(`Missing closing ${quote}`);
  if (inWord) words.push({ text, quoted });
  return words;
}

/** A file named by name or by its number in the last listing. */
export interface Ref {
  /** The word as typed. */
  readonly text: string;
  /** The listing number when the word is an unquoted number, else null. */
  readonly number: number | null;
  /** True when the word is an unquoted wildcard pattern (`*`, `?`). */
  readonly pattern: boolean;
}

/** A parsed shell command. */
export type Command =
  | {
    readonly name: "ls";
    readonly path: string | null;
    /** The path is an unquoted wildcard pattern (`*`, `?`). */
    readonly pattern?: true;
    /** `-l`: permission bits, exact sizes and times to the second. */
    readonly long?: true;
    /** `-R`: every folder below too. */
    readonly recursive?: true;
  }
  | { readonly name: "cd"; readonly path: string }
  | { readonly name: "pwd" }
  | {
    readonly name: "get";
    readonly source: Ref;
    readonly local: string | null;
    readonly overwrite: boolean;
    /** `--raw`: save an encrypted file as it is, without decrypting it. */
    readonly raw?: true;
    /** `-p`: keep the permission bits. */
    readonly keepMode?: true;
    /** `-r`: a folder with everything in it. */
    readonly recursive?: true;
    /** `--exclude GLOB`s, for a folder. */
    readonly exclude?: readonly string[];
    /** `--no-skip`: a folder's identical files are sent all the same. */
    readonly noSkip?: true;
    /** `--no-resume`: an interrupted download starts over. */
    readonly noResume?: true;
  }
  | {
    readonly name: "put";
    readonly source: Ref;
    readonly remote: string | null;
    readonly overwrite: boolean;
    /** How to encrypt; absent: the user's default. */
    readonly encrypt?: EncryptChoice;
    readonly keepMode?: true;
    readonly recursive?: true;
    readonly exclude?: readonly string[];
    readonly noSkip?: true;
    /** `--no-resume`: start over, even when the server kept a partial. */
    readonly noResume?: true;
  }
  | {
    readonly name: "mget";
    readonly sources: Ref[];
    readonly overwrite: boolean;
    readonly raw?: true;
    readonly keepMode?: true;
    readonly noResume?: true;
  }
  | {
    readonly name: "mput";
    readonly sources: Ref[];
    readonly overwrite: boolean;
    readonly encrypt?: EncryptChoice;
    readonly keepMode?: true;
  }
  | {
    readonly name: "rm";
    readonly target: Ref;
    /** `-f`: no question before deleting several files or a folder. */
    readonly force?: true;
    /** `-r`: a folder with everything in it. */
    readonly recursive?: true;
  }
  | {
    readonly name: "mv";
    readonly from: Ref;
    readonly to: string;
    readonly overwrite: boolean;
  }
  | {
    readonly name: "mkdir";
    readonly path: string;
    /** `-p`: make the missing parents too; an existing folder is fine. */
    readonly parents?: true;
  }
  | { readonly name: "rmdir"; readonly path: string }
  | {
    readonly name: "lls";
    readonly path: string | null;
    readonly pattern?: true;
    readonly long?: true;
  }
  | { readonly name: "lrm"; readonly target: Ref }
  | { readonly name: "lcd"; readonly path: string }
  | { readonly name: "lpwd" }
  | { readonly name: "df" }
  | { readonly name: "lmkdir"; readonly path: string }
  | { readonly name: "help"; readonly topic: string | null }
  | {
    readonly name: "shutdown";
    /** `--grace SECONDS` in ms, or null for the server's own grace period. */
    readonly graceMs: number | null;
  }
  | { readonly name: "exit" };

/**
 * An upload's encryption as asked on the command line: `--encrypt` (to the
 * user's identity), `--passphrase`, or `--no-encrypt` (overrides a default).
 */
export type EncryptChoice = "identity" | "passphrase" | "none";

/** Every command name and alias, mapped to its command. */
const ALIASES: Record<string, Command["name"]> = {
  ls: "ls",
  dir: "ls",
  list: "ls",
  cd: "cd",
  pwd: "pwd",
  get: "get",
  download: "get",
  put: "put",
  upload: "put",
  mget: "mget",
  mput: "mput",
  rm: "rm",
  del: "rm",
  delete: "rm",
  mv: "mv",
  rename: "mv",
  mkdir: "mkdir",
  rmdir: "rmdir",
  lls: "lls",
  lrm: "lrm",
  lcd: "lcd",
  lpwd: "lpwd",
  lmkdir: "lmkdir",
  df: "df",
  help: "help",
  "?": "help",
  shutdown: "shutdown",
  exit: "exit",
  quit: "exit",
  bye: "exit",
};

/** Usage line of every command, for errors and help. */
export const USAGE: Record<Command["name"], string> = {
  ls: "ls [-l] [-R] [FOLDER|PATTERN]",
  cd: "cd FOLDER",
  pwd: "pwd",
  get:
    "get [-r] [-p] [--overwrite] [--raw] [--no-skip] [--no-resume] [--exclude GLOB]… NAME|NUMBER [LOCAL|-]",
  put:
    "put [-r] [-p] [--overwrite] [--encrypt|--passphrase|--no-encrypt] [--no-skip] [--no-resume] [--exclude GLOB]… LOCAL|NUMBER|- [REMOTE]",
  mget: "mget [-p] [--overwrite] [--raw] [--no-resume] NAME|NUMBER|PATTERN…",
  mput:
    "mput [-p] [--overwrite] [--encrypt|--passphrase|--no-encrypt] LOCAL|NUMBER|PATTERN…",
  rm: "rm [-r] [-f] NAME|NUMBER|PATTERN",
  mv: "mv [--overwrite] OLD|NUMBER NEW",
  mkdir: "mkdir [-p] FOLDER",
  rmdir: "rmdir FOLDER",
  lls: "lls [-l] [FOLDER|PATTERN]",
  lrm: "lrm NAME|NUMBER",
  lcd: "lcd FOLDER",
  lpwd: "lpwd",
  lmkdir: "lmkdir FOLDER",
  df: "df",
  help: "help [COMMAND]",
  shutdown: "shutdown [--grace SECONDS]",
  exit: "exit",
};

/** Every command name and alias, sorted (for completion). */
export function commandNames(): string[] {
  return Object.keys(ALIASES).filter((n) => n !== "?").sort();
}

/** Resolves a command name or alias, or returns undefined. */
export function commandName(word: string): Command["name"] | undefined {
  return Object.hasOwn(ALIASES, word) ? ALIASES[word] : undefined;
}

/**
 * Parses the words of one command.
 *
 * @throws {UsageError} for an unknown command, an unknown option or the
 * wrong number of arguments.
 */
export function parseCommand(words: readonly Word[]): Command {
  const [head, ...rest] = words;
  if (!head) throw new UsageError("Empty command");
  const name = head.quoted ? undefined : commandName(head.text);
  if (!name) {
    throw new UsageError(
      `Unknown command "${displayName(head.text)}" (type "help" for the list)`,
    );
  }
  if (name === "shutdown") return parseShutdown(rest);
  const { args, flags, excludes } = takeOptions(name, rest);
  const tree = {
    ...(flags.has("-r") ? { recursive: true as const } : {}),
    ...(excludes.length > 0 ? { exclude: excludes } : {}),
    ...(flags.has("--no-skip") ? { noSkip: true as const } : {}),
  };
  const overwrite = flags.has("--overwrite");
  const raw = {
    ...(flags.has("--raw") ? { raw: true as const } : {}),
    ...(flags.has("-p") ? { keepMode: true as const } : {}),
    ...(flags.has("--no-resume") ? { noResume: true as const } : {}),
  };
  const encrypt = encryptChoice(name, flags);
  const count = (min: number, max: number) => {
    if (args.length < min || args.length > max) {
      throw new UsageError(`Usage: ${USAGE[name]}`);
    }
  };
  const ref = (w: Word): Ref => ({
    text: w.text,
    number: !w.quoted && /^\d{1,9}$/.test(w.text) ? Number(w.text) : null,
    pattern: !w.quoted && /[*?]/.test(w.text),
  });
  const text = (i: number) => args[i]?.text ?? null;
  switch (name) {
    case "ls":
    case "lls": {
      count(0, 1);
      const path = args[0] ? ref(args[0]) : null;
      return {
        name,
        path: path?.text ?? null,
        ...(path?.pattern ? { pattern: true as const } : {}),
        ...(flags.has("-l") ? { long: true as const } : {}),
        ...(flags.has("-R") ? { recursive: true as const } : {}),
      };
    }
    case "mkdir":
      count(1, 1);
      return {
        name,
        path: args[0]!.text,
        ...(flags.has("-p") ? { parents: true as const } : {}),
      };
    case "cd":
    case "lcd":
    case "rmdir":
    case "lmkdir":
      count(1, 1);
      return { name, path: args[0]!.text };
    case "pwd":
    case "lpwd":
    case "df":
    case "exit":
      count(0, 0);
      return { name };
    case "help":
      count(0, 1);
      return { name, topic: text(0) };
    case "get":
      count(1, 2);
      return {
        name,
        source: ref(args[0]!),
        local: text(1),
        overwrite,
        ...raw,
        ...tree,
      };
    case "put":
      count(1, 2);
      return {
        name,
        source: ref(args[0]!),
        remote: text(1),
        overwrite,
        ...encrypt,
        ...(flags.has("-p") ? { keepMode: true as const } : {}),
        ...(flags.has("--no-resume") ? { noResume: true as const } : {}),
        ...tree,
      };
    case "mget":
      count(1, Infinity);
      return { name, sources: args.map(ref), overwrite, ...raw };
    case "mput":
      count(1, Infinity);
      return {
        name,
        sources: args.map(ref),
        overwrite,
        ...encrypt,
        ...(flags.has("-p") ? { keepMode: true as const } : {}),
      };
    case "rm":
      count(1, 1);
      return {
        name,
        target: ref(args[0]!),
        ...(flags.has("-f") ? { force: true as const } : {}),
        ...(flags.has("-r") ? { recursive: true as const } : {}),
      };
    case "lrm":
      count(1, 1);
      return { name, target: ref(args[0]!) };
    case "mv":
      count(2, 2);
      return { name, from: ref(args[0]!), to: args[1]!.text, overwrite };
  }
}

/** The option that takes a value: `--exclude GLOB` or `--exclude=GLOB`. */
const EXCLUDE = "--exclude";

const UPLOAD_OPTIONS = [
  "-p",
  "--overwrite",
  "--encrypt",
  "--passphrase",
  "--no-encrypt",
] as const;

/** The options each command takes. */
const COMMAND_OPTIONS: Partial<Record<Command["name"], readonly string[]>> = {
  get: [
    "-r",
    "-p",
    "--overwrite",
    "--raw",
    "--no-skip",
    "--no-resume",
    EXCLUDE,
  ],
  mget: ["-p", "--overwrite", "--raw", "--no-resume"],
  put: [...UPLOAD_OPTIONS, "-r", "--no-skip", "--no-resume", EXCLUDE],
  mput: UPLOAD_OPTIONS,
  mv: ["--overwrite"],
  ls: ["-l", "-R"],
  lls: ["-l"],
  rm: ["-r", "-f"],
  mkdir: ["-p"],
};

/** `put`'s and `mput`'s encryption flags as an {@linkcode EncryptChoice}. */
function encryptChoice(
  name: Command["name"],
  flags: ReadonlySet<string>,
): { encrypt?: EncryptChoice } {
  const plain = flags.has("--no-encrypt");
  const passphrase = flags.has("--passphrase");
  if (plain && (passphrase || flags.has("--encrypt"))) {
    throw new UsageError(
      `Give --no-encrypt or --encrypt/--passphrase, not both (usage: ${
        USAGE[name]
      })`,
    );
  }
  if (plain) return { encrypt: "none" };
  if (passphrase) return { encrypt: "passphrase" };
  if (flags.has("--encrypt")) return { encrypt: "identity" };
  return {};
}

function takeOptions(
  name: Command["name"],
  words: readonly Word[],
): { args: Word[]; flags: Set<string>; excludes: string[] } {
  const args: Word[] = [];
  const flags = new Set<string>();
  const excludes: string[] = [];
  const known = COMMAND_OPTIONS[name] ?? [];
  const unknown = (text: string) =>
    new UsageError(
      `Unknown option "${displayName(text)}" for ${name} (usage: ${
        USAGE[name]
      })`,
    );
  let options = true;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (
      !options || word.quoted || !word.text.startsWith("-") || word.text === "-"
    ) {
      args.push(word);
      continue;
    }
    const text = word.text;
    if (text === "--") {
      options = false;
    } else if (known.includes(EXCLUDE) && text.startsWith(`${EXCLUDE}=`)) {
      excludes.push(text.slice(EXCLUDE.length + 1));
    } else if (known.includes(EXCLUDE) && text === EXCLUDE) {
      const glob = words[++i];
      if (!glob) {
        throw new UsageError(`${EXCLUDE} needs a GLOB (usage: ${USAGE[name]})`);
      }
      excludes.push(glob.text);
    } else if (known.includes(text)) {
      flags.add(text);
    } else if (/^-[a-zA-Z]{2,}$/.test(text)) {
      // Letters run together, as in "rm -rf" or "ls -lR".
      for (const letter of text.slice(1)) {
        if (!known.includes(`-${letter}`)) throw unknown(text);
        flags.add(`-${letter}`);
      }
    } else {
      throw unknown(text);
    }
  }
  if (excludes.some((glob) => glob.replace(/\//g, "") === "")) {
    throw new UsageError(`${EXCLUDE} needs a GLOB (usage: ${USAGE[name]})`);
  }
  return { args, flags, excludes };
}

/** Longest grace period `shutdown --grace` takes: a day. */
const MAX_GRACE_SECONDS = 86_400;

/** `shutdown [--grace SECONDS]` (also `--grace=SECONDS`). */
function parseShutdown(words: readonly Word[]): Command {
  let text: string | undefined;
  if (words.length === 1 && words[0]!.text.startsWith("--grace=")) {
    text = words[0]!.text.slice("--grace=".length);
  } else if (words.length === 2 && words[0]!.text === "--grace") {
    text = words[1]!.text;
  } else if (words.length !== 0) {
    throw new UsageError(`Usage: ${USAGE.shutdown}`);
  }
  if (text === undefined) return { name: "shutdown", graceMs: null };
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(seconds <= MAX_GRACE_SECONDS)) {
    throw new UsageError(
      `--grace takes a number of seconds from 0 to ${MAX_GRACE_SECONDS}, not "${
        displayName(text, 20)
      }"`,
    );
  }
  return { name: "shutdown", graceMs: Math.round(seconds * 1000) };
}
