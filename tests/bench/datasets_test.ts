import { strict as assert } from "node:assert";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import {
  flatTree,
  logTextChunks,
  nestedTree,
  randomChunks,
  treeFiles,
  writeTree,
} from "../../bench/datasets.ts";
import { listFiles } from "../../bench/verify.ts";

function concat(chunks: Iterable<Uint8Array>): Uint8Array {
  const parts = [...chunks];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

Deno.test("random data is the same for the same seed, whatever the chunk size", () => {
  const a = concat(randomChunks("seed", 100_000, 4096));
  const b = concat(randomChunks("seed", 100_000, 65536));
  assert.equal(a.byteLength, 100_000);
  assert.deepEqual(a, b);
});

Deno.test("random data differs between seeds and does not compress", () => {
  const a = concat(randomChunks("one", 65536));
  const b = concat(randomChunks("two", 65536));
  assert.notDeepEqual(a, b);
  assert.ok(gzipSync(a).byteLength > a.byteLength * 0.99);
});

Deno.test("log text is the same for the same seed, has the asked size, and compresses as logs do", () => {
  const a = concat(logTextChunks("seed", 300_000, 50_000));
  const b = concat(logTextChunks("seed", 300_000));
  assert.equal(a.byteLength, 300_000);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, concat(logTextChunks("other", 300_000)));
  const text = new TextDecoder().decode(a);
  assert.match(
    text.split("\n")[0]!,
    /^10\.\d+\.\d+\.\d+ - - \[\d\d\/\w{3}\/2026:/,
  );
  const ratio = a.byteLength / gzipSync(a).byteLength;
  // Real access logs gzip 4–15×; zeros would gzip about 1000×.
  assert.ok(ratio > 3 && ratio < 30, `gzip ratio ${ratio}`);
});

Deno.test("the nested tree spreads its files over 10 folders of 10 subfolders", () => {
  const spec = nestedTree(5000, 4096);
  assert.equal(spec.leaves.length, 100);
  assert.equal(new Set(spec.leaves.map((l) => l.split("/")[0])).size, 10);
  assert.equal(treeFiles(spec).length, 5000);
  assert.throws(() => nestedTree(150, 4096), RangeError);
});

Deno.test("a written tree holds the spec's files, the same bytes for the same seed", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const spec = flatTree(4, 8, 1000);
    writeTree(join(dir, "a"), spec, "s");
    writeTree(join(dir, "b"), spec, "s");
    assert.deepEqual(listFiles(join(dir, "a")), treeFiles(spec).sort());
    for (const name of treeFiles(spec)) {
      const a = Deno.readFileSync(join(dir, "a", name));
      assert.equal(a.byteLength, 1000);
      assert.deepEqual(a, Deno.readFileSync(join(dir, "b", name)));
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
