/**
 * Best-effort removal of leftovers (temporary and partial files) on paths
 * that are already failing or being cleaned up.
 *
 * @module
 */

/**
 * Removes the file `path`, ignoring every failure: a file already gone, or
 * one that cannot be removed now (whoever sweeps leftovers retries later).
 * Synchronous on purpose: one small metadata call is far cheaper than an
 * async op's hand-off to a worker thread.
 *
 * @example
 * ```ts
 * removeQuietly(partPath);
 * ```
 */
export function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // Missing already, or not removable: nothing better to do here.
  }
}
