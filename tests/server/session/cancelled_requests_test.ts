import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../../server/storage/local/local_storage.ts";
import { LIST_SLOTS } from "../../../server/session/session.ts";
import { delegatingStorage } from "../../_helpers/server/delegating_storage.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";
import { RawClient } from "../../_helpers/server/raw_client.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

/**
 * A local storage whose listings of "slow" and whose stat of "victim.txt"
 * wait until `release()`.
 */
function heldStorage(local: LocalStorage) {
  const gate = Promise.withResolvers<void>();
  const statStarted = Promise.withResolvers<void>();
  const storage = delegatingStorage(local, {
    async *list(path) {
      if (path === "slow") await gate.promise;
      yield* local.list(path);
    },
    async stat(name) {
      if (name === "victim.txt") {
        statStarted.resolve();
        await gate.promise;
      }
      return await local.stat(name);
    },
  });
  return { storage, statStarted: statStarted.promise, release: gate.resolve };
}

Deno.test("serve does not carry out a DELETE whose connection is gone", async () => {
  await using root = await tempDir();
  Deno.mkdirSync(join(root.path, "slow"));
  Deno.writeTextFileSync(join(root.path, "victim.txt"), "keep me");
  await using local = await LocalStorage.open(root.path);
  const held = heldStorage(local);
  await using t = await startTestServer({ storage: held.storage });
  const c = await RawClient.connect(t.server.addr);
  const port = c.tcp.localAddr.port;
  // Every list slot busy, and one more LIST waiting for a slot: it ends, and
  // logs, as soon as the session cancels its requests.
  for (let id = 1; id <= LIST_SLOTS + 1; id++) {
    await c.send({ type: "list", id, path: "slow" });
  }
  const { size, mtime } = await local.stat("victim.txt");
  await c.send({
    type: "delete",
    id: 100,
    name: "victim.txt",
    expect: { size, mtime },
  });
  await held.statStarted;
  c.close();
  await t.waitForLog(
    new RegExp(`^127\\.0\\.0\\.1:${port} list "slow" .* disconnected$`),
  );
  held.release();
  await t.waitForLog(new RegExp(`^127\\.0\\.0\\.1:${port} disconnected$`));
  assert.match(
    t.logs.find((l) => l.includes(`:${port} delete`)) ?? "",
    /delete "victim\.txt" 0 B \d+ ms disconnected$/,
  );
  assert.equal(
    Deno.readTextFileSync(join(root.path, "victim.txt")),
    "keep me",
  );
});
