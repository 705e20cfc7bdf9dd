/**
 * Tells whether a stored file is an age file (age-encryption.org/v1), i.e. a
 * file a client encrypted end to end before uploading it, so that listings
 * can mark it `encrypted`. Only the first 22 bytes are read (the age version
 * line); the server cannot and does not try to decrypt anything.
 *
 * Answers are cached by device, inode, size and modification time, so a
 * folder listed again costs one `lstat` per file, as before. Uploads always
 * create a new inode (a partial file renamed into place), so a replaced file
 * is never answered from the cache.
 *
 * @module
 */

import { AGE_MAGIC } from "../../../common/age_magic.ts";

/** Options of {@linkcode AgeSniffer}. */
export interface AgeSnifferOptions {
  /** Most answers kept; the cache starts over when full. Default 65,536. */
  maxCached?: number;
}

/** Reads and caches whether files start with {@linkcode AGE_MAGIC}. */
export class AgeSniffer {
  readonly #cache = new Map<string, boolean>();
  readonly #maxCached: number;

  constructor(options: AgeSnifferOptions = {}) {
    this.#maxCached = options.maxCached ?? 65_536;
  }

  /**
   * Whether the regular file whose `lstat` is `info` starts with the age
   * version line; `open` opens it for reading and gives its stat, taken on
   * the open file (null when something other than a regular file is there
   * now). Never throws: a file that cannot be
   * read, or that is no longer the file `info` describes (swapped for
   * another since), counts as not encrypted.
   */
  async isAgeFile(
    info: Deno.FileInfo,
    open: () => { file: Deno.FsFile; info: Deno.FileInfo } | null,
  ): Promise<boolean> {
    if (!info.isFile || info.size < AGE_MAGIC.length) return false;
    const key = `${info.dev}:${info.ino}:${info.size}:${
      info.mtime?.getTime() ?? 0
    }`;
    const known = this.#cache.get(key);
    if (known !== undefined) return known;
    const age = await readsAsAge(info, open);
    if (this.#cache.size >= this.#maxCached) this.#cache.clear();
    this.#cache.set(key, age);
    return age;
  }
}

async function readsAsAge(
  info: Deno.FileInfo,
  open: () => { file: Deno.FsFile; info: Deno.FileInfo } | null,
): Promise<boolean> {
  let file: Deno.FsFile;
  let now: Deno.FileInfo;
  try {
    const opened = open();
    if (opened === null) return false;
    ({ file, info: now } = opened);
  } catch {
    return false;
  }
  try {
    // Make sure the open file is the one `info` describes, not another
    // one put there since (`now` is the open file's own stat).
    if (now.ino !== info.ino || now.dev !== info.dev || !now.isFile) {
      return false;
    }
    const head = new Uint8Array(AGE_MAGIC.length);
    let filled = 0;
    while (filled < head.length) {
      const n = await file.read(head.subarray(filled));
      if (n === null) return false;
      filled += n;
    }
    return head.every((byte, i) => byte === AGE_MAGIC[i]);
  } catch {
    return false;
  } finally {
    file.close();
  }
}
