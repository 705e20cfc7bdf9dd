/**
 * The SHA-256 of a local file, to compare with the server's before a
 * transfer (see skip_identical.ts).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { startsLikeAge } from "../../common/age_magic.ts";
import { readFull } from "./local_files.ts";

/** Files up to this size are read synchronously, in one read. */
const SYNC_LIMIT = 1024 * 1024;
/** The read size for larger files, which are read asynchronously. */
const CHUNK = 1024 * 1024;

/**
 * The SHA-256 (hex) of the regular file at `path`, provided it has `size`
 * bytes from start to end; null when it is not a regular file, has
 * another size, or cannot be read, and with `notAge` when it starts like an
 * age file. Never throws.
 *
 * A file up to 1 MiB is read synchronously (one open, one read: far
 * cheaper than async calls for tiny files); a larger one in 1 MiB async
 * reads, so the event loop keeps serving the connection meanwhile.
 */
export async function hashLocalFile(
  path: string,
  size: number,
  options: { notAge?: boolean } = {},
): Promise<string | null> {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true });
  } catch {
    return null;
  }
  try {
    const info = file.statSync();
    if (!info.isFile || info.size !== size) return null;
    const hash = createHash("sha256");
    let read = 0;
    if (size <= SYNC_LIMIT) {
      // One byte more than expected shows a file that grew since.
      const buffer = new Uint8Array(size + 1);
      read = readFull(file, buffer);
      if (options.notAge && startsLikeAge(buffer.subarray(0, read))) {
        return null;
      }
      hash.update(buffer.subarray(0, read));
    } else {
      const buffer = new Uint8Array(CHUNK);
      for (;;) {
        const n = await file.read(buffer);
        if (n === null) break;
        if (
          read === 0 && options.notAge && startsLikeAge(buffer.subarray(0, n))
        ) {
          return null;
        }
        hash.update(buffer.subarray(0, n));
        read += n;
        if (read > size) return null;
      }
    }
    return read === size ? hash.digest("hex") : null;
  } catch {
    return null;
  } finally {
    file.close();
  }
}
