/**
 * A live progress bar for one transfer on a terminal, and the summary line
 * printed when it ends. It writes only to the stream it is given and reads
 * time only from the clock it is given, so tests drive it with a fake clock
 * and read what it drew from a buffer.
 *
 * Written here rather than taken from npm: `cli-progress` 3.12 runs in Deno
 * with a Node-like stream shim, but it redraws from its own `setTimeout`
 * loop and reads `Date.now()` itself (so no injected clock, and a timer the
 * test sanitizers would flag), and brings four dependencies for what is a
 * hundred lines here.
 *
 * @module
 */

import { type Clock, systemClock } from "../../common/clock.ts";
import { formatDuration, formatRate, formatSize } from "./format.ts";

/** Where text goes: `Deno.stdout`, `Deno.stderr`, or a test buffer. */
export interface TextSink {
  writeSync(p: Uint8Array): number;
}

const encoder = new TextEncoder();

/** Writes all of `text` to `out`. */
export function writeText(out: TextSink, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.byteLength) {
    offset += out.writeSync(bytes.subarray(offset));
  }
}

/** Options of {@linkcode ProgressBar}. */
export interface ProgressBarOptions {
  /** Where to draw; must be a terminal. */
  out: TextSink;
  /** What is being transferred, already safe to print (see format.ts). */
  label: string;
  /** Default: the system clock. */
  clock?: Pick<Clock, "now">;
  /** Terminal width. Default 80. */
  columns?: number;
  /** Least time between two redraws. Default 100 ms (at most ~10 per second). */
  intervalMs?: number;
}

/** Files done of a folder transfer, shown before the bytes. */
export interface FileCount {
  readonly done: number;
  readonly total: number;
  /** True while more files may still be found (the total may grow). */
  readonly more: boolean;
}

/** Rates are measured over about this much recent time. */
const RATE_WINDOW_MS = 3000;

/**
 * Draws `label  42% [=====>    ] 1.20 GiB / 2.86 GiB  512 MiB/s  ETA 0:03`
 * on one line, redrawn in place, and a summary line at the end.
 *
 * @example
 * ```ts
 * const bar = new ProgressBar({ out: Deno.stderr, label: '"big.iso"' });
 * bar.update(512, 1024);
 * bar.finish(); // "big.iso": 1.00 KiB in 0.20 s, 5.00 KiB/s
 * ```
 */
export class ProgressBar {
  readonly #out: TextSink;
  readonly #label: string;
  readonly #clock: Pick<Clock, "now">;
  readonly #columns: number;
  readonly #intervalMs: number;
  readonly #start: number;
  readonly #samples: { t: number; bytes: number }[] = [];
  #bytes = 0;
  #total = 0;
  #count: FileCount | null = null;
  #lastDraw = -Infinity;
  #drawn = false;
  #ended = false;

  constructor(options: ProgressBarOptions) {
    this.#out = options.out;
    this.#label = options.label;
    this.#clock = options.clock ?? systemClock;
    this.#columns = Math.max(20, options.columns ?? 80);
    this.#intervalMs = options.intervalMs ?? 100;
    this.#start = this.#clock.now();
  }

  /**
   * Records progress (with `count`, the files of a folder transfer);
   * redraws when the last redraw is old enough.
   */
  update(bytes: number, total: number, count?: FileCount): void {
    if (this.#ended) return;
    this.#bytes = bytes;
    this.#total = total;
    if (count) this.#count = count;
    const now = this.#clock.now();
    this.#samples.push({ t: now, bytes });
    while (
      this.#samples.length > 2 && now - this.#samples[1]!.t >= RATE_WINDOW_MS
    ) {
      this.#samples.shift();
    }
    if (now - this.#lastDraw < this.#intervalMs) return;
    this.#lastDraw = now;
    this.#draw(now);
  }

  /** Replaces the bar by the summary line: size, time, average rate. */
  finish(): void {
    if (this.#ended) return;
    this.#ended = true;
    const elapsed = this.#clock.now() - this.#start;
    const rate = elapsed > 0 ? this.#bytes / (elapsed / 1000) : 0;
    const files = this.#count === null
      ? ""
      : `${this.#count.done} file${this.#count.done === 1 ? "" : "s"}, `;
    const summary =
      `${this.#label}: ${files}${formatSize(this.#bytes)} in ${
        formatDuration(elapsed)
      }` +
      (elapsed > 0 ? `, ${formatRate(rate)}` : "");
    writeText(this.#out, `${this.#drawn ? "\r\x1b[K" : ""}${summary}\n`);
  }

  /** Removes the bar without a summary (the caller reports the failure). */
  clear(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#drawn) writeText(this.#out, "\r\x1b[K");
  }

  /** The current bytes per second over the recent window, or 0. */
  rate(now = this.#clock.now()): number {
    const first = this.#samples[0];
    const span = first ? now - first.t : 0;
    if (!first || span <= 0) {
      const elapsed = now - this.#start;
      return elapsed > 0 ? this.#bytes / (elapsed / 1000) : 0;
    }
    return (this.#bytes - first.bytes) / (span / 1000);
  }

  #draw(now: number): void {
    const total = this.#total;
    const bytes = this.#bytes;
    const fraction = total > 0 ? Math.min(1, bytes / total) : bytes > 0 ? 1 : 0;
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const rate = this.rate(now);
    const eta = rate > 0 && total >= bytes && !this.#count?.more
      ? formatDuration(((total - bytes) / rate) * 1000)
      : "?";
    // Fixed widths, so the bar does not jump as the numbers change.
    const files = this.#count === null ? "" : ` ${fileCount(this.#count)}`;
    const counts = `${files} ${formatSize(bytes).padStart(9)} / ${
      formatSize(total)
    }${this.#count?.more ? "+" : ""}`;
    const tail = `${counts}  ${formatRate(rate).padStart(10)}  ETA ${
      eta.padEnd(7)
    }`;
    // One column spare so the cursor never wraps to the next line.
    const room = this.#columns - 1 - tail.length - percent.length - 1;
    let label = this.#label;
    let barWidth = Math.min(30, room - label.length - 3);
    if (barWidth < 10) {
      barWidth = Math.max(0, Math.min(10, room - 3));
      const labelRoom = Math.max(0, room - barWidth - 3);
      if (label.length > labelRoom) {
        label = labelRoom > 1 ? label.slice(0, labelRoom - 1) + "…" : "";
      }
    }
    const bar = barWidth > 0 ? ` [${drawBar(fraction, barWidth)}]` : "";
    const line = `${label}${label ? " " : ""}${percent}${bar}${tail}`;
    writeText(this.#out, `\r${line.slice(0, this.#columns - 1)}\x1b[K`);
    this.#drawn = true;
  }
}

/** `12/2000 files`, or `12/340+ files` while more may be found. */
function fileCount(count: FileCount): string {
  return `${count.done}/${count.total}${count.more ? "+" : ""} files`;
}

function drawBar(fraction: number, width: number): string {
  const full = Math.floor(fraction * width);
  if (full >= width) return "=".repeat(width);
  return "=".repeat(full) + ">" + " ".repeat(width - full - 1);
}
