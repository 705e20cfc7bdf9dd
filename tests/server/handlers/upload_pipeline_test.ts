import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { FtsError } from "../../../protocol/errors.ts";
import type { Upload } from "../../../server/storage/storage.ts";
import {
  PIPELINE_MEMORY,
  PIPELINE_MIN_SIZE,
  UploadPipeline,
} from "../../../server/handlers/upload_pipeline.ts";

const CHUNK = 64 * 1024;

/**
 * An upload that records what it is given; each write completes only when
 * the test releases it (or at once with `auto`), so tests control timing.
 */
class FakeUpload implements Upload {
  readonly chunks: Uint8Array[] = [];
  readonly pending: { resolve(): void; reject(e: unknown): void }[] = [];
  auto = false;
  written = 0;

  write(chunk: Uint8Array): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const done = () => {
      // Read the bytes only when the write "happens", as a disk would.
      this.chunks.push(chunk.slice());
      this.written += chunk.byteLength;
      resolve();
    };
    if (this.auto) queueMicrotask(done);
    else this.pending.push({ resolve: done, reject });
    return promise;
  }

  commit(): Promise<string> {
    return Promise.resolve("x");
  }

  abort(): Promise<void> {
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return Promise.resolve();
  }

  get bytes(): Uint8Array {
    const out = new Uint8Array(this.written);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}

function pattern(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + seed * 13) & 0xff;
  return data;
}

/** Resolves after every queued microtask and a macrotask turn. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("UploadPipeline writes and hashes chunks in order even when the caller reuses its buffer", async () => {
  const upload = new FakeUpload();
  upload.auto = true;
  const data = pattern(PIPELINE_MIN_SIZE + 12_345, 1);
  using pipeline = new UploadPipeline(upload, {
    size: data.byteLength,
    chunkSize: CHUNK,
    depth: 3,
  });
  // Like the connection's read buffer: one buffer, overwritten each time.
  const wire = new Uint8Array(CHUNK);
  for (let at = 0; at < data.byteLength; at += CHUNK) {
    const piece = data.subarray(at, at + CHUNK);
    wire.set(piece);
    await pipeline.push(wire.subarray(0, piece.byteLength));
    wire.fill(0xaa);
  }
  const sha256 = await pipeline.finish();
  assert.equal(sha256, createHash("sha256").update(data).digest("hex"));
  assert.deepEqual(upload.bytes, data);
});

Deno.test("UploadPipeline holds at most `depth` chunks in flight (backpressure)", async () => {
  const upload = new FakeUpload();
  using pipeline = new UploadPipeline(upload, {
    size: PIPELINE_MIN_SIZE,
    chunkSize: CHUNK,
    depth: 2,
  });
  const chunk = pattern(CHUNK, 2);
  await pipeline.push(chunk);
  await pipeline.push(chunk);
  let third = false;
  const pushed = pipeline.push(chunk).then(() => third = true);
  await settle();
  assert.equal(third, false, "waits while both slots are being written");
  assert.equal(upload.pending.length, 2);
  upload.pending.shift()!.resolve();
  await pushed;
  assert.equal(third, true);
  for (const p of upload.pending.splice(0)) p.resolve();
  const finished = pipeline.finish();
  await settle();
  for (const p of upload.pending.splice(0)) p.resolve();
  await finished;
  assert.equal(upload.written, 3 * CHUNK);
});

Deno.test("UploadPipeline reports a failed write at the next push or at finish", async () => {
  const upload = new FakeUpload();
  using pipeline = new UploadPipeline(upload, {
    size: PIPELINE_MIN_SIZE,
    chunkSize: CHUNK,
    depth: 2,
  });
  const failure = new FtsError("no_space", "Cannot upload: the disk is full");
  await pipeline.push(pattern(CHUNK, 3));
  upload.pending.shift()!.reject(failure);
  await settle();
  await assert.rejects(pipeline.push(pattern(CHUNK, 4)), failure);
  await assert.rejects(pipeline.finish(), failure);
});

Deno.test("UploadPipeline writes small uploads straight from the caller's buffer, one at a time", async () => {
  const upload = new FakeUpload();
  using pipeline = new UploadPipeline(upload, {
    size: 3 * CHUNK,
    chunkSize: CHUNK,
  });
  const chunk = pattern(CHUNK, 5);
  let done = false;
  const pushed = pipeline.push(chunk).then(() => done = true);
  await settle();
  assert.equal(done, false, "resolves only once the chunk is written");
  upload.pending.shift()!.resolve();
  await pushed;
  assert.equal(await pipeline.finish(), sha(chunk));
  await assert.rejects(pipeline.push(new Uint8Array(CHUNK + 1)), RangeError);
});

Deno.test("UploadPipeline falls back to direct writes beyond the process's slot memory", async () => {
  const options = { size: PIPELINE_MIN_SIZE };
  const greedy = new UploadPipeline(new FakeUpload(), {
    ...options,
    chunkSize: PIPELINE_MEMORY / 2,
    depth: 2,
  });
  /** Whether a push into a fresh pipeline returns before its write ends. */
  async function pipelined(): Promise<boolean> {
    const upload = new FakeUpload();
    using pipeline = new UploadPipeline(upload, {
      ...options,
      chunkSize: CHUNK,
      depth: 2,
    });
    let done = false;
    const pushed = pipeline.push(pattern(CHUNK, 8)).then(() => done = true);
    await settle();
    const early = done;
    upload.pending.shift()!.resolve();
    await pushed;
    await pipeline.finish();
    return early;
  }
  assert.equal(await pipelined(), false, "no memory left: written directly");
  greedy[Symbol.dispose]();
  assert.equal(await pipelined(), true, "memory given back: pipelined");
});

function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
