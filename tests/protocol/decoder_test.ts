import assert from "node:assert/strict";
import { FrameDecoder } from "../../protocol/decoder.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import {
  encodeFrame,
  type Frame,
  HEADER_SIZE,
  MAX_PAYLOAD,
  writeHeader,
} from "../../protocol/frame.ts";
import { decodeMessage, encodeMessage } from "../../protocol/messages.ts";
import { EXAMPLE_LIST, seeded } from "./_examples.ts";

const MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD;
const INITIAL_CAPACITY = new FrameDecoder().capacity;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** A frame whose payload bytes all differ from their neighbours'. */
function patternFrame(id: number, length: number): Uint8Array {
  const payload = new Uint8Array(length);
  for (let i = 0; i < length; i++) payload[i] = (i * 31 + id) & 0xff;
  return encodeFrame({ type: 0x32, flags: 0, id, payload });
}

/** Copies a frame out of the decoder (its payload is only a view). */
function copy(frame: Frame): Frame {
  return { ...frame, payload: frame.payload.slice() };
}

function drain(decoder: FrameDecoder, into: Frame[]): void {
  for (let f = decoder.next(); f; f = decoder.next()) into.push(copy(f));
}

const STREAM = concat(EXAMPLE_LIST.map(encodeMessage));

Deno.test("FrameDecoder.next() returns null until a whole header has arrived", () => {
  const decoder = new FrameDecoder();
  assert.equal(decoder.next(), null);
  const frame = encodeMessage(EXAMPLE_LIST[0]!);
  for (let i = 0; i < HEADER_SIZE; i++) {
    decoder.push(frame.subarray(i, i + 1));
    assert.equal(decoder.next(), null);
    assert.equal(decoder.buffered, i + 1);
  }
});

Deno.test("FrameDecoder.push() joins frames split byte by byte", () => {
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  const ends: number[] = [];
  for (let i = 0; i < STREAM.byteLength; i++) {
    decoder.push(STREAM.subarray(i, i + 1));
    const before = frames.length;
    drain(decoder, frames);
    if (frames.length > before) ends.push(i + 1);
  }
  assert.deepEqual(frames.map(decodeMessage), EXAMPLE_LIST);
  // Each frame appears as soon as its last byte arrives, not later.
  let end = 0;
  const expectedEnds = EXAMPLE_LIST.map((m) =>
    end += encodeMessage(m).byteLength
  );
  assert.deepEqual(ends, expectedEnds);
  assert.equal(decoder.buffered, 0);
});

Deno.test("FrameDecoder.push() splits every message type out of one chunk", () => {
  const decoder = new FrameDecoder();
  decoder.push(STREAM);
  const frames: Frame[] = [];
  drain(decoder, frames);
  assert.deepEqual(frames.map(decodeMessage), EXAMPLE_LIST);
  assert.equal(decoder.buffered, 0);
});

Deno.test("FrameDecoder.push() decodes two frames cut at every possible point", () => {
  const a = encodeMessage(EXAMPLE_LIST[1]!);
  const b = encodeMessage(EXAMPLE_LIST[10]!);
  const both = concat([a, b]);
  for (let cut = 0; cut <= both.byteLength; cut++) {
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    decoder.push(both.subarray(0, cut));
    drain(decoder, frames);
    decoder.push(both.subarray(cut));
    drain(decoder, frames);
    assert.deepEqual(
      frames.map(decodeMessage),
      [EXAMPLE_LIST[1], EXAMPLE_LIST[10]],
      `cut at ${cut}`,
    );
  }
});

Deno.test("FrameDecoder payloads from one push stay valid until the next push", () => {
  const decoder = new FrameDecoder(64);
  decoder.push(concat([patternFrame(1, 40), patternFrame(2, 40)]));
  const first = decoder.next();
  const second = decoder.next();
  assert.ok(first && second);
  assert.deepEqual(first.payload, patternFrame(1, 40).subarray(HEADER_SIZE));
  assert.deepEqual(second.payload, patternFrame(2, 40).subarray(HEADER_SIZE));
  assert.equal(decoder.next(), null);
});

Deno.test("FrameDecoder.push() of one chunk holding several large frames keeps every byte", () => {
  const sizes = [2 * 1024 * 1024, MAX_PAYLOAD, 3, 2 * 1024 * 1024];
  const frames = sizes.map((n, i) => patternFrame(i + 1, n));
  const decoder = new FrameDecoder();
  decoder.push(concat(frames));
  for (const expected of frames) {
    const frame = decoder.next();
    assert.ok(frame);
    assert.ok(
      frame.payload.every((b, i) => b === expected[HEADER_SIZE + i]),
      `frame ${frame.id} payload`,
    );
    assert.equal(frame.payload.byteLength, expected.byteLength - HEADER_SIZE);
  }
  assert.equal(decoder.next(), null);
});

Deno.test("FrameDecoder.writable() and commit() fill the decoder's buffer without a copy", () => {
  const decoder = new FrameDecoder();
  const bytes = patternFrame(5, 1000);
  let at = 0;
  let space = decoder.writable();
  while (at < bytes.byteLength) {
    space = decoder.writable();
    const n = Math.min(space.byteLength, 300, bytes.byteLength - at);
    space.set(bytes.subarray(at, at + n));
    decoder.commit(n);
    at += n;
  }
  const frame = decoder.next();
  assert.ok(frame);
  // The payload is a view into the very memory the reader wrote into.
  assert.equal(frame.payload.buffer, space.buffer);
  assert.deepEqual(frame.payload, bytes.subarray(HEADER_SIZE));
});

Deno.test("FrameDecoder.writable() makes room for the whole frame once its header is in", () => {
  const decoder = new FrameDecoder();
  const bytes = patternFrame(9, 3 * 1024 * 1024);
  decoder.writable().set(bytes.subarray(0, HEADER_SIZE));
  decoder.commit(HEADER_SIZE);
  const space = decoder.writable();
  assert.ok(space.byteLength >= bytes.byteLength - HEADER_SIZE);
  space.set(bytes.subarray(HEADER_SIZE));
  decoder.commit(bytes.byteLength - HEADER_SIZE);
  const frame = decoder.next();
  assert.ok(frame);
  assert.equal(frame.id, 9);
  assert.deepEqual(frame.payload, bytes.subarray(HEADER_SIZE));
  assert.ok(decoder.capacity <= MAX_FRAME);
});

Deno.test("FrameDecoder.commit() refuses counts writable() did not offer", () => {
  const decoder = new FrameDecoder(64);
  const space = decoder.writable();
  for (const n of [-1, 1.5, NaN, space.byteLength + 1]) {
    assert.throws(() => decoder.commit(n), RangeError, String(n));
  }
  decoder.commit(space.byteLength);
  assert.equal(decoder.buffered, space.byteLength);
});

Deno.test("FrameDecoder yields no frame from truncated input", () => {
  for (const message of EXAMPLE_LIST) {
    const bytes = encodeMessage(message);
    const decoder = new FrameDecoder();
    decoder.push(bytes.subarray(0, bytes.byteLength - 1));
    assert.equal(decoder.next(), null, message.type);
    assert.equal(decoder.buffered, bytes.byteLength - 1);
    decoder.push(bytes.subarray(bytes.byteLength - 1));
    const frame = decoder.next();
    assert.ok(frame, message.type);
    assert.deepEqual(decodeMessage(frame), message);
  }
});

Deno.test("FrameDecoder refuses an oversized length before allocating for it", () => {
  for (const length of [MAX_PAYLOAD + 1, 0xffffffff]) {
    const header = new Uint8Array(HEADER_SIZE);
    writeHeader(header, { type: 0x32, flags: 0, id: 1, length: 0 });
    new DataView(header.buffer).setUint32(12, length);

    // Copying path: the header alone, then next().
    const pushed = new FrameDecoder();
    pushed.push(header);
    assert.throws(() => pushed.next(), ProtocolError);
    assert.equal(pushed.capacity, INITIAL_CAPACITY);

    // Copying path: the header followed by more bytes than the buffer holds.
    const flooded = new FrameDecoder();
    assert.throws(
      () => flooded.push(concat([header, new Uint8Array(200_000)])),
      ProtocolError,
    );
    assert.equal(flooded.capacity, INITIAL_CAPACITY);

    // Zero-copy path: the next writable() must not make room for the frame.
    const zeroCopy = new FrameDecoder();
    zeroCopy.writable().set(header);
    zeroCopy.commit(HEADER_SIZE);
    assert.throws(() => zeroCopy.writable(), ProtocolError);
    assert.throws(() => zeroCopy.next(), ProtocolError);
    assert.equal(zeroCopy.capacity, INITIAL_CAPACITY);
  }
});

Deno.test("FrameDecoder.next() refuses bad magic, version and reserved bytes", () => {
  const good = encodeMessage(EXAMPLE_LIST[0]!);
  const spoil: [number, number, RegExp][] = [
    [0, 0x47, /magic/],
    [1, 0x00, /magic/],
    [2, 0x02, /version/],
    [2, 0x00, /version/],
    [5, 0x01, /[Rr]eserved/],
    [6, 0x01, /[Rr]eserved/],
    [7, 0x01, /[Rr]eserved/],
  ];
  for (const [at, value, pattern] of spoil) {
    const bytes = good.slice();
    bytes[at] = value;
    const decoder = new FrameDecoder();
    decoder.push(bytes);
    assert.throws(() => decoder.next(), (error: unknown) => {
      assert.ok(error instanceof ProtocolError);
      assert.match(error.message, pattern);
      return true;
    });
  }
});

Deno.test("FrameDecoder stays within HEADER_SIZE + MAX_PAYLOAD (plus one pushed chunk) when frames are taken as they complete", () => {
  const frames = [
    patternFrame(1, MAX_PAYLOAD),
    patternFrame(2, 10),
    patternFrame(3, MAX_PAYLOAD),
    patternFrame(4, 1024 * 1024 + 8),
    patternFrame(5, MAX_PAYLOAD),
  ];
  const stream = concat(frames);
  const random = seeded(42);
  for (const mode of ["push", "writable"] as const) {
    const decoder = new FrameDecoder();
    const got: Frame[] = [];
    let at = 0;
    let largest = 0;
    let largestChunk = 0;
    while (at < stream.byteLength) {
      // Reads of 1 byte to 64 KiB, as a TCP or TLS socket delivers them.
      const want = 1 + Math.floor(random() * 64 * 1024);
      const n = Math.min(want, stream.byteLength - at);
      largestChunk = Math.max(largestChunk, n);
      if (mode === "push") {
        decoder.push(stream.subarray(at, at + n));
        at += n;
      } else {
        const space = decoder.writable();
        const m = Math.min(n, space.byteLength);
        space.set(stream.subarray(at, at + m));
        decoder.commit(m);
        at += m;
      }
      largest = Math.max(largest, decoder.capacity);
      drain(decoder, got);
    }
    // writable() never needs more than one frame; push() also holds the rest
    // of a chunk that ran past a frame not taken yet.
    const bound = mode === "writable" ? MAX_FRAME : MAX_FRAME + largestChunk;
    assert.ok(largest <= bound, `${mode}: capacity reached ${largest}`);
    assert.deepEqual(got.map((f) => f.id), [1, 2, 3, 4, 5], mode);
    for (const [i, frame] of got.entries()) {
      assert.deepEqual(frame.payload, frames[i]!.subarray(HEADER_SIZE), mode);
    }
  }
});

Deno.test("FrameDecoder refuses a capacity that is not a positive integer", () => {
  for (const capacity of [0, -1, 1.5, NaN]) {
    assert.throws(() => new FrameDecoder(capacity), RangeError, `${capacity}`);
  }
  assert.equal(new FrameDecoder(MAX_FRAME * 4).capacity, MAX_FRAME);
});

Deno.test("FrameDecoder grows from a one-byte buffer to any frame", () => {
  const decoder = new FrameDecoder(1);
  decoder.push(STREAM);
  const frames: Frame[] = [];
  drain(decoder, frames);
  assert.deepEqual(frames.map(decodeMessage), EXAMPLE_LIST);
});
