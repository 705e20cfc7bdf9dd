/**
 * Text for people: sizes, durations, rates, times and names, all safe to
 * print on a terminal.
 *
 * @module
 */

import { formatSize } from "../../common/sizes.ts";
import { quoteName } from "../../protocol/names.ts";

export { formatSize };

/** A transfer rate: `formatSize(bytesPerSecond)/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatSize(Math.round(bytesPerSecond))}/s`;
}

/**
 * A duration: `0.25 s`, `3.1 s`, `42 s`, `1:05`, `1:02:03` (minutes and
 * hours as a clock).
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const seconds = ms / 1000;
  if (seconds < 1) return `${seconds.toFixed(2)} s`;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}

/**
 * A modification time as `2024-05-01 14:03` (with `seconds`:
 * `2024-05-01 14:03:09`) in the local time zone, or
 * `-` for 0 (unknown).
 */
export function formatTime(ms: number, seconds = false): string {
  if (!Number.isFinite(ms) || ms <= 0) return "-";
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${
    pad(d.getHours())
  }:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ""}`;
}

/**
 * A name as it may appear in a table: control and display-changing
 * characters escaped as `\u{…}`, without quotes, cut at `max` characters.
 */
export function displayName(name: string, max = 200): string {
  return quoteName(name, max).slice(1, -1);
}

/** A name quoted for a message: `"a b.txt"`, escaped like {@linkcode displayName}. */
export function quoted(name: string): string {
  return quoteName(name);
}
