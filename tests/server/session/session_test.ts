import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeMessage, PROTOCOL_VERSION } from "../../../protocol/messages.ts";
import { LIST_PAGE_SIZE } from "../../../server/storage/storage.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";

Deno.test("Session handshake answers HELLO with WELCOME and the common features", async () => {
  await using t = await startTestServer();
  await using c = await t.connect({ handshake: false });
  const reply = await c.hello({ features: ["zstd", "teleport"] });
  assert.equal(reply?.type, "welcome");
  assert.ok(reply?.type === "welcome");
  assert.equal(reply.version, PROTOCOL_VERSION);
  assert.deepEqual(reply.features, ["zstd"]);
  assert.equal(reply.auth, false);
  assert.equal(reply.chunkSize, 1024 * 1024);
  assert.equal(reply.id, 0);
});

Deno.test("Session handshake offers no feature the server was told to drop", async () => {
  await using t = await startTestServer({ features: [] });
  await using c = await t.connect({ handshake: false });
  const reply = await c.hello({ features: ["zstd"] });
  assert.ok(reply?.type === "welcome");
  assert.deepEqual(reply.features, []);
});

Deno.test("Session handshake refuses a client with no common version and closes", async () => {
  await using t = await startTestServer();
  await using c = await t.connect({ handshake: false });
  const reply = await c.hello({ versions: [7, 9] });
  assert.equal(reply?.type, "error");
  assert.ok(reply?.type === "error");
  assert.equal(reply.code, "unsupported");
  assert.match(reply.message, /\[7, 9\]/);
  assert.equal(await c.read(), null, "the server closes the connection");
  assert.ok(t.logs.some((l) => l.includes("refused (unsupported)")));
});

Deno.test("Session refuses a first frame that is not HELLO as a protocol error", async () => {
  await using t = await startTestServer();
  await using c = await t.connect({ handshake: false });
  await c.send({ type: "list", id: 1, path: "" });
  const seen = await c.drain();
  assert.deepEqual(seen.map((m) => m.type === "error" && m.code), ["protocol"]);
  assert.ok(t.logs.some((l) => /protocol error: Expected HELLO/.test(l)));
});

Deno.test("Session answers PING with PONG on the same id", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  await c.assertAlive();
});

Deno.test("Session closes the connection on BYE", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  await c.send({ type: "bye", id: 0 });
  assert.equal(await c.read(), null);
});

Deno.test("Session LIST returns entries with size, time and type", async () => {
  await using t = await startTestServer();
  await Deno.mkdir(join(t.root, "docs"));
  await Deno.writeTextFile(join(t.root, "a.txt"), "hello");
  await Deno.writeTextFile(join(t.root, "docs", "b.txt"), "b");
  await using c = await t.connect();
  const top = await c.list("");
  assert.ok(Array.isArray(top));
  assert.deepEqual(top.map((e) => [e.name, e.type, e.size]), [
    ["a.txt", "file", 5],
    ["docs", "dir", 0],
  ]);
  const mtime = (await Deno.stat(join(t.root, "a.txt"))).mtime!.getTime();
  assert.equal(top[0]?.mtime, Math.floor(mtime));
  assert.deepEqual(await c.list("docs"), [
    {
      name: "b.txt",
      type: "file",
      size: 1,
      mtime: Math.floor(
        (await Deno.stat(join(t.root, "docs", "b.txt"))).mtime!.getTime(),
      ),
    },
  ]);
  const missing = await c.list("nope");
  assert.ok(!Array.isArray(missing));
  assert.equal(missing.code, "not_found");
});

Deno.test("Session LIST splits a large folder over ENTRIES frames flagged MORE", async () => {
  await using t = await startTestServer();
  const count = LIST_PAGE_SIZE * 2 + 10;
  await Promise.all(
    Array.from(
      { length: count },
      (_, i) => Deno.writeTextFile(join(t.root, `f${i}`), ""),
    ),
  );
  await using c = await t.connect();
  const id = c.id();
  await c.send({ type: "list", id, path: "" });
  const frames: { size: number; more: boolean }[] = [];
  for (;;) {
    const reply = await c.reply(id);
    assert.ok(reply?.type === "entries");
    frames.push({ size: reply.entries.length, more: reply.more });
    if (!reply.more) break;
  }
  assert.deepEqual(frames, [
    { size: LIST_PAGE_SIZE, more: true },
    { size: LIST_PAGE_SIZE, more: true },
    { size: 10, more: false },
  ]);
});

Deno.test("Session MKDIR, RENAME and DELETE change the folder and answer OK", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  assert.equal(
    (await c.request({ type: "mkdir", id: 1, name: "d" }))?.type,
    "ok",
  );
  assert.equal(
    (await c.put("d/a.txt", new Uint8Array([1, 2, 3]))).type,
    "put_done",
  );
  const moved = await c.request({
    type: "rename",
    id: 2,
    from: "d/a.txt",
    to: "b.txt",
    overwrite: false,
  });
  assert.equal(moved?.type, "ok");
  assert.deepEqual(await t.visible(), ["b.txt", "d/"]);
  assert.equal(
    (await c.request({ type: "delete", id: 3, name: "b.txt" }))?.type,
    "ok",
  );
  assert.equal(
    (await c.request({ type: "delete", id: 4, name: "d" }))?.type,
    "ok",
  );
  assert.deepEqual(await t.visible(), []);
  const again = await c.request({ type: "delete", id: 5, name: "d" });
  assert.ok(again?.type === "error");
  assert.equal(again.code, "not_found");
  assert.equal(again.message, 'Cannot delete "d": no such file or folder');
});

Deno.test("Session RENAME refuses to replace a file unless overwrite is set", async () => {
  await using t = await startTestServer();
  await Deno.writeTextFile(join(t.root, "a"), "A");
  await Deno.writeTextFile(join(t.root, "b"), "B");
  await using c = await t.connect();
  const refused = await c.request({
    type: "rename",
    id: 1,
    from: "a",
    to: "b",
    overwrite: false,
  });
  assert.ok(refused?.type === "error");
  assert.equal(refused.code, "exists");
  assert.equal(await Deno.readTextFile(join(t.root, "b")), "B");
  const done = await c.request({
    type: "rename",
    id: 2,
    from: "a",
    to: "b",
    overwrite: true,
  });
  assert.equal(done?.type, "ok");
  assert.equal(await Deno.readTextFile(join(t.root, "b")), "A");
});

Deno.test("Session refuses stale expect on GET, DELETE and RENAME", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  await c.put("f", new TextEncoder().encode("12345"));
  const [entry] = await c.list("") as { size: number; mtime: number }[];
  assert.ok(entry);
  const fresh = { size: entry.size, mtime: entry.mtime };
  const stale = [
    { size: entry.size + 1, mtime: entry.mtime },
    { size: entry.size, mtime: entry.mtime - 1000 },
  ];
  for (const expect of stale) {
    const get = await c.get("f", { expect });
    assert.ok("code" in get && get.code === "stale");
    const del = await c.request({
      type: "delete",
      id: c.id(),
      name: "f",
      expect,
    });
    assert.ok(del?.type === "error" && del.code === "stale");
    const mv = await c.request({
      type: "rename",
      id: c.id(),
      from: "f",
      to: "g",
      overwrite: false,
      expect,
    });
    assert.ok(mv?.type === "error" && mv.code === "stale");
  }
  assert.deepEqual(await t.visible(), ["f"]);
  const ok = await c.get("f", { expect: fresh });
  assert.ok("data" in ok);
  assert.equal(new TextDecoder().decode(ok.data), "12345");
  const del = await c.request({
    type: "delete",
    id: c.id(),
    name: "f",
    expect: fresh,
  });
  assert.equal(del?.type, "ok");
});

Deno.test("Session refuses hostile names with invalid_name and touches nothing", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  const hostile = [
    "../x",
    "/etc/passwd",
    "a/../../b",
    "..\\x",
    "a\u0000b",
    "a\x1b[2J",
    "x".repeat(10_000),
    "",
    ".",
    "a/",
    ".fts/partial/x.part",
  ];
  for (const name of hostile) {
    const put = await c.put(name, new Uint8Array([1]));
    assert.ok(put.type === "error" && put.code === "invalid_name", name);
    const get = await c.get(name);
    assert.ok("code" in get && get.code === "invalid_name", name);
    for (
      const request of [
        { type: "delete" as const, id: c.id(), name },
        { type: "mkdir" as const, id: c.id(), name },
        {
          type: "rename" as const,
          id: c.id(),
          from: name,
          to: "ok",
          overwrite: true,
        },
      ]
    ) {
      const reply = await c.request(request);
      assert.ok(reply?.type === "error" && reply.code === "invalid_name", name);
      assert.ok(!hasControl(reply.message), "no raw controls");
    }
  }
  assert.deepEqual(await t.visible(), []);
  assert.deepEqual(await t.partials(), []);
  assert.ok(
    t.logs.every((l) => !hasControl(l)),
    "log lines are safe",
  );
});

Deno.test("Session refuses SHUTDOWN from an unauthenticated client", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  const reply = await c.request({ type: "shutdown", id: 1, graceMs: 0 });
  assert.ok(reply?.type === "error");
  assert.equal(reply.code, "permission_denied");
  await c.assertAlive();
});

Deno.test("Session logs one line per operation with address, name, bytes, ms and result", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  await c.put("a b.txt", new Uint8Array(10));
  await c.put("a b.txt", new Uint8Array(3));
  await c.get("missing");
  const port = c.tcp.localAddr.port;
  const puts = t.logs.filter((l) => l.includes(" put "));
  assert.equal(puts.length, 2);
  assert.match(
    puts[0]!,
    new RegExp(`^127\\.0\\.0\\.1:${port} put "a b\\.txt" 10 B \\d+ ms ok$`),
  );
  assert.match(puts[1]!, /put "a b\.txt" as "\(1\) a b\.txt" 3 B \d+ ms ok$/);
  assert.ok(t.logs.some((l) => /get "missing" 0 B \d+ ms not_found$/.test(l)));
});

Deno.test("Session treats a request id already in flight as a protocol error", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  await c.send({ type: "put", id: 5, name: "a", size: 10, overwrite: false });
  await c.send({ type: "list", id: 5, path: "" });
  const seen = await c.drain();
  assert.equal(seen.at(-1)?.type, "error");
  assert.ok(t.logs.some((l) => /Request id 5 is already in use/.test(l)));
  assert.deepEqual(await t.partials(), []);
});

Deno.test("Session refuses messages only a server may send", async () => {
  await using t = await startTestServer();
  await using c = await t.connect();
  await c.writeRaw(
    encodeMessage({ type: "put_ready", id: 1, offset: 0 }),
  );
  const seen = await c.drain();
  assert.ok(seen.some((m) => m.type === "error" && m.code === "protocol"));
});

function hasControl(text: string): boolean {
  return [...text].some((ch) => ch.charCodeAt(0) < 0x20);
}
