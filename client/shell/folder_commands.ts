/**
 * The shell commands on whole remote folders: `mkdir [-p]`, `rmdir`,
 * `rm -r` and `ls -R`.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import type { Command, Ref } from "./command_parse.ts";
import { UsageError } from "../../common/usage_error.ts";
import {
  type CommandContext,
  expectOf,
  patternRegExp,
  remoteFolder,
  remoteName,
  remoteRef,
  say,
  signalOf,
  splitPattern,
  vaultOf,
} from "./command_context.ts";
import { makeRemoteFolder } from "../engine/tree_put.ts";
import { operationError } from "../errors.ts";
import type { RemoveSummary } from "../engine/tree_remove.ts";
import { displayName, quoted } from "../term/format.ts";
import {
  encryptedMark,
  type ListedFile,
  ListingPrinter,
  NumberedListing,
  remoteListed,
  remoteListing,
  totalLine,
  type Totals,
} from "./listings.ts";
import { writeText } from "../term/progress.ts";
import type { Listing } from "../engine/session.ts";

/** `mkdir [-p] FOLDER`. */
export async function makeFolder(
  command: Extract<Command, { name: "mkdir" }>,
  { state, output, signal }: CommandContext,
): Promise<void> {
  const name = remoteName(state, command.path, "create folder");
  if (!command.parents) {
    await state.session.mkdir(name);
    say(output, `Created folder ${quoted(name)}`);
    return;
  }
  const parts = name.split("/");
  let made = false;
  for (let i = 1; i <= parts.length; i++) {
    const outcome = await makeRemoteFolder(
      state.session,
      parts.slice(0, i).join("/"),
      signal,
    );
    made ||= outcome === "made";
  }
  if (made) say(output, `Created folder ${quoted(name)}`);
}

/** `rmdir FOLDER`: deletes an empty remote folder, never a file. */
export async function removeEmptyFolder(
  command: Extract<Command, { name: "rmdir" }>,
  { state, output, signal }: CommandContext,
): Promise<void> {
  const name = remoteName(state, command.path, "delete folder");
  const prefix = `Cannot delete folder ${quoted(name)}: `;
  let listing: Listing;
  try {
    listing = await state.session.list(name, signalOf(signal));
  } catch (error) {
    if (!(error instanceof FtsError)) throw error;
    if (error.code === "not_found") {
      throw new FtsError("not_found", prefix + "no such folder on the server", {
        cause: error,
      });
    }
    if (error.code === "not_directory") {
      throw new FtsError(
        "not_directory",
        prefix + 'it is not a folder ("rm" deletes files)',
        { cause: error },
      );
    }
    throw error;
  }
  if (listing.entries.length > 0 || listing.refusedCount > 0) {
    throw notEmpty(prefix);
  }
  try {
    await state.session.remove(name);
  } catch (error) {
    // Something was put in it since it was listed.
    if (error instanceof FtsError && error.code === "is_directory") {
      throw notEmpty(prefix);
    }
    throw error;
  }
  say(output, `Deleted folder ${quoted(name)}`);
}

function notEmpty(prefix: string): FtsError {
  return new FtsError(
    "is_directory",
    prefix + 'it is not empty ("rm -r" deletes it with its contents)',
  );
}

/**
 * `rm -r NAME|NUMBER`: a folder with everything in it (confirmed first on a
 * terminal unless `force`), or a file. A pattern matches files and folders.
 */
export async function removeRecursive(
  target: Ref,
  force: boolean,
  context: CommandContext,
): Promise<void> {
  const { state, output, signal, confirm } = context;
  let targets: ListedFile[];
  if (target.pattern) {
    const { folder: typed, leaf } = splitPattern(target.text);
    const folder = remoteFolder(state, typed);
    const re = patternRegExp(leaf);
    targets = remoteListing(
      folder,
      (await state.session.list(folder, signalOf(signal))).entries,
    ).entries.filter((e) => re.test(e.name));
    if (targets.length === 0) {
      throw new FtsError(
        "not_found",
        `Cannot delete ${quoted(target.text)}: nothing matches`,
      );
    }
  } else {
    const file = remoteRef(state, target, "delete");
    const folder = file.listed
      ? file.type === "dir"
      : await state.session.isFolder(file.path, signalOf(signal));
    targets = [{ ...file, type: folder ? "dir" : "file" }];
  }
  const folders = targets.filter((t) => t.type === "dir");
  if (folders.length > 0 && !force && confirm) {
    const names = targets.slice(0, 5).map((t) => quoted(t.path));
    if (targets.length > 5) names.push("…");
    const yes = await confirm(
      `Delete ${names.join(", ")}${
        folders.length > 0 ? " with everything in it" : ""
      }? [y/N] `,
    );
    if (!yes) {
      say(output, "Nothing deleted");
      return;
    }
  }
  const failures: FtsError[] = [];
  const failed = (error: unknown) => {
    if (!(error instanceof FtsError)) throw error;
    failures.push(error);
    writeText(output.err, `${error.message}\n`);
  };
  for (const t of targets) {
    try {
      signal?.throwIfAborted();
    } catch (error) {
      throw operationError("delete", t.path, error);
    }
    if (t.type === "file") {
      try {
        await state.session.remove(t.path, expectOf(t));
        say(output, `Deleted ${quoted(t.path)}`);
      } catch (error) {
        failed(error);
      }
      continue;
    }
    let summary: RemoveSummary;
    try {
      summary = await state.session.removeTree(t.path, signalOf(signal));
    } catch (error) {
      failed(error);
      continue;
    }
    for (const error of summary.failures) failed(error);
    if (summary.failed === 0) {
      say(
        output,
        `Deleted ${quoted(t.path)} (${count(summary.files, "file")}, ${
          count(summary.folders, "folder")
        })`,
      );
    } else {
      failures.push(
        new FtsError(
          (summary.failures[0] as FtsError | undefined)?.code ?? "io",
          `Cannot delete ${
            quoted(t.path)
          }: ${summary.failed} of its files and folders were not deleted`,
        ),
      );
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    throw new FtsError(
      failures[0]!.code,
      `Cannot delete ${failures.length} of the ${targets.length} names`,
    );
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * `ls -R [FOLDER]`: the folder and every folder below it, each under its
 * name, numbered on from one to the next so that a number picks from any
 * of them; with `-l`, each folder's totals and the whole tree's at the end.
 */
export async function listRecursive(
  command: Extract<Command, { name: "ls" }>,
  { state, output, signal }: CommandContext,
): Promise<void> {
  if (command.pattern) {
    throw new UsageError('"ls -R" takes a folder, not a pattern');
  }
  const top = command.path === null
    ? state.remoteDir
    : remoteFolder(state, command.path);
  const long = command.long ?? false;
  const mark = encryptedMark(vaultOf(state).env);
  const write = (text: string) => writeText(output.out, text);
  // The files of the first lines, for later numbers; totals of the tree.
  const kept: ListedFile[] = [];
  let lines = 0;
  let grand: Totals = { bytes: 0, files: 0, folders: 0 };
  const stack = [top];
  let first = true;
  try {
    while (stack.length > 0) {
      const folder = stack.pop()!;
      try {
        signal?.throwIfAborted();
      } catch (error) {
        throw operationError("list", folder === "" ? "/" : folder, error);
      }
      const printer = new ListingPrinter(write, {
        encryptedMark: mark,
        long,
        first: lines + 1,
        keep: kept,
      });
      // Subfolders to visit next: names only, never the entries.
      const below: string[] = [];
      let refusedCount = 0;
      let headed = false;
      const heading = () => {
        if (headed) return;
        write(`${first ? "" : "\n"}/${displayName(folder)}:\n`);
        first = false;
        headed = true;
      };
      try {
        for await (
          const page of state.session.listPages(folder, signalOf(signal))
        ) {
          heading();
          refusedCount += page.refusedCount;
          const listed = page.entries.map((e) => remoteListed(folder, e));
          printer.page(listed);
          for (const e of listed) {
            if (e.type === "dir" && !e.name.includes("/")) below.push(e.path);
          }
        }
      } catch (error) {
        if (folder === top || !(error instanceof FtsError)) throw error;
        if (printer.lines > 0) write("\n");
        writeText(output.err, `${error.message}\n`);
        continue;
      } finally {
        lines += printer.lines;
        grand = addTotals(grand, printer.totals);
      }
      heading();
      printer.end();
      if (refusedCount > 0) {
        writeText(
          output.err,
          `warning: ${refusedCount} entr${
            refusedCount === 1 ? "y" : "ies"
          } with unsafe names left out of ${
            quoted(folder === "" ? "/" : folder)
          }\n`,
        );
      }
      stack.push(...below.reverse());
    }
  } finally {
    if (lines > 0) {
      state.remoteListing = new NumberedListing("remote", kept, lines);
    }
  }
  state.remoteListing = new NumberedListing("remote", kept, lines);
  if (long) write(`\n${totalLine(grand, "grand total")}\n`);
}

/** The sum of two totals. */
function addTotals(a: Totals, b: Totals): Totals {
  return {
    bytes: a.bytes + b.bytes,
    files: a.files + b.files,
    folders: a.folders + b.folders,
  };
}
