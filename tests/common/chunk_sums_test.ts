import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  BlockHasher,
  blockSizeFor,
  decodeSidecar,
  decodeSums,
  differingBlocks,
  DIGEST_BYTES,
  encodeSidecar,
  encodeSums,
  hashBlocks,
  hashFileBlocks,
  isBlockSize,
  MAX_BLOCKS,
  MAX_SUMS_TEXT,
  MIN_BLOCK,
  sumCount,
} from "../../common/chunk_sums.ts";
import { tempDir } from "../_helpers/common/temp_dir.ts";

const MiB = 1024 * 1024;

function patterned(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function sha16(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHash("sha256").update(bytes).digest().subarray(0, 16),
  );
}

Deno.test("blockSizeFor() keeps 1 MiB up to 16 GiB and doubles above, never more than 16,384 blocks", () => {
  assert.equal(blockSizeFor(0), MIN_BLOCK);
  assert.equal(blockSizeFor(1), MIN_BLOCK);
  assert.equal(blockSizeFor(400 * MiB), MIN_BLOCK);
  assert.equal(blockSizeFor(16384 * MiB), MIN_BLOCK);
  assert.equal(blockSizeFor(16384 * MiB + 1), 2 * MiB);
  assert.equal(blockSizeFor(100 * 1024 * MiB), 8 * MiB);
  for (const size of [1, 5 * MiB, 16384 * MiB + 1, 2 ** 40, 2 ** 53 - 1]) {
    const block = blockSizeFor(size);
    assert.ok(isBlockSize(block));
    assert.ok(Math.ceil(size / block) <= MAX_BLOCKS, `size ${size}`);
    if (block > MIN_BLOCK) {
      assert.ok(Math.ceil(size / (block / 2)) > MAX_BLOCKS);
    }
  }
  assert.throws(() => blockSizeFor(-1), RangeError);
  assert.throws(() => blockSizeFor(1.5), RangeError);
  assert.throws(() => blockSizeFor(2 ** 53), RangeError);
});

Deno.test("isBlockSize() accepts only powers of two from 1 MiB", () => {
  assert.ok(isBlockSize(MiB));
  assert.ok(isBlockSize(64 * MiB));
  assert.ok(!isBlockSize(MiB / 2));
  assert.ok(!isBlockSize(3 * MiB));
  assert.ok(!isBlockSize(Number.NaN));
  assert.ok(!isBlockSize(2 ** 60));
});

Deno.test("hashBlocks() gives the first 16 bytes of each block's SHA-256, the short last block included", () => {
  const bytes = patterned(2 * MiB + 5);
  const sums = hashBlocks(bytes, MiB);
  assert.equal(sums.byteLength, 3 * DIGEST_BYTES);
  assert.deepEqual(sums.subarray(0, 16), sha16(bytes.subarray(0, MiB)));
  assert.deepEqual(sums.subarray(16, 32), sha16(bytes.subarray(MiB, 2 * MiB)));
  assert.deepEqual(sums.subarray(32, 48), sha16(bytes.subarray(2 * MiB)));
  assert.equal(hashBlocks(new Uint8Array(0), MiB).byteLength, 0);
  assert.equal(hashBlocks(patterned(MiB), MiB).byteLength, DIGEST_BYTES);
});

Deno.test("BlockHasher gives the same hashes whatever the chunk sizes, and sums holds only complete blocks", () => {
  const bytes = patterned(3 * MiB + 777, 7);
  const whole = hashBlocks(bytes, MiB);
  const hasher = new BlockHasher(MiB);
  let at = 0;
  const steps = [1, 65535, MiB, 3, MiB - 2, 500_000];
  for (let i = 0; at < bytes.byteLength; i++) {
    const take = steps[i % steps.length]!;
    hasher.update(bytes.subarray(at, at + take));
    at += take;
    assert.equal(
      sumCount(hasher.sums),
      Math.floor(Math.min(at, bytes.byteLength) / MiB),
    );
  }
  assert.equal(hasher.length, bytes.byteLength);
  assert.deepEqual(hasher.peek(), whole);
  assert.deepEqual(hasher.peek(), whole);
  assert.deepEqual(hasher.finish(), whole);
  assert.throws(() => new BlockHasher(1000), RangeError);
});

Deno.test("hashFileBlocks() hashes a region of a file from a block boundary, and a short file as far as it goes", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "f");
  const bytes = patterned(3 * MiB + 10, 3);
  await Deno.writeFile(path, bytes);
  using file = await Deno.open(path, { read: true });
  assert.deepEqual(
    await hashFileBlocks(file, bytes.byteLength, MiB),
    hashBlocks(bytes, MiB),
  );
  assert.deepEqual(
    await hashFileBlocks(file, 2 * MiB, MiB, { start: MiB }),
    hashBlocks(bytes.subarray(MiB, 3 * MiB), MiB),
  );
  assert.deepEqual(
    await hashFileBlocks(file, 2 * MiB, MiB),
    hashBlocks(bytes.subarray(0, 2 * MiB), MiB),
  );
  // Asked for more than the file has: the hashes of what is there.
  assert.deepEqual(
    await hashFileBlocks(file, 8 * MiB, MiB),
    hashBlocks(bytes, MiB),
  );
  await assert.rejects(
    hashFileBlocks(file, MiB, MiB, { start: 5 }),
    RangeError,
  );
  const aborted = AbortSignal.abort(new Error("stop"));
  await assert.rejects(
    hashFileBlocks(file, MiB, MiB, { signal: aborted }),
    /stop/,
  );
});

Deno.test("differingBlocks() names the blocks that differ, and those one list lacks", () => {
  const a = patterned(4 * MiB, 1);
  const b = new Uint8Array(a);
  b[MiB + 5]! ^= 1;
  b[3 * MiB]! ^= 0x80;
  const sa = hashBlocks(a, MiB);
  const sb = hashBlocks(b, MiB);
  assert.deepEqual(differingBlocks(sa, sa), []);
  assert.deepEqual(differingBlocks(sa, sb), [1, 3]);
  assert.deepEqual(differingBlocks(sa, sb.subarray(0, 2 * DIGEST_BYTES)), [
    1,
    2,
    3,
  ]);
  assert.deepEqual(differingBlocks(new Uint8Array(0), sa), [0, 1, 2, 3]);
});

Deno.test("encodeSums() and decodeSums() round-trip, and decodeSums() bounds the text before decoding it", () => {
  const sums = hashBlocks(patterned(3 * MiB), MiB);
  assert.deepEqual(decodeSums(encodeSums(sums)), sums);
  assert.equal(encodeSums(new Uint8Array(0)), "");
  assert.equal(decodeSums("").byteLength, 0);
  assert.throws(() => encodeSums(new Uint8Array(15)), RangeError);
  assert.throws(() => decodeSums("A".repeat(MAX_SUMS_TEXT + 4)), /More than/);
  assert.throws(() => decodeSums("not base64!"), RangeError);
  assert.throws(() => decodeSums(encodeSumsOf(new Uint8Array(15))), RangeError);
  const most = new Uint8Array(MAX_BLOCKS * DIGEST_BYTES);
  assert.equal(decodeSums(encodeSums(most)).byteLength, most.byteLength);
  assert.throws(
    () => decodeSums(encodeSums(new Uint8Array((MAX_BLOCKS + 1) * 16))),
    RangeError,
  );
});

function encodeSumsOf(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

Deno.test("encodeSidecar() and decodeSidecar() round-trip, and decodeSidecar() refuses damaged or inconsistent text", () => {
  const sums = hashBlocks(patterned(2 * MiB + 1), MiB);
  const sidecar = {
    block: MiB,
    length: 2 * MiB + 1,
    sums,
    fields: { name: "a/b.iso", size: 9 * MiB, mtime: 1700000000000 },
  };
  const text = encodeSidecar(sidecar);
  assert.deepEqual(decodeSidecar(text), sidecar);
  const o = JSON.parse(text);
  const bad = [
    "",
    "[]",
    "{",
    JSON.stringify({ ...o, format: "other" }),
    JSON.stringify({ ...o, block: 1000 }),
    JSON.stringify({ ...o, length: 2 * MiB }),
    JSON.stringify({ ...o, length: -1 }),
    JSON.stringify({ ...o, sums: "%%%" }),
    JSON.stringify({ ...o, fields: { x: { y: 1 } } }),
    JSON.stringify({ ...o, fields: null }),
    " ".repeat(2 * MAX_SUMS_TEXT),
  ];
  for (const t of bad) {
    assert.throws(() => decodeSidecar(t), SyntaxError, t.slice(0, 60));
  }
  assert.throws(
    () => encodeSidecar({ ...sidecar, length: 5 }),
    RangeError,
  );
  const unrecorded = { ...sidecar, sums: new Uint8Array(0) };
  assert.deepEqual(decodeSidecar(encodeSidecar(unrecorded)), unrecorded);
});
