/**
 * The rules of the house, checked on the source itself: `protocol/` is pure
 * and self-contained, `server/` and `client/` never import each other,
 * `common/` imports neither, the layers inside each side import one way, and
 * the client's engine never writes to the terminal.
 */

import assert from "node:assert/strict";
import {
  importClosure,
  isInside,
  readSources,
  resolveLocal,
  type SourceFile,
  specifiers,
  withoutComments,
} from "./_helpers/common/source_graph.ts";

/** What a file may not import: the folders and specifier prefixes. */
interface ImportRule {
  readonly folder: string;
  readonly forbiddenFolders: readonly string[];
  /** Only these non-relative specifiers are allowed (all when absent). */
  readonly allowedPackages?: (specifier: string) => boolean;
  /** Relative imports must stay inside `folder`. */
  readonly selfContained?: boolean;
}

const RULES: readonly ImportRule[] = [
  {
    folder: "protocol",
    forbiddenFolders: [],
    selfContained: true,
    allowedPackages: () => false,
  },
  { folder: "server", forbiddenFolders: ["client"] },
  { folder: "client", forbiddenFolders: ["server"] },
  { folder: "common", forbiddenFolders: ["client", "server"] },
];

/** Breaches of `rules` in `sources`, one line each. */
function importBreaches(
  sources: readonly SourceFile[],
  rules: readonly ImportRule[],
): string[] {
  const breaches: string[] = [];
  for (const file of sources) {
    for (const rule of rules) {
      if (!isInside(file.path, rule.folder)) continue;
      for (const spec of specifiers(file.text)) {
        const target = resolveLocal(file.path, spec);
        if (target === null) {
          if (rule.allowedPackages && !rule.allowedPackages(spec)) {
            breaches.push(`${file.path} imports ${spec}`);
          }
        } else if (rule.selfContained && !isInside(target, rule.folder)) {
          breaches.push(
            `${file.path} imports ${target}, outside ${rule.folder}/`,
          );
        } else if (rule.forbiddenFolders.some((f) => isInside(target, f))) {
          breaches.push(`${file.path} imports ${target}`);
        }
      }
    }
  }
  return breaches;
}

/** Ways code reaches the terminal or does I/O of its own. */
const TERMINAL =
  /\bconsole\.|\bDeno\.std(?:out|err|in)\b|\bprocess\.std(?:out|err)\b/;
const IO = /\bDeno\.|\bfetch\(|\bWorker\b/;

/** Files among `sources` whose code (comments aside) matches `pattern`. */
function filesMatching(
  sources: readonly SourceFile[],
  pattern: RegExp,
): string[] {
  return sources.filter((s) => pattern.test(withoutComments(s.text))).map((s) =>
    s.path
  );
}

/** The client's engine and everything it imports. */
function engineClosure(sources: readonly SourceFile[]): SourceFile[] {
  const roots = sources.filter((s) => isInside(s.path, "client/engine"));
  assert.ok(roots.length > 0, "client/engine/ has no files");
  return importClosure(sources, roots.map((s) => s.path));
}

/**
 * The layer a file belongs to: its folder one level below `server/` or
 * `client/` (`server/session`), or the file itself when it sits at the top
 * of its side (`server/server.ts`). Null outside the two sides.
 */
function layerOf(path: string): string | null {
  const parts = path.split("/");
  if (parts[0] !== "server" && parts[0] !== "client") return null;
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : path;
}

/** Pairs of layers that import each other, as "a <-> b". */
function mutualLayers(sources: readonly SourceFile[]): string[] {
  const edges = new Set<string>();
  for (const file of sources) {
    const from = layerOf(file.path);
    if (from === null) continue;
    for (const spec of specifiers(file.text)) {
      const target = resolveLocal(file.path, spec);
      const to = target === null ? null : layerOf(target);
      if (to !== null && to !== from) edges.add(`${from} -> ${to}`);
    }
  }
  return [...edges].flatMap((edge) => {
    const [a, b] = edge.split(" -> ");
    return a! < b! && edges.has(`${b} -> ${a}`) ? [`${a} <-> ${b}`] : [];
  }).sort();
}

const SOURCES = readSources(["protocol", "server", "client", "common"]);

Deno.test("protocol/ imports nothing outside itself and does no I/O", () => {
  const protocol = SOURCES.filter((s) => isInside(s.path, "protocol"));
  assert.ok(protocol.length >= 5);
  assert.deepEqual(importBreaches(protocol, RULES), []);
  assert.deepEqual(filesMatching(protocol, IO), []);
});

Deno.test("server/ and client/ never import each other, and common/ imports neither", () => {
  assert.deepEqual(importBreaches(SOURCES, RULES), []);
});

Deno.test("the layers of each side import one way: no two folders import each other", () => {
  assert.deepEqual(mutualLayers(SOURCES), []);
});

Deno.test("the client's engine, and all it imports, never writes to the terminal", () => {
  const closure = engineClosure(SOURCES);
  assert.ok(closure.some((s) => s.path === "client/engine/session.ts"));
  assert.deepEqual(filesMatching(closure, TERMINAL), []);
  const ui = closure.filter((s) =>
    ["client/shell", "client/term", "client/cli"].some((f) =>
      isInside(s.path, f)
    )
  );
  assert.deepEqual(ui.map((s) => s.path), []);
});

// The checks themselves, on files made to break each rule.

const file = (path: string, text: string): SourceFile => ({ path, text });

Deno.test("the import rules catch each kind of breach", () => {
  const bad = [
    file("protocol/a.ts", 'import { x } from "../common/x.ts";'),
    file("protocol/b.ts", 'import { readFileSync } from "node:fs";'),
    file("server/c.ts", 'export { y } from "../client/engine/y.ts";'),
    file("client/d.ts", 'const m = await import("../server/m.ts");'),
    file(
      "common/e.ts",
      'import type {\n  Z,\n} from "../server/z.ts";\nimport "../client/side_effect.ts";',
    ),
  ];
  assert.deepEqual(importBreaches(bad, RULES), [
    "protocol/a.ts imports common/x.ts, outside protocol/",
    "protocol/b.ts imports node:fs",
    "server/c.ts imports client/engine/y.ts",
    "client/d.ts imports server/m.ts",
    "common/e.ts imports server/z.ts",
    "common/e.ts imports client/side_effect.ts",
  ]);
  const fine = [
    file(
      "protocol/f.ts",
      '// see "../common/x.ts"\nimport { a } from "./a.ts";',
    ),
    file(
      "server/g.ts",
      'import { a } from "../common/a.ts";\nimport x from "npm:x";',
    ),
  ];
  assert.deepEqual(importBreaches(fine, RULES), []);
});

Deno.test("the engine rule follows imports to a file that prints", () => {
  const sources = [
    file("client/engine/session.ts", 'import { go } from "../vault/go.ts";'),
    file("client/vault/go.ts", 'export const go = () => console.error("hi");'),
    file(
      "client/vault/quiet.ts",
      "/** console.log(x) in a comment */ export {};",
    ),
  ];
  const closure = engineClosure(sources);
  assert.deepEqual(closure.map((s) => s.path).sort(), [
    "client/engine/session.ts",
    "client/vault/go.ts",
  ]);
  assert.deepEqual(filesMatching(closure, TERMINAL), ["client/vault/go.ts"]);
  assert.deepEqual(filesMatching([sources[2]!], TERMINAL), []);
  assert.deepEqual(
    filesMatching([file("protocol/x.ts", "Deno.readFile(p)")], IO),
    [
      "protocol/x.ts",
    ],
  );
});

Deno.test("the layer rule catches two folders that import each other", () => {
  const sources = [
    file("server/session/s.ts", 'import { h } from "../handlers/h.ts";'),
    file("server/handlers/h.ts", 'import type { T } from "../session/t.ts";'),
    file("server/handlers/g.ts", 'import { a } from "../auth/a.ts";'),
    file("server/server.ts", 'import { s } from "./session/s.ts";'),
    file("client/engine/e.ts", 'import { e } from "../errors.ts";'),
  ];
  assert.deepEqual(mutualLayers(sources), [
    "server/handlers <-> server/session",
  ]);
});
