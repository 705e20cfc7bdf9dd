import assert from "node:assert/strict";
import type { ByteConn } from "../../../common/frame_conn.ts";
import { openSession } from "../../../client/engine/session.ts";
import { startFakeServer } from "../../_helpers/client/fake_server.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

const encoder = new TextEncoder();

/** A TCP connection to `port` that counts the writes made on it. */
function countingConnect(port: number, writes: { count: number }) {
  return async (): Promise<ByteConn> => {
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
    return {
      read: (p) => tcp.read(p),
      write: (p) => {
        writes.count++;
        return tcp.write(p);
      },
      close: () => tcp.close(),
    };
  };
}

Deno.test("GETs issued in one turn reach the server in one write", async () => {
  await using dir = await tempDir();
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 40; i++) files[`f${i}.txt`] = encoder.encode(`${i}`);
  await using server = startFakeServer({ files });
  const writes = { count: 0 };
  await using session = await openSession(`127.0.0.1:${server.port}`, {
    connect: countingConnect(server.port, writes),
  });
  const before = writes.count;
  const results = await Promise.all(
    Object.keys(files).map((name) => session.get(name, dir.path)),
  );
  assert.equal(results.length, 40);
  assert.equal(writes.count - before, 1);
  assert.equal(server.received.filter((m) => m.type === "get").length, 40);
});

Deno.test("a GET aborted before it was written sends neither the GET nor a CANCEL", async () => {
  await using dir = await tempDir();
  await using server = startFakeServer({
    files: { "a.txt": encoder.encode("a"), "b.txt": encoder.encode("b") },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const controller = new AbortController();
  const aborted = session.get("a.txt", dir.path, {
    signal: controller.signal,
  });
  const kept = session.get("b.txt", dir.path);
  controller.abort(new Error("stop"));
  await assert.rejects(aborted);
  assert.equal((await kept).size, 1);
  // A later request is answered after everything sent before it.
  await session.list("");
  const seen = server.received.map((m) => m.type);
  assert.deepEqual(seen, ["get", "list"]);
  assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name), [
    "b.txt",
  ]);
});

Deno.test("a listing aborted before its LIST was written sends neither LIST nor CANCEL", async () => {
  await using server = startFakeServer({
    files: { "a.txt": new Uint8Array() },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const controller = new AbortController();
  const listing = session.list("", { signal: controller.signal });
  controller.abort(new Error("stop"));
  await assert.rejects(listing);
  await session.list("");
  assert.deepEqual(server.received.map((m) => m.type), ["list"]);
});
