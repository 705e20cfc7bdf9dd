import assert from "node:assert/strict";
import { LineReader } from "../../common/line_reader.ts";

/** A stream that delivers `chunks` as they are, split where they are split. */
function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(chunks.map((c) => encoder.encode(c)));
}

Deno.test("LineReader.readLine() joins lines split across chunks and drops \\n and \\r\\n", async () => {
  using lines = new LineReader(streamOf("al", "pha\r\nbe", "ta\n\nga", "mmä"), {
    maxBytes: 64,
  });
  assert.equal(await lines.readLine(), "alpha");
  assert.equal(await lines.readLine(), "beta");
  assert.equal(await lines.readLine(), "");
  assert.equal(await lines.readLine(), "gammä");
  assert.equal(await lines.readLine(), null);
  assert.equal(await lines.readLine(), null);
});

Deno.test("LineReader.readLine() refuses a line over the limit and goes on with the next one", async () => {
  using lines = new LineReader(
    streamOf("short\n", "x".repeat(10), "y".repeat(10), "zz\nnext\n"),
    { maxBytes: 8 },
  );
  assert.equal(await lines.readLine(), "short");
  await assert.rejects(lines.readLine(), RangeError);
  assert.equal(await lines.readLine(), "next");
  assert.equal(await lines.readLine(), null);
});

Deno.test("LineReader.readKeys() feeds bytes until the key says done and keeps the rest", async () => {
  using lines = new LineReader(streamOf("ab", "c\rdef\n"), { maxBytes: 64 });
  const seen: number[] = [];
  assert.equal(await lines.readKeys((b) => (seen.push(b), b === 0x0d)), true);
  assert.deepEqual(String.fromCharCode(...seen), "abc\r");
  assert.equal(await lines.readLine(), "def");
  assert.equal(await lines.readKeys(() => false), false);
});

Deno.test("LineReader ends the input when the stream fails or is cancelled", async () => {
  const failing = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("gone"));
    },
  });
  using broken = new LineReader(failing, { maxBytes: 8 });
  assert.equal(await broken.readLine(), null);
  const { readable } = new TransformStream<Uint8Array, Uint8Array>();
  using waiting = new LineReader(readable, { maxBytes: 8 });
  const pending = waiting.readLine();
  await waiting.cancel();
  assert.equal(await pending, null);
});

Deno.test("LineReader.readChunk() hands over the bytes read ahead, then each chunk as it came", async () => {
  using lines = new LineReader(streamOf("one\ntw", "", "o", "three"), {
    maxBytes: 64,
  });
  const decoder = new TextDecoder();
  assert.equal(await lines.readLine(), "one");
  assert.equal(decoder.decode((await lines.readChunk())!), "tw");
  assert.equal(decoder.decode((await lines.readChunk())!), "o");
  assert.equal(await lines.readLine(), "three");
  assert.equal(await lines.readChunk(), null);
});
