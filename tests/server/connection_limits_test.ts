import assert from "node:assert/strict";
import net from "node:net";
import { FrameConn } from "../../common/frame_conn.ts";
import { PROTOCOL_VERSION } from "../../protocol/messages.ts";
import { startTestServer } from "../_helpers/server/fixture.ts";

/**
 * A frame connection from another loopback address (127.0.0.2), through
 * node:net, which can choose the local address.
 */
async function connectFrom(
  localAddress: string,
  port: number,
): Promise<FrameConn> {
  const socket = net.connect({ host: "127.0.0.1", port, localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const chunks: Uint8Array[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  socket.on("data", (chunk: Uint8Array) => {
    chunks.push(chunk);
    wake?.();
  });
  socket.on("close", () => {
    ended = true;
    wake?.();
  });
  return new FrameConn({
    async read(p) {
      while (chunks.length === 0 && !ended) {
        await new Promise<void>((resolve) => wake = resolve);
      }
      const chunk = chunks.shift();
      if (chunk === undefined) return null;
      const n = Math.min(p.byteLength, chunk.byteLength);
      p.set(chunk.subarray(0, n));
      if (n < chunk.byteLength) chunks.unshift(chunk.subarray(n));
      return n;
    },
    write(p) {
      return new Promise((resolve, reject) =>
        socket.write(p, (error) => error ? reject(error) : resolve(p.length))
      );
    },
    close() {
      socket.destroy();
    },
  });
}

Deno.test("serve closes connections beyond --max-per-address before any handshake, and admits other addresses", async () => {
  await using t = await startTestServer({
    maxClients: 8,
    maxPerAddress: 2,
    handshakeTimeoutMs: 5000,
  });
  const first = await t.connect();
  await using second = await t.connect();
  {
    await using third = await t.connect({ handshake: false });
    assert.deepEqual(await third.drain(), [], "closed without a word");
  }
  {
    await using fourth = await t.connect({ handshake: false });
    assert.deepEqual(await fourth.drain(), []);
  }
  assert.equal(
    t.logs.filter((l) => /refused: 2 connections from this address/.test(l))
      .length,
    1,
    "logged once while the address is at its limit",
  );
  const other = await connectFrom("127.0.0.2", t.server.addr.port);
  try {
    await other.send({
      type: "hello",
      id: 0,
      versions: [PROTOCOL_VERSION],
      features: [],
      agent: "other-address",
    });
    assert.equal((await other.readMessage())?.type, "welcome");
  } finally {
    other.close();
  }
  first.close();
  await t.waitForLog(/^127\.0\.0\.1:\d+ disconnected/);
  await using again = await t.connect();
  await again.assertAlive();
  await second.assertAlive();
});
