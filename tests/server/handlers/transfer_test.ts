import assert from "node:assert/strict";
import { join } from "node:path";
import { constants, zstdCompressSync } from "node:zlib";
import { encodeMessage, type Message } from "../../../protocol/messages.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";
import { hashBytes } from "../../../common/stream_hash.ts";
import { pseudoRandomBytes, sha256 } from "../../_helpers/server/raw_client.ts";

const MIB = 1024 * 1024;

Deno.test("Server round-trips 0 B, 1 B and a few MiB byte for byte", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  for (
    const [name, data] of [
      ["empty", new Uint8Array(0)],
      ["one", new Uint8Array([0xff])],
      ["odd.bin", pseudoRandomBytes(3 * MIB + 12_345, 7)],
      ["exact.bin", pseudoRandomBytes(2 * MIB, 8)],
    ] as const
  ) {
    const done = await c.put(name, data);
    assert.ok(done.type === "put_done", JSON.stringify(done));
    assert.equal(done.name, name);
    assert.equal(done.size, data.byteLength);
    assert.equal(done.sha256, sha256(data));
    assert.deepEqual(await Deno.readFile(join(t.root, name)), data);
    const got = await c.get(name);
    assert.ok("data" in got);
    assert.equal(got.ready.size, data.byteLength);
    assert.equal(got.end.sha256, sha256(data));
    assert.ok(
      got.data.byteLength === data.byteLength &&
        sha256(got.data) === sha256(data),
    );
  }
  assert.deepEqual(await t.partials(), []);
});

Deno.test("Server verifies with XXH3-128 once xxh128 is negotiated and refuses a PUT_END of the other kind", async () => {
  await using t = await startTestServer();
  await using c = await t.connect({ features: ["xxh128"] });
  const data = pseudoRandomBytes(3 * MIB + 5, 11);
  const xxh128 = hashBytes("xxh128", data);
  const done = await c.put("x.bin", data, { checksum: { xxh128 } });
  assert.ok(done.type === "put_done", JSON.stringify(done));
  assert.equal(done.xxh128, xxh128);
  assert.equal(done.sha256, undefined);
  assert.deepEqual(await Deno.readFile(join(t.root, "x.bin")), data);
  const got = await c.get("x.bin");
  assert.ok("data" in got);
  assert.deepEqual(got.data, data);
  assert.deepEqual(got.end, { type: "get_end", id: got.end.id, xxh128 });
  const tail = await c.get("x.bin", { offset: MIB + 3 });
  assert.ok("data" in tail);
  assert.deepEqual(tail.data, data.subarray(MIB + 3));
  assert.equal(tail.end.xxh128, xxh128, "of the whole file");
  const small = await c.get("x.bin", { offset: data.byteLength - 1 });
  assert.ok("data" in small);
  assert.equal(small.end.xxh128, xxh128);
  const wrong = await c.put("y.bin", data, {
    checksum: { xxh128: hashBytes("xxh128", data.subarray(1)) },
  });
  assert.ok(wrong.type === "error" && wrong.code === "checksum_mismatch");
  const other = await c.put("z.bin", data);
  assert.ok(other.type === "error" && other.code === "bad_request");
  assert.match(other.message, /PUT_END carries sha256, but xxh128 was agreed/);
  assert.deepEqual(await t.visible(), ["x.bin"]);
  assert.deepEqual(await t.partials(), []);
});

Deno.test("Server keeps spaces and non-ASCII names and stores them in NFC", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  const done = await c.put(
    "re\u0301sume\u0301 final 日本.txt",
    new Uint8Array([1]),
  );
  assert.ok(done.type === "put_done");
  assert.equal(done.name, "r\u00e9sum\u00e9 final 日本.txt");
  assert.deepEqual(await t.visible(), ["r\u00e9sum\u00e9 final 日本.txt"]);
});

Deno.test("Server GET from an offset sends the rest and the whole file's SHA-256", async () => {
  await using t = await startTestServer();
  const data = pseudoRandomBytes(2 * MIB + 100, 3);
  await Deno.writeFile(join(t.root, "f"), data);
  await using c = await t.connect();
  const got = await c.get("f", { offset: MIB + 1 });
  assert.ok("data" in got);
  assert.deepEqual(got.data, data.subarray(MIB + 1));
  assert.equal(got.end.sha256, sha256(data));
  const beyond = await c.get("f", { offset: data.byteLength + 1 });
  assert.ok("code" in beyond && beyond.code === "bad_request");
});

Deno.test("Server GET with a length (feature resume) sends only that range and the whole file's SHA-256", async () => {
  const lines: string[] = [];
  await using t = await startTestServer({ log: (line) => lines.push(line) });
  const data = pseudoRandomBytes(3 * MIB + 100, 4);
  await Deno.writeFile(join(t.root, "f"), data);
  await using c = await t.connect({ features: ["resume"] });
  // Hash unknown (first read), then known (kept by the first download).
  for (let round = 0; round < 2; round++) {
    const got = await c.get("f", { offset: MIB, length: MIB + 7 });
    assert.ok("data" in got, JSON.stringify(got));
    assert.equal(got.ready.size, data.byteLength);
    assert.deepEqual(got.data, data.subarray(MIB, 2 * MIB + 7));
    assert.equal(got.end.sha256, sha256(data));
  }
  const small = await c.get("f", { offset: 0, length: 10 });
  assert.ok("data" in small);
  assert.deepEqual(small.data, data.subarray(0, 10));
  const none = await c.get("f", { offset: 5, length: 0 });
  assert.ok("data" in none);
  assert.equal(none.data.byteLength, 0);
  assert.equal(none.end.sha256, sha256(data));
  const beyond = await c.get("f", { offset: MIB, length: data.byteLength });
  assert.ok("code" in beyond && beyond.code === "bad_request");
  assert.ok(
    lines.some((l) => /get "f" from 1048576 length 1048583 1048583 B/.test(l)),
    lines.join("\n"),
  );
});

Deno.test("Server GET ignores a length when the feature resume was not negotiated", async () => {
  await using t = await startTestServer();
  const data = pseudoRandomBytes(2 * MIB, 5);
  await Deno.writeFile(join(t.root, "f"), data);
  await using c = await t.connect();
  const got = await c.get("f", { offset: 1, length: 10 });
  assert.ok("data" in got);
  assert.deepEqual(got.data, data.subarray(1));
});

Deno.test("Server PUT names copies (1) name, (2) name and never touches the original", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  const names = [];
  for (const text of ["first", "second", "third"]) {
    const done = await c.put("doc.txt", new TextEncoder().encode(text));
    assert.ok(done.type === "put_done");
    names.push(done.name);
  }
  assert.deepEqual(names, ["doc.txt", "(1) doc.txt", "(2) doc.txt"]);
  assert.equal(await Deno.readTextFile(join(t.root, "doc.txt")), "first");
  assert.equal(await Deno.readTextFile(join(t.root, "(2) doc.txt")), "third");
});

Deno.test("Server PUT with overwrite replaces the file in place", async () => {
  await using t = await startTestServer();
  await Deno.writeTextFile(join(t.root, "doc.txt"), "old old old");
  await using c = await t.connect();
  const mtime = Date.UTC(2021, 2, 3, 4, 5, 6);
  const done = await c.put("doc.txt", new TextEncoder().encode("new"), {
    overwrite: true,
    mtime,
  });
  assert.ok(done.type === "put_done");
  assert.equal(done.name, "doc.txt");
  assert.equal(await Deno.readTextFile(join(t.root, "doc.txt")), "new");
  assert.equal(
    (await Deno.stat(join(t.root, "doc.txt"))).mtime?.getTime(),
    mtime,
  );
  assert.deepEqual(await t.visible(), ["doc.txt"]);
});

Deno.test("Server PUT with a wrong SHA-256 leaves nothing and the old file intact", async () => {
  await using t = await startTestServer();
  await Deno.writeTextFile(join(t.root, "keep.txt"), "precious");
  await using c = await t.connect();
  for (const overwrite of [false, true]) {
    const refused = await c.put("keep.txt", pseudoRandomBytes(MIB + 5), {
      overwrite,
      sha256: "0".repeat(64),
    });
    assert.ok(refused.type === "error");
    assert.equal(refused.code, "checksum_mismatch");
  }
  assert.deepEqual(await t.visible(), ["keep.txt"]);
  assert.equal(await Deno.readTextFile(join(t.root, "keep.txt")), "precious");
  assert.deepEqual(await t.partials(), []);
});

Deno.test("Server refuses DATA at a wrong offset, more data than declared and a short upload", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  const cases = [
    {
      label: "gap",
      frames: [{ offset: 0, size: 10 }, { offset: 20, size: 10 }],
      size: 30,
      message: /offset 20, expected 10/,
    },
    {
      label: "overlap",
      frames: [{ offset: 0, size: 10 }, { offset: 5, size: 10 }],
      size: 20,
      message: /offset 5, expected 10/,
    },
    {
      label: "too much",
      frames: [{ offset: 0, size: 10 }, { offset: 10, size: 10 }],
      size: 15,
      message: /more data than the declared 15 bytes/,
    },
    {
      label: "too little",
      frames: [{ offset: 0, size: 10 }],
      size: 11,
      message: /received 10 of the declared 11 bytes/,
    },
  ];
  for (const { label, frames, size, message } of cases) {
    const id = c.id();
    await c.send({ type: "put", id, name: "x.bin", size, overwrite: false });
    for (const f of frames) {
      await c.send({
        type: "data",
        id,
        offset: f.offset,
        bytes: new Uint8Array(f.size),
        zstd: false,
      });
    }
    await c.send({ type: "put_end", id, sha256: "0".repeat(64) });
    let reply = await c.reply(id);
    if (reply?.type === "put_ready") reply = await c.reply(id);
    assert.ok(reply?.type === "error", label);
    assert.equal(reply.code, "bad_request", label);
    assert.match(reply.message, message, label);
  }
  await c.assertAlive();
  assert.deepEqual(await t.visible(), []);
  assert.deepEqual(await t.partials(), []);
});

Deno.test("Server refuses a DATA chunk larger than the negotiated chunk size", async () => {
  await using t = await startTestServer({ chunkSize: 1000 });
  await using c = await t.connect();
  assert.equal(c.welcome?.chunkSize, 1000);
  const refused = await c.put("big", new Uint8Array(1001), { chunk: 1001 });
  assert.ok(refused.type === "error" && refused.code === "bad_request");
  const ok = await c.put("fine", pseudoRandomBytes(2500), { chunk: 1000 });
  assert.equal(ok.type, "put_done");
});

Deno.test("Server accepts a pipelined PUT, DATA and PUT_END sent in one write", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  const data = pseudoRandomBytes(100_000, 5);
  const frames = [
    encodeMessage({
      type: "put",
      id: 9,
      name: "p.bin",
      size: data.byteLength,
      overwrite: false,
    }),
    encodeMessage({
      type: "data",
      id: 9,
      offset: 0,
      bytes: data.subarray(0, 60_000),
      zstd: false,
    }),
    encodeMessage({
      type: "data",
      id: 9,
      offset: 60_000,
      bytes: data.subarray(60_000),
      zstd: false,
    }),
    encodeMessage({ type: "put_end", id: 9, sha256: sha256(data) }),
    encodeMessage({ type: "list", id: 10, path: "" }),
  ];
  const all = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
  let at = 0;
  for (const f of frames) {
    all.set(f, at);
    at += f.byteLength;
  }
  await c.writeRaw(all);
  assert.equal((await c.reply(9))?.type, "put_ready");
  const done = await c.reply(9);
  assert.ok(done?.type === "put_done");
  assert.equal(done.sha256, sha256(data));
  assert.equal((await c.reply(10))?.type, "entries");
  assert.deepEqual(await Deno.readFile(join(t.root, "p.bin")), data);
});

Deno.test("Server ignores DATA and PUT_END of a refused PUT", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  const refused = await c.put("no/such/folder.txt", pseudoRandomBytes(3 * MIB));
  assert.ok(refused.type === "error" && refused.code === "not_found");
  await c.assertAlive();
  assert.deepEqual(await t.visible(), []);
});

Deno.test("Server answers a LIST while a download is streaming", async () => {
  await using t = await startTestServer();
  const data = pseudoRandomBytes(64 * MIB, 11);
  await Deno.writeFile(join(t.root, "big"), data);
  await using c = await t.connect();
  // The client reads nothing until it has sent LIST, so the download is
  // still far from done (blocked on full socket buffers, a few MiB on
  // loopback) when the LIST arrives; its reply must not wait for GET_END.
  await c.send({ type: "get", id: 1, name: "big", offset: 0 });
  await c.send({ type: "list", id: 2, path: "" });
  let dataAfterList = 0;
  let listed = false;
  let received = 0;
  for (;;) {
    const m = await c.read();
    if (m?.id === 2) {
      assert.equal(m.type, "entries");
      listed = true;
    } else if (m?.type === "data") {
      received += m.bytes.byteLength;
      if (listed) dataAfterList++;
    } else if (m?.type !== "get_ready") {
      assert.equal(m?.type, "get_end");
      break;
    }
  }
  assert.equal(received, data.byteLength);
  assert.ok(listed);
  assert.ok(
    dataAfterList >= 8,
    `only ${dataAfterList} DATA frames after LIST`,
  );
});

Deno.test("Server CANCEL ends a download and an upload with ERROR cancelled", async () => {
  await using t = await startTestServer();
  await Deno.writeFile(join(t.root, "big"), pseudoRandomBytes(16 * MIB));
  await using c = await t.connect();
  await c.send({ type: "get", id: 1, name: "big", offset: 0 });
  assert.equal((await c.reply(1))?.type, "get_ready");
  await c.send({ type: "cancel", id: 1 });
  let last;
  do last = await c.reply(1); while (last?.type === "data");
  assert.ok(last?.type === "error");
  assert.equal(last.code, "cancelled");

  await c.send({ type: "put", id: 2, name: "up", size: 100, overwrite: false });
  await c.send({
    type: "data",
    id: 2,
    offset: 0,
    bytes: new Uint8Array(50),
    zstd: false,
  });
  assert.equal((await c.reply(2))?.type, "put_ready");
  await c.send({ type: "cancel", id: 2 });
  const cancelled = await c.reply(2);
  assert.ok(cancelled?.type === "error" && cancelled.code === "cancelled");
  assert.deepEqual(await t.visible(), ["big"]);
  assert.deepEqual(await t.partials(), []);
});

Deno.test("Server decompresses zstd DATA frames when the feature was negotiated", async () => {
  await using t = await startTestServer();
  await using c = await t.connect({ features: ["zstd"] });
  const data = new TextEncoder().encode("compressible ".repeat(50_000));
  const packed = zstdCompressSync(data, {
    params: { [constants.ZSTD_c_compressionLevel]: 1 },
  });
  assert.ok(packed.byteLength < data.byteLength / 10);
  await c.send({
    type: "put",
    id: 1,
    name: "z.txt",
    size: data.byteLength,
    overwrite: false,
  });
  await c.send({ type: "data", id: 1, offset: 0, bytes: packed, zstd: true });
  await c.send({ type: "put_end", id: 1, sha256: sha256(data) });
  assert.equal((await c.reply(1))?.type, "put_ready");
  const done = await c.reply(1);
  assert.ok(done?.type === "put_done", JSON.stringify(done));
  assert.deepEqual(await Deno.readFile(join(t.root, "z.txt")), data);
});

Deno.test("Server treats a zstd chunk beyond the chunk size, or without the feature, as a protocol error", async () => {
  await using t = await startTestServer();
  const cases = [
    // Decompresses to 1 MiB + 1 byte: one byte over the limit.
    { features: ["zstd"], bytes: zstdCompressSync(new Uint8Array(MIB + 1)) },
    { features: [], bytes: zstdCompressSync(new Uint8Array(10)) },
  ];
  for (const { features, bytes } of cases) {
    await using c = await t.connect({ features });
    await c.send({
      type: "put",
      id: 1,
      name: "z",
      size: 2 * MIB,
      overwrite: false,
    });
    assert.equal((await c.reply(1))?.type, "put_ready");
    await c.send({ type: "data", id: 1, offset: 0, bytes, zstd: true });
    // The connection ends: an ERROR "protocol" with id 0, then the end of
    // the stream (not a "bad_request" for the PUT alone, on a connection
    // that stays open).
    const seen: Message[] = [];
    for (let m = await c.read(); m !== null; m = await c.read()) {
      seen.push(m);
      if (m.type === "error" && m.code !== "protocol") break;
    }
    assert.ok(
      seen.some((m) =>
        m.type === "error" && m.id === 0 && m.code === "protocol"
      ),
      JSON.stringify(seen),
    );
    assert.equal(await c.read(), null, "the connection is closed");
  }
  assert.equal(
    t.logs.filter((line) => /protocol error: A (zstd|compressed)/.test(line))
      .length,
    2,
  );
  await using other = await t.connect();
  await other.assertAlive();
  assert.deepEqual(await t.visible(), []);
  assert.deepEqual(await t.partials(), []);
});

Deno.test("Server compresses download chunks only with zstd negotiated and only when they shrink", async () => {
  await using t = await startTestServer();
  const text = new TextEncoder().encode("abcdefgh".repeat(400_000));
  const noise = pseudoRandomBytes(2 * MIB, 99);
  await Deno.writeFile(join(t.root, "text"), text);
  await Deno.writeFile(join(t.root, "noise"), noise);
  await using plain = await t.connect();
  const raw = await plain.get("text");
  assert.ok("data" in raw);
  assert.equal(raw.compressedFrames, 0);
  await using zc = await t.connect({ features: ["zstd"] });
  const packed = await zc.get("text");
  assert.ok("data" in packed);
  assert.equal(packed.compressedFrames, 4);
  assert.deepEqual(packed.data, text);
  assert.equal(packed.end.sha256, sha256(text));
  const random = await zc.get("noise");
  assert.ok("data" in random);
  assert.equal(random.compressedFrames, 0);
  assert.deepEqual(random.data, noise);
});
