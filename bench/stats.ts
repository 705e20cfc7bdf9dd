/**
 * The arithmetic of the benchmark's figures: medians with their range, and
 * the ratio of fts to a peer.
 *
 * @module
 */

/** Median, smallest and largest of a series of measurements. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

/**
 * Summarises `values`: the median (the mean of the two middle values for
 * an even count), min and max. Throws a RangeError for an empty series or
 * one holding a value that is not finite.
 */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError("No values to summarize");
  if (!values.every(Number.isFinite)) {
    throw new RangeError("Every value must be a finite number");
  }
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, count: values.length };
}

/** fts's median over the peer's median; undefined when either is missing or the peer's is 0. */
export function ratio(
  fts: Summary | undefined,
  peer: Summary | undefined,
): number | undefined {
  if (fts === undefined || peer === undefined || peer.median === 0) {
    return undefined;
  }
  return fts.median / peer.median;
}

/** Rate in MB/s (10^6 bytes per second). */
export function megabytesPerSecond(bytes: number, seconds: number): number {
  return bytes / seconds / 1e6;
}
