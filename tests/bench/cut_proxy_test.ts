import assert from "node:assert/strict";
import { startCutProxy } from "../../bench/cut_proxy.ts";

/** A server that sends `size` bytes to each client, then closes. */
function startSender(size: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const conn of listener) {
      try {
        const bytes = new Uint8Array(size).fill(7);
        let at = 0;
        while (at < size) at += await conn.write(bytes.subarray(at));
      } catch {
        // the proxy cut it
      } finally {
        conn.close();
      }
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await served;
    },
  };
}

async function readAll(port: number): Promise<number> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buffer = new Uint8Array(65_536);
  let total = 0;
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buffer);
    } catch {
      return total;
    }
    if (n === null) return total;
    total += n;
  }
}

Deno.test("startCutProxy() cuts the first connection after the bytes asked, then relays whole ones", async () => {
  await using sender = startSender(1_000_000);
  await using proxy = startCutProxy({
    targetPort: sender.port,
    direction: "down",
    after: 300_000,
  });
  assert.equal(proxy.cut, false);
  assert.equal(await readAll(proxy.port), 300_000);
  assert.equal(proxy.cut, true);
  assert.equal(await readAll(proxy.port), 1_000_000);
});
