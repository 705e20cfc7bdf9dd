/**
 * The shell commands that move file contents: `get`, `put`, `mget` and
 * `mput`, with their progress bars, encryption choices and batch summaries.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";
import { FtsError } from "../protocol/errors.ts";
import type { Progress } from "./core.ts";
import type { Command } from "./command_parse.ts";
import {
  checkLocalFolder,
  type CommandContext,
  type CommandOutput,
  expectOf,
  folderRefused,
  localRef,
  missingRemoteFolder,
  type RefFile,
  remoteName,
  remoteRef,
  remoteTarget,
  type ShellState,
  signalOf,
  startBar,
  vaultOf,
} from "./command_context.ts";
import { operationError } from "./errors.ts";
import { formatDuration, formatSize, quoted } from "./format.ts";
import {
  type ListedFile,
  readLocalListing,
  remoteListing,
} from "./listings.ts";
import { type ProgressBar, systemClock, writeText } from "./progress.ts";
import type { SealOptions } from "./vault/age_header.ts";
import { decryptSourceFor, sealOptionsFor } from "./vault_settings.ts";

/** A command that moves file contents. */
export type TransferCommand = Extract<
  Command,
  { name: "get" | "put" | "mget" | "mput" }
>;

/**
 * Runs a transfer command.
 *
 * @throws {FtsError} when the transfer fails (for a batch: when any file
 * failed, after printing each failure), {@linkcode UsageError} for a bad
 * argument.
 */
export function runTransferCommand(
  command: TransferCommand,
  context: CommandContext,
): Promise<void> {
  switch (command.name) {
    case "get":
      return getOne(command, context);
    case "put":
      return putOne(command, context);
    case "mget":
      return getMany(command, context);
    case "mput":
      return putMany(command, context);
  }
}

/** A command's encryption as engine options; failures name the file. */
async function sealFor(
  choice: Extract<TransferCommand, { name: "put" | "mput" }>["encrypt"],
  state: ShellState,
  name: string,
): Promise<SealOptions | undefined> {
  try {
    return await sealOptionsFor(choice, vaultOf(state));
  } catch (error) {
    throw operationError("put", name, error);
  }
}

/** A progress bar's `onProgress` engine option, or none. */
function progressOf(
  bar: ProgressBar | null,
): { onProgress?: (p: Progress) => void } {
  return bar
    ? { onProgress: (p: Progress) => bar.update(p.bytes, p.total) }
    : {};
}

async function getOne(
  command: Extract<TransferCommand, { name: "get" }>,
  { state, output, signal }: CommandContext,
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
  await checkLocalFolder(dir, "get", file.path);
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
      ...progressOf(bar),
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
  command: Extract<TransferCommand, { name: "put" }>,
  { state, output, signal }: CommandContext,
): Promise<void> {
  const file = localRef(state, command.source, "put");
  if (file.listed && file.type === "dir") folderRefused("put", file);
  // The local file is checked first, so that its absence (or a passphrase
  // asked for nothing) is reported under the name the user typed.
  await Deno.stat(file.path).catch((error) => {
    throw operationError(
      "put",
      file.listed ? file.name : command.source.text,
      error,
    );
  });
  const encrypt = await sealFor(command.encrypt, state, file.name);
  // An encrypted file is stored as NAME.age unless the user named it.
  const stored = encrypt ? `${file.name}.age` : file.name;
  const remote = command.remote === null
    ? remoteName(state, stored, "put")
    : await remoteTarget(state, command.remote, stored, {
      action: "put",
      subject: file.name,
      signal,
    });
  const bar = startBar(output, quoted(file.name));
  try {
    const result = await state.session.put(file.path, remote, {
      overwrite: command.overwrite,
      ...(file.listed
        ? { expectLocal: { size: file.size, mtime: file.mtime } }
        : {}),
      ...signalOf(signal),
      ...(encrypt ? { encrypt } : {}),
      ...progressOf(bar),
    });
    bar?.finish();
    if (!output.quiet && result.encrypted) {
      writeText(output.out, `Encrypted and stored as ${quoted(result.name)}\n`);
    } else if (result.name !== remote && !output.quiet) {
      writeText(output.out, `Stored as ${quoted(result.name)}\n`);
    }
  } catch (error) {
    bar?.clear();
    throw await missingRemoteFolder(
      state,
      remote,
      error,
      (folder) =>
        `Cannot put ${quoted(file.name)}: no such folder ${
          quoted(folder)
        } on the server`,
    );
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
  command: Extract<TransferCommand, { name: "mget" }>,
  { state, output, signal }: CommandContext,
): Promise<void> {
  const { sources, overwrite } = command;
  const files: RefFile[] = [];
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
      ...progressOf(bar),
    },
  );
  report(results, "get", bar, output, started);
}

async function putMany(
  command: Extract<TransferCommand, { name: "mput" }>,
  { state, output, signal }: CommandContext,
): Promise<void> {
  const { sources, overwrite } = command;
  const files: RefFile[] = [];
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
    ...progressOf(bar),
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

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
