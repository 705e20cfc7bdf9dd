/**
 * The shell commands that move file contents: `get`, `put`, `mget` and
 * `mput`, with their progress bars, encryption choices and batch summaries.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { FtsError } from "../../protocol/errors.ts";
import type { Progress } from "../engine/session_core.ts";
import { UsageError } from "../../common/usage_error.ts";
import type { Command, Ref } from "./command_parse.ts";
import {
  checkLocalFolder,
  type CommandContext,
  type CommandOutput,
  expectOf,
  folderRefused,
  localRef,
  missingRemoteFolder,
  patternRegExp,
  type RefFile,
  remoteFolder,
  remoteName,
  remoteRef,
  remoteTarget,
  type ShellState,
  signalOf,
  startBar,
  vaultOf,
} from "./command_context.ts";
import { operationError } from "../errors.ts";
import { formatDuration, formatSize, quoted } from "../term/format.ts";
import {
  type ListedFile,
  readLocalListing,
  remoteListing,
} from "./listings.ts";
import { type ProgressBar, writeText } from "../term/progress.ts";
import { systemClock } from "../../common/clock.ts";
import type { SealOptions } from "../vault/age_header.ts";
import { decryptSourceFor, sealOptionsFor } from "./vault_settings.ts";
import { withoutAgeSuffix } from "../engine/download.ts";
import { specialTarget } from "../engine/local_files.ts";
import { getFolder, putFolder } from "./tree_commands.ts";

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

/**
 * `-p` as an engine option; warns once per command when the server cannot
 * keep permission bits (it did not negotiate the feature "mode").
 */
function keepModeOf(
  command: TransferCommand,
  { state, output }: CommandContext,
): { keepMode?: boolean } {
  if (!command.keepMode) return {};
  if (!state.session.features.includes("mode")) {
    writeText(
      output.err,
      `warning: the server does not send or keep permission bits; "${command.name} -p" keeps none\n`,
    );
  }
  return { keepMode: true };
}

/** The engine's `resume` option for `--no-resume`, or none. */
export function resumeOf(
  command: { noResume?: true },
): { resume?: false } {
  return command.noResume ? { resume: false } : {};
}

/** `Resumed at 312 MiB of 400 MiB`, for a download that resumed. */
export function resumedText(
  result: { resumedAt?: number; size: number },
): string {
  return `Resumed at ${formatSize(result.resumedAt ?? 0)} of ${
    formatSize(result.size)
  }`;
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
  context: CommandContext,
): Promise<void> {
  const { state, output, signal } = context;
  const file = command.recursive && namesTop(state, command.source)
    ? TOP_FOLDER
    : remoteRef(state, command.source, "get");
  if (command.local !== "-" && await isRemoteFolder(command, file, context)) {
    return await getFolder(
      command,
      file,
      context,
      keepModeOf(command, context),
    );
  }
  if (file.listed && file.type === "dir") folderRefused("get", file);
  noExclude(command);
  if (command.local === "-") {
    // Bytes written to standard output cannot be taken back.
    context.final?.();
    return await getToStdout(command, file, output, signal, state);
  }
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
  // Nor can bytes written into a FIFO or a device.
  if (streamsInto(join(dir, localName), localName)) context.final?.();
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
      ...keepModeOf(command, context),
      ...resumeOf(command),
      ...progressOf(bar),
    });
    bar?.finish();
    if (!output.quiet && result.resumedAt !== undefined) {
      writeText(output.out, `${resumedText(result)}\n`);
    }
    const saved = basename(result.path);
    if (!output.quiet && result.decrypted) {
      writeText(output.out, `Decrypted and saved as ${quoted(saved)}\n`);
    } else if (saved !== localName && !output.quiet) {
      writeText(output.out, `Saved as ${quoted(saved)}\n`);
    }
  } catch (error) {
    bar?.clear();
    throw await folderRemedy(error, file, context);
  }
}

/**
 * A download refused because the name is a folder on the server, with
 * what copies one; any other error unchanged.
 */
async function folderRemedy(
  error: unknown,
  file: RefFile,
  { state, signal }: CommandContext,
): Promise<unknown> {
  if (
    !(error instanceof FtsError) || error.code !== "is_directory" ||
    file.listed || !await state.session.isFolder(file.path, signalOf(signal))
  ) {
    return error;
  }
  return new FtsError(
    "is_directory",
    `${error.message} ("get -r" copies folders)`,
    { cause: error },
  );
}

/** `get NAME -`: the verified bytes go to standard output, nothing else does. */
async function getToStdout(
  command: Extract<TransferCommand, { name: "get" }>,
  file: RefFile,
  output: CommandOutput,
  signal: AbortSignal | undefined,
  state: ShellState,
): Promise<void> {
  const sink = output.data ??
    { write: (p: Uint8Array) => Promise.resolve(output.out.writeSync(p)) };
  const bar = startBar(output, quoted(file.path));
  try {
    await state.session.get(file.path, state.localDir, {
      sink,
      ...expectOf(file.listed ? file : null),
      ...signalOf(signal),
      ...(command.raw ? {} : { decrypt: decryptSourceFor(vaultOf(state)) }),
      ...progressOf(bar),
    });
    bar?.finish();
  } catch (error) {
    bar?.clear();
    throw error;
  }
}

/**
 * `put - NAME`: standard input is saved to a private temporary file (the
 * protocol announces the size first), uploaded, and removed.
 */
async function putFromStdin(
  command: Extract<TransferCommand, { name: "put" }>,
  context: CommandContext,
): Promise<void> {
  const { state } = context;
  if (!state.stdin) {
    throw new FtsError(
      "bad_request",
      "Cannot put standard input: it carries the commands here",
    );
  }
  if (command.remote === null || command.remote.endsWith("/")) {
    throw new FtsError(
      "bad_request",
      'Cannot put standard input: give the remote name, as in "put - NAME"',
    );
  }
  // Standard input is read once: a second run would send nothing.
  context.final?.();
  const spool = await Deno.makeTempFile({ prefix: "fts-stdin-" });
  try {
    try {
      using file = await Deno.open(spool, { write: true, truncate: true });
      await Deno.chmod(spool, 0o600).catch(() => {});
      const reader = state.stdin.getReader();
      try {
        for (;;) {
          context.signal?.throwIfAborted();
          const { value, done } = await reader.read();
          if (done) break;
          let at = 0;
          while (at < value.byteLength) {
            at += await file.write(value.subarray(at));
          }
        }
      } finally {
        reader.releaseLock();
      }
    } catch (error) {
      throw operationError("put", command.remote, error);
    }
    const named = {
      ...command,
      source: { text: spool, number: null, pattern: false },
    };
    await putOne(named, context, command.remote);
  } finally {
    await Deno.remove(spool).catch(() => {});
  }
}

async function putOne(
  command: Extract<TransferCommand, { name: "put" }>,
  context: CommandContext,
  shownName?: string,
): Promise<void> {
  const { state, output, signal } = context;
  if (
    shownName === undefined && command.source.text === "-" &&
    command.source.number === null && !command.source.pattern
  ) {
    return await putFromStdin(command, context);
  }
  const found = localRef(state, command.source, "put");
  const file = shownName === undefined
    ? found
    : { ...found, name: basename(shownName) };
  if (
    (file.listed && file.type === "dir") ||
    (command.recursive && await isDirectory(file.path))
  ) {
    return await putFolder(command, file, context, {
      ...keepModeOf(command, context),
      encrypt: await sealFor(command.encrypt, state, file.name),
    });
  }
  noExclude(command);
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
      ...keepModeOf(command, context),
      ...(command.noResume ? { resume: false } : {}),
      ...progressOf(bar),
    });
    bar?.finish();
    if (!output.quiet && result.resumedAt !== undefined) {
      writeText(
        output.out,
        `Resumed at ${formatSize(result.resumedAt)} of ${
          formatSize(result.size)
        }\n`,
      );
    }
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
      `Cannot put ${quoted(file.name)}: `,
    );
  }
}

/**
 * Runs `resolve` for one argument of a batch; an fts or usage error is
 * kept as that argument's failure so that the other files still go.
 */
async function resolveEach<T>(
  refs: readonly Ref[],
  resolve: (ref: Ref) => Promise<T[]>,
): Promise<{ items: T[]; refused: Error[] }> {
  const items: T[] = [];
  const refused: Error[] = [];
  for (const ref of refs) {
    try {
      items.push(...await resolve(ref));
    } catch (error) {
      if (!(error instanceof FtsError || error instanceof UsageError)) {
        throw error;
      }
      refused.push(error);
    }
  }
  return { items, refused };
}

async function getMany(
  command: Extract<TransferCommand, { name: "mget" }>,
  context: CommandContext,
): Promise<void> {
  const { state, output, signal } = context;
  const { sources, overwrite } = command;
  let folderListing: readonly ListedFile[] | null = null;
  const { items: files, refused } = await resolveEach(
    sources,
    async (ref): Promise<RefFile[]> => {
      if (!ref.pattern) {
        const file = remoteRef(state, ref, "get");
        if (file.listed && file.type === "dir") folderRefused("get", file);
        return [file];
      }
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
      return matched.map((m) => ({ ...m, listed: true }));
    },
  );
  const bar = files.length > 0 ? startBatchBar(output, files.length) : null;
  const started = (output.clock ?? systemClock).now();
  const results = files.length === 0 ? [] : await state.session.getMany(
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
      ...keepModeOf(command, context),
      ...resumeOf(command),
      ...progressOf(bar),
    },
  );
  report({
    action: "get",
    refused,
    results: results.map((r, i) => {
      if (!r.ok) return r;
      const wanted = basename(files[i]!.path);
      const expected = r.value.decrypted ? withoutAgeSuffix(wanted) : wanted;
      const saved = basename(r.value.path);
      return {
        ok: true,
        size: r.value.size,
        renamed: saved === expected
          ? null
          : `${quoted(files[i]!.path)} saved as ${quoted(saved)}`,
      };
    }),
  }, { bar, output, started, willRetry: context.willRetry });
}

async function putMany(
  command: Extract<TransferCommand, { name: "mput" }>,
  context: CommandContext,
): Promise<void> {
  const { state, output, signal } = context;
  const { sources, overwrite } = command;
  const { items: files, refused } = await resolveEach(
    sources,
    async (ref): Promise<RefFile[]> => {
      if (!ref.pattern) {
        const file = localRef(state, ref, "put");
        if (file.listed && file.type === "dir") folderRefused("put", file);
        if (!file.listed) {
          await Deno.stat(file.path).catch((error) => {
            throw operationError("put", ref.text, error);
          });
        }
        return [file];
      }
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
      return matched.map((m) => ({ ...m, listed: false }));
    },
  );
  const encrypt = files.length === 0
    ? undefined
    : await sealFor(command.encrypt, state, files[0]!.name);
  const items = files.map((f) => ({
    localPath: f.path,
    remoteName: remoteName(state, encrypt ? `${f.name}.age` : f.name, "put"),
    ...(f.listed ? { expectLocal: { size: f.size, mtime: f.mtime } } : {}),
  }));
  const bar = files.length > 0 ? startBatchBar(output, files.length) : null;
  const started = (output.clock ?? systemClock).now();
  const results = items.length === 0 ? [] : await state.session.putMany(
    items,
    {
      overwrite,
      ...signalOf(signal),
      ...(encrypt ? { encrypt } : {}),
      ...keepModeOf(command, context),
      ...progressOf(bar),
    },
  );
  report({
    action: "put",
    refused,
    results: results.map((r, i) =>
      r.ok
        ? {
          ok: true,
          size: r.value.size,
          renamed: r.value.name === items[i]!.remoteName
            ? null
            : `${quoted(files[i]!.name)} stored as ${quoted(r.value.name)}`,
        }
        : r
    ),
  }, { bar, output, started, willRetry: context.willRetry });
}

function startBatchBar(output: CommandOutput, count: number) {
  return startBar(output, `${count} file${count === 1 ? "" : "s"}`);
}

/** How each file of a batch fared, for {@linkcode report}. */
interface BatchOutcome {
  readonly action: "get" | "put";
  /** Arguments refused before any transfer (no match, bad name or number). */
  readonly refused: readonly Error[];
  /** One per file transferred or tried. */
  readonly results: readonly (
    | { ok: true; size: number; renamed: string | null }
    | { ok: false; error: unknown }
  )[];
}

/**
 * Prints a batch's outcome: every file saved under another name, every
 * failure, and a summary line whenever something failed (or no bar showed
 * one); throws when anything failed.
 */
function report(
  outcome: BatchOutcome,
  view: {
    bar: ProgressBar | null;
    output: CommandOutput;
    started: number;
    willRetry?: ((error: unknown) => boolean) | undefined;
  },
): void {
  const { action, refused, results } = outcome;
  const { bar, output } = view;
  const errors: Error[] = [...refused];
  for (const result of results) {
    if (result.ok) continue;
    if (!(result.error instanceof FtsError)) throw result.error;
    errors.push(result.error);
  }
  if (errors.length === 0) bar?.finish();
  else bar?.clear();
  const total = results.length + refused.length;
  // One file, and it failed: its own error says everything.
  if (total === 1 && errors.length === 1) throw errors[0];
  const failed = errors.length === 0 ? null : new FtsError(
    errors[0] instanceof FtsError ? errors[0].code : "bad_request",
    `Cannot ${action} ${errors.length} of ${total} file${
      total === 1 ? "" : "s"
    }`,
    { cause: new AggregateError(errors) },
  );
  // The next try sends what this one could not: nothing to report yet.
  if (failed !== null && view.willRetry?.(failed)) throw failed;
  if (!output.quiet) {
    for (const result of results) {
      if (result.ok && result.renamed !== null) {
        writeText(output.out, `${result.renamed}\n`);
      }
    }
  }
  for (const error of errors) writeText(output.err, `${error.message}\n`);
  const done = results.filter((r) => r.ok).length;
  const bytes = results.reduce((n, r) => n + (r.ok ? r.size : 0), 0);
  const elapsed = (output.clock ?? systemClock).now() - view.started;
  if (!output.quiet && (!bar || errors.length > 0)) {
    writeText(
      output.out,
      `${
        action === "get" ? "Downloaded" : "Uploaded"
      } ${done} of ${total} file${total === 1 ? "" : "s"} (${
        formatSize(bytes)
      }) in ${formatDuration(elapsed)}\n`,
    );
  }
  if (failed !== null) throw failed;
}

/** The remote top folder, as `get -r /` names it. */
const TOP_FOLDER: RefFile = {
  path: "",
  name: "/",
  type: "dir",
  size: 0,
  mtime: 0,
  listed: false,
};

/** True when `ref` is a typed path that leads to the remote top folder. */
function namesTop(state: ShellState, ref: Ref): boolean {
  if (ref.number !== null) return false;
  try {
    return remoteFolder(state, ref.text) === "";
  } catch {
    return false; // remoteRef() words the failure
  }
}

/**
 * Tells whether `get` names a remote folder: one picked from a listing,
 * or with `-r` a name the server has as a folder.
 */
async function isRemoteFolder(
  command: Extract<TransferCommand, { name: "get" }>,
  file: RefFile,
  { state, signal }: CommandContext,
): Promise<boolean> {
  if (file.listed) return file.type === "dir";
  return command.recursive === true &&
    await state.session.isFolder(file.path, signalOf(signal));
}

/** Refuses `--exclude` for a single file. */
function noExclude(
  command: Extract<TransferCommand, { name: "get" | "put" }>,
): void {
  if (command.exclude) {
    throw new UsageError(
      `--exclude applies to folders ("${command.name} -r FOLDER")`,
    );
  }
}

/** Whether `path` is a FIFO or a device that a download writes into. */
function streamsInto(path: string, base: string): boolean {
  try {
    return specialTarget(path, base) === "stream";
  } catch {
    return false; // refused by the download itself
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
