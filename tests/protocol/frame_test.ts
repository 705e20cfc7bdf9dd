import assert from "node:assert/strict";
import { FtsError, ProtocolError } from "../../protocol/errors.ts";
import {
  encodeFrame,
  FRAME_VERSION,
  type FrameHeader,
  HEADER_SIZE,
  MAGIC,
  MAX_PAYLOAD,
  parseHeader,
  writeHeader,
} from "../../protocol/frame.ts";

/** A valid header's bytes, to be spoiled one field at a time. */
function headerBytes(header: Partial<FrameHeader> = {}): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  writeHeader(out, { type: 0x30, flags: 0, id: 1, length: 0, ...header });
  return out;
}

function assertProtocolError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `not a ProtocolError: ${error}`);
    assert.ok(error instanceof FtsError);
    assert.equal(error.code, "protocol");
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("frame constants match the header layout of PROTOCOL.md", () => {
  assert.equal(MAGIC, 0x4654);
  assert.equal(FRAME_VERSION, 1);
  assert.equal(HEADER_SIZE, 16);
  assert.equal(MAX_PAYLOAD, 4 * 1024 * 1024);
});

Deno.test("writeHeader() lays the fields out big-endian at their offsets", () => {
  const out = new Uint8Array(HEADER_SIZE);
  writeHeader(out, {
    type: 0x32,
    flags: 0x02,
    id: 0x01020304,
    length: 0x0a0b0c,
  });
  assert.deepEqual(
    [...out],
    [
      0x46,
      0x54, // magic "FT"
      0x01, // version
      0x32, // type
      0x02, // flags
      0x00,
      0x00,
      0x00, // reserved
      0x01,
      0x02,
      0x03,
      0x04, // id
      0x00,
      0x0a,
      0x0b,
      0x0c, // length
    ],
  );
});

Deno.test("writeHeader() writes at the given position and nowhere else", () => {
  const out = new Uint8Array(40).fill(0xee);
  writeHeader(out, { type: 1, flags: 0, id: 7, length: 3 }, 10);
  assert.deepEqual([...out.subarray(0, 10)], new Array(10).fill(0xee));
  assert.deepEqual([...out.subarray(26)], new Array(14).fill(0xee));
  assert.deepEqual(parseHeader(out.subarray(10)), {
    type: 1,
    flags: 0,
    id: 7,
    length: 3,
  });
});

Deno.test("parseHeader() reads back every boundary value writeHeader() accepts", () => {
  for (const type of [0, 0x61, 0xff]) {
    for (const flags of [0, 0x80, 0xff]) {
      for (const id of [0, 1, 0x7fffffff, 0xffffffff]) {
        for (const length of [0, 1, MAX_PAYLOAD]) {
          const header = { type, flags, id, length };
          assert.deepEqual(parseHeader(headerBytes(header)), header);
        }
      }
    }
  }
});

Deno.test("parseHeader() reads a header inside a larger buffer", () => {
  const big = new Uint8Array(100);
  writeHeader(big, { type: 0x21, flags: 1, id: 99, length: 12 }, 33);
  const view = big.subarray(33, 60);
  assert.deepEqual(parseHeader(view), {
    type: 0x21,
    flags: 1,
    id: 99,
    length: 12,
  });
});

Deno.test("writeHeader() refuses fields out of range with RangeError", () => {
  const out = new Uint8Array(HEADER_SIZE);
  const base: FrameHeader = { type: 1, flags: 0, id: 0, length: 0 };
  const bad: Partial<FrameHeader>[] = [
    { type: 256 },
    { type: -1 },
    { type: 1.5 },
    { type: NaN },
    { flags: 256 },
    { flags: -1 },
    { id: -1 },
    { id: 2 ** 32 },
    { id: 0.5 },
    { length: -1 },
    { length: MAX_PAYLOAD + 1 },
    { length: 2 ** 32 },
    { length: 1.5 },
  ];
  for (const fields of bad) {
    assert.throws(
      () => writeHeader(out, { ...base, ...fields }),
      RangeError,
      JSON.stringify(fields),
    );
  }
});

Deno.test("writeHeader() refuses a target with fewer than 16 bytes left", () => {
  const header: FrameHeader = { type: 1, flags: 0, id: 0, length: 0 };
  assert.throws(() => writeHeader(new Uint8Array(15), header), RangeError);
  assert.throws(() => writeHeader(new Uint8Array(20), header, 5), RangeError);
  writeHeader(new Uint8Array(20), header, 4);
});

Deno.test("parseHeader() refuses bad magic with ProtocolError", () => {
  for (const magic of [[0x46, 0x55], [0x54, 0x46], [0, 0], [0xff, 0xff]]) {
    const bytes = headerBytes();
    bytes.set(magic, 0);
    assertProtocolError(() => parseHeader(bytes), /magic/);
  }
});

Deno.test("parseHeader() refuses a peer that speaks HTTP", () => {
  const http = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  assertProtocolError(() => parseHeader(http), /magic/);
});

Deno.test("parseHeader() refuses every frame version but 1", () => {
  for (const version of [0, 2, 0x7f, 0xff]) {
    const bytes = headerBytes();
    bytes[2] = version;
    assertProtocolError(() => parseHeader(bytes), /version/);
  }
});

Deno.test("parseHeader() refuses a non-zero byte in each reserved position", () => {
  for (const at of [5, 6, 7]) {
    for (const value of [1, 0x80, 0xff]) {
      const bytes = headerBytes();
      bytes[at] = value;
      assertProtocolError(() => parseHeader(bytes), /[Rr]eserved/);
    }
  }
});

Deno.test("parseHeader() refuses a length above MAX_PAYLOAD", () => {
  for (const length of [MAX_PAYLOAD + 1, 0x7fffffff, 0xffffffff]) {
    const bytes = headerBytes();
    new DataView(bytes.buffer).setUint32(12, length);
    assertProtocolError(() => parseHeader(bytes), /exceeds/);
  }
});

Deno.test("parseHeader() needs 16 bytes (RangeError, a caller bug)", () => {
  assert.throws(() => parseHeader(headerBytes().subarray(0, 15)), RangeError);
});

Deno.test("encodeFrame() puts the payload right after the header", () => {
  const payload = new Uint8Array([9, 8, 7, 6, 5]);
  const bytes = encodeFrame({ type: 0x32, flags: 2, id: 77, payload });
  assert.equal(bytes.byteLength, HEADER_SIZE + 5);
  assert.deepEqual(parseHeader(bytes), {
    type: 0x32,
    flags: 2,
    id: 77,
    length: 5,
  });
  assert.deepEqual([...bytes.subarray(HEADER_SIZE)], [9, 8, 7, 6, 5]);
});

Deno.test("encodeFrame() accepts MAX_PAYLOAD bytes and refuses one more", () => {
  const max = encodeFrame({
    type: 0x32,
    flags: 0,
    id: 1,
    payload: new Uint8Array(MAX_PAYLOAD),
  });
  assert.equal(max.byteLength, HEADER_SIZE + MAX_PAYLOAD);
  assert.throws(
    () =>
      encodeFrame({
        type: 0x32,
        flags: 0,
        id: 1,
        payload: new Uint8Array(MAX_PAYLOAD + 1),
      }),
    RangeError,
  );
});
