/**
 * The shell commands that work on the local folder: `lls`, `lcd`, `lpwd`,
 * `lmkdir` and `lrm`.
 *
 * @module
 */

import { resolve } from "node:path";
import { FtsError } from "../../protocol/errors.ts";
import type { Command, Ref } from "./command_parse.ts";
import {
  type CommandContext,
  localRef,
  patternRegExp,
  say,
  type ShellState,
  splitPattern,
} from "./command_context.ts";
import { operationError } from "../errors.ts";
import { displayName, quoted } from "../term/format.ts";
import {
  NumberedListing,
  readLocalListing,
  renderListing,
} from "./listings.ts";
import { writeText } from "../term/progress.ts";

/** A command that works on the local folder. */
export type LocalCommand = Extract<
  Command,
  { name: "lls" | "lcd" | "lpwd" | "lmkdir" | "lrm" }
>;

/**
 * Runs a local folder command.
 *
 * @throws {FtsError} when the operation fails.
 */
export async function runLocalCommand(
  command: LocalCommand,
  context: CommandContext,
): Promise<void> {
  const { state, output } = context;
  switch (command.name) {
    case "lls": {
      const { folder, leaf } = command.pattern
        ? splitPattern(command.path ?? "")
        : { folder: command.path ?? ".", leaf: null };
      const dir = resolve(state.localDir, folder);
      let listing: NumberedListing;
      try {
        listing = await readLocalListing(dir);
      } catch (error) {
        throw operationError("list local", dir, error);
      }
      if (leaf !== null) {
        const re = patternRegExp(leaf);
        listing = new NumberedListing(
          "local",
          listing.entries.filter((e) => re.test(e.name)),
        );
        if (listing.entries.length === 0) {
          throw new FtsError(
            "not_found",
            `Cannot list local ${quoted(command.path ?? "")}: nothing matches`,
          );
        }
      }
      state.localListing = listing;
      writeText(
        output.out,
        renderListing(listing, { long: command.long ?? false }),
      );
      return;
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
      return;
    }
    case "lpwd":
      writeText(output.out, `${displayName(state.localDir, 4096)}\n`);
      return;
    case "lmkdir": {
      const dir = resolve(state.localDir, command.path);
      try {
        await Deno.mkdir(dir);
      } catch (error) {
        throw operationError("create local folder", dir, error);
      }
      say(output, `Created local folder ${quoted(dir)}`);
      return;
    }
    case "lrm": {
      const name = await removeLocal(command.target, state);
      say(output, `Deleted local ${quoted(name)}`);
      return;
    }
  }
}

/** Deletes the local file `ref` names; resolves to its name. */
async function removeLocal(ref: Ref, state: ShellState): Promise<string> {
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
  return file.name;
}
