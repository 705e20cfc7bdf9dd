import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { ChunkCompressor, decompressChunk } from "../../common/compression.ts";
import { ProtocolError } from "../../protocol/errors.ts";

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, i + 65536));
  }
  return out;
}

Deno.test("ChunkCompressor.compress() shrinks text and round-trips", () => {
  const text = new TextEncoder().encode("compressible text ".repeat(60_000))
    .subarray(0, 1 << 20);
  const packed = new ChunkCompressor().compress(text);
  assert.ok(packed !== null && packed.byteLength < text.byteLength / 10);
  const back = decompressChunk(packed, 1 << 20);
  assert.equal(back.byteLength, text.byteLength);
  assert.ok(back.every((b, i) => b === text[i]));
});

Deno.test("ChunkCompressor.compress() sends random data raw and backs off", () => {
  const compressor = new ChunkCompressor();
  const chunk = random(1 << 20);
  const text = new TextEncoder().encode("x".repeat(1 << 20));
  assert.equal(compressor.compress(chunk), null);
  // Skips the test for the next chunk, even a compressible one, then tries again.
  assert.equal(compressor.compress(text), null);
  assert.notEqual(compressor.compress(text), null);
  assert.equal(compressor.compressed, 1);
});

Deno.test("decompressChunk() refuses garbage and output beyond the limit", () => {
  assert.throws(
    () => decompressChunk(new Uint8Array([1, 2, 3, 4, 5]), 1024),
    ProtocolError,
  );
  const bomb = zlib.zstdCompressSync(new Uint8Array(8 << 20));
  assert.throws(
    () => decompressChunk(bomb, 1 << 20),
    /decompresses to more than 1048576/,
  );
});

Deno.test("ChunkCompressor.compress() sends raw a chunk that would save less than 1/16", () => {
  // Half random, half zeros: compresses to about half. Random with a few
  // zero runs: shrinks by well under 1/16, not worth the peer's work.
  const half = random(1 << 20);
  half.fill(0, 1 << 19);
  const packed = new ChunkCompressor().compress(half);
  assert.ok(packed !== null && packed.byteLength < 0.6 * half.byteLength);
  const little = random(1 << 20);
  for (let at = 0; at < little.byteLength; at += 64 * 1024) {
    little.fill(0, at, at + 2 * 1024);
  }
  const plain = zlib.zstdCompressSync(little);
  assert.ok(plain.byteLength < little.byteLength, "zstd alone shrinks it");
  const result = new ChunkCompressor().compress(little);
  assert.equal(result?.byteLength ?? "raw", "raw");
});

Deno.test("ChunkCompressor compresses text on a link slower than compressing, every chunk", () => {
  const slowLink = { drainRate: 1 }; // 1 byte per millisecond
  const compressor = new ChunkCompressor(slowLink);
  const text = new TextEncoder().encode("a line of a log file\n".repeat(60_000))
    .subarray(0, 1 << 20);
  for (let i = 0; i < 4; i++) {
    assert.notEqual(compressor.compress(text), null, `chunk ${i}`);
  }
  assert.equal(compressor.compressed, 4);
});

Deno.test("ChunkCompressor sends text raw on a link faster than compressing, for every file of the connection", () => {
  let drainRate: number | null = null;
  const link = {
    get drainRate() {
      return drainRate;
    },
  };
  const text = new TextEncoder().encode("a line of a log file\n".repeat(60_000))
    .subarray(0, 1 << 20);
  const first = new ChunkCompressor(link);
  // Nothing written yet: the link's speed is unknown, so it compresses,
  // and learns how fast it compresses.
  assert.notEqual(first.compress(text), null);
  drainRate = 1e9; // a terabyte per second
  assert.equal(first.compress(text), null);
  // The next file on the same connection knows the speed already.
  assert.equal(new ChunkCompressor(link).compress(text), null);
  // Another connection learns on its own.
  assert.notEqual(new ChunkCompressor({ drainRate: 1e9 }).compress(text), null);
  // The link slows down: compressing pays again.
  drainRate = 1;
  assert.notEqual(first.compress(text), null);
});

Deno.test("ChunkCompressor keeps compressing a link that raw chunks showed slow, though compressed writes make it look fast", () => {
  let drainRate: number | null = null;
  const link = {
    get drainRate() {
      return drainRate;
    },
  };
  const text = new TextEncoder().encode("a line of a log file\n".repeat(60_000))
    .subarray(0, 1 << 20);
  const compressor = new ChunkCompressor(link);
  assert.notEqual(compressor.compress(text), null); // learns its speed
  // Writes that fit the empty buffers look fast: raw.
  drainRate = 1e9;
  assert.equal(compressor.compress(text), null);
  // The buffers filled: raw chunks drain at the link's rate.
  drainRate = 1;
  assert.notEqual(compressor.compress(text), null);
  // Compressed chunks no longer fill the buffers, so writes look fast
  // again; the link has not changed, and compressing still pays.
  drainRate = 1e9;
  for (let i = 0; i < 20; i++) {
    assert.notEqual(compressor.compress(text), null, `chunk ${i}`);
  }
  // The same for the next file on the connection.
  assert.notEqual(new ChunkCompressor(link).compress(text), null);
});

Deno.test("ChunkCompressor measures the link again with raw chunks after a while", () => {
  let drainRate: number | null = null;
  const link = {
    get drainRate() {
      return drainRate;
    },
  };
  const text = new TextEncoder().encode("a line of a log file\n".repeat(60_000))
    .subarray(0, 1 << 20);
  const compressor = new ChunkCompressor(link);
  assert.notEqual(compressor.compress(text), null);
  drainRate = 1e9;
  assert.equal(compressor.compress(text), null);
  // Just slower than half the compressor's speed (bytes per millisecond).
  drainRate = 1;
  assert.notEqual(compressor.compress(text), null);
  // The link became fast (it was the peer that was slow): the remembered
  // rate rises by 2 % a chunk until raw chunks are tried again.
  drainRate = 1e9;
  let chunks = 0;
  while (compressor.compress(text) !== null) {
    chunks++;
    assert.ok(chunks < 2000, "never tried raw again");
  }
  assert.ok(chunks > 100, `tried raw again after ${chunks} chunks`);
});
