/**
 * The program's own source as a graph: which file imports which, read from
 * the `.ts` files themselves. The house-rule tests walk it.
 *
 * @module
 */

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout's root folder. */
export const CHECKOUT: string = fileURLToPath(
  new URL("../../..", import.meta.url),
);

/** One source file: its path from the checkout's root, and its text. */
export interface SourceFile {
  readonly path: string;
  readonly text: string;
}

/** Every `.ts` file under `folders` (paths relative to the checkout). */
export function readSources(folders: readonly string[]): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (folder: string): void => {
    for (
      const entry of readdirSync(join(CHECKOUT, folder), {
        withFileTypes: true,
      })
    ) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) {
        files.push({ path, text: readFileSync(join(CHECKOUT, path), "utf8") });
      }
    }
  };
  for (const folder of folders) walk(folder);
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

const IMPORT =
  /(?:^|[\n;])\s*(?:import|export)\b(?:[^;"']*?\bfrom)?\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/**
 * The specifiers a file imports or re-exports, as written (`./x.ts`,
 * `node:fs`, `npm:…`, a bare name from deno.json).
 */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const match of withoutComments(text).matchAll(IMPORT)) {
    found.push(match[1] ?? match[2]!);
  }
  return found;
}

/**
 * Where a relative specifier of `from` points, as a path from the checkout's
 * root; null for any other specifier (`node:`, `npm:`, bare names).
 */
export function resolveLocal(from: string, specifier: string): string | null {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return null;
  return normalize(join(dirname(from), specifier));
}

/** True when `path` lies inside `folder` (both relative to the checkout). */
export function isInside(path: string, folder: string): boolean {
  const r = relative(folder, path);
  return r !== "" && !r.startsWith("..");
}

/**
 * The files `roots` import, directly or through others, among `sources`
 * (roots included).
 */
export function importClosure(
  sources: readonly SourceFile[],
  roots: readonly string[],
): SourceFile[] {
  const byPath = new Map(sources.map((s) => [s.path, s]));
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const path = queue.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    const file = byPath.get(path);
    if (file === undefined) continue;
    for (const spec of specifiers(file.text)) {
      const target = resolveLocal(path, spec);
      if (target !== null) queue.push(target);
    }
  }
  return [...seen].flatMap((p) => byPath.get(p) ?? []);
}

/** The code of a file without its comments (strings are kept). */
export function withoutComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (c === '"' || c === "'" || c === "`") {
      const start = i++;
      while (i < text.length && text[i] !== c) i += text[i] === "\\" ? 2 : 1;
      out += text.slice(start, ++i);
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
