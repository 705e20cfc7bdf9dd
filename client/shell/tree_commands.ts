/**
 * `get -r` and `put -r`: a folder with everything in it, with `cp -r` /
 * `scp -r` semantics (an existing destination folder receives the copy
 * inside it; a missing one becomes the copy), one progress bar for the
 * whole tree, and a report of what was renamed, skipped and failed.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import { FtsError } from "../../protocol/errors.ts";
import type { TreeProgress, TreeSummary } from "../engine/tree_tally.ts";
import {
  checkLocalFolder,
  type CommandContext,
  type CommandOutput,
  missingRemoteFolder,
  type RefFile,
  remoteLeaf,
  remoteName,
  remoteTarget,
  signalOf,
  startBar,
  vaultOf,
} from "./command_context.ts";
import type { Command } from "./command_parse.ts";
import { formatDuration, formatSize, quoted } from "../term/format.ts";
import { type ProgressBar, writeText } from "../term/progress.ts";
import { systemClock } from "../../common/clock.ts";
import { decryptSourceFor } from "./vault_settings.ts";
import type { SealOptions } from "../vault/age_header.ts";

type GetCommand = Extract<Command, { name: "get" }>;
type PutCommand = Extract<Command, { name: "put" }>;

/** Most skipped paths a warning names. */
const SKIPPED_SHOWN = 5;

/** `get -r REMOTE [LOCAL]` of remote folder `folder`. */
export async function getFolder(
  command: GetCommand,
  folder: RefFile,
  context: CommandContext,
  keepMode: { keepMode?: boolean },
): Promise<void> {
  const { state, output, signal } = context;
  const remote = folder.path;
  // The top folder has no name: its contents go into the local folder.
  const shown = remote === "" ? "/" : remote;
  const leaf = remoteLeaf(remote);
  let target = join(state.localDir, leaf);
  if (command.local !== null) {
    const full = resolve(state.localDir, command.local);
    target = command.local.endsWith("/") || await isDirectory(full)
      ? join(full, leaf)
      : full;
  }
  await checkLocalFolder(dirname(target), "get", shown);
  const bar = startBar(output, quoted(shown));
  const started = (output.clock ?? systemClock).now();
  let summary: TreeSummary;
  try {
    summary = await state.session.getTree(remote, target, {
      overwrite: command.overwrite,
      ...(await excludeOf(command)),
      ...(command.noSkip ? { skipIdentical: false } : {}),
      ...(command.noResume ? { resume: false } : {}),
      ...signalOf(signal),
      ...(command.raw ? {} : { decrypt: decryptSourceFor(vaultOf(state)) }),
      ...keepMode,
      ...treeProgressOf(bar),
    });
  } catch (error) {
    bar?.clear();
    throw error;
  }
  report("get", shown, summary, {
    bar,
    output,
    started,
    willRetry: context.willRetry,
  });
}

/** `put -r LOCAL [REMOTE]` of local folder `folder`. */
export async function putFolder(
  command: PutCommand,
  folder: RefFile,
  context: CommandContext,
  options: { keepMode?: boolean; encrypt?: SealOptions | undefined },
): Promise<void> {
  const { state, output, signal } = context;
  const leaf = basename(folder.path);
  const remote = command.remote === null
    ? remoteName(state, leaf, "put")
    : await remoteTarget(state, command.remote, leaf, {
      action: "put",
      subject: leaf,
      signal,
    });
  const bar = startBar(output, quoted(leaf));
  const started = (output.clock ?? systemClock).now();
  let summary: TreeSummary;
  try {
    summary = await state.session.putTree(folder.path, remote, {
      overwrite: command.overwrite,
      ...(await excludeOf(command)),
      ...(command.noSkip ? { skipIdentical: false } : {}),
      ...signalOf(signal),
      ...(options.encrypt ? { encrypt: options.encrypt } : {}),
      ...(options.keepMode ? { keepMode: true } : {}),
      ...(command.noResume ? { resume: false } : {}),
      ...treeProgressOf(bar),
    });
  } catch (error) {
    bar?.clear();
    throw await missingRemoteFolder(
      state,
      remote,
      error,
      `Cannot put ${quoted(leaf)}: `,
    );
  }
  report("put", leaf, summary, {
    bar,
    output,
    started,
    willRetry: context.willRetry,
  });
}

/**
 * The command's `--exclude` globs as an engine option; the glob matcher
 * loads only when there are globs.
 */
async function excludeOf(
  command: GetCommand | PutCommand,
): Promise<{ exclude?: (rel: string) => boolean }> {
  if ((command.exclude ?? []).length === 0) return {};
  const { excludeFilter } = await import("../engine/tree_filter.ts");
  const exclude = excludeFilter(command.exclude ?? []);
  return exclude ? { exclude } : {};
}

/** A progress bar's `onProgress` for a tree, or none. */
function treeProgressOf(
  bar: ProgressBar | null,
): { onProgress?: (p: TreeProgress) => void } {
  return bar
    ? {
      onProgress: (p: TreeProgress) =>
        bar.update(p.bytes, p.total, {
          done: p.files,
          total: p.fileTotal,
          more: p.counting,
        }),
    }
    : {};
}

/**
 * Prints how a folder transfer went: files saved under another name, what
 * was skipped, every failure kept, and a summary line when something
 * failed (or no bar showed one); throws when anything failed.
 */
function report(
  action: "get" | "put",
  name: string,
  summary: TreeSummary,
  view: {
    bar: ProgressBar | null;
    output: CommandOutput;
    started: number;
    willRetry?: ((error: unknown) => boolean) | undefined;
  },
): void {
  const { bar, output } = view;
  for (const failure of summary.failures) {
    if (!(failure instanceof FtsError)) throw failure;
  }
  if (summary.failed === 0) bar?.finish();
  else bar?.clear();
  const first = summary.failures[0];
  const failed = summary.failed === 0 ? null : new FtsError(
    first instanceof FtsError ? first.code : "io",
    `Cannot ${action} ${
      quoted(name)
    }: ${summary.failed} of its files and folders failed`,
    { cause: new AggregateError(summary.failures) },
  );
  // The next try sends what this one could not: nothing to report yet.
  if (failed !== null && view.willRetry?.(failed)) throw failed;
  if (!output.quiet) {
    const verb = action === "get" ? "saved" : "stored";
    for (const { from, to } of summary.renamed) {
      writeText(output.out, `${quoted(from)} ${verb} as ${quoted(to)}\n`);
    }
    const more = summary.renamedCount - summary.renamed.length;
    if (more > 0) {
      writeText(output.out, `… and ${more} more saved under other names\n`);
    }
  }
  const skipped = skippedLine(summary);
  if (skipped !== null) writeText(output.err, `warning: ${skipped}\n`);
  for (const failure of summary.failures) {
    writeText(output.err, `${(failure as FtsError).message}\n`);
  }
  const unshown = summary.failed - summary.failures.length;
  if (unshown > 0) writeText(output.err, `… and ${unshown} more failures\n`);
  const noted = summary.identical > 0 || summary.renamedCount > 0 ||
    summary.resumed > 0;
  if (!output.quiet && (!bar || summary.failed > 0 || noted)) {
    const elapsed = (output.clock ?? systemClock).now() - view.started;
    writeText(
      output.out,
      `${action === "get" ? "Downloaded" : "Uploaded"} ${
        plural(summary.files, "file")
      } in ${plural(summary.folders, "folder")} (${
        formatSize(summary.bytes)
      }) in ${formatDuration(elapsed)}${tallyNote(summary)}\n`,
    );
  }
  if (failed !== null) throw failed;
}

/**
 * `; 5 identical skipped (20 KiB), 1 renamed, 1 resumed (312 MiB already
 * there)` after the summary line: what was not sent because it was
 * already there, what was saved under another name, and what continued an
 * interrupted transfer; empty when none happened.
 */
function tallyNote(summary: TreeSummary): string {
  const parts: string[] = [];
  if (summary.identical > 0) {
    parts.push(
      `${summary.identical} identical skipped (${
        formatSize(summary.identicalBytes)
      })`,
    );
  }
  if (summary.renamedCount > 0) parts.push(`${summary.renamedCount} renamed`);
  if (summary.resumed > 0) {
    parts.push(
      `${summary.resumed} resumed (${
        formatSize(summary.resumedBytes)
      } already there)`,
    );
  }
  return parts.length === 0 ? "" : `; ${parts.join(", ")}`;
}

/** `skipped 2 symbolic links (not followed) and 1 special file: "a", …`. */
function skippedLine(summary: TreeSummary): string | null {
  const parts: string[] = [];
  if (summary.symlinks > 0) {
    parts.push(`${plural(summary.symlinks, "symbolic link")} (not followed)`);
  }
  if (summary.special > 0) {
    parts.push(
      `${plural(summary.special, "special file")} (device, FIFO or socket)`,
    );
  }
  if (parts.length === 0) return null;
  const shown = summary.skippedPaths.slice(0, SKIPPED_SHOWN).map(quoted);
  if (summary.symlinks + summary.special > shown.length) shown.push("…");
  return `skipped ${parts.join(" and ")}: ${shown.join(", ")}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
