/**
 * Files only their owner may read: the server's state (users, TLS key) and
 * the client's config (known_hosts). Written atomically, so a crash leaves
 * the old file or the new one, never half of one.
 *
 * @module
 */

import { dirname } from "node:path";

const encoder = new TextEncoder();

/**
 * Creates folder `dir` with mode 0700 if it is missing (its parents with
 * the default mode) and tightens an existing one to 0700.
 *
 * @throws {Error} when `dir` exists and is not a folder, or cannot be made.
 * @example
 * ```ts
 * await ensurePrivateDir("dados/.fts");
 * ```
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await Deno.mkdir(dirname(dir), { recursive: true });
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await Deno.stat(dir);
  if (!info.isDirectory) {
    throw new Error(`Cannot use "${dir}": it is not a folder`);
  }
  if (
    Deno.build.os !== "windows" && info.mode !== null &&
    (info.mode & 0o077) !== 0
  ) {
    await Deno.chmod(dir, 0o700);
  }
}

/**
 * Writes `data` to `path` through a temporary file in the same folder,
 * created with mode 0600, fsynced and renamed over `path`; then fsyncs the
 * folder so the rename survives a crash. On failure the temporary file is
 * removed and `path` is untouched.
 *
 * @throws {Error} the file system's error.
 * @example
 * ```ts
 * await writeFileAtomic("dados/.fts/users.json", JSON.stringify(users));
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    {
      using file = await Deno.open(temp, {
        write: true,
        createNew: true,
        mode: 0o600,
      });
      let offset = 0;
      while (offset < bytes.byteLength) {
        offset += await file.write(bytes.subarray(offset));
      }
      await file.sync();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  if (Deno.build.os !== "windows") {
    using folder = await Deno.open(dirname(path), { read: true });
    await folder.sync();
  }
}
