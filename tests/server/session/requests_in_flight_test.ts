import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../../server/storage/local/local_storage.ts";
import { MAX_REQUESTS_IN_FLIGHT } from "../../../server/session/request_runner.ts";
import { delegatingStorage } from "../../_helpers/server/delegating_storage.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";
import { RawClient } from "../../_helpers/server/raw_client.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

/** A local storage whose stat waits until the test lets it go, one at a time. */
function heldStats(local: LocalStorage) {
  const held: (() => void)[] = [];
  let started = 0;
  let onStart = () => {};
  const storage = delegatingStorage(local, {
    async stat(name) {
      started++;
      onStart();
      await new Promise<void>((resolve) => held.push(resolve));
      return await local.stat(name);
    },
  });
  return {
    storage,
    /** Resolves once `count` stats have started. */
    started(count: number): Promise<void> {
      if (started >= count) return Promise.resolve();
      return new Promise((resolve) => {
        onStart = () => {
          if (started >= count) resolve();
        };
      });
    },
    /** Lets the oldest waiting stat go on. */
    releaseOne(): void {
      held.shift()?.();
    },
  };
}

Deno.test("serve reads no further frame of a connection while it has its maximum of requests in flight, and answers them all", async () => {
  await using root = await tempDir();
  const extra = 6;
  const total = MAX_REQUESTS_IN_FLIGHT + extra;
  for (let i = 1; i <= total; i++) {
    Deno.writeTextFileSync(join(root.path, `f${i}`), "x");
  }
  await using local = await LocalStorage.open(root.path);
  const held = heldStats(local);
  await using t = await startTestServer({ storage: held.storage });
  await using c = await t.connect();
  for (let id = 1; id <= total; id++) {
    const { size, mtime } = await local.stat(`f${id}`);
    await c.send({
      type: "delete",
      id,
      name: `f${id}`,
      expect: { size, mtime },
    });
  }
  await c.send({ type: "ping", id: 0 });
  await held.started(MAX_REQUESTS_IN_FLIGHT);
  // Another connection's round trip: by then the server has read whatever
  // of the first connection it was going to read.
  await using other = await RawClient.connect(t.server.addr);
  await other.assertAlive();
  // Each DELETE is let go only once the previous reply is in: the PONG can
  // come only after `extra` DELETEs have ended and made room for the rest.
  const order: string[] = [];
  held.releaseOne();
  while (order.filter((o) => o === "ok").length < total) {
    const m = await c.read();
    assert.ok(m !== null, "the server closed the connection");
    order.push(m.type);
    if (m.type === "pong") {
      assert.ok(
        order.length > extra,
        `PONG came after ${order.length - 1} replies`,
      );
    }
    if (m.type === "ok") held.releaseOne();
  }
  if (!order.includes("pong")) assert.equal((await c.read())?.type, "pong");
  assert.equal(order.filter((o) => o === "error").length, 0);
  for (let i = 1; i <= total; i++) {
    assert.throws(() => Deno.statSync(join(root.path, `f${i}`)));
  }
});
