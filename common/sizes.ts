/**
 * Byte counts for people, both ways: {@linkcode parseSize} reads what a user
 * types (`--quota 10G`), {@linkcode formatSize} writes what they read
 * (`9.60 GiB`). The server's quota messages and the client's listings and
 * progress bars use the same words.
 *
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** Powers of the unit letters, in order: K, M, G, T, P. */
const LETTERS = "KMGTP";

const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*(?:([KMGTP])(i?)(B?))?(B?)$/i;

/**
 * Reads a size such as `500`, `700M`, `10G`, `1.5TiB` or `2GB`. A bare number
 * is bytes; `K`, `M`, `G`, `T`, `P` (any case) are powers of 1024, with or
 * without `i` and `B` (`G`, `Gi`, `GiB` are all 2^30 bytes), except that a
 * letter followed by `B` alone is a power of 1000 (`GB` is 10^9 bytes), as
 * rsync and most disk tools read them. Fractions are rounded down to whole
 * bytes.
 *
 * @throws {RangeError} for anything else, or a size beyond 2^53−1 bytes.
 * @example
 * ```ts
 * parseSize("10G"); // 10737418240
 * parseSize("10GB"); // 10000000000
 * parseSize("1.5KiB"); // 1536
 * ```
 */
export function parseSize(text: string): number {
  const match = SIZE_PATTERN.exec(text.trim());
  if (match === null || (match[2] !== undefined && match[5] !== "")) {
    throw new RangeError(
      `${
        JSON.stringify(text.slice(0, 40))
      } is not a size: use a number of bytes, optionally followed by K, M, G or T (1024-based; KB, MB, GB, TB are 1000-based)`,
    );
  }
  const [, number, letter, i, b] = match;
  let multiplier = 1;
  if (letter !== undefined) {
    const power = LETTERS.indexOf(letter.toUpperCase()) + 1;
    const decimal = i === "" && b !== "";
    multiplier = (decimal ? 1000 : 1024) ** power;
  }
  const bytes = Math.floor(Number(number) * multiplier);
  if (!Number.isSafeInteger(bytes)) {
    throw new RangeError(
      `${JSON.stringify(text.slice(0, 40))} is larger than 8 PiB`,
    );
  }
  return bytes;
}

/**
 * A byte count in binary units with three significant digits:
 * `0 B`, `999 B`, `1.00 KiB`, `12.3 MiB`, `100 GiB`.
 */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "? B";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  let text = value.toFixed(digits);
  if (text === "1024" && unit < UNITS.length - 1) {
    text = "1.00";
    unit++;
  }
  return `${text} ${UNITS[unit]}`;
}
