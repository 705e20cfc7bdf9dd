/**
 * Byte-for-byte checks of what a tool moved: a benchmark whose transfer
 * delivered wrong bytes fails instead of reporting a rate.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { join, relative } from "node:path";

/** Thrown when a copy differs from its source. */
export class WrongBytesError extends Error {
  override name = "WrongBytesError";
}

/** Throws a {@linkcode WrongBytesError} unless the files at `a` and `b` hold the same bytes. */
export function assertSameFile(a: string, b: string): void {
  using fa = Deno.openSync(a);
  using fb = Deno.openSync(b);
  const sizeA = fa.statSync().size;
  const sizeB = fb.statSync().size;
  if (sizeA !== sizeB) {
    throw new WrongBytesError(
      `"${b}" has ${sizeB} bytes where "${a}" has ${sizeA}`,
    );
  }
  const bufA = new Uint8Array(1024 * 1024);
  const bufB = new Uint8Array(1024 * 1024);
  for (let at = 0; at < sizeA;) {
    const n = readFull(fa, bufA);
    if (n === 0 || readFull(fb, bufB) !== n) {
      throw new WrongBytesError(`"${b}" changed while it was compared`);
    }
    if (Buffer.compare(bufA.subarray(0, n), bufB.subarray(0, n)) !== 0) {
      throw new WrongBytesError(`"${b}" differs from "${a}" near byte ${at}`);
    }
    at += n;
  }
}

/**
 * Throws a {@linkcode WrongBytesError} unless the trees at `a` and `b`
 * hold the same relative file paths with the same bytes.
 */
export function assertSameTree(a: string, b: string): void {
  const filesA = listFiles(a);
  const filesB = listFiles(b);
  const setA = new Set(filesA);
  const setB = new Set(filesB);
  const missing = filesA.filter((f) => !setB.has(f));
  const extra = filesB.filter((f) => !setA.has(f));
  if (missing.length > 0 || extra.length > 0) {
    throw new WrongBytesError(
      `"${b}" lacks ${missing.length} and adds ${extra.length} files ` +
        `compared with "${a}" (first: "${missing[0] ?? extra[0]}")`,
    );
  }
  for (const file of filesA) assertSameFile(join(a, file), join(b, file));
}

/** The relative paths of every regular file under `dir`, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string) => {
    for (const entry of Deno.readDirSync(at)) {
      const path = join(at, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.isFile) out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

function readFull(file: Deno.FsFile, buf: Uint8Array): number {
  let n = 0;
  while (n < buf.byteLength) {
    const got = file.readSync(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return n;
}
