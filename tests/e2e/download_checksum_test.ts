/**
 * Downloads against the server's checksum cache (server/storage/local/checksum_cache.ts),
 * with the real client engine: whatever the cache says, a client never
 * keeps bytes that do not match what it was told, and a fresh hash is sent
 * whenever the file changed. The cache keeps SHA-256, so these sessions ask
 * for SHA-256 (`--checksum sha256`).
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { FtsError } from "../../protocol/errors.ts";
import { openSession } from "../../client/engine/session.ts";
import { withServedFolders } from "../_helpers/e2e/served_folders.ts";

const MIB = 1024 * 1024;
const HOUR = 60 * 60 * 1000;

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function bytes(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 29 + seed) & 0xff;
  return data;
}

interface World {
  root: string;
  local: string;
  port: number;
}

function withWorld(run: (w: World) => Promise<void>): Promise<void> {
  return withServedFolders(({ root, local, port }) =>
    run({ root, local, port })
  );
}

/** The only entry file in `<root>/.fts/sums`. */
async function onlyEntry(root: string): Promise<string> {
  const dir = join(root, ".fts", "sums");
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  assert.equal(names.length, 1, `one entry in ${names}`);
  return join(dir, names[0]!);
}

async function localNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("e2e: a wrong cached SHA-256 makes the download fail loudly, never pass", async () => {
  await withWorld(async ({ root, local, port }) => {
    await using session = await openSession(
      { hostname: "127.0.0.1", port },
      { checksum: "sha256" },
    );
    const data = bytes(2 * MIB + 3, 1);
    await Deno.writeFile(join(local, "up.bin"), data);
    const old = new Date(Date.now() - HOUR);
    await Deno.utime(join(local, "up.bin"), old, old);
    await session.put(join(local, "up.bin"), "f.bin");
    // The cache holds the uploaded file's verified hash…
    const entry = await onlyEntry(root);
    const recorded = JSON.parse(await Deno.readTextFile(entry));
    assert.equal(recorded.sha256, sha256(data));
    // …and is made to lie, as a damaged disk or a stale entry could.
    await Deno.writeTextFile(
      entry,
      JSON.stringify({ ...recorded, sha256: sha256(bytes(10, 2)) }),
    );
    const down = join(local, "down");
    await Deno.mkdir(down);
    await assert.rejects(
      session.get("f.bin", down),
      (e: unknown) => e instanceof FtsError && e.code === "checksum_mismatch",
    );
    assert.deepEqual(await localNames(down), [], "no file, no temporary");
  });
});

Deno.test("e2e: a file changed in place after its upload downloads with its new hash", async () => {
  await withWorld(async ({ root, local, port }) => {
    await using session = await openSession(
      { hostname: "127.0.0.1", port },
      { checksum: "sha256" },
    );
    const data = bytes(2 * MIB, 3);
    await Deno.writeFile(join(local, "up.bin"), data);
    const old = new Date(Date.now() - HOUR);
    await Deno.utime(join(local, "up.bin"), old, old);
    await session.put(join(local, "up.bin"), "f.bin");
    // The same size, different bytes, written in place on the server.
    const changed = data.slice();
    changed.fill(0x5a, 0, 4096);
    using file = await Deno.open(join(root, "f.bin"), { write: true });
    await file.write(changed.subarray(0, 4096));
    file.close();
    const down = join(local, "down");
    await Deno.mkdir(down);
    const got = await session.get("f.bin", down);
    assert.equal(got.sha256, sha256(changed));
    assert.deepEqual(await Deno.readFile(got.path), changed);
  });
});

Deno.test("e2e: a renamed upload still downloads from its cached SHA-256", async () => {
  await withWorld(async ({ root, local, port }) => {
    await using session = await openSession(
      { hostname: "127.0.0.1", port },
      { checksum: "sha256" },
    );
    const data = bytes(MIB + 5, 4);
    await Deno.writeFile(join(local, "up.bin"), data);
    const old = new Date(Date.now() - HOUR);
    await Deno.utime(join(local, "up.bin"), old, old);
    await session.put(join(local, "up.bin"), "a.bin");
    await session.rename("a.bin", "b.bin");
    // A lying entry proves the download used the cache and did not hash.
    const entry = await onlyEntry(root);
    const recorded = JSON.parse(await Deno.readTextFile(entry));
    assert.equal(recorded.sha256, sha256(data), "kept across the rename");
    await Deno.writeTextFile(
      entry,
      JSON.stringify({ ...recorded, sha256: sha256(bytes(10, 5)) }),
    );
    await assert.rejects(
      session.get("b.bin", local),
      (e: unknown) => e instanceof FtsError && e.code === "checksum_mismatch",
    );
  });
});
