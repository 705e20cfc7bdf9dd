/**
 * `--exclude GLOB` for folder transfers, as rsync users write it: a glob
 * without a slash matches an entry's own name at any depth (`*.tmp`,
 * `node_modules`); one with a slash matches its path from the top of the
 * tree (`build/**`, `docs/*.pdf`; a leading `/` is ignored). An excluded
 * folder is left out with everything in it.
 *
 * Globs are matched by picomatch (`*`, `?`, `**`, `[…]`, `{a,b}`), the
 * matcher of micromatch and chokidar, rather than a hand-written one.
 *
 * @module
 */

// @ts-types="@types/picomatch"
import picomatch from "picomatch";

/**
 * A predicate over a tree entry's path from the top, true when any of
 * `globs` excludes it; undefined when there are none.
 *
 * @throws {TypeError} for an empty glob.
 * @example
 * ```ts
 * const excluded = excludeFilter(["*.tmp", "build/**"])!;
 * excluded("a/b.tmp"); // true
 * excluded("build/x/y"); // true
 * excluded("src/build"); // false
 * ```
 */
export function excludeFilter(
  globs: readonly string[],
): ((rel: string) => boolean) | undefined {
  if (globs.length === 0) return undefined;
  const byName: string[] = [];
  const byPath: string[] = [];
  for (const glob of globs) {
    const trimmed = glob.replace(/^\/+/, "").replace(/\/+$/, "");
    if (trimmed === "") throw new TypeError("An empty --exclude pattern");
    (trimmed.includes("/") ? byPath : byName).push(trimmed);
  }
  const options = { dot: true };
  const name = byName.length > 0 ? picomatch(byName, options) : null;
  const path = byPath.length > 0 ? picomatch(byPath, options) : null;
  return (rel) =>
    (name?.(rel.slice(rel.lastIndexOf("/") + 1)) ?? false) ||
    (path?.(rel) ?? false);
}
