import assert from "node:assert/strict";
import { testIdentity } from "../../_helpers/server/security.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";
import {
  openDescriptors,
  waitUntil,
} from "../../_helpers/common/descriptors.ts";

/** The first bytes of a TLS ClientHello record that announces 512 bytes. */
const PARTIAL_HELLO = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]);

/** Resolves with what a read gets once the server closes, or rejects after `ms`. */
async function closedByServer(conn: Deno.Conn, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`The server kept the socket open for ${ms} ms`)),
      ms,
    );
  });
  const read = (async () => {
    try {
      while (await conn.read(new Uint8Array(1024)) !== null) {
        // Anything the server sends before closing.
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
    }
  })();
  try {
    await Promise.race([read, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("serve closes a TLS socket that never finishes its handshake, and those refused beyond the limit", async () => {
  await using t = await startTestServer({
    tls: await testIdentity(),
    handshakeTimeoutMs: 300,
    maxClients: 2,
    maxPerAddress: 12,
  });
  const before = openDescriptors();
  const sockets: Deno.TcpConn[] = [];
  try {
    // 2 served, 2 refused with "busy" after HELLO, the rest closed at once.
    for (let i = 0; i < 12; i++) {
      const conn = await Deno.connect(t.server.addr);
      sockets.push(conn);
      if (i % 3 === 0) await conn.write(PARTIAL_HELLO);
    }
    await Promise.all(sockets.map((s) => closedByServer(s, 5000)));
    // Only the test's own ends are left: every server-side descriptor is gone.
    await waitUntil(() => openDescriptors() <= before + sockets.length, 5000);
    assert.equal(openDescriptors(), before + sockets.length);
    assert.equal(
      t.logs.filter((l) => l.endsWith("TLS handshake timeout")).length,
      4,
    );
  } finally {
    for (const s of sockets) s.close();
  }
  assert.equal(t.server.connections, 0);
});
