/**
 * The shell commands that look at or change the server's folders without
 * moving file contents: `ls`, `cd`, `pwd`, `rm`, `mv` and `mkdir`.
 *
 * @module
 */

import type { Command } from "./command_parse.ts";
import {
  type CommandContext,
  expectOf,
  remoteFolder,
  remoteName,
  remoteRef,
  say,
  signalOf,
  vaultOf,
} from "./command_context.ts";
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
      await state.session.list(folder, signalOf(signal)); // must exist and be a folder
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
      const to = remoteName(state, command.to, "rename");
      await state.session.rename(file.path, to, {
        overwrite: command.overwrite,
        ...expectOf(file),
      });
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
