/**
 * The shell commands that look at or change the server's folders without
 * moving file contents: `ls`, `cd`, `pwd`, `rm`, `mv` and `mkdir`.
 *
 * @module
 */

import { FtsError } from "../protocol/errors.ts";
import type { Command } from "./command_parse.ts";
import {
  type CommandContext,
  expectOf,
  missingRemoteFolder,
  remoteFolder,
  remoteLeaf,
  remoteName,
  remoteParent,
  remoteRef,
  remoteTarget,
  say,
  type ShellState,
  signalOf,
  vaultOf,
} from "./command_context.ts";
import { ReasonError } from "./errors.ts";
import { displayName, quoted } from "./format.ts";
import { encryptedMark, remoteListing, renderListing } from "./listings.ts";
import { writeText } from "./progress.ts";

/** A command that works on remote folders. */
export type RemoteCommand = Extract<
  Command,
  { name: "ls" | "cd" | "pwd" | "rm" | "mv" | "mkdir" }
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
      const folder = command.path === null
        ? state.remoteDir
        : remoteFolder(state, command.path);
      const listing = await state.session.list(folder, signalOf(signal));
      if (listing.refusedCount > 0) {
        writeText(
          output.err,
          `warning: ${listing.refusedCount} entr${
            listing.refusedCount === 1 ? "y" : "ies"
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
      return;
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
    case "mkdir": {
      const name = remoteName(state, command.path, "create folder");
      await state.session.mkdir(name);
      say(output, `Created folder ${quoted(name)}`);
      return;
    }
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
  return await missingRemoteFolder(
    state,
    to,
    error,
    (folder) => `${prefix}no such folder ${quoted(folder)} on the server`,
  );
}
