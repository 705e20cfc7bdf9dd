/**
 * What every shell command works with: the state kept between commands,
 * where output goes, and the helpers that turn what the user typed (a
 * path, or a number from the last listing) into remote and local files.
 *
 * @module
 */

import { basename, resolve } from "node:path";
import { FtsError } from "../../protocol/errors.ts";
import { validateName } from "../../protocol/names.ts";
import type { Ref } from "./command_parse.ts";
import { UsageError } from "../../common/usage_error.ts";
import { operationError } from "../errors.ts";
import { quoted } from "../term/format.ts";
import type { ListedFile, NumberedListing } from "./listings.ts";
import { ProgressBar, type TextSink, writeText } from "../term/progress.ts";
import type { Clock } from "../../common/clock.ts";
import type { ClientSession } from "../engine/session.ts";
import type { VaultSettings } from "./vault_settings.ts";
import type { RetryEvent } from "../engine/retry.ts";

/** What a command may read and change between commands. */
export interface ShellState {
  session: ClientSession;
  /** Absolute path of the local folder. */
  localDir: string;
  /** The remote folder names are relative to; "" for the top. */
  remoteDir: string;
  /** The last `ls` the user saw. */
  remoteListing: NumberedListing | null;
  /** The last `lls` the user saw. */
  localListing: NumberedListing | null;
  /**
   * Refuse a bare number when there is no listing to take it from, instead
   * of reading it as a name: for one-shot commands and scripts, where no
   * one sees what a number would mean. Default false (the interactive
   * shell reads `get 3` before any `ls` as the file "3").
   */
  numbersNeedListing?: boolean;
  /**
   * Where encryption defaults, identities and passphrases come from.
   * Default: the process environment and the controlling terminal.
   */
  vault?: VaultSettings;
  /**
   * Standard input for `put - NAME`, when it does not carry commands;
   * absent: `put -` is refused.
   */
  stdin?: ReadableStream<Uint8Array>;
}

/** Where a command writes. */
export interface CommandOutput {
  /** Results (listings, confirmations). */
  readonly out: TextSink;
  /** Progress bars and warnings. */
  readonly err: TextSink;
  /** Draw progress bars on `err` (a terminal, and not --quiet). */
  readonly progress: boolean;
  /** Print no confirmations. */
  readonly quiet: boolean;
  /** Terminal width for progress bars. */
  readonly columns: number;
  readonly clock?: Pick<Clock, "now">;
  /**
   * Standard output as a byte stream, for `get NAME -`. Default: `out`,
   * written synchronously.
   */
  readonly data?: { write(p: Uint8Array): Promise<number> };
}

/**
 * How a command whose connection failed under it runs again on a new one
 * (`fts connect --retries`); see client/engine/retry.ts.
 */
export interface CommandRetry {
  /** Retries after the first try; 0 never retries. */
  readonly retries: number;
  /** Opens a new session into the shell state. */
  reconnect(): Promise<void>;
  /**
   * Shows a retry before its wait; `transfer` is true when the command
   * moves files (it resumes rather than starts again).
   */
  onRetry(event: RetryEvent, transfer: boolean): void;
  /** The clock of the waits. Default: the system's. */
  readonly clock?: Clock;
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** What one command runs with. */
export interface CommandContext {
  state: ShellState;
  output: CommandOutput;
  signal?: AbortSignal | undefined;
  /** Run again after a lost connection. Absent: a failure is final. */
  retry?: CommandRetry | undefined;
  /**
   * Set while a command runs with {@linkcode retry}: tells whether its
   * failure `error` will be retried, so that a batch does not report
   * failures that the next try may undo.
   */
  willRetry?: ((error: unknown) => boolean) | undefined;
  /**
   * Set while a command runs with {@linkcode retry}: a command calls it
   * when running it again could do harm, because it streams what cannot be
   * taken back (to standard output, a FIFO or a device) or consumes its
   * source (standard input). Its failure is then final.
   */
  final?: (() => void) | undefined;
  /**
   * Asks the user a yes/no question (a person at a terminal); absent in
   * scripts, where commands do not ask.
   */
  confirm?: ((question: string) => Promise<boolean>) | undefined;
}

/** A file named by a {@linkcode Ref}; `listed` when it came from a listing. */
export type RefFile = ListedFile & { listed: boolean };

/** Prints a confirmation on `out`, unless the output is quiet. */
export function say(output: CommandOutput, text: string): void {
  if (!output.quiet) writeText(output.out, text + "\n");
}

/** The vault settings of `state`, or the process's. */
export function vaultOf(state: ShellState): VaultSettings {
  return state.vault ?? { env: (name) => Deno.env.get(name) };
}

/** `signal` as an engine option. */
export function signalOf(
  signal: AbortSignal | undefined,
): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/** A listed file's size and mtime as an engine `expect` option. */
export function expectOf(
  file: ListedFile | null,
): { expect?: { size: number; mtime: number } } {
  return file && file.type === "file" && file.mtime > 0
    ? { expect: { size: file.size, mtime: file.mtime } }
    : {};
}

/**
 * A remote path typed by the user, relative to the remote folder (or to
 * the top when it starts with "/"), with "." and ".." resolved. "" is the
 * top folder.
 *
 * @throws {UsageError} when the path leads above the top folder.
 * @throws {NameError} when the path is not a valid name.
 */
export function remoteFolder(state: ShellState, typed: string): string {
  const parts = typed.startsWith("/")
    ? []
    : state.remoteDir.split("/").filter(Boolean);
  for (const part of typed.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) {
        throw new UsageError(`${quoted(typed)} leads above the top folder`);
      }
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  const path = parts.join("/");
  return path === "" ? "" : validateName(path);
}

/**
 * Like {@linkcode remoteFolder}, but never the top folder; a bad name fails
 * as `Cannot ACTION "typed": reason`.
 */
export function remoteName(
  state: ShellState,
  typed: string,
  action: string,
): string {
  let name: string;
  try {
    name = remoteFolder(state, typed);
  } catch (error) {
    throw operationError(action, typed, error);
  }
  if (name === "") throw new UsageError(`Cannot ${action} the top folder`);
  return name;
}

/** The remote file a ref names: a listing entry, or a typed name. */
export function remoteRef(
  state: ShellState,
  ref: Ref,
  action: string,
): RefFile {
  if (ref.number !== null && state.remoteListing) {
    return { ...state.remoteListing.pick(ref.number, action), listed: true };
  }
  if (ref.number !== null) noListing(state, ref, action, "ls");
  return typedFile(remoteName(state, ref.text, action));
}

/** The local file a ref names: an `lls` entry, or a path. */
export function localRef(
  state: ShellState,
  ref: Ref,
  action: string,
): RefFile {
  if (ref.number !== null && state.localListing) {
    return { ...state.localListing.pick(ref.number, action), listed: true };
  }
  if (ref.number !== null) noListing(state, ref, action, "lls");
  return typedFile(resolve(state.localDir, ref.text));
}

/** Refuses a bare number without a listing, when the state says so. */
function noListing(
  state: ShellState,
  ref: Ref,
  action: string,
  listCommand: "ls" | "lls",
): void {
  if (!state.numbersNeedListing) return;
  throw new UsageError(
    `Cannot ${action} number ${ref.number}: there is no "${listCommand}" listing to take it from (write "./${ref.text}" for a file with that name)`,
  );
}

/** A file the user typed the path of: nothing is known about it yet. */
function typedFile(path: string): RefFile {
  return {
    path,
    name: basename(path),
    type: "file",
    size: 0,
    mtime: 0,
    listed: false,
  };
}

/** Refuses a folder where a single-file command was given one. */
export function folderRefused(action: string, file: ListedFile): never {
  throw new FtsError(
    "is_directory",
    `Cannot ${action} ${quoted(file.path)}: it is a folder ("${
      action.replace(/^m/, "")
    } -r" copies folders)`,
  );
}

/** A progress bar on `err`, or null when the output draws none. */
export function startBar(
  output: CommandOutput,
  label: string,
): ProgressBar | null {
  if (!output.progress) return null;
  return new ProgressBar({
    out: output.err,
    label,
    columns: output.columns,
    ...(output.clock ? { clock: output.clock } : {}),
  });
}

/**
 * A shell wildcard pattern as a RegExp: `*` any run of characters, `?` one
 * character, everything else literal.
 */
export function patternRegExp(pattern: string): RegExp {
  const body = Array.from(
    pattern,
    (ch) =>
      ch === "*"
        ? ".*"
        : ch === "?"
        ? "."
        : ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&"),
  ).join("");
  return new RegExp(`^${body}$`, "u");
}

/**
 * Splits a typed `FOLDER/PATTERN` into the folder as typed ("." when
 * there is none) and the pattern of its last component.
 */
export function splitPattern(typed: string): { folder: string; leaf: string } {
  const slash = typed.lastIndexOf("/");
  return slash < 0
    ? { folder: ".", leaf: typed }
    : { folder: typed.slice(0, slash + 1), leaf: typed.slice(slash + 1) };
}

/** The folder part of remote `name` ("" for the top). */
export function remoteParent(name: string): string {
  const slash = name.lastIndexOf("/");
  return slash < 0 ? "" : name.slice(0, slash);
}

/** The last component of remote `name`. */
export function remoteLeaf(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}

/**
 * Where a file called `leaf` goes when the user typed `typed` as its new
 * remote name: inside `typed` when it ends with "/" or is a folder on the
 * server (as a shell's `mv` and `cp` do), else `typed` itself.
 *
 * @throws {FtsError} `Cannot ACTION "subject": reason` for a bad name.
 */
export async function remoteTarget(
  state: ShellState,
  typed: string,
  leaf: string,
  context: {
    action: string;
    subject: string;
    signal?: AbortSignal | undefined;
  },
): Promise<string> {
  let name: string;
  try {
    name = remoteFolder(state, typed);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw operationError(context.action, typed, error);
  }
  const into = typed.endsWith("/") || name === "" ||
    await state.session.isFolder(name, signalOf(context.signal));
  return into ? (name === "" ? leaf : `${name}/${leaf}`) : name;
}

/**
 * After a remote operation on `target` failed with `not_found`: when the
 * folder `target` should be in does not exist, an error that says so
 * (naming the folder, not the file) after `prefix` (such as
 * `Cannot put "a.txt": `); else `error` itself.
 */
export async function missingRemoteFolder(
  state: ShellState,
  target: string,
  error: unknown,
  prefix: string,
): Promise<unknown> {
  if (!(error instanceof FtsError) || error.code !== "not_found") return error;
  const folder = remoteParent(target);
  if (folder === "" || await state.session.isFolder(folder)) return error;
  return new FtsError(
    "not_found",
    `${prefix}no such folder ${quoted(folder)} on the server`,
    { cause: error },
  );
}

/**
 * Checks that local folder `dir` exists before a download into it, so that
 * its absence is reported as the local folder's, not the remote file's.
 *
 * @throws {FtsError} `Cannot get "name": no such local folder "dir"`.
 */
export async function checkLocalFolder(
  dir: string,
  action: string,
  name: string,
): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw operationError(action, name, error);
    }
    throw new FtsError(
      "not_found",
      `Cannot ${action} ${quoted(name)}: no such local folder ${quoted(dir)}`,
      { cause: error },
    );
  }
  if (!info.isDirectory) {
    throw new FtsError(
      "not_directory",
      `Cannot ${action} ${quoted(name)}: local ${quoted(dir)} is not a folder`,
    );
  }
}
