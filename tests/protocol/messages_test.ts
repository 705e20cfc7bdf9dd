import assert from "node:assert/strict";
import { base64 } from "@scure/base";
import { FrameDecoder } from "../../protocol/decoder.ts";
import { ERROR_CODES, ProtocolError } from "../../protocol/errors.ts";
import {
  encodeFrame,
  type Frame,
  HEADER_SIZE,
  MAX_PAYLOAD,
  parseHeader,
} from "../../protocol/frame.ts";
import {
  DATA_PREFIX,
  decodeMessage,
  DEFAULT_CHUNK,
  encodeMessage,
  FLAG_MORE,
  FLAG_ZSTD,
  KNOWN_FEATURES,
  MAX_SUMS,
  type Message,
  type MessageType,
  MSG,
  PROTOCOL_VERSION,
  tagOf,
  typeOfTag,
  writeDataPrefix,
} from "../../protocol/messages.ts";
import {
  EXAMPLE_LIST,
  EXAMPLE_SHA256,
  EXAMPLE_XXH128,
  EXAMPLES,
  seeded,
} from "./_examples.ts";

const utf8 = new TextEncoder();

/** Encodes, frames through a FrameDecoder, and decodes `message`. */
function roundTrip(message: Message): Message {
  const decoder = new FrameDecoder();
  decoder.push(encodeMessage(message));
  const frame = decoder.next();
  assert.ok(frame, `no frame for ${message.type}`);
  assert.equal(decoder.next(), null);
  assert.equal(decoder.buffered, 0);
  return decodeMessage(frame);
}

/** A frame of `type` whose payload is `json` as written (not re-encoded). */
function jsonFrame(type: MessageType, json: string, flags = 0): Frame {
  return { type: tagOf(type), flags, id: 1, payload: utf8.encode(json) };
}

function dataFrame(offset: bigint, chunk: number[], flags = 0): Frame {
  const payload = new Uint8Array(8 + chunk.length);
  new DataView(payload.buffer).setBigUint64(0, offset);
  payload.set(chunk, 8);
  return { type: MSG.DATA, flags, id: 1, payload };
}

function assertRefused(frame: Frame, label: string): void {
  assert.throws(() => decodeMessage(frame), (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `${label}: got ${error}`);
    assert.equal(error.code, "protocol");
    return true;
  }, label);
}

Deno.test("message constants are the ones PROTOCOL.md describes", () => {
  assert.equal(PROTOCOL_VERSION, 1);
  assert.deepEqual([...KNOWN_FEATURES], [
    "zstd",
    "mode",
    "usage",
    "pull",
    "sums",
    "resume",
    "xxh128",
  ]);
  assert.equal(DATA_PREFIX, HEADER_SIZE + 8);
  assert.equal(DEFAULT_CHUNK, 1024 * 1024);
  assert.equal(FLAG_MORE, 0x01);
  assert.equal(FLAG_ZSTD, 0x02);
});

Deno.test("tagOf() and typeOfTag() are inverse over the whole tag table", () => {
  const tags = Object.values(MSG);
  assert.equal(new Set(tags).size, tags.length, "tags are unique");
  assert.equal(tags.length, Object.keys(EXAMPLES).length);
  for (const [name, tag] of Object.entries(MSG)) {
    const type = typeOfTag(tag);
    assert.equal(type, name.toLowerCase());
    assert.equal(tagOf(type!), tag);
  }
  for (let tag = 0; tag < 256; tag++) {
    if (!tags.includes(tag as never)) assert.equal(typeOfTag(tag), undefined);
  }
});

Deno.test("encodeMessage() and decodeMessage() round-trip every message type", () => {
  for (const message of EXAMPLE_LIST) {
    assert.deepEqual(roundTrip(message), message, message.type);
  }
});

Deno.test("encodeMessage() puts the message's tag and id in the header", () => {
  for (const message of EXAMPLE_LIST) {
    const header = parseHeader(encodeMessage(message));
    assert.equal(header.type, tagOf(message.type), message.type);
    assert.equal(header.id, message.id, message.type);
  }
});

Deno.test("every message round-trips with optional fields absent or present and edge values", () => {
  const big = 2 ** 53 - 1;
  const fiveGiB = 5 * 1024 ** 3;
  const variants: Message[] = [
    { type: "hello", id: 0, versions: [], features: [], agent: "" },
    {
      type: "hello",
      id: 0,
      versions: [1, 2, 7],
      features: ["zstd", "resume", "x-future"],
      agent: 'fts "dev" \\ \n ünïcödé 🎉',
    },
    {
      type: "welcome",
      id: 0,
      version: 1,
      features: [],
      agent: "s",
      auth: true,
      chunkSize: 1,
    },
    {
      type: "welcome",
      id: 0,
      version: 1,
      features: ["zstd"],
      agent: "s",
      auth: false,
      chunkSize: MAX_PAYLOAD - 8,
    },
    {
      type: "welcome",
      id: 0,
      version: 1,
      features: [],
      agent: "s",
      auth: false,
      chunkSize: 1,
      uploads: 1,
    },
    { type: "ok", id: 9 },
    { type: "ok", id: 0, perms: [] },
    ...ERROR_CODES.map((code, i): Message => ({
      type: "error",
      id: i,
      code,
      message: `Cannot do "x": ${code}`,
    })),
    { type: "list", id: 0xffffffff, path: "docs/Relatório 2024" },
    { type: "entries", id: 3, entries: [], more: false },
    {
      type: "entries",
      id: 3,
      entries: [{ name: "日本語 🎉.txt", type: "file", size: big, mtime: 0 }],
      more: false,
    },
    {
      type: "entries",
      id: 3,
      entries: [
        { name: "a.age", type: "file", size: 205, mtime: 1, encrypted: true },
        { name: "b", type: "file", size: 0, mtime: 1, encrypted: false },
      ],
      more: false,
    },
    { type: "put", id: 4, name: "big.iso", size: fiveGiB, overwrite: true },
    { type: "put", id: 4, name: "empty", size: 0, overwrite: false, mtime: 0 },
    { type: "put_ready", id: 4, offset: big },
    { type: "data", id: 4, offset: big, bytes: new Uint8Array(), zstd: true },
    {
      type: "data",
      id: 4,
      offset: fiveGiB,
      bytes: new Uint8Array([0, 255, 1]),
      zstd: false,
    },
    {
      type: "put_done",
      id: 4,
      name: "(2) big.iso",
      size: fiveGiB,
      sha256: "0".repeat(64),
    },
    { type: "get", id: 5, name: "a", offset: fiveGiB },
    { type: "get", id: 5, name: "a", offset: fiveGiB, length: fiveGiB },
    { type: "get_ready", id: 5, name: "a", size: 0, mtime: big },
    { type: "delete", id: 6, name: "a", expect: { size: fiveGiB, mtime: 1 } },
    { type: "rename", id: 7, from: "a", to: "b", overwrite: true },
    {
      type: "rename",
      id: 7,
      from: "a",
      to: "b",
      overwrite: false,
      expect: { size: 0, mtime: 0 },
    },
    { type: "shutdown", id: 8, graceMs: 0 },
    { type: "going_away", id: 0, graceMs: big, reason: "" },
    { type: "auth", id: 0, user: "", password: 'p\u0000ss"word' },
  ];
  for (const message of variants) {
    assert.deepEqual(roundTrip(message), message, JSON.stringify(message.type));
  }
});

Deno.test("encodeMessage() writes JSON keys in ascending order at every level", () => {
  function check(value: unknown, path: string): void {
    if (Array.isArray(value)) {
      value.forEach((v, i) => check(v, `${path}[${i}]`));
    } else if (typeof value === "object" && value !== null) {
      const keys = Object.keys(value);
      assert.deepEqual(keys, [...keys].sort(), path);
      for (const k of keys) {
        check((value as Record<string, unknown>)[k], `${path}.${k}`);
      }
    }
  }
  for (const message of EXAMPLE_LIST) {
    if (message.type === "data") continue;
    const payload = encodeMessage(message).subarray(HEADER_SIZE);
    check(JSON.parse(new TextDecoder().decode(payload)), message.type);
  }
});

Deno.test("encodeMessage() carries ENTRIES' more and DATA's zstd as flags, not JSON", () => {
  const entries = EXAMPLES.entries;
  const more = encodeMessage({ ...entries, more: true });
  const last = encodeMessage({ ...entries, more: false });
  assert.equal(parseHeader(more).flags, FLAG_MORE);
  assert.equal(parseHeader(last).flags, 0);
  assert.deepEqual(more.subarray(HEADER_SIZE), last.subarray(HEADER_SIZE));
  assert.doesNotMatch(new TextDecoder().decode(more), /"more"/);

  const data = EXAMPLES.data;
  assert.equal(
    parseHeader(encodeMessage({ ...data, zstd: true })).flags,
    FLAG_ZSTD,
  );
  assert.equal(parseHeader(encodeMessage({ ...data, zstd: false })).flags, 0);
  for (const message of EXAMPLE_LIST) {
    if (message.type === "entries" || message.type === "data") continue;
    assert.equal(parseHeader(encodeMessage(message)).flags, 0, message.type);
  }
});

Deno.test("encodeMessage() refuses a DATA chunk that would not fit in MAX_PAYLOAD", () => {
  const fits = encodeMessage({
    type: "data",
    id: 1,
    offset: 0,
    bytes: new Uint8Array(MAX_PAYLOAD - 8),
    zstd: false,
  });
  assert.equal(fits.byteLength, HEADER_SIZE + MAX_PAYLOAD);
  assert.throws(
    () =>
      encodeMessage({
        type: "data",
        id: 1,
        offset: 0,
        bytes: new Uint8Array(MAX_PAYLOAD - 7),
        zstd: false,
      }),
    RangeError,
  );
});

Deno.test("writeDataPrefix() lets a sender read a chunk in place and send it as one DATA frame", () => {
  const chunk = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
  const buf = new Uint8Array(DATA_PREFIX + 4096).fill(0xaa);
  buf.set(chunk, DATA_PREFIX); // as if a file read landed there
  writeDataPrefix(buf, 42, 5 * 1024 ** 3, chunk.byteLength);
  const frame = buf.subarray(0, DATA_PREFIX + chunk.byteLength);
  const expected = encodeMessage({
    type: "data",
    id: 42,
    offset: 5 * 1024 ** 3,
    bytes: chunk,
    zstd: false,
  });
  assert.deepEqual(frame, expected);

  writeDataPrefix(buf, 42, 0, chunk.byteLength, { zstd: true });
  assert.equal(parseHeader(buf).flags, FLAG_ZSTD);
});

Deno.test("writeDataPrefix() refuses a bad offset, length or buffer with RangeError", () => {
  const buf = new Uint8Array(DATA_PREFIX);
  for (const offset of [-1, 0.5, 2 ** 53, NaN]) {
    assert.throws(
      () => writeDataPrefix(buf, 1, offset, 0),
      RangeError,
      `${offset}`,
    );
  }
  assert.throws(() => writeDataPrefix(buf, 1, 0, MAX_PAYLOAD - 7), RangeError);
  assert.throws(() => writeDataPrefix(buf, 2 ** 32, 0, 0), RangeError);
  assert.throws(
    () => writeDataPrefix(new Uint8Array(DATA_PREFIX - 1), 1, 0, 0),
    RangeError,
  );
});

Deno.test("decodeMessage() refuses every unknown type tag", () => {
  const known = new Set<number>(Object.values(MSG));
  for (let tag = 0; tag < 256; tag++) {
    if (known.has(tag)) continue;
    assertRefused(
      { type: tag, flags: 0, id: 1, payload: utf8.encode("{}") },
      `tag ${tag}`,
    );
  }
});

Deno.test("decodeMessage() refuses every flag a type does not define", () => {
  for (const message of EXAMPLE_LIST) {
    const bytes = encodeMessage(message);
    const base = parseHeader(bytes);
    const payload = bytes.subarray(HEADER_SIZE);
    const allowed = message.type === "entries"
      ? FLAG_MORE
      : message.type === "data"
      ? FLAG_ZSTD
      : 0;
    for (let bit = 0; bit < 8; bit++) {
      const flag = 1 << bit;
      const frame = { type: base.type, flags: flag, id: base.id, payload };
      if (flag & allowed) decodeMessage(frame);
      else assertRefused(frame, `${message.type} flag ${flag}`);
    }
  }
});

Deno.test("decodeMessage() refuses payloads that are not one UTF-8 JSON object", () => {
  const bad: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["truncated", utf8.encode('{"path":""')],
    ["trailing garbage", utf8.encode('{"path":""}x')],
    ["null", utf8.encode("null")],
    ["array", utf8.encode('[{"path":""}]')],
    ["number", utf8.encode("42")],
    ["string", utf8.encode('"path"')],
    [
      "invalid UTF-8",
      new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
    ],
    [
      "cut UTF-8",
      new Uint8Array([
        0x7b,
        0x22,
        0x70,
        0x61,
        0x74,
        0x68,
        0x22,
        0x3a,
        0x22,
        0xc3,
        0x22,
        0x7d,
      ]),
    ],
  ];
  for (const type of ["list", "ping", "cancel"] as const) {
    for (const [label, payload] of bad) {
      assertRefused(
        { type: tagOf(type), flags: 0, id: 1, payload },
        `${type}: ${label}`,
      );
    }
  }
});

Deno.test("decodeMessage() refuses missing fields and fields of the wrong type", () => {
  const sha = `"${EXAMPLE_SHA256}"`;
  const cases: [MessageType, string][] = [
    ["hello", '{"agent":"a","features":[]}'],
    ["hello", '{"agent":"a","features":[],"versions":"1"}'],
    ["hello", '{"agent":"a","features":[],"versions":[-1]}'],
    ["hello", '{"agent":"a","features":[],"versions":[1.5]}'],
    ["hello", '{"agent":"a","features":[1],"versions":[1]}'],
    ["hello", '{"agent":null,"features":[],"versions":[1]}'],
    [
      "welcome",
      '{"agent":"s","auth":1,"chunkSize":1048576,"features":[],"version":1}',
    ],
    [
      "welcome",
      '{"agent":"s","auth":false,"chunkSize":0,"features":[],"version":1}',
    ],
    [
      "welcome",
      '{"agent":"s","auth":false,"chunkSize":4194297,"features":[],"version":1}',
    ],
    [
      "welcome",
      '{"agent":"s","auth":false,"chunkSize":1048576,"features":"zstd","version":1}',
    ],
    ["welcome", '{"agent":"s","auth":false,"chunkSize":1048576,"features":[]}'],
    [
      "welcome",
      '{"agent":"s","auth":false,"chunkSize":1048576,"features":[],"uploads":0,"version":1}',
    ],
    [
      "welcome",
      '{"agent":"s","auth":false,"chunkSize":1048576,"features":[],"uploads":"8","version":1}',
    ],
    ["auth", '{"user":"u"}'],
    ["auth", '{"password":1,"user":"u"}'],
    ["going_away", '{"graceMs":"30","reason":""}'],
    ["going_away", '{"graceMs":-1,"reason":""}'],
    ["ok", '{"perms":"read"}'],
    ["ok", '{"perms":null}'],
    ["ok", '{"perms":[1]}'],
    ["error", '{"message":"m"}'],
    ["error", '{"code":"io"}'],
    ["error", '{"code":"io","message":null}'],
    ["list", "{}"],
    ["list", '{"path":null}'],
    ["entries", "{}"],
    ["entries", '{"entries":{}}'],
    ["entries", '{"entries":[null]}'],
    ["entries", '{"entries":["a.txt"]}'],
    ["entries", '{"entries":[{"mtime":0,"name":"a","size":0,"type":"link"}]}'],
    ["entries", '{"entries":[{"mtime":0,"name":"a","size":-1,"type":"file"}]}'],
    ["entries", '{"entries":[{"mtime":0,"size":0,"type":"file"}]}'],
    [
      "entries",
      '{"entries":[{"mtime":0.5,"name":"a","size":0,"type":"file"}]}',
    ],
    [
      "entries",
      '{"entries":[{"encrypted":"yes","mtime":0,"name":"a","size":0,"type":"file"}]}',
    ],
    [
      "entries",
      '{"entries":[{"encrypted":null,"mtime":0,"name":"a","size":0,"type":"file"}]}',
    ],
    ["put", '{"name":"a","overwrite":false,"size":"5"}'],
    ["put", '{"name":"a","overwrite":false,"size":-5}'],
    ["put", '{"name":"a","overwrite":false,"size":5.5}'],
    ["put", '{"name":"a","overwrite":false,"size":9007199254740992}'],
    ["put", '{"name":"a","overwrite":false,"size":1e400}'],
    ["put", '{"name":"a","overwrite":"false","size":5}'],
    ["put", '{"name":5,"overwrite":false,"size":5}'],
    ["put", '{"mtime":null,"name":"a","overwrite":false,"size":5}'],
    ["put", '{"mtime":-1,"name":"a","overwrite":false,"size":5}'],
    ["put_ready", "{}"],
    ["put_ready", '{"offset":true}'],
    ["put_done", `{"name":"a","sha256":${sha}}`],
    ["put_done", `{"name":"a","sha256":${sha},"size":null}`],
    ["get", '{"name":"a"}'],
    ["get", '{"name":"a","offset":0,"expect":null}'],
    ["get", '{"name":"a","offset":0,"expect":5}'],
    ["get", '{"name":"a","offset":0,"expect":{"size":1}}'],
    ["get", '{"name":"a","offset":0,"expect":{"mtime":"1","size":1}}'],
    ["get", '{"name":"a","offset":0,"length":-1}'],
    ["get", '{"name":"a","offset":0,"length":"3"}'],
    ["get_ready", '{"mtime":0,"name":"a"}'],
    ["delete", '{"name":["a"]}'],
    ["delete", '{"expect":[],"name":"a"}'],
    ["rename", '{"from":"a","to":"b"}'],
    ["rename", '{"from":null,"overwrite":false,"to":"b"}'],
    ["mkdir", "{}"],
    ["shutdown", '{"graceMs":1.5}'],
  ];
  for (const [type, json] of cases) {
    assertRefused(jsonFrame(type, json), `${type} ${json}`);
  }
});

Deno.test("decodeMessage() refuses a SHA-256 that is not 64 lower-case hex digits", () => {
  const bad = [
    EXAMPLE_SHA256.toUpperCase(),
    EXAMPLE_SHA256.slice(1),
    EXAMPLE_SHA256 + "0",
    "g" + EXAMPLE_SHA256.slice(1),
    ` ${EXAMPLE_SHA256.slice(1)}`,
    "",
  ];
  for (const sha256 of bad) {
    const s = JSON.stringify(sha256);
    assertRefused(jsonFrame("put_end", `{"sha256":${s}}`), `put_end ${s}`);
    assertRefused(jsonFrame("get_end", `{"sha256":${s}}`), `get_end ${s}`);
    assertRefused(
      jsonFrame("put_done", `{"name":"a","sha256":${s},"size":5}`),
      `put_done ${s}`,
    );
  }
  assertRefused(jsonFrame("put_end", '{"sha256":5}'), "number");
});

Deno.test("decodeMessage() reads an XXH3-128 of 32 lower-case hex digits instead of a SHA-256, never both", () => {
  const xxh = JSON.stringify(EXAMPLE_XXH128);
  for (const type of ["put_end", "get_end"] as const) {
    assert.deepEqual(decodeMessage(jsonFrame(type, `{"xxh128":${xxh}}`)), {
      type,
      id: 1,
      xxh128: EXAMPLE_XXH128,
    });
  }
  assert.deepEqual(
    decodeMessage(
      jsonFrame("put_done", `{"name":"a","size":5,"xxh128":${xxh}}`),
    ),
    { type: "put_done", id: 1, name: "a", size: 5, xxh128: EXAMPLE_XXH128 },
  );
  const bad = [
    EXAMPLE_XXH128.toUpperCase(),
    EXAMPLE_XXH128.slice(1),
    EXAMPLE_XXH128 + "0",
    EXAMPLE_SHA256,
    "",
  ];
  for (const hex of bad) {
    const s = JSON.stringify(hex);
    assertRefused(jsonFrame("put_end", `{"xxh128":${s}}`), `put_end ${s}`);
    assertRefused(jsonFrame("get_end", `{"xxh128":${s}}`), `get_end ${s}`);
  }
  const both = `{"sha256":"${EXAMPLE_SHA256}","xxh128":${xxh}}`;
  assertRefused(jsonFrame("put_end", both), "both");
  assertRefused(jsonFrame("get_end", both), "both");
  assertRefused(jsonFrame("put_end", "{}"), "neither");
});

Deno.test("decodeMessage() refuses an error code it does not know", () => {
  for (const code of ['"nope"', '"NOT_FOUND"', '""', "1", "null", '["io"]']) {
    assertRefused(jsonFrame("error", `{"code":${code},"message":"m"}`), code);
  }
  for (const code of ERROR_CODES) {
    const message = decodeMessage(
      jsonFrame("error", `{"code":"${code}","message":"m"}`),
    );
    assert.deepEqual(message, { type: "error", id: 1, code, message: "m" });
  }
});

Deno.test("decodeMessage() refuses DATA shorter than its offset or with an offset beyond 2^53-1", () => {
  for (const length of [0, 1, 7]) {
    assertRefused(
      { type: MSG.DATA, flags: 0, id: 1, payload: new Uint8Array(length) },
      `payload of ${length}`,
    );
  }
  for (const offset of [2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
    assertRefused(dataFrame(offset, [1, 2]), `offset ${offset}`);
  }
  const top = decodeMessage(dataFrame(2n ** 53n - 1n, [1, 2]));
  assert.deepEqual(top, {
    type: "data",
    id: 1,
    offset: 2 ** 53 - 1,
    bytes: new Uint8Array([1, 2]),
    zstd: false,
  });
});

Deno.test("decodeMessage() returns DATA bytes as a view into the frame, not a copy", () => {
  const frame = dataFrame(10n, [1, 2, 3], FLAG_ZSTD);
  const message = decodeMessage(frame);
  assert.ok(message.type === "data");
  assert.equal(message.bytes.buffer, frame.payload.buffer);
  assert.equal(message.zstd, true);
  assert.equal(message.offset, 10);
});

Deno.test("decodeMessage() ignores unknown keys and accepts any key order and whitespace", () => {
  const json = `
    { "future": {"nested": [1, 2]}, "size" : 5, "overwrite": false,
      "name": "a.txt", "type": "ignored", "id": 999, "mtime": 1e3 }`;
  assert.deepEqual(decodeMessage(jsonFrame("put", json)), {
    type: "put",
    id: 1,
    name: "a.txt",
    size: 5,
    overwrite: false,
    mtime: 1000,
  });
  assert.deepEqual(
    decodeMessage(jsonFrame("entries", '{"entries":[],"more":true}')),
    { type: "entries", id: 1, entries: [], more: false },
    "ENTRIES' more comes from the flag only",
  );
  const zero = decodeMessage(jsonFrame("put_ready", '{"offset":-0}'));
  assert.ok(zero.type === "put_ready" && Object.is(zero.offset, 0), "-0 is 0");
  assert.deepEqual(
    decodeMessage(jsonFrame("ping", '{"x":1}')),
    { type: "ping", id: 1 },
  );
});

Deno.test("decodeMessage() throws only ProtocolError for mutated frames, and what it accepts re-encodes", () => {
  const random = seeded(20240607);
  const frames = EXAMPLE_LIST.map((m) => encodeMessage(m));
  let accepted = 0;
  for (let round = 0; round < 20_000; round++) {
    const original = frames[round % frames.length]!;
    const header = parseHeader(original);
    const payload = original.slice(HEADER_SIZE);
    const edits = 1 + Math.floor(random() * 4);
    for (let i = 0; i < edits && payload.byteLength > 0; i++) {
      const at = Math.floor(random() * payload.byteLength);
      payload[at] = random() < 0.5
        ? Math.floor(random() * 256)
        : '{}[]":,0 -.e9\\a'
          .charCodeAt(Math.floor(random() * 15));
    }
    const type = random() < 0.1 ? Math.floor(random() * 256) : header.type;
    const flags = random() < 0.1 ? 1 << Math.floor(random() * 8) : header.flags;
    let message: Message;
    try {
      message = decodeMessage({ type, flags, id: header.id, payload });
    } catch (error) {
      if (error instanceof ProtocolError) continue;
      throw error;
    }
    accepted++;
    const again = decodeMessage(
      (() => {
        const bytes = encodeMessage(message);
        const h = parseHeader(bytes);
        return { ...h, payload: bytes.subarray(HEADER_SIZE) };
      })(),
    );
    assert.deepEqual(again, message);
  }
  assert.ok(accepted > 0, "some mutations keep a valid message");
});

Deno.test("decodeMessage() of encodeFrame() bytes with a JSON payload equals the example", () => {
  // The same frame built by hand from canonical JSON, to show the codec adds
  // nothing but the header.
  const list = EXAMPLES.list;
  const bytes = encodeFrame({
    type: MSG.LIST,
    flags: 0,
    id: list.id,
    payload: utf8.encode('{"path":""}'),
  });
  assert.deepEqual(bytes, encodeMessage(list));
});

Deno.test("decodeMessage() takes an optional mode up to 0o777 and refuses a larger one", () => {
  const ready = roundTrip({
    type: "get_ready",
    id: 3,
    name: "a",
    size: 1,
    mtime: 1,
    mode: 0o755,
  });
  assert.equal(ready.type === "get_ready" && ready.mode, 0o755);
  assert.throws(
    () =>
      roundTrip({
        type: "put",
        id: 2,
        name: "a",
        size: 1,
        overwrite: false,
        mode: 0o4755,
      }),
    ProtocolError,
  );
});

Deno.test("decodeMessage() takes a LIST window from 1 to MAX_LIST_WINDOW and refuses others", () => {
  assert.deepEqual(
    decodeMessage(jsonFrame("list", '{"path":"","window":64}')),
    { type: "list", id: 1, path: "", window: 64 },
  );
  assert.deepEqual(
    decodeMessage(jsonFrame("list", '{"path":"d","window":1}')),
    { type: "list", id: 1, path: "d", window: 1 },
  );
  assertRefused(jsonFrame("list", '{"path":"","window":0}'), "window 0");
  assertRefused(jsonFrame("list", '{"path":"","window":65}'), "window 65");
  assertRefused(jsonFrame("list", '{"path":"","window":1.5}'), "window 1.5");
});

Deno.test("decodeMessage() takes 1 to MAX_SUMS files in SUMS and SUMS_RESULT, and refuses more before reading them", () => {
  const query = (n: number) =>
    JSON.stringify({
      files: Array.from({ length: n }, (_, i) => ({ name: `f${i}`, size: i })),
    });
  const full = decodeMessage(jsonFrame("sums", query(MAX_SUMS)));
  assert.equal(full.type === "sums" && full.files.length, MAX_SUMS);
  assertRefused(jsonFrame("sums", query(MAX_SUMS + 1)), "too many names");
  assertRefused(jsonFrame("sums", query(0)), "no names");
  const none = (n: number) =>
    JSON.stringify({ files: Array(n).fill({ type: "none" }) });
  const answered = decodeMessage(jsonFrame("sums_result", none(MAX_SUMS)));
  assert.equal(answered.type === "sums_result" && answered.files.length, 1000);
  assertRefused(jsonFrame("sums_result", none(MAX_SUMS + 1)), "too many");
  // The count is checked before any item: 1,001 non-objects say "files".
  assert.throws(
    () =>
      decodeMessage(
        jsonFrame("sums", JSON.stringify({ files: Array(1001).fill(1) })),
      ),
    /Field "files" must be an array of 1 to 1000 objects/,
  );
});

Deno.test("decodeMessage() refuses SUMS and SUMS_RESULT files that are not what PROTOCOL.md says", () => {
  const sha = `"${EXAMPLE_SHA256}"`;
  const cases: [MessageType, string][] = [
    ["sums", "{}"],
    ["sums", '{"files":{}}'],
    ["sums", '{"files":[null]}'],
    ["sums", '{"files":["a.txt"]}'],
    ["sums", '{"files":[["a.txt",1]]}'],
    ["sums", '{"files":[{"size":1}]}'],
    ["sums", '{"files":[{"name":null,"size":1}]}'],
    ["sums", '{"files":[{"name":5,"size":1}]}'],
    ["sums", '{"files":[{"name":["a"],"size":1}]}'],
    ["sums", '{"files":[{"name":"a"}]}'],
    ["sums", '{"files":[{"name":"a","size":-1}]}'],
    ["sums", '{"files":[{"name":"a","size":"1"}]}'],
    ["sums", '{"files":[{"name":"a","size":9007199254740992}]}'],
    ["sums_result", '{"files":[]}'],
    ["sums_result", '{"files":[{}]}'],
    ["sums_result", '{"files":[{"type":"link"}]}'],
    ["sums_result", '{"files":[{"type":"file"}]}'],
    ["sums_result", '{"files":[{"size":1.5,"type":"file"}]}'],
    ["sums_result", '{"files":[{"sha256":null,"size":1,"type":"file"}]}'],
    [
      "sums_result",
      `{"files":[{"sha256":${sha.toUpperCase()},"size":1,"type":"file"}]}`,
    ],
    ["sums_result", '{"files":[{"type":"refused"}]}'],
    ["sums_result", '{"files":[{"code":"nope","type":"refused"}]}'],
  ];
  for (const [type, json] of cases) {
    assertRefused(jsonFrame(type, json), `${type} ${json}`);
  }
  // Names are the server's to check, one by one (a refused answer), not
  // the codec's: a bad name still decodes.
  const odd = decodeMessage(
    jsonFrame("sums", '{"files":[{"name":"../x","size":0}]}'),
  );
  assert.deepEqual(odd, {
    type: "sums",
    id: 1,
    files: [{ name: "../x", size: 0 }],
  });
});

Deno.test("decodeMessage() takes PUT resume and a PUT_READY with block and sums, and refuses them malformed or beyond MAX_BLOCK_SUMS", () => {
  const digest = "A".repeat(22) + "==";
  assert.deepEqual(
    roundTrip({
      type: "put",
      id: 2,
      name: "a",
      size: 9,
      overwrite: false,
      resume: true,
    }),
    { type: "put", id: 2, name: "a", size: 9, overwrite: false, resume: true },
  );
  const ready = {
    type: "put_ready",
    id: 2,
    offset: 3 * 1048576 + 1,
    block: 1048576,
    sums: base64.encode(new Uint8Array(4 * 16)),
  } as const;
  assert.deepEqual(roundTrip(ready), ready);
  const most = base64.encode(new Uint8Array(16384 * 16));
  assert.deepEqual(
    decodeMessage(
      jsonFrame(
        "put_ready",
        `{"block":1048576,"offset":${16384 * 1048576},"sums":"${most}"}`,
      ),
    ),
    {
      type: "put_ready",
      id: 1,
      offset: 16384 * 1048576,
      block: 1048576,
      sums: most,
    },
  );
  const bad = [
    `{"name":"a","overwrite":false,"resume":1,"size":1}`,
    `{"offset":1048576,"block":1048576}`,
    `{"offset":1048576,"sums":"${digest}"}`,
    `{"offset":0,"block":1048576,"sums":""}`,
    `{"offset":1048576,"block":1000000,"sums":"${digest}"}`,
    `{"offset":1048576,"block":524288,"sums":"${digest}"}`,
    `{"offset":1048576,"block":1048576,"sums":"${digest + digest}"}`,
    `{"offset":1048577,"block":1048576,"sums":"${digest}"}`,
    `{"offset":1048576,"block":1048576,"sums":"${digest.slice(1)}"}`,
    `{"offset":1048576,"block":1048576,"sums":"!${digest.slice(1)}"}`,
    `{"offset":1048576,"block":1048576,"sums":16}`,
    `{"offset":${
      16385 * 1048576
    },"block":1048576,"sums":"${most}AAAAAAAAAAAAAAAAAAAAAA=="}`,
    `{"offset":1048576,"block":1048576,"sums":"${
      "A".repeat(4 * 1024 * 1024 - 100)
    }"}`,
  ];
  for (const json of bad) {
    const type = json.includes('"name"') ? "put" : "put_ready";
    assertRefused(jsonFrame(type, json), json.slice(0, 80));
  }
});
