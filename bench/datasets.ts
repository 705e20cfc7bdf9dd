/**
 * The data the benchmark moves, generated from a seed so every run and
 * every tool moves the same bytes: random bytes (AES-256-CTR key stream,
 * incompressible), web-server log text (compressible as real logs are, not
 * zeros), and folder trees of small files.
 *
 * @module
 */

import { createCipheriv, createHash } from "node:crypto";
import { join } from "node:path";

const MiB = 1024 * 1024;

/** Yields `size` pseudo-random bytes derived from `seed`, in chunks of at most `chunk`. */
export function* randomChunks(
  seed: string,
  size: number,
  chunk = MiB,
): Generator<Uint8Array> {
  checkSize(size);
  const key = createHash("sha256").update(seed).digest();
  const cipher = createCipheriv("aes-256-ctr", key, new Uint8Array(16));
  const zeros = new Uint8Array(chunk);
  try {
    for (let left = size; left > 0; left -= chunk) {
      const n = Math.min(left, chunk);
      yield new Uint8Array(cipher.update(zeros.subarray(0, n)));
    }
  } finally {
    // Releases the cipher (CTR mode has nothing left to emit).
    cipher.final();
  }
}

/** A small seeded generator (sfc32) for the choices of the log text. */
export class SeededChoice {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  constructor(seed: string) {
    const h = createHash("sha256").update(seed).digest();
    this.#a = h.readUInt32LE(0);
    this.#b = h.readUInt32LE(4);
    this.#c = h.readUInt32LE(8);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** The next 32-bit unsigned value. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A whole number in [0, n). */
  below(n: number): number {
    return this.next() % n;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

const METHODS = ["GET", "GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD"];
const STATUSES = [200, 200, 200, 200, 200, 204, 301, 304, 304, 404, 500];
const PATHS = [
  "/api/v1/items/",
  "/api/v1/users/",
  "/static/js/app.",
  "/static/css/site.",
  "/images/photo-",
  "/search?q=term",
  "/checkout/cart/",
  "/blog/2026/12/post-",
];
const AGENTS = [
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "curl/8.11.1",
  "Googlebot/2.1 (+http://www.google.com/bot.html)",
  "python-requests/2.32.3",
];
const REFERRERS = ["-", "-", "https://example.org/", "https://www.google.com/"];
const MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ");

/**
 * Yields `size` bytes of web-server access log lines (combined log format)
 * derived from `seed`, in chunks of about `chunk` bytes; the last line is
 * cut where the size ends.
 */
export function* logTextChunks(
  seed: string,
  size: number,
  chunk = MiB,
): Generator<Uint8Array> {
  checkSize(size);
  const rng = new SeededChoice(seed);
  const encoder = new TextEncoder();
  let time = Date.UTC(2026, 11, 1);
  let left = size;
  while (left > 0) {
    const lines: string[] = [];
    let length = 0;
    while (length < chunk) {
      time += rng.below(40);
      const line = logLine(rng, new Date(time));
      lines.push(line);
      length += line.length; // ASCII only: characters are bytes
    }
    const bytes = encoder.encode(lines.join(""));
    const n = Math.min(left, bytes.byteLength);
    left -= n;
    yield bytes.subarray(0, n);
  }
}

function logLine(rng: SeededChoice, at: Date): string {
  const ip = `10.${rng.below(4)}.${rng.below(32)}.${rng.below(250) + 1}`;
  const stamp = `${pad(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/` +
    `${at.getUTCFullYear()}:${pad(at.getUTCHours())}:` +
    `${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000`;
  const path = rng.pick(PATHS) + rng.below(100_000);
  const status = rng.pick(STATUSES);
  const bytes = status === 304 || status === 204 ? 0 : rng.below(60_000);
  return `${ip} - - [${stamp}] "${rng.pick(METHODS)} ${path} HTTP/1.1" ` +
    `${status} ${bytes} "${rng.pick(REFERRERS)}" "${rng.pick(AGENTS)}" ` +
    `rt=${(rng.below(2000) / 1000).toFixed(3)}\n`;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Writes `chunks` into a new file at `path`. */
export function writeChunks(path: string, chunks: Iterable<Uint8Array>): void {
  using file = Deno.openSync(path, { write: true, createNew: true });
  for (const chunk of chunks) {
    let rest = chunk;
    while (rest.byteLength > 0) rest = rest.subarray(file.writeSync(rest));
  }
}

/** A folder tree: leaf folders (relative paths) with equal files in each. */
export interface TreeSpec {
  readonly leaves: readonly string[];
  readonly filesPerLeaf: number;
  readonly fileBytes: number;
}

/** `files` files of `fileBytes` bytes spread over 10 folders of 10 subfolders each. */
export function nestedTree(files: number, fileBytes: number): TreeSpec {
  const leaves: string[] = [];
  for (let a = 0; a < 10; a++) {
    for (let b = 0; b < 10; b++) leaves.push(`d${a}/e${b}`);
  }
  return { leaves, filesPerLeaf: perLeaf(files, leaves.length), fileBytes };
}

/** `files` files of `fileBytes` bytes spread over `folders` folders. */
export function flatTree(
  folders: number,
  files: number,
  fileBytes: number,
): TreeSpec {
  const leaves = Array.from({ length: folders }, (_, i) => `f${i}`);
  return { leaves, filesPerLeaf: perLeaf(files, folders), fileBytes };
}

/** The relative path of every file of `spec`, in a fixed order. */
export function treeFiles(spec: TreeSpec): string[] {
  const names: string[] = [];
  for (const leaf of spec.leaves) {
    for (let i = 0; i < spec.filesPerLeaf; i++) {
      names.push(`${leaf}/file-${String(i).padStart(4, "0")}.bin`);
    }
  }
  return names;
}

/** Writes the tree of `spec` under `dir` (created), each file random bytes from `seed`. */
export function writeTree(dir: string, spec: TreeSpec, seed: string): void {
  for (const leaf of spec.leaves) {
    Deno.mkdirSync(join(dir, leaf), { recursive: true });
  }
  for (const name of treeFiles(spec)) {
    writeChunks(
      join(dir, name),
      randomChunks(`${seed}/${name}`, spec.fileBytes),
    );
  }
}

function perLeaf(files: number, leaves: number): number {
  if (!Number.isSafeInteger(files) || files < leaves || files % leaves !== 0) {
    throw new RangeError(`The file count must be a multiple of ${leaves}`);
  }
  return files / leaves;
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError("The size must be a whole number of bytes");
  }
}
