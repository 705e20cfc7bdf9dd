/**
 * The sizes of the benchmark's scenarios: the full run, and `--quick`
 * (small sizes, about a minute) for checking that everything works.
 *
 * @module
 */

const MiB = 1024 * 1024;

/** The sizes and counts one run uses. */
export interface Sizes {
  /** Bytes of each large file (random and log text). */
  readonly bigBytes: number;
  /** Small files in 10 × 10 nested folders, and their size. */
  readonly smallFiles: number;
  readonly smallBytes: number;
  /** Medium files in 4 folders, and their size. */
  readonly mediumFiles: number;
  readonly mediumBytes: number;
  /** The one file fetched with one command. */
  readonly oneBytes: number;
  /** Clients fetching at once, and the file each fetches. */
  readonly clients: number;
  readonly clientBytes: number;
  /** Bytes of each file sent over the slow link. */
  readonly slowBytes: number;
  /** The slow link: rate and round trip. */
  readonly slowBitsPerSecond: number;
  readonly slowRttMs: number;
  /** Seconds iperf3 measures loopback. */
  readonly iperfSeconds: number;
  /** Runs per tool and scenario. */
  readonly runs: number;
}

export const FULL: Sizes = {
  bigBytes: 1024 * MiB,
  smallFiles: 5000,
  smallBytes: 4096,
  mediumFiles: 200,
  mediumBytes: MiB,
  oneBytes: 4096,
  clients: 100,
  clientBytes: 10 * MiB,
  slowBytes: 32 * MiB,
  slowBitsPerSecond: 100e6,
  slowRttMs: 20,
  iperfSeconds: 5,
  runs: 3,
};

export const QUICK: Sizes = {
  ...FULL,
  bigBytes: 24 * MiB,
  smallFiles: 200,
  mediumFiles: 12,
  clients: 10,
  clientBytes: MiB,
  slowBytes: MiB,
  iperfSeconds: 1,
  runs: 1,
};

/** "1 GiB", "24 MiB", "4 KiB". */
export function formatBytes(bytes: number): string {
  for (
    const [unit, size] of [["GiB", 1024 * MiB], ["MiB", MiB], [
      "KiB",
      1024,
    ]] as const
  ) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} B`;
}
