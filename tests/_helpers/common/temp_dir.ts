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
