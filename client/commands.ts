/**
 * Runs one parsed shell command against a session and the local folder,
 * printing results to the given streams. Shared by the interactive shell,
 * `--batch` and one-shot `fts connect HOST COMMAND`.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";
import { FtsError } from "../protocol/errors.ts";
import { validateName } from "../protocol/names.ts";
import type { Progress } from "./core.ts";
import {
  type Command,
  parseCommand,
  type Ref,
  UsageError,
  type Word,
} from "./command_parse.ts";
import { operationError } from "./errors.ts";
import { displayName, formatDuration, formatSize, quoted } from "./format.ts";
import { helpText } from "./help.ts";
import {
  encryptedMark,
  type ListedFile,
  type NumberedListing,
  readLocalListing,
  remoteListing,
  renderListing,
} from "./listings.ts";
import {
  type Clock,
  ProgressBar,
  systemClock,
  type TextSink,
  writeText,
} from "./progress.ts";
import type { ClientSession } from "./session.ts";
import type { SealOptions } from "./vault/age_header.ts";
import { VaultError } from "./vault/vault_error.ts";
import {
  decryptSourceFor,
  sealOptionsFor,
  type VaultSettings,
} from "./vault_settings.ts";

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
   * Where encryption defaults, identities and passphrases come from.
   * Default: the process environment and the controlling terminal.
   */
  vault?: VaultSettings;
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
  readonly clock?: Clock;
}

/**
 * Runs `command`. Resolves to "exit" for `exit`, else "ok".
 *
 * @throws {FtsError} when the operation fails, {@linkcode UsageError} for a
 * bad argument.
 */
export async function runCommand(
  command: Command,
  context: {
    state: ShellState;
    output: CommandOutput;
    signal?: AbortSignal | undefined;
  },
): Promise<"ok" | "exit"> {
  const { state, output, signal } = context;
  const say = (text: string) => {
    if (!output.quiet) writeText(output.out, text + "\n");
  };
  switch (command.name) {
    case "ls": {
      const folder = command.path === null
        ? state.remoteDir
        : remoteFolder(state, command.path);
      const listing = await state.session.list(folder, signalOf(signal));
      if (listing.refused.length > 0) {
        writeText(
          output.err,
          `warning: ${listing.refused.length} entr${
            listing.refused.length === 1 ? "y" : "ies"
          } with unsafe names left out: ${
            listing.refused.slice(0, 3).map(quoted).join(", ")
          }\n`,
        );
      }
      state.remoteListing = remoteListing(folder, listing.entries);
      writeText(
        output.out,
        renderListing(state.remoteListing, {
          encryptedMark: encryptedMark(vaultOf(state).env),
        }),
      );
      return "ok";
    }
    case "cd": {
      const folder = remoteFolder(state, command.path);
      await state.session.list(folder, signalOf(signal)); // must exist and be a folder
      state.remoteDir = folder;
      return "ok";
    }
    case "pwd":
      writeText(output.out, `/${displayName(state.remoteDir)}\n`);
      return "ok";
    case "get":
      await getOne(command, state, output, signal);
      return "ok";
    case "put":
      await putOne(command, state, output, signal);
      return "ok";
    case "mget":
      await getMany(command, state, output, signal);
      return "ok";
    case "mput":
      await putMany(command, state, output, signal);
      return "ok";
    case "rm": {
      const file = remoteRef(state, command.target, "delete");
      await state.session.remove(file.path, expectOf(file));
      say(`Deleted ${quoted(file.path)}`);
      return "ok";
    }
    case "mv": {
      const file = remoteRef(state, command.from, "rename");
      const to = remoteName(state, command.to, "rename");
      await state.session.rename(file.path, to, {
        overwrite: command.overwrite,
        ...expectOf(file),
      });
      say(`Renamed ${quoted(file.path)} to ${quoted(to)}`);
      return "ok";
    }
    case "mkdir": {
      const name = remoteName(state, command.path, "create folder");
      await state.session.mkdir(name);
      say(`Created folder ${quoted(name)}`);
      return "ok";
    }
    case "lls": {
      const dir = command.path === null
        ? state.localDir
        : resolve(state.localDir, command.path);
      try {
        state.localListing = await readLocalListing(dir);
      } catch (error) {
        throw operationError("list local", dir, error);
      }
      writeText(output.out, renderListing(state.localListing));
      return "ok";
    }
    case "lcd": {
      const dir = resolve(state.localDir, command.path);
      try {
        const info = await Deno.stat(dir);
        if (!info.isDirectory) throw new Deno.errors.NotADirectory(dir);
        state.localDir = await Deno.realPath(dir);
      } catch (error) {
        throw operationError("change to local folder", dir, error);
      }
      return "ok";
    }
    case "lpwd":
      writeText(output.out, `${displayName(state.localDir, 4096)}\n`);
      return "ok";
    case "lmkdir": {
      const dir = resolve(state.localDir, command.path);
      try {
        await Deno.mkdir(dir);
      } catch (error) {
        throw operationError("create local folder", dir, error);
      }
      say(`Created local folder ${quoted(dir)}`);
      return "ok";
    }
    case "lrm":
      await removeLocal(command.target, state, say);
      return "ok";
    case "help":
      writeText(output.out, helpText(command.topic));
      return "ok";
    case "shutdown":
      await state.session.shutdown(
        command.graceMs === null ? {} : { graceMs: command.graceMs },
      );
      say(
        `The server accepted the shutdown${
          command.graceMs === null
            ? ""
            : `; running transfers get up to ${formatDuration(command.graceMs)}`
        }`,
      );
      return "ok";
    case "exit":
      return "exit";
  }
}

/** How a command line went; `message` is one line, ready to print. */
export type RunResult =
  | { readonly status: "ok" }
  | { readonly status: "exit" }
  | { readonly status: "failed"; readonly message: string }
  | { readonly status: "usage"; readonly message: string };

/**
 * Parses and runs one command given as words; the result says how it went
 * and the error message, if any, is ready to print (one line).
 *
 * @throws only for errors that are not fts or usage errors (bugs).
 */
export async function runWords(
  words: readonly Word[],
  context: {
    state: ShellState;
    output: CommandOutput;
    signal?: AbortSignal | undefined;
  },
): Promise<RunResult> {
  try {
    const status = await runCommand(parseCommand(words), context);
    return status === "exit" ? { status: "exit" } : { status: "ok" };
  } catch (error) {
    if (error instanceof UsageError) {
      return { status: "usage", message: error.message };
    }
    if (error instanceof FtsError) {
      return { status: "failed", message: withRemedy(error) };
    }
    throw error;
  }
}

/** Adds what the user can do about an error, where there is something. */
export function withRemedy(error: FtsError): string {
  if (error.code === "stale") {
    const which = /local/.test(error.message) ? "lls" : "ls";
    return `${error.message} (run "${which}" to see the folder as it is now)`;
  }
  // No key opens it (a passphrase file says "wrong passphrase" instead).
  if (
    vaultReason(error) === "no_identity" && !/passphrase/.test(error.message)
  ) {
    return `${error.message} ("get --raw" saves the encrypted file as it is)`;
  }
  return error.message;
}

/** The reason of a {@linkcode VaultError} among `error`'s causes. */
function vaultReason(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e instanceof VaultError) return e.reason;
    e = e.cause;
  }
  return undefined;
}

/** The vault settings of `state`, or the process's. */
function vaultOf(state: ShellState): VaultSettings {
  return state.vault ?? { env: (name) => Deno.env.get(name) };
}

/** A command's encryption as engine options; failures name the file. */
async function sealFor(
  choice: Extract<Command, { name: "put" | "mput" }>["encrypt"],
  state: ShellState,
  name: string,
): Promise<SealOptions | undefined> {
  try {
    return await sealOptionsFor(choice, vaultOf(state));
  } catch (error) {
    throw operationError("put", name, error);
  }
}

function signalOf(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

function expectOf(
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

function remoteName(state: ShellState, typed: string, action: string): string {
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
function remoteRef(
  state: ShellState,
  ref: Ref,
  action: string,
): ListedFile & { listed: boolean } {
  if (ref.number !== null && state.remoteListing) {
    return { ...state.remoteListing.pick(ref.number, action), listed: true };
  }
  const path = remoteName(state, ref.text, action);
  return {
    path,
    name: basename(path),
    type: "file",
    size: 0,
    mtime: 0,
    listed: false,
  };
}

/** The local file a ref names: an `lls` entry, or a path. */
function localRef(
  state: ShellState,
  ref: Ref,
  action: string,
): ListedFile & { listed: boolean } {
  if (ref.number !== null && state.localListing) {
    return { ...state.localListing.pick(ref.number, action), listed: true };
  }
  const path = resolve(state.localDir, ref.text);
  return {
    path,
    name: basename(path),
    type: "file",
    size: 0,
    mtime: 0,
    listed: false,
  };
}

function folderRefused(action: string, file: ListedFile): never {
  throw new FtsError(
    "is_directory",
    `Cannot ${action} ${
      quoted(file.path)
    }: it is a folder (use m${action} with its files)`,
  );
}

async function getOne(
  command: Extract<Command, { name: "get" }>,
  state: ShellState,
  output: CommandOutput,
  signal: AbortSignal | undefined,
): Promise<void> {
  const file = remoteRef(state, command.source, "get");
  if (file.listed && file.type === "dir") folderRefused("get", file);
  let dir = state.localDir;
  let localName = basename(file.path);
  // A name the user typed is kept; one taken from the server loses ".age".
  let named = false;
  if (command.local !== null) {
    const full = resolve(state.localDir, command.local);
    if (command.local.endsWith("/") || await isDirectory(full)) {
      dir = full;
    } else {
      dir = dirname(full);
      localName = basename(full);
      named = true;
    }
  }
  const bar = startBar(output, quoted(file.path));
  try {
    const result = await state.session.get(file.path, dir, {
      overwrite: command.overwrite,
      localName,
      ...expectOf(file.listed ? file : null),
      ...signalOf(signal),
      ...(command.raw ? {} : {
        decrypt: decryptSourceFor(vaultOf(state)),
        stripAgeSuffix: !named,
      }),
      ...(bar
        ? { onProgress: (p: Progress) => bar.update(p.bytes, p.total) }
        : {}),
    });
    bar?.finish();
    const saved = basename(result.path);
    if (!output.quiet && result.decrypted) {
      writeText(output.out, `Decrypted and saved as ${quoted(saved)}\n`);
    } else if (saved !== localName && !output.quiet) {
      writeText(output.out, `Saved as ${quoted(saved)}\n`);
    }
  } catch (error) {
    bar?.clear();
    throw error;
  }
}

async function putOne(
  command: Extract<Command, { name: "put" }>,
  state: ShellState,
  output: CommandOutput,
  signal: AbortSignal | undefined,
): Promise<void> {
  const file = localRef(state, command.source, "put");
  if (file.listed && file.type === "dir") folderRefused("put", file);
  if (command.encrypt === "passphrase") {
    // Before asking for a passphrase, make sure there is a file to seal.
    await Deno.stat(file.path).catch((error) => {
      throw operationError("put", file.name, error);
    });
  }
  const encrypt = await sealFor(command.encrypt, state, file.name);
  // An encrypted file is stored as NAME.age unless the user named it.
  const stored = encrypt ? `${file.name}.age` : file.name;
  let remote: string;
  if (command.remote === null) {
    remote = remoteName(state, stored, "put");
  } else if (command.remote.endsWith("/")) {
    remote = remoteName(state, `${command.remote}${stored}`, "put");
  } else {
    remote = remoteName(state, command.remote, "put");
  }
  const bar = startBar(output, quoted(file.name));
  try {
    const result = await state.session.put(file.path, remote, {
      overwrite: command.overwrite,
      ...(file.listed
        ? { expectLocal: { size: file.size, mtime: file.mtime } }
        : {}),
      ...signalOf(signal),
      ...(encrypt ? { encrypt } : {}),
      ...(bar
        ? { onProgress: (p: Progress) => bar.update(p.bytes, p.total) }
        : {}),
    });
    bar?.finish();
    if (!output.quiet && result.encrypted) {
      writeText(output.out, `Encrypted and stored as ${quoted(result.name)}\n`);
    } else if (result.name !== remote && !output.quiet) {
      writeText(output.out, `Stored as ${quoted(result.name)}\n`);
    }
  } catch (error) {
    bar?.clear();
    throw error;
  }
}

function patternRegExp(pattern: string): RegExp {
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

async function getMany(
  command: Extract<Command, { name: "mget" }>,
  state: ShellState,
  output: CommandOutput,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { sources, overwrite } = command;
  const files: (ListedFile & { listed: boolean })[] = [];
  let folderListing: readonly ListedFile[] | null = null;
  for (const ref of sources) {
    if (ref.pattern) {
      folderListing ??= remoteListing(
        state.remoteDir,
        (await state.session.list(state.remoteDir, signalOf(signal))).entries,
      ).entries;
      const re = patternRegExp(ref.text);
      const matched = folderListing.filter((e) =>
        e.type === "file" && re.test(e.name)
      );
      if (matched.length === 0) {
        throw new FtsError(
          "not_found",
          `Cannot get ${quoted(ref.text)}: no file matches`,
        );
      }
      files.push(...matched.map((m) => ({ ...m, listed: true })));
    } else {
      const file = remoteRef(state, ref, "get");
      if (file.listed && file.type === "dir") folderRefused("get", file);
      files.push(file);
    }
  }
  const bar = startBar(
    output,
    `${files.length} file${files.length === 1 ? "" : "s"}`,
  );
  const started = (output.clock ?? systemClock).now();
  const results = await state.session.getMany(
    files.map((f) => ({
      remoteName: f.path,
      localName: basename(f.path),
      ...(f.listed ? { size: f.size, ...expectOf(f) } : {}),
    })),
    state.localDir,
    {
      overwrite,
      ...signalOf(signal),
      ...(command.raw ? {} : {
        decrypt: decryptSourceFor(vaultOf(state)),
        stripAgeSuffix: true,
      }),
      ...(bar
        ? { onProgress: (p: Progress) => bar.update(p.bytes, p.total) }
        : {}),
    },
  );
  report(results, "get", bar, output, started);
}

async function putMany(
  command: Extract<Command, { name: "mput" }>,
  state: ShellState,
  output: CommandOutput,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { sources, overwrite } = command;
  const files: (ListedFile & { listed: boolean })[] = [];
  for (const ref of sources) {
    if (ref.pattern) {
      const slash = ref.text.lastIndexOf("/");
      const dir = resolve(
        state.localDir,
        slash < 0 ? "." : ref.text.slice(0, slash + 1),
      );
      const re = patternRegExp(ref.text.slice(slash + 1));
      const listing = await readLocalListing(dir).catch((error) => {
        throw operationError("put", ref.text, error);
      });
      const matched = listing.entries.filter((e) =>
        e.type === "file" && re.test(e.name)
      );
      if (matched.length === 0) {
        throw new FtsError(
          "not_found",
          `Cannot put ${quoted(ref.text)}: no local file matches`,
        );
      }
      files.push(...matched.map((m) => ({ ...m, listed: false })));
    } else {
      const file = localRef(state, ref, "put");
      if (file.listed && file.type === "dir") folderRefused("put", file);
      files.push(file);
    }
  }
  const encrypt = await sealFor(
    command.encrypt,
    state,
    files[0]?.name ?? "",
  );
  const items = files.map((f) => ({
    localPath: f.path,
    remoteName: remoteName(state, encrypt ? `${f.name}.age` : f.name, "put"),
    ...(f.listed ? { expectLocal: { size: f.size, mtime: f.mtime } } : {}),
  }));
  const bar = startBar(
    output,
    `${files.length} file${files.length === 1 ? "" : "s"}`,
  );
  const started = (output.clock ?? systemClock).now();
  const results = await state.session.putMany(items, {
    overwrite,
    ...signalOf(signal),
    ...(encrypt ? { encrypt } : {}),
    ...(bar
      ? { onProgress: (p: Progress) => bar.update(p.bytes, p.total) }
      : {}),
  });
  report(results, "put", bar, output, started);
}

/** Prints a batch's failures and summary; throws when any file failed. */
function report(
  results: readonly ({ ok: true; value: { size: number } } | {
    ok: false;
    error: unknown;
  })[],
  action: string,
  bar: ProgressBar | null,
  output: CommandOutput,
  started: number,
): void {
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) bar?.finish();
  else bar?.clear();
  for (const result of failed) {
    if (result.ok) continue;
    const error = result.error;
    if (!(error instanceof FtsError)) throw error;
    writeText(output.err, `${error.message}\n`);
  }
  const done = results.length - failed.length;
  const bytes = results.reduce((n, r) => n + (r.ok ? r.value.size : 0), 0);
  const elapsed = (output.clock ?? systemClock).now() - started;
  if (!output.quiet && !bar) {
    writeText(
      output.out,
      `${
        action === "get" ? "Downloaded" : "Uploaded"
      } ${done} of ${results.length} files (${formatSize(bytes)}) in ${
        formatDuration(elapsed)
      }\n`,
    );
  }
  if (failed.length > 0) {
    const first = failed[0]!;
    throw new FtsError(
      first.ok
        ? "io"
        : first.error instanceof FtsError
        ? first.error.code
        : "io",
      `Cannot ${action} ${failed.length} of ${results.length} files`,
    );
  }
}

async function removeLocal(
  ref: Ref,
  state: ShellState,
  say: (text: string) => void,
) {
  const file = localRef(state, ref, "delete local");
  try {
    if ((await Deno.lstat(file.path)).isDirectory) {
      throw new FtsError(
        "is_directory",
        `Cannot delete local ${quoted(file.path)}: it is a folder`,
      );
    }
    // The listing followed links, so compare with what the link points to.
    const info = await Deno.stat(file.path);
    if (
      file.listed &&
      (info.size !== file.size || (info.mtime?.getTime() ?? 0) !== file.mtime)
    ) {
      throw new FtsError(
        "stale",
        `Cannot delete local ${
          quoted(file.path)
        }: the local file changed since it was listed`,
      );
    }
    await Deno.remove(file.path);
  } catch (error) {
    throw operationError("delete local", file.path, error);
  }
  say(`Deleted local ${quoted(file.name)}`);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

function startBar(output: CommandOutput, label: string): ProgressBar | null {
  if (!output.progress) return null;
  return new ProgressBar({
    out: output.err,
    label,
    columns: output.columns,
    ...(output.clock ? { clock: output.clock } : {}),
  });
}
