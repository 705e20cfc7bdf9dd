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
   * version line; `readHead` reads up to a number of bytes from the start
   * of the file there now, with its stat taken on the open file (null when
   * something other than a regular file is there now). Synchronous: a
   * listing sniffs every file it has not seen, and from the page cache the
   * few calls take microseconds, where one asynchronous read costs about
   * 80. Never throws: a file that cannot be read, or that is no longer the
   * file `info` describes (swapped for another since), counts as not
   * encrypted.
   */
  isAgeFile(
    info: Deno.FileInfo,
    readHead: (length: number) => FileHead | null,
  ): boolean {
    if (!info.isFile || info.size < AGE_MAGIC.length) return false;
    const key = `${info.dev}:${info.ino}:${info.size}:${
      info.mtime?.getTime() ?? 0
    }`;
    const known = this.#cache.get(key);
    if (known !== undefined) return known;
    const age = readsAsAge(info, readHead);
    if (this.#cache.size >= this.#maxCached) this.#cache.clear();
    this.#cache.set(key, age);
    return age;
  }
}

/** The first bytes of a file and the stat of the file they were read from. */
export interface FileHead {
  readonly head: Uint8Array;
  readonly info: Deno.FileInfo;
}

function readsAsAge(
  info: Deno.FileInfo,
  readHead: (length: number) => FileHead | null,
): boolean {
  let read: FileHead | null;
  try {
    read = readHead(AGE_MAGIC.length);
  } catch {
    return false;
  }
  if (read === null) return false;
  const { head, info: now } = read;
  // Make sure the file read is the one `info` describes, not another one
  // put there since (`now` is the open file's own stat).
  if (now.ino !== info.ino || now.dev !== info.dev || !now.isFile) {
    return false;
  }
  return head.length === AGE_MAGIC.length &&
    head.every((byte, i) => byte === AGE_MAGIC[i]);
}
