/**
 * Temporary folders for tests, removed by `await using`.
 *
 * @module
 */

/** A temporary folder, removed on dispose. */
export interface TempDir extends AsyncDisposable {
  readonly path: string;
}

/** Makes a temporary folder (its real path); `await using` removes it. */
export async function tempDir(prefix = "fts_test_"): Promise<TempDir> {
  const path = await Deno.realPath(await Deno.makeTempDir({ prefix }));
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/**
 * Like {@linkcode tempDir}, but in memory (`/dev/shm`) where the machine
 * has it: for tests that write thousands of files and check what arrives,
 * not that it survives a power loss, so that fsyncs on a busy disk do not
 * decide their time.
 */
export async function memoryTempDir(prefix = "fts_test_"): Promise<TempDir> {
  let dir: string | undefined;
  try {
    if (Deno.statSync("/dev/shm").isDirectory) dir = "/dev/shm";
  } catch {
    // no such folder: the usual temporary folder
  }
  const path = await Deno.realPath(
    await Deno.makeTempDir({ prefix, ...(dir ? { dir } : {}) }),
  );
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}
