import assert from "node:assert/strict";
import { join } from "node:path";
import { connectTcp } from "../../client/connect/handshake.ts";
import type { Target } from "../../client/connect/target.ts";
import { openSession } from "../../client/engine/session.ts";
import type { ByteConn } from "../../common/frame_conn.ts";
import {
  logTextChunks,
  randomChunks,
  writeChunks,
} from "../../bench/datasets.ts";
import { withServedFolders } from "../_helpers/e2e/served_folders.ts";

const MIB = 1024 * 1024;

/** Counts the bytes a client's connection writes and reads. */
function counted() {
  const count = { written: 0, read: 0 };
  const connect = async (where: Target): Promise<ByteConn> => {
    const conn = await connectTcp(where);
    return {
      read: async (p) => {
        const n = await conn.read(p);
        count.read += n ?? 0;
        return n;
      },
      write: async (p) => {
        const n = await conn.write(p);
        count.written += n;
        return n;
      },
      close: () => conn.close(),
    };
  };
  return { count, connect };
}

Deno.test("e2e: by default random data crosses raw both ways: the bytes on the wire are the file's", async () => {
  await withServedFolders(async ({ root, local, port }) => {
    const size = 8 * MIB;
    writeChunks(join(local, "r.bin"), randomChunks("auto", size));
    const { count, connect } = counted();
    await using session = await openSession({ hostname: "127.0.0.1", port }, {
      connect,
    });
    assert.deepEqual(session.features, [
      "zstd",
      "mode",
      "usage",
      "pull",
      "sums",
      "resume",
      "xxh128",
    ]);
    const before = { ...count };
    await session.put(join(local, "r.bin"), "r.bin");
    const up = count.written - before.written;
    const got = await session.get("r.bin", local, { localName: "back.bin" });
    const down = count.read - before.read;
    assert.deepEqual(
      await Deno.readFile(got.path),
      await Deno.readFile(join(root, "r.bin")),
    );
    // Eight DATA frames of 1 MiB and a few small messages on top.
    assert.ok(up >= size && up < size + 4096, `${up} bytes up`);
    assert.ok(down >= size && down < size + 4096, `${down} bytes down`);
  });
});

Deno.test("e2e: by default log text crosses a slow link compressed both ways, to under a quarter of its bytes", async () => {
  // 4 MiB/s each way on both sides: a slow link in both directions.
  const limit = 4 * MIB;
  await withServedFolders(async ({ root, local, port }) => {
    // Twice the writes the link is measured over before it is judged.
    const size = 16 * MIB;
    writeChunks(join(local, "access.log"), logTextChunks("auto", size));
    const { count, connect } = counted();
    await using session = await openSession({ hostname: "127.0.0.1", port }, {
      connect,
      limit,
    });
    const before = { ...count };
    await session.put(join(local, "access.log"), "access.log");
    const up = count.written - before.written;
    const got = await session.get("access.log", local, { localName: "back" });
    const down = count.read - before.read;
    assert.deepEqual(
      await Deno.readFile(got.path),
      await Deno.readFile(join(local, "access.log")),
    );
    assert.equal((await Deno.stat(join(root, "access.log"))).size, size);
    assert.ok(up < size / 4, `${up} bytes up for ${size}`);
    assert.ok(down < size / 4, `${down} bytes down for ${size}`);
  }, { limitPerClient: limit });
});
