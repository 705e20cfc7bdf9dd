/**
 * The shell commands that look at or change the server's folders without
 * moving file contents: `ls`, `cd`, `pwd`, `rm`, `mv` and `mkdir`.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import type { Command } from "./command_parse.ts";
import {
  type CommandContext,
  expectOf,
  missingRemoteFolder,
  patternRegExp,
  remoteFolder,
  remoteLeaf,
  remoteParent,
  remoteRef,
  remoteTarget,
  say,
  type ShellState,
  signalOf,
  splitPattern,
  vaultOf,
} from "./command_context.ts";
import { operationError, ReasonError } from "../errors.ts";
import { displayName, quoted } from "../term/format.ts";
import {
  encryptedMark,
  ListingPrinter,
  remoteListed,
  remoteListing,
} from "./listings.ts";
import { writeText } from "../term/progress.ts";
import type { ListPage } from "../engine/session.ts";
import {
  listRecursive,
  makeFolder,
  removeEmptyFolder,
  removeRecursive,
} from "./folder_commands.ts";

/** A command that works on remote folders. */
export type RemoteCommand = Extract<
  Command,
  { name: "ls" | "cd" | "pwd" | "rm" | "mv" | "mkdir" | "rmdir" }
>;

/**
 * Runs a remote folder command.
 *
 * @throws {FtsError} when the operation fails, {@linkcode UsageError} for a
 * bad argument.
 */
export async function runRemoteCommand(
  command: RemoteCommand,
  context: CommandContext,
): Promise<void> {
  const { state, output, signal } = context;
  switch (command.name) {
    case "ls": {
      if (command.recursive) return await listRecursive(command, context);
      return await listFolder(command, context);
    }
    case "cd": {
      const folder = remoteFolder(state, command.path);
      try {
        // It must exist and be a folder.
        await state.session.list(folder, signalOf(signal));
      } catch (error) {
        throw await cdError(state, folder, error);
      }
      state.remoteDir = folder;
      return;
    }
    case "pwd":
      writeText(output.out, `/${displayName(state.remoteDir)}\n`);
      return;
    case "rm": {
      if (command.recursive) {
        return await removeRecursive(
          command.target,
          command.force ?? false,
          context,
        );
      }
      if (command.target.pattern) {
        await removeMatching(
          command.target.text,
          command.force ?? false,
          context,
        );
        return;
      }
      const file = remoteRef(state, command.target, "delete");
      await state.session.remove(file.path, expectOf(file));
      say(output, `Deleted ${quoted(file.path)}`);
      return;
    }
    case "mv": {
      const file = remoteRef(state, command.from, "rename");
      const to = await remoteTarget(state, command.to, remoteLeaf(file.path), {
        action: "rename",
        subject: file.path,
        signal,
      });
      try {
        await state.session.rename(file.path, to, {
          overwrite: command.overwrite,
          ...expectOf(file),
        });
      } catch (error) {
        throw await renameError(state, file.path, to, error);
      }
      say(output, `Renamed ${quoted(file.path)} to ${quoted(to)}`);
      return;
    }
    case "mkdir":
      return await makeFolder(command, context);
    case "rmdir":
      return await removeEmptyFolder(command, context);
  }
}

/** The reason of an engine failure, without its `Cannot … "name": `. */
function reasonOf(error: FtsError): string {
  return error.cause instanceof ReasonError
    ? error.cause.message
    : error.message;
}

/** A failed `cd` said as a change of folder, naming what is wrong. */
async function cdError(
  state: ShellState,
  folder: string,
  error: unknown,
): Promise<unknown> {
  if (!(error instanceof FtsError)) return error;
  const prefix = `Cannot change to ${quoted(folder)}: `;
  switch (error.code) {
    case "not_found":
      return new FtsError(
        "not_found",
        prefix + "no such folder on the server",
        { cause: error },
      );
    case "not_directory": {
      const parent = remoteParent(folder);
      // LIST says not_directory for a file and for a file among the parents.
      const itself = parent === "" || await state.session.isFolder(parent);
      return new FtsError(
        "not_directory",
        prefix +
          (itself
            ? "it is a file, not a folder"
            : "a parent on the server is not a folder"),
        { cause: error },
      );
    }
    default:
      return new FtsError(error.code, prefix + reasonOf(error), {
        cause: error,
      });
  }
}

/** A failed `mv`, naming the target when the target is the problem. */
async function renameError(
  state: ShellState,
  from: string,
  to: string,
  error: unknown,
): Promise<unknown> {
  if (!(error instanceof FtsError)) return error;
  const prefix = `Cannot rename ${quoted(from)} to ${quoted(to)}: `;
  if (error.code === "exists") {
    return new FtsError(
      "exists",
      `${prefix}${
        quoted(to)
      } already exists on the server (--overwrite replaces it)`,
      { cause: error },
    );
  }
  if (error.code === "is_directory") {
    return new FtsError(
      "is_directory",
      `${prefix}${quoted(to)} is a folder on the server`,
      { cause: error },
    );
  }
  return await missingRemoteFolder(state, to, error, prefix);
}

/** A listing opened by {@linkcode openListing}: its first page is in. */
interface OpenListing {
  /** The folder listed. */
  readonly folder: string;
  readonly pages: AsyncIterator<ListPage>;
  readonly first: IteratorResult<ListPage>;
  /** Only the names it matches are shown, when not null. */
  readonly only: RegExp | null;
}

/**
 * `ls [PATH]` without -R: prints the listing page by page as it arrives,
 * numbering the lines (see {@linkcode ListingPrinter}); the numbers kept
 * become the shell's remote listing, also when the listing fails halfway.
 */
async function listFolder(
  command: Extract<RemoteCommand, { name: "ls" }>,
  context: CommandContext,
): Promise<void> {
  const { state, output } = context;
  const { folder, pages, first, only } = await openListing(command, context);
  const printer = new ListingPrinter((text) => writeText(output.out, text), {
    encryptedMark: encryptedMark(vaultOf(state).env),
    long: command.long ?? false,
  });
  const refused: string[] = [];
  let refusedCount = 0;
  try {
    for (let step = first; !step.done; step = await pages.next()) {
      const page = step.value;
      refusedCount += page.refusedCount;
      for (const name of page.refused) {
        if (refused.length < 3) refused.push(name);
      }
      const shown = only
        ? page.entries.filter((e) => only.test(e.name))
        : page.entries;
      printer.page(shown.map((e) => remoteListed(folder, e)));
    }
  } finally {
    await pages.return?.();
    if (printer.lines > 0) state.remoteListing = printer.numbered("remote");
  }
  if (refusedCount > 0) {
    writeText(
      output.err,
      `warning: ${refusedCount} entr${
        refusedCount === 1 ? "y" : "ies"
      } with unsafe names left out: ${refused.map(quoted).join(", ")}\n`,
    );
  }
  if (only && printer.lines === 0) {
    throw new FtsError(
      "not_found",
      `Cannot list ${quoted(command.path ?? "")}: nothing matches`,
    );
  }
  state.remoteListing = printer.numbered("remote");
  printer.end();
}

/**
 * What `ls [PATH]` lists: a folder; the entries of a folder that match a
 * pattern (`ls *.txt`); or, as a shell's `ls` does, one file (`ls a.txt`).
 * Reads the first page, so a folder that cannot be listed fails here.
 */
async function openListing(
  command: Extract<RemoteCommand, { name: "ls" }>,
  { state, signal }: CommandContext,
): Promise<OpenListing> {
  const open = async (folder: string, only: RegExp | null) => {
    const pages = state.session.listPages(folder, signalOf(signal))[
      Symbol.asyncIterator
    ]();
    return { folder, pages, first: await pages.next(), only };
  };
  if (command.path === null) return await open(state.remoteDir, null);
  if (command.pattern) {
    const { folder: typed, leaf } = splitPattern(command.path);
    return await open(remoteFolder(state, typed), patternRegExp(leaf));
  }
  const folder = remoteFolder(state, command.path);
  try {
    return await open(folder, null);
  } catch (error) {
    if (!(error instanceof FtsError) || error.code !== "not_directory") {
      throw error;
    }
    // One file: its line of its folder's listing, if the file is there.
    const leaf = remoteLeaf(folder);
    const only = new RegExp(`^${RegExp.escape(leaf)}$`, "u");
    const parent = await open(remoteParent(folder), only);
    try {
      for (let step = parent.first; !step.done;) {
        if (step.value.entries.some((e) => only.test(e.name))) {
          return { ...parent, first: step };
        }
        step = await parent.pages.next();
      }
    } catch (failure) {
      await parent.pages.return?.();
      throw failure;
    }
    throw error;
  }
}

/** Most names a confirmation question shows. */
const QUESTION_NAMES = 5;

/**
 * `rm PATTERN`: deletes the matching files (never folders) of the folder,
 * each only if it is still the file listed. On a terminal, more than one
 * match is confirmed first unless `force`; scripts are not asked.
 */
async function removeMatching(
  typed: string,
  force: boolean,
  { state, output, signal, confirm }: CommandContext,
): Promise<void> {
  const { folder: typedFolder, leaf } = splitPattern(typed);
  const folder = remoteFolder(state, typedFolder);
  const re = patternRegExp(leaf);
  const listing = remoteListing(
    folder,
    (await state.session.list(folder, signalOf(signal))).entries,
  );
  const files = listing.entries.filter((e) =>
    e.type === "file" && re.test(e.name)
  );
  if (files.length === 0) {
    throw new FtsError(
      "not_found",
      `Cannot delete ${quoted(typed)}: no file matches`,
    );
  }
  if (files.length > 1 && !force && confirm) {
    const names = files.slice(0, QUESTION_NAMES).map((f) => quoted(f.name));
    if (files.length > QUESTION_NAMES) names.push("…");
    const yes = await confirm(
      `Delete ${files.length} files (${names.join(", ")})? [y/N] `,
    );
    if (!yes) {
      say(output, "Nothing deleted");
      return;
    }
  }
  const failures: FtsError[] = [];
  for (const file of files) {
    try {
      signal?.throwIfAborted();
      await state.session.remove(file.path, expectOf(file));
      say(output, `Deleted ${quoted(file.path)}`);
    } catch (error) {
      const failure = operationError("delete", file.path, error);
      if (!(failure instanceof FtsError)) throw failure;
      failures.push(failure);
      writeText(output.err, `${failure.message}\n`);
    }
  }
  if (failures.length > 0) {
    throw new FtsError(
      failures[0]!.code,
      `Cannot delete ${failures.length} of ${files.length} files`,
    );
  }
}
