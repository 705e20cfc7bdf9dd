import { strict as assert } from "node:assert";
import { join } from "node:path";
import { randomChunks, writeChunks } from "../../bench/datasets.ts";
import {
  largeFiles,
  shortReason,
  type Sources,
} from "../../bench/scenarios.ts";
import { QUICK } from "../../bench/sizes.ts";
import type { Tool } from "../../bench/peers/tool.ts";

/** A tool that copies files into its root; `corrupt` flips a byte of every download. */
function copyTool(
  name: string,
  root: string,
  calls: string[],
  corrupt = false,
): Tool {
  Deno.mkdirSync(root);
  const unused = () => Promise.reject(new Error("not used by this test"));
  return {
    name,
    description: name,
    root,
    port: undefined,
    serverPids: [],
    proxyable: false,
    putFile(local, remote) {
      calls.push(`${name} put`);
      Deno.copyFileSync(local, join(root, remote));
      return Promise.resolve();
    },
    getFile(remote, local) {
      calls.push(`${name} get`);
      const bytes = Deno.readFileSync(join(root, remote));
      if (corrupt) bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
      Deno.writeFileSync(local, bytes);
      return Promise.resolve();
    },
    putTree: unused,
    getTree: unused,
    fetchMany: unused,
  };
}

async function withSources(
  fn: (dir: string, sources: Sources) => Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync();
  try {
    for (const name of ["random.bin", "text.log"]) {
      writeChunks(join(dir, name), randomChunks(name, 4096));
    }
    const path = (name: string) => join(dir, name);
    await fn(dir, {
      random: path("random.bin"),
      text: path("text.log"),
      smallTree: path("none"),
      mediumTree: path("none"),
      one: path("none"),
      clientFile: path("none"),
      slowRandom: path("none"),
      slowText: path("none"),
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("a tool that delivers wrong bytes fails the run and gets no figure", async () => {
  await withSources(async (dir, sources) => {
    const calls: string[] = [];
    const failures: string[] = [];
    Deno.mkdirSync(join(dir, "work"));
    const table = await largeFiles({
      work: join(dir, "work"),
      tools: [
        copyTool("good", join(dir, "good"), calls),
        copyTool("bad", join(dir, "bad"), calls, true),
      ],
      sizes: { ...QUICK, bigBytes: 4096, runs: 2 },
      failures,
    }, sources);
    assert.equal(failures.length, 2, failures.join("\n"));
    assert.ok(failures.every((f) => f.startsWith("bad failed")));
    for (const row of table.rows) {
      assert.equal(row.values.get("bad"), undefined, row.label);
    }
    const up = table.rows.find((r) => r.label === "random, up");
    assert.equal(up?.values.get("good")?.length, 2);
  });
});

Deno.test("the tools take turns, the first of one run going last in the next", async () => {
  await withSources(async (dir, sources) => {
    const calls: string[] = [];
    Deno.mkdirSync(join(dir, "work"));
    await largeFiles({
      work: join(dir, "work"),
      tools: [
        copyTool("a", join(dir, "a"), calls),
        copyTool("b", join(dir, "b"), calls),
      ],
      sizes: { ...QUICK, bigBytes: 4096, runs: 2 },
      failures: [],
    }, sources);
    const order = calls.filter((c) => c.endsWith("put")).map((c) => c[0]);
    // Random data then log text, two runs each.
    assert.deepEqual(order, ["a", "b", "b", "a", "a", "b", "b", "a"]);
  });
});

Deno.test("a failure note quotes one short line, without the scratch path", () => {
  const ctx = {
    work: "/tmp/fts-bench-1234/work",
    tools: [],
    sizes: QUICK,
    failures: [],
  };
  assert.equal(
    shortReason(
      ctx,
      "curl exited 7 for /tmp/fts-bench-1234/peer-3/x.bin\nsecond line",
    ),
    "curl exited 7 for …/peer-3/x.bin",
  );
  const long = shortReason(ctx, "x".repeat(500));
  assert.equal(long.length, 160);
  assert.ok(long.endsWith("…"));
});
