/**
 * `df`: the server's storage use, for the user's account and for the whole
 * server, as the USAGE request reports it.
 *
 * @module
 */

import type { UsageFigures, UsageReport } from "../../protocol/messages.ts";
import { quoteName } from "../../protocol/names.ts";
import { formatSize } from "../term/format.ts";
import { writeText } from "../term/progress.ts";
import type { CommandContext } from "./command_context.ts";

/** Runs `df`. @throws {FtsError} as `ClientSession.usage()`. */
export async function showUsage(context: CommandContext): Promise<void> {
  const report = await context.state.session.usage();
  writeText(context.output.out, usageText(report));
}

/**
 * The text `df` prints: a table of used, reserved and quota for the
 * account (when there is one) and the server, then the free disk.
 *
 * @example
 * ```ts
 * usageText({ server: { used: 1024, reserved: 0 } });
 * // "        used  reserved  quota\nserver  1.00 KiB  0 B  none\n" (aligned)
 * ```
 */
export function usageText(report: UsageReport): string {
  const rows: string[][] = [["", "used", "reserved", "quota"]];
  const row = (label: string, figures: UsageFigures) =>
    rows.push([
      label,
      formatSize(figures.used),
      formatSize(figures.reserved),
      figures.limit === undefined ? "none" : formatSize(figures.limit),
    ]);
  if (report.account) {
    row(`account ${quoteName(report.account.name, 40)}`, report.account);
  }
  row("server", report.server);
  const widths = rows[0]!.map((_, i) =>
    Math.max(...rows.map((r) => r[i]!.length))
  );
  let text = rows.map((r) =>
    r.map((cell, i) =>
      i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)
    )
      .join("  ") + "\n"
  ).join("");
  const { free, minFree } = report.server;
  if (free !== undefined) {
    text += `free on the server's disk: ${formatSize(free)}${
      minFree === undefined
        ? ""
        : ` (the server keeps ${formatSize(minFree)} of it free)`
    }\n`;
  }
  return text;
}
